"""Encrypt and decrypt: AES modes against `cryptography`, RSA against openssl (PKCS#11 2.40 sections 5.8, 5.9)."""
import os
import subprocess
import tempfile

from p11check import *

try:
    from cryptography.hazmat.primitives import keywrap, padding as sympad
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    HAVE_CRYPTOGRAPHY = True
except ImportError:
    HAVE_CRYPTOGRAPHY = False

lib = load()
s = open_rw(lib)
L = lib.lib
KEY = bytes(range(0x40, 0x60))
IV16 = bytes(range(16))
IV12 = bytes(range(100, 112))
AAD = b"associated data, authenticated only"
DATA = bytes(range(64))
ODD = b"an odd length: 37 bytes of plaintext."

aes = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, KEY), (CKA_TOKEN, False),
                      (CKA_ENCRYPT, True), (CKA_DECRYPT, True), (CKA_WRAP, True), (CKA_UNWRAP, True), (CKA_LABEL, "cipher key")])


def crypt(direction, key, m, data):
    fn = s.encrypt if direction == "encrypt" else s.decrypt
    return bytes(fn(key, data, m))


def crypt_multi(direction, key, m, chunks):
    """Init, Update per chunk (with an output buffer, as C applications pass), Final (length query, then the bytes)."""
    D = "Encrypt" if direction == "encrypt" else "Decrypt"
    r = getattr(L, "C_%sInit" % D)(s.session, m.to_native(), key)
    if r != CKR_OK:
        return r, None
    out = b""
    for c in chunks:
        buf = ckbytelist([0] * (len(c) + 32))
        r = getattr(L, "C_%sUpdate" % D)(s.session, ckbytelist(c), buf)
        if r != CKR_OK:
            return r, None
        out += bytes(buf)
    buf = ckbytelist()
    r = getattr(L, "C_%sFinal" % D)(s.session, buf)
    if r == CKR_OK:
        r = getattr(L, "C_%sFinal" % D)(s.session, buf)
    return r, out + bytes(buf)


def split(b):
    return [b[:5], b[5:21], b[21:]]


def ecb_encrypt(data):
    e = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor()
    return e.update(data) + e.finalize()


MODES = [
    # name, mechanism, plaintext, reference (or None when cryptography is missing)
    ("CKM_AES_GCM (12-byte IV, AAD, 128-bit tag)", lambda: PyKCS11.AES_GCM_Mechanism(IV12, AAD, 128), ODD,
     lambda p: AESGCM(KEY).encrypt(IV12, p, AAD)),
    ("CKM_AES_CBC", lambda: mech(CKM_AES_CBC, IV16), DATA,
     lambda p: (lambda e: e.update(p) + e.finalize())(Cipher(algorithms.AES(KEY), modes.CBC(IV16)).encryptor())),
    ("CKM_AES_CBC_PAD", lambda: mech(CKM_AES_CBC_PAD, IV16), ODD,
     lambda p: (lambda e, pd: e.update(pd.update(p) + pd.finalize()) + e.finalize())(Cipher(algorithms.AES(KEY), modes.CBC(IV16)).encryptor(), sympad.PKCS7(128).padder())),
    ("CKM_AES_ECB", lambda: mech(CKM_AES_ECB), DATA, ecb_encrypt),
    ("CKM_AES_CTR (128-bit counter)", lambda: mech(CKM_AES_CTR, ctr_params(IV16)), ODD,
     lambda p: (lambda e: e.update(p) + e.finalize())(Cipher(algorithms.AES(KEY), modes.CTR(IV16)).encryptor())),
    ("CKM_AES_KEY_WRAP (RFC 3394)", lambda: mech(CKM_AES_KEY_WRAP), DATA[:32], lambda p: keywrap.aes_key_wrap(KEY, p)),
    ("CKM_AES_KEY_WRAP_PAD (RFC 5649)", lambda: mech(CKM_AES_KEY_WRAP_PAD), ODD, lambda p: keywrap.aes_key_wrap_with_padding(KEY, p)),
]
MULTI_PART = {"CKM_AES_GCM", "CKM_AES_CBC", "CKM_AES_CBC_PAD", "CKM_AES_ECB", "CKM_AES_CTR", "CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"}


@section
def aes_modes():
    for name, m, plain, reference in MODES:
        ct = crypt("encrypt", aes, m(), plain)
        if HAVE_CRYPTOGRAPHY:
            same(name + ": ciphertext equals cryptography's", ct, reference(plain))
        else:
            skip(name + ": ciphertext equals cryptography's (skipped: python3-cryptography missing)", "python3-cryptography is not installed for /usr/bin/python3")
        same(name + ": C_Decrypt gives the plaintext back", crypt("decrypt", aes, m(), ct), plain)
        if name.split(" ")[0] in MULTI_PART:
            r, multi = crypt_multi("encrypt", aes, m(), split(plain))
            rv(name + ": multi-part encryption returns CKR_OK", r, CKR_OK)
            same(name + ": multi-part ciphertext equals the single-part one", multi, ct)
            r, back = crypt_multi("decrypt", aes, m(), split(ct))
            same(name + ": multi-part decryption gives the plaintext back", [rv_name(r), back], ["CKR_OK", plain])


