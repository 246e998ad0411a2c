"""C_WrapKey, C_UnwrapKey and C_DeriveKey (PKCS#11 2.40 section 5.14)."""
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from p11check import *

lib = load()
s = open_rw(lib)
L = lib.lib
raw = Raw()
WRAPPING = bytes(range(0xA0, 0xC0))
TARGET = bytes(range(0x10, 0x20))
IV = bytes(range(12))
PLAIN = b"encrypted by the original key"
GCM = PyKCS11.AES_GCM_Mechanism(IV, b"", 128)
AES_USE = [(CKA_ENCRYPT, True), (CKA_DECRYPT, True)]


def aes_template(label):
    return [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_TOKEN, False), (CKA_LABEL, label)] + AES_USE


def decrypts(key, ct):
    init(L.C_DecryptInit, s, GCM, key)
    r, n, out = raw.output("C_Decrypt", s, ct, 256)
    return rv_name(r), out


w = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, WRAPPING), (CKA_TOKEN, False), (CKA_WRAP, True), (CKA_UNWRAP, True), (CKA_SENSITIVE, True)])
k = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, TARGET), (CKA_TOKEN, False), (CKA_SENSITIVE, True), (CKA_EXTRACTABLE, True)] + AES_USE)
CT = bytes(s.encrypt(k, PLAIN, GCM))


@section
def aes_key_wrap_pad():
    wrapped = bytes(s.wrapKey(w, k, mech(CKM_AES_KEY_WRAP_PAD)))
    same("C_WrapKey(CKM_AES_KEY_WRAP_PAD) of an AES-128 key equals RFC 5649 wrapping by cryptography", wrapped, keywrap.aes_key_wrap_with_padding(WRAPPING, TARGET))
    same("C_WrapKey(CKM_AES_KEY_WRAP) of an AES-128 key equals RFC 3394 wrapping by cryptography", bytes(s.wrapKey(w, k, mech(CKM_AES_KEY_WRAP))), keywrap.aes_key_wrap(WRAPPING, TARGET))
    new = s.unwrapKey(w, wrapped, aes_template("unwrapped (AES_KEY_WRAP_PAD)"), mech(CKM_AES_KEY_WRAP_PAD))
    same("the key unwrapped with CKM_AES_KEY_WRAP_PAD decrypts what the original encrypted", decrypts(new, CT), ("CKR_OK", PLAIN))
    same("the unwrapped key is AES, 16 bytes", list(s.getAttributeValue(new, [CKA_KEY_TYPE, CKA_VALUE_LEN])), [CKK_AES, 16])
    bad = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
    rv("C_UnwrapKey of a corrupted blob is CKR_WRAPPED_KEY_INVALID", rv_of(s.unwrapKey, w, bad, aes_template("bad"), mech(CKM_AES_KEY_WRAP_PAD)), CKR_WRAPPED_KEY_INVALID)
    unextractable = s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 16), (CKA_TOKEN, False), (CKA_EXTRACTABLE, False)])
    rv("C_WrapKey of a key with CKA_EXTRACTABLE=FALSE is CKR_KEY_UNEXTRACTABLE", rv_of(s.wrapKey, w, unextractable, mech(CKM_AES_KEY_WRAP_PAD)), CKR_KEY_UNEXTRACTABLE)


@section
def rsa_oaep_wrap():
    pub, priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_MODULUS_BITS, 2048), (CKA_WRAP, True), (CKA_ENCRYPT, True)],
                                  [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_UNWRAP, True), (CKA_DECRYPT, True)], mech(CKM_RSA_PKCS_KEY_PAIR_GEN))
    oaep = PyKCS11.RSAOAEPMechanism(CKM_SHA256, CKG_MGF1_SHA256)
    wrapped = bytes(s.wrapKey(pub, k, oaep))
    same("C_WrapKey(CKM_RSA_PKCS_OAEP, SHA-256) gives 256 bytes", len(wrapped), 256)
    same("the RSA-OAEP-wrapped key, opened by C_Decrypt with the private key, is the key's value", bytes(s.decrypt(priv, wrapped, oaep)), TARGET)
    new = s.unwrapKey(priv, wrapped, aes_template("unwrapped (RSA OAEP)"), oaep)
    same("the key unwrapped with CKM_RSA_PKCS_OAEP decrypts what the original encrypted", decrypts(new, CT), ("CKR_OK", PLAIN))


