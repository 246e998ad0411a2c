"""Key generation from the templates applications send (PKCS#11 2.40 section 5.14)."""
import struct
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from p11check import *

lib = load()
s = open_rw(lib)
ULONG = struct.calcsize("L")


def mechanisms(obj):
    b = attr_bytes(s, obj, CKA_ALLOWED_MECHANISMS) or b""
    return [int.from_bytes(b[i:i + ULONG], sys.byteorder) for i in range(0, len(b), ULONG)]


def spki(obj):
    return serialization.load_der_public_key(attr_bytes(s, obj, CKA_PUBLIC_KEY_INFO))


def raw_point(key):
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def pair_common(what, pub, priv, key_type, label, id_, sign_mech):
    same(what + ": public CKA_KEY_TYPE", attr_ulong(s, pub, CKA_KEY_TYPE), key_type)
    same(what + ": private CKA_KEY_TYPE", attr_ulong(s, priv, CKA_KEY_TYPE), key_type)
    same(what + ": classes are CKO_PUBLIC_KEY and CKO_PRIVATE_KEY", [attr_ulong(s, pub, CKA_CLASS), attr_ulong(s, priv, CKA_CLASS)], [CKO_PUBLIC_KEY, CKO_PRIVATE_KEY])
    same(what + ": both halves carry the template's CKA_ID", [attr_bytes(s, pub, CKA_ID), attr_bytes(s, priv, CKA_ID)], [id_, id_])
    same(what + ": both halves carry the template's CKA_LABEL", [s.getAttributeValue(pub, [CKA_LABEL])[0], s.getAttributeValue(priv, [CKA_LABEL])[0]], [label, label])
    pm = mechanisms(priv)
    true(what + ": private CKA_ALLOWED_MECHANISMS is non-empty and includes the signing mechanism", sign_mech in pm, [hex(m) for m in pm])
    true(what + ": public CKA_ALLOWED_MECHANISMS is non-empty", len(mechanisms(pub)) > 0)
    same(what + ": private key's CKA_PUBLIC_KEY_INFO equals the public key's", attr_bytes(s, priv, CKA_PUBLIC_KEY_INFO), attr_bytes(s, pub, CKA_PUBLIC_KEY_INFO))
    same(what + ": private key reads CKA_SENSITIVE=TRUE", s.getAttributeValue(priv, [CKA_SENSITIVE])[0], True)


@section
def aes_keys():
    for n in (16, 32):
        what = "AES-%d" % (n * 8)
        k = s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, n), (CKA_TOKEN, True),
                           (CKA_LABEL, what + " key"), (CKA_ID, bytes([n, 0xA5])), (CKA_ENCRYPT, True), (CKA_DECRYPT, True)],
                          mech(CKM_AES_KEY_GEN))
        vals = s.getAttributeValue(k, [CKA_CLASS, CKA_KEY_TYPE, CKA_VALUE_LEN, CKA_LABEL, CKA_TOKEN])
        same(what + ": CKA_CLASS, CKA_KEY_TYPE, CKA_VALUE_LEN, CKA_LABEL, CKA_TOKEN", list(vals), [CKO_SECRET_KEY, CKK_AES, n, what + " key", True])
        same(what + ": CKA_ID round-trips", attr_bytes(s, k, CKA_ID), bytes([n, 0xA5]))
        m = mechanisms(k)
        true(what + ": CKA_ALLOWED_MECHANISMS includes CKM_AES_GCM and CKM_AES_CBC_PAD", CKM_AES_GCM in m and CKM_AES_CBC_PAD in m, [hex(x) for x in m])
    r = rv_of(s.generateKey, [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 20)], mech(CKM_AES_KEY_GEN))
    rv("AES: CKA_VALUE_LEN 20 is CKR_ATTRIBUTE_VALUE_INVALID", r, CKR_ATTRIBUTE_VALUE_INVALID)
    r = rv_of(s.generateKey, [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES)], mech(CKM_AES_KEY_GEN))
    rv("AES: no CKA_VALUE_LEN is CKR_TEMPLATE_INCOMPLETE", r, CKR_TEMPLATE_INCOMPLETE)


@section
def generic_secret():
    k = s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_GENERIC_SECRET), (CKA_VALUE_LEN, 48), (CKA_TOKEN, False),
                       (CKA_SENSITIVE, False), (CKA_EXTRACTABLE, True), (CKA_SIGN, True), (CKA_VERIFY, True)], mech(CKM_GENERIC_SECRET_KEY_GEN))
    same("generic secret: CKA_KEY_TYPE and CKA_VALUE_LEN", list(s.getAttributeValue(k, [CKA_KEY_TYPE, CKA_VALUE_LEN])), [CKK_GENERIC_SECRET, 48])
    same("generic secret (not sensitive): CKA_VALUE is 48 bytes", len(attr_bytes(s, k, CKA_VALUE)), 48)
    true("generic secret: CKA_ALLOWED_MECHANISMS includes CKM_SHA256_HMAC", CKM_SHA256_HMAC in mechanisms(k))