@section
def aes_errors():
    ct = crypt("encrypt", aes, PyKCS11.AES_GCM_Mechanism(IV12, AAD, 128), ODD)
    bad = ct[:-1] + bytes([ct[-1] ^ 1])
    gcm = PyKCS11.AES_GCM_Mechanism(IV12, AAD, 128)  # the Python object owns the parameters: keep it alive
    L.C_DecryptInit(s.session, gcm.to_native(), aes)
    rv("CKM_AES_GCM: a flipped tag bit is CKR_ENCRYPTED_DATA_INVALID", L.C_Decrypt(s.session, ckbytelist(bad), ckbytelist()), CKR_ENCRYPTED_DATA_INVALID)
    other = PyKCS11.AES_GCM_Mechanism(IV12, b"other AAD", 128)
    L.C_DecryptInit(s.session, other.to_native(), aes)
    rv("CKM_AES_GCM: other AAD is CKR_ENCRYPTED_DATA_INVALID", L.C_Decrypt(s.session, ckbytelist(ct), ckbytelist()), CKR_ENCRYPTED_DATA_INVALID)
    init(L.C_EncryptInit, s, mech(CKM_AES_CBC, IV16), aes)
    rv("CKM_AES_CBC: 37 bytes (not whole blocks) is CKR_DATA_LEN_RANGE", L.C_Encrypt(s.session, ckbytelist(ODD), ckbytelist()), CKR_DATA_LEN_RANGE)
    init(L.C_DecryptInit, s, mech(CKM_AES_CBC, IV16), aes)
    rv("CKM_AES_CBC decrypt: 37 bytes is CKR_ENCRYPTED_DATA_LEN_RANGE", L.C_Decrypt(s.session, ckbytelist(ODD), ckbytelist()), CKR_ENCRYPTED_DATA_LEN_RANGE)
    rv("CKM_AES_CBC with an 8-byte IV is CKR_MECHANISM_PARAM_INVALID", init(L.C_EncryptInit, s, mech(CKM_AES_CBC, IV16[:8]), aes), CKR_MECHANISM_PARAM_INVALID)
    init(L.C_EncryptInit, s, mech(CKM_AES_CBC_PAD, IV16), aes)
    half = ckbytelist(ODD[:10])
    r = L.C_EncryptUpdate(s.session, half, ckbytelist())
    rv("C_EncryptUpdate with a NULL output buffer (length query) returns CKR_OK", r, CKR_OK)
    buf = ckbytelist([0] * 64)
    L.C_EncryptUpdate(s.session, ckbytelist(ODD[:10]), buf)
    L.C_EncryptUpdate(s.session, ckbytelist(ODD[10:]), ckbytelist([0] * 64))
    fin = ckbytelist()
    L.C_EncryptFinal(s.session, fin)
    L.C_EncryptFinal(s.session, fin)
    same("C_EncryptUpdate length query (NULL output) does not consume its input: the result is the encryption of the data once",
         bytes(fin), crypt("encrypt", aes, mech(CKM_AES_CBC_PAD, IV16), ODD))


def openssl_encrypt(pub_der, data, opts):
    with tempfile.TemporaryDirectory() as d:
        kp, ip, op = os.path.join(d, "pub.der"), os.path.join(d, "in"), os.path.join(d, "out")
        open(kp, "wb").write(pub_der)
        open(ip, "wb").write(data)
        args = ["openssl", "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", kp, "-in", ip, "-out", op]
        for o in opts:
            args += ["-pkeyopt", o]
        subprocess.run(args, check=True, capture_output=True)
        return open(op, "rb").read()


@section
def rsa_decrypt_openssl_ciphertexts():
    pub, priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_MODULUS_BITS, 2048), (CKA_ENCRYPT, True)],
                                  [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_DECRYPT, True)], mech(CKM_RSA_PKCS_KEY_PAIR_GEN))
    der = attr_bytes(s, pub, CKA_PUBLIC_KEY_INFO)
    secret = b"a 32-byte AES key, for instance"
    cases = [
        ("CKM_RSA_PKCS", ["rsa_padding_mode:pkcs1"], lambda: mech(CKM_RSA_PKCS)),
        ("CKM_RSA_PKCS_OAEP (SHA-256, MGF1-SHA256)", ["rsa_padding_mode:oaep", "rsa_oaep_md:sha256", "rsa_mgf1_md:sha256"],
         lambda: PyKCS11.RSAOAEPMechanism(CKM_SHA256, CKG_MGF1_SHA256)),
        ("CKM_RSA_PKCS_OAEP (SHA-256, MGF1-SHA256, label)", ["rsa_padding_mode:oaep", "rsa_oaep_md:sha256", "rsa_mgf1_md:sha256", "rsa_oaep_label:" + b"my label".hex()],
         lambda: PyKCS11.RSAOAEPMechanism(CKM_SHA256, CKG_MGF1_SHA256, b"my label")),
        ("CKM_RSA_PKCS_OAEP (SHA-1)", ["rsa_padding_mode:oaep", "rsa_oaep_md:sha1", "rsa_mgf1_md:sha1"],
         lambda: PyKCS11.RSAOAEPMechanism(CKM_SHA_1, CKG_MGF1_SHA1)),
    ]
    for name, opts, m in cases:
        ct = openssl_encrypt(der, secret, opts)
        same(name + ": C_Decrypt of openssl pkeyutl's ciphertext gives the plaintext", crypt("decrypt", priv, m(), ct), secret)
        ours = crypt("encrypt", pub, m(), secret)
        same(name + ": C_Encrypt with the public key gives 256 bytes", len(ours), 256)
        same(name + ": round trip through the token", crypt("decrypt", priv, m(), ours), secret)
    ct = openssl_encrypt(der, secret, cases[2][1])
    oaep = PyKCS11.RSAOAEPMechanism(CKM_SHA256, CKG_MGF1_SHA256, b"other label")
    L.C_DecryptInit(s.session, oaep.to_native(), priv)
    rv("CKM_RSA_PKCS_OAEP with the wrong label is CKR_ENCRYPTED_DATA_INVALID", L.C_Decrypt(s.session, ckbytelist(ct), ckbytelist()), CKR_ENCRYPTED_DATA_INVALID)


run()