def ec_pair(label, private_extra=()):
    return s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, OID["P-256"]), (CKA_LABEL, label)],
                             [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_DERIVE, True), (CKA_LABEL, label)] + list(private_extra), mech(CKM_EC_KEY_PAIR_GEN))


def derived_template(label, extra=()):
    return [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 32), (CKA_TOKEN, False), (CKA_LABEL, label)] + AES_USE + list(extra)


@section
def ecdh1_derive():
    a_pub, a_priv = ec_pair("ecdh A")
    b_pub, b_priv = ec_pair("ecdh B")
    a_point, b_point = attr_bytes(s, a_pub, CKA_EC_POINT), attr_bytes(s, b_pub, CKA_EC_POINT)
    ab = s.deriveKey(a_priv, derived_template("A with B's point"), PyKCS11.ECDH1_DERIVE_Mechanism(b_point[2:]))
    ba = s.deriveKey(b_priv, derived_template("B with A's point (DER)"), PyKCS11.ECDH1_DERIVE_Mechanism(a_point))
    ct = bytes(s.encrypt(ab, PLAIN, GCM))
    same("ECDH1 (CKD_NULL): B's derived key decrypts what A's encrypted", decrypts(ba, ct), ("CKR_OK", PLAIN))
    ct = bytes(s.encrypt(ba, PLAIN, GCM))
    same("ECDH1 (CKD_NULL): A's derived key decrypts what B's encrypted", decrypts(ab, ct), ("CKR_OK", PLAIN))
    mine = ec.generate_private_key(ec.SECP256R1())
    point = mine.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    # A key derived from a sensitive private key is sensitive whatever its template says: the base here is not.
    c_pub, c_priv = ec_pair("ecdh C (not sensitive)", [(CKA_SENSITIVE, False)])
    readable = s.deriveKey(c_priv, derived_template("readable", [(CKA_SENSITIVE, False), (CKA_EXTRACTABLE, True)]), PyKCS11.ECDH1_DERIVE_Mechanism(point))
    peer = serialization.load_der_public_key(attr_bytes(s, c_pub, CKA_PUBLIC_KEY_INFO))
    same("ECDH1 (CKD_NULL) key value is the shared x-coordinate cryptography computes", attr_bytes(s, readable, CKA_VALUE), mine.exchange(ec.ECDH(), peer))
    m = PyKCS11.ECDH1_DERIVE_Mechanism(b_point, kdf=CKD_SHA256_KDF)
    rv("ECDH1 with CKD_SHA256_KDF (not offered) is CKR_MECHANISM_PARAM_INVALID", rv_of(s.deriveKey, a_priv, derived_template("kdf"), m), CKR_MECHANISM_PARAM_INVALID)


@section
def hkdf_derive():
    ikm = bytes(range(32))
    base = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_GENERIC_SECRET), (CKA_VALUE, ikm), (CKA_TOKEN, False), (CKA_DERIVE, True)])
    salt, info = b"salt for hkdf", b"info for hkdf"
    template = [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 32), (CKA_TOKEN, False), (CKA_SENSITIVE, False), (CKA_EXTRACTABLE, True),
                (CKA_ENCRYPT, True), (CKA_DECRYPT, True)]
    # PyKCS11 1.5.12 has no CK_HKDF_PARAMS: the module's C_DeriveKey is called through ctypes with the C structure.
    r, derived = raw.hkdf_derive(s, base, CKM_SHA256, salt, info, template)
    rv("CKM_HKDF_DERIVE (SHA-256, salt, info) returns CKR_OK", r, CKR_OK)
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)
    same("CKM_HKDF_DERIVE key value equals cryptography's HKDF", attr_bytes(s, handle(derived), CKA_VALUE) if r == CKR_OK else None, expected)
    r, derived = raw.hkdf_derive(s, base, CKM_SHA256, None, info, template)
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(ikm)
    same("CKM_HKDF_DERIVE with CKF_HKDF_SALT_NULL equals cryptography's HKDF without salt", attr_bytes(s, handle(derived), CKA_VALUE) if r == CKR_OK else rv_name(r), expected)


run()