@section
def rsa_pairs():
    for bits in (1024, 2048, 4096):
        what = "RSA-%d" % bits
        id_, label = b"rsa-id-%d" % bits, what + " pair"
        pub, priv = s.generateKeyPair(
            [(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_TOKEN, True), (CKA_MODULUS_BITS, bits),
             (CKA_PUBLIC_EXPONENT, b"\x01\x00\x01"), (CKA_VERIFY, True), (CKA_ENCRYPT, True), (CKA_LABEL, label), (CKA_ID, id_)],
            [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_TOKEN, True), (CKA_PRIVATE, True), (CKA_SENSITIVE, True),
             (CKA_SIGN, True), (CKA_DECRYPT, True), (CKA_LABEL, label), (CKA_ID, id_)],
            mech(CKM_RSA_PKCS_KEY_PAIR_GEN))
        pair_common(what, pub, priv, CKK_RSA, label, id_, CKM_RSA_PKCS_PSS)
        n = attr_bytes(s, pub, CKA_MODULUS)
        same(what + ": CKA_MODULUS is %d bytes with the top bit set" % (bits // 8), [len(n), int.from_bytes(n, "big").bit_length()], [bits // 8, bits])
        same(what + ": CKA_PUBLIC_EXPONENT is 010001", attr_bytes(s, pub, CKA_PUBLIC_EXPONENT), b"\x01\x00\x01")
        same(what + ": CKA_MODULUS_BITS", attr_ulong(s, pub, CKA_MODULUS_BITS), bits)
        same(what + ": private CKA_MODULUS equals the public one", attr_bytes(s, priv, CKA_MODULUS), n)
        k = spki(pub)
        numbers = k.public_numbers() if isinstance(k, rsa.RSAPublicKey) else None
        same(what + ": CKA_PUBLIC_KEY_INFO parses as an RSA key with the same n and e",
             [numbers.n.to_bytes(bits // 8, "big"), numbers.e] if numbers else "not an RSA key", [n, 65537])
    r = rv_of(s.generateKeyPair, [(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_MODULUS_BITS, 512)],
              [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_RSA)], mech(CKM_RSA_PKCS_KEY_PAIR_GEN))
    rv("RSA-512 is CKR_KEY_SIZE_RANGE", r, CKR_KEY_SIZE_RANGE)


@section
def ec_pairs():
    curves = {"P-256": (ec.SECP256R1, 32), "P-384": (ec.SECP384R1, 48), "P-521": (ec.SECP521R1, 66), "secp256k1": (ec.SECP256K1, 32)}
    for name, (curve, size) in curves.items():
        what = "EC %s" % name
        id_, label = ("ec-id-" + name).encode(), what + " pair"
        pub, priv = s.generateKeyPair(
            [(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_TOKEN, True), (CKA_EC_PARAMS, OID[name]), (CKA_VERIFY, True), (CKA_LABEL, label), (CKA_ID, id_)],
            [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_TOKEN, True), (CKA_SIGN, True), (CKA_DERIVE, True), (CKA_SENSITIVE, True), (CKA_LABEL, label), (CKA_ID, id_)],
            mech(CKM_EC_KEY_PAIR_GEN))
        pair_common(what, pub, priv, CKK_EC, label, id_, CKM_ECDSA)
        same(what + ": CKA_EC_PARAMS on both halves is the curve OID", [attr_bytes(s, pub, CKA_EC_PARAMS), attr_bytes(s, priv, CKA_EC_PARAMS)], [OID[name], OID[name]])
        k = spki(pub)
        same(what + ": CKA_PUBLIC_KEY_INFO is an EC key on " + name, [isinstance(k, ec.EllipticCurvePublicKey), getattr(getattr(k, "curve", None), "name", None)], [True, curve.name])
        point = raw_point(k)
        same(what + ": CKA_EC_POINT is a DER OCTET STRING of the uncompressed point in CKA_PUBLIC_KEY_INFO", attr_bytes(s, pub, CKA_EC_POINT), der_octet_string(point))
        same(what + ": the point is 04||X||Y, %d bytes" % (1 + 2 * size), [point[0], len(point)], [4, 1 + 2 * size])


@section
def edwards_pairs():
    for name, cls, size in (("Ed25519", ed25519.Ed25519PublicKey, 32), ("Ed448", ed448.Ed448PublicKey, 57)):
        id_, label = ("ed-id-" + name).encode(), name + " pair"
        pub, priv = s.generateKeyPair(
            [(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC_EDWARDS), (CKA_TOKEN, True), (CKA_EC_PARAMS, OID[name]), (CKA_VERIFY, True), (CKA_LABEL, label), (CKA_ID, id_)],
            [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC_EDWARDS), (CKA_TOKEN, True), (CKA_SIGN, True), (CKA_LABEL, label), (CKA_ID, id_)],
            mech(CKM_EC_EDWARDS_KEY_PAIR_GEN))
        pair_common(name, pub, priv, CKK_EC_EDWARDS, label, id_, CKM_EDDSA)
        same(name + ": CKA_EC_PARAMS is the curve OID", attr_bytes(s, pub, CKA_EC_PARAMS), OID[name])
        k = spki(pub)
        same(name + ": CKA_PUBLIC_KEY_INFO parses as " + name, isinstance(k, cls), True)
        same(name + ": CKA_EC_POINT is a DER OCTET STRING of the %d-byte public key" % size, attr_bytes(s, pub, CKA_EC_POINT), der_octet_string(raw_point(k)))


@section
def pair_without_id_shares_one():
    pub, priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, OID["P-256"])],
                                  [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC)], mech(CKM_EC_KEY_PAIR_GEN))
    a, b = attr_bytes(s, pub, CKA_ID), attr_bytes(s, priv, CKA_ID)
    true("a pair generated without CKA_ID still has one non-empty CKA_ID on both halves", a == b and len(a) > 0, [a, b])
    r = rv_of(s.generateKeyPair, [(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, bytes.fromhex("06052b81040021"))],
              [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC)], mech(CKM_EC_KEY_PAIR_GEN))
    rv("EC on P-224 (not offered) is CKR_CURVE_NOT_SUPPORTED", r, CKR_CURVE_NOT_SUPPORTED)


run()
