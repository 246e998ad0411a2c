"""Sign and verify with every signature mechanism, checked independently with `cryptography`."""
import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from p11check import *

lib = load()
s = open_rw(lib)
L = lib.lib
MSG = b"The quick brown fox jumps over the lazy dog, signed through PKCS#11. " * 5
CHUNKS = [MSG[:7], MSG[7:200], MSG[200:]]

HASHES = {  # name: (digest mechanism, MGF1, cryptography hash, hashlib name)
    "SHA1": (CKM_SHA_1, CKG_MGF1_SHA1, hashes.SHA1(), "sha1"),
    "SHA224": (CKM_SHA224, CKG_MGF1_SHA224, hashes.SHA224(), "sha224"),
    "SHA256": (CKM_SHA256, CKG_MGF1_SHA256, hashes.SHA256(), "sha256"),
    "SHA384": (CKM_SHA384, CKG_MGF1_SHA384, hashes.SHA384(), "sha384"),
    "SHA512": (CKM_SHA512, CKG_MGF1_SHA512, hashes.SHA512(), "sha512"),
}
DIGEST_INFO_SHA256 = bytes.fromhex("3031300d060960864801650304020105000420")


def pair(mechanism, pub_t, priv_t):
    return s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_VERIFY, True)] + pub_t,
                             [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_SIGN, True)] + priv_t, mech(mechanism))


def public_key(pub):
    return serialization.load_der_public_key(attr_bytes(s, pub, CKA_PUBLIC_KEY_INFO))


def sign_multi(key, m, chunks):
    r = L.C_SignInit(s.session, m.to_native(), key)
    if r != CKR_OK:
        return r, None
    for c in chunks:
        r = L.C_SignUpdate(s.session, ckbytelist(c))
        if r != CKR_OK:
            return r, None
    out = ckbytelist()
    r = L.C_SignFinal(s.session, out)
    if r == CKR_OK:
        r = L.C_SignFinal(s.session, out)
    return r, bytes(out)


def verify(key, m, data, sig):
    r = L.C_VerifyInit(s.session, m.to_native(), key)
    return r if r != CKR_OK else L.C_Verify(s.session, ckbytelist(data), ckbytelist(sig))


def verify_multi(key, m, chunks, sig):
    r = L.C_VerifyInit(s.session, m.to_native(), key)
    for c in chunks:
        if r == CKR_OK:
            r = L.C_VerifyUpdate(s.session, ckbytelist(c))
    return r if r != CKR_OK else L.C_VerifyFinal(s.session, ckbytelist(sig))


def independent(fn):
    try:
        fn()
        return True
    except InvalidSignature:
        return False


def tampered(sig):
    return sig[:-1] + bytes([sig[-1] ^ 0x01])


def token_checks(name, pub, m, data, sig, wrong_length):
    rv(name + ": C_Verify accepts the signature", verify(pub, m, data, sig), CKR_OK)
    rv(name + ": C_Verify of the signature with its last byte flipped is CKR_SIGNATURE_INVALID", verify(pub, m, data, tampered(sig)), CKR_SIGNATURE_INVALID)
    rv(name + ": C_Verify of a signature of the wrong length is CKR_SIGNATURE_LEN_RANGE", verify(pub, m, data, wrong_length), CKR_SIGNATURE_LEN_RANGE)


rsa_pub, rsa_priv = pair(CKM_RSA_PKCS_KEY_PAIR_GEN, [(CKA_KEY_TYPE, CKK_RSA), (CKA_MODULUS_BITS, 2048)], [(CKA_KEY_TYPE, CKK_RSA)])
rsa = public_key(rsa_pub)


@section
def rsa_pkcs1():
    digest_info = DIGEST_INFO_SHA256 + hashlib.sha256(MSG).digest()
    sig = bytes(s.sign(rsa_priv, digest_info, mech(CKM_RSA_PKCS)))
    same("CKM_RSA_PKCS over a SHA-256 DigestInfo: 256-byte signature", len(sig), 256)
    true("CKM_RSA_PKCS over a SHA-256 DigestInfo verifies with cryptography as PKCS#1 v1.5 SHA-256", independent(lambda: rsa.verify(sig, MSG, padding.PKCS1v15(), hashes.SHA256())))
    token_checks("CKM_RSA_PKCS", rsa_pub, mech(CKM_RSA_PKCS), digest_info, sig, sig[:-1])
    for name, (_, _, h, _) in HASHES.items():
        mname = "CKM_%s_RSA_PKCS" % name
        m = mech(globals()[mname])
        single = bytes(s.sign(rsa_priv, MSG, m))
        true(mname + ": single-part signature verifies with cryptography", independent(lambda: rsa.verify(single, MSG, padding.PKCS1v15(), h)))
        r, multi = sign_multi(rsa_priv, m, CHUNKS)
        rv(mname + ": C_SignUpdate x3 + C_SignFinal returns CKR_OK", r, CKR_OK)
        same(mname + ": multi-part signature equals the single-part one (PKCS#1 v1.5 is deterministic)", multi, single)
        token_checks(mname, rsa_pub, m, MSG, single, single + b"\x00")
        rv(mname + ": C_VerifyUpdate x3 + C_VerifyFinal accepts", verify_multi(rsa_pub, m, CHUNKS, single), CKR_OK)
        if name == "SHA256":
            same("CKM_RSA_PKCS over the DigestInfo equals CKM_SHA256_RSA_PKCS over the message", sig, single)


@section
def rsa_pss():
    for name, (hmech, mgf, h, hl) in HASHES.items():
        digest = hashlib.new(hl, MSG).digest()
        m = PyKCS11.RSA_PSS_Mechanism(CKM_RSA_PKCS_PSS, hmech, mgf, len(digest))
        sig = bytes(s.sign(rsa_priv, digest, m))
        pss = padding.PSS(mgf=padding.MGF1(h), salt_length=len(digest))
        true("CKM_RSA_PKCS_PSS (%s, MGF1-%s, salt %d) over a digest verifies with cryptography" % (name, name, len(digest)),
             independent(lambda: rsa.verify(sig, digest, pss, utils.Prehashed(h))))
        token_checks("CKM_RSA_PKCS_PSS/" + name, rsa_pub, m, digest, sig, sig[:-1])
        mname = "CKM_%s_RSA_PKCS_PSS" % name
        m = PyKCS11.RSA_PSS_Mechanism(globals()[mname], hmech, mgf, len(digest))
        single = bytes(s.sign(rsa_priv, MSG, m))
        true(mname + ": single-part signature verifies with cryptography", independent(lambda: rsa.verify(single, MSG, pss, h)))
        r, multi = sign_multi(rsa_priv, m, CHUNKS)
        rv(mname + ": multi-part returns CKR_OK", r, CKR_OK)
        true(mname + ": multi-part signature verifies with cryptography", r == CKR_OK and independent(lambda: rsa.verify(multi, MSG, pss, h)))
        token_checks(mname, rsa_pub, m, MSG, single, single[:-1])
        rv(mname + ": C_VerifyUpdate x3 + C_VerifyFinal accepts the multi-part signature", verify_multi(rsa_pub, m, CHUNKS, multi or b"\x00"), CKR_OK)
    m = PyKCS11.RSA_PSS_Mechanism(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384, CKG_MGF1_SHA384, 48)
    rv("CKM_SHA256_RSA_PKCS_PSS with hashAlg SHA-384 in its parameters is CKR_MECHANISM_PARAM_INVALID", L.C_SignInit(s.session, m.to_native(), rsa_priv), CKR_MECHANISM_PARAM_INVALID)


def der_signature(raw):
    n = len(raw) // 2
    return utils.encode_dss_signature(int.from_bytes(raw[:n], "big"), int.from_bytes(raw[n:], "big"))


@section
def ecdsa():
    for curve, size, h, hl in (("P-256", 32, hashes.SHA256(), "sha256"), ("P-384", 48, hashes.SHA384(), "sha384"), ("P-521", 66, hashes.SHA512(), "sha512")):
        pub, priv = pair(CKM_EC_KEY_PAIR_GEN, [(CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, OID[curve])], [(CKA_KEY_TYPE, CKK_EC)])
        k = public_key(pub)
        digest = hashlib.new(hl, MSG).digest()
        sig = bytes(s.sign(priv, digest, mech(CKM_ECDSA)))
        what = "CKM_ECDSA on %s over a %s digest" % (curve, hl.upper())
        same(what + ": signature is r||s, %d bytes" % (2 * size), len(sig), 2 * size)
        true(what + ": verifies with cryptography", independent(lambda: k.verify(der_signature(sig), digest, ec.ECDSA(utils.Prehashed(h)))))
        token_checks(what, pub, mech(CKM_ECDSA), digest, sig, sig + b"\x00")
        if curve != "P-256":
            continue
        for name, (_, _, hh, _) in HASHES.items():
            mname = "CKM_ECDSA_%s" % name
            m = mech(globals()[mname])
            single = bytes(s.sign(priv, MSG, m))
            true(mname + " (P-256): single-part signature verifies with cryptography", independent(lambda: k.verify(der_signature(single), MSG, ec.ECDSA(hh))))
            r, multi = sign_multi(priv, m, CHUNKS)
            true(mname + " (P-256): multi-part signature verifies with cryptography", r == CKR_OK and independent(lambda: k.verify(der_signature(multi), MSG, ec.ECDSA(hh))), rv_name(r))
            token_checks(mname, pub, m, MSG, single, single[:-1])
            rv(mname + ": C_VerifyUpdate x3 + C_VerifyFinal accepts", verify_multi(pub, m, CHUNKS, single), CKR_OK)


@section
def eddsa():
    for curve, size in (("Ed25519", 64), ("Ed448", 114)):
        pub, priv = pair(CKM_EC_EDWARDS_KEY_PAIR_GEN, [(CKA_KEY_TYPE, CKK_EC_EDWARDS), (CKA_EC_PARAMS, OID[curve])], [(CKA_KEY_TYPE, CKK_EC_EDWARDS)])
        k = public_key(pub)
        what = "CKM_EDDSA " + curve
        sig = bytes(s.sign(priv, MSG, mech(CKM_EDDSA)))
        same(what + ": signature is %d bytes" % size, len(sig), size)
        true(what + ": verifies with cryptography", independent(lambda: k.verify(sig, MSG)))
        r, multi = sign_multi(priv, mech(CKM_EDDSA), CHUNKS)
        same(what + ": multi-part signature equals the single-part one (EdDSA is deterministic)", multi, sig)
        token_checks(what, pub, mech(CKM_EDDSA), MSG, sig, sig[:-1])


@section
def hmac_mechanisms():
    secret = bytes(range(1, 41))
    key = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_GENERIC_SECRET), (CKA_VALUE, secret), (CKA_SIGN, True), (CKA_VERIFY, True), (CKA_TOKEN, False)])
    for name, (_, _, _, hl) in HASHES.items():
        mname = "CKM_%s_HMAC" % name.replace("SHA1", "SHA_1")
        m = mech(globals()[mname])
        expected = hmac.new(secret, MSG, hl).digest()
        same(mname + ": single-part MAC equals Python's hmac", bytes(s.sign(key, MSG, m)), expected)
        same(mname + ": multi-part MAC equals Python's hmac", sign_multi(key, m, CHUNKS)[1], expected)
        rv(mname + ": C_Verify accepts the MAC", verify(key, m, MSG, expected), CKR_OK)
        rv(mname + ": C_VerifyUpdate x3 + C_VerifyFinal accepts the MAC", verify_multi(key, m, CHUNKS, expected), CKR_OK)
        rv(mname + ": C_Verify of a tampered MAC is CKR_SIGNATURE_INVALID", verify(key, m, MSG, tampered(expected)), CKR_SIGNATURE_INVALID)
        rv(mname + ": C_Verify of a MAC one byte short is CKR_SIGNATURE_LEN_RANGE", verify(key, m, MSG, expected[:-1]), CKR_SIGNATURE_LEN_RANGE)


run()
