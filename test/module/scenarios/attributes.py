"""C_GetAttributeValue to the letter (PKCS#11 2.40 section 5.7, C_GetAttributeValue rules 1 to 5)."""
import struct
import sys

from p11check import *

lib = load()
s = open_rw(lib)
raw = Raw()
ULONG = struct.calcsize("L")


def ulong(n):
    return n.to_bytes(ULONG, sys.byteorder)


aes = s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 32), (CKA_SENSITIVE, True),
                     (CKA_EXTRACTABLE, False), (CKA_LABEL, "sensitive aes"), (CKA_TOKEN, False)])
ec_pub, ec_priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, OID["P-256"])],
                                    [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_SENSITIVE, True)], mech(CKM_EC_KEY_PAIR_GEN))
rsa_pub, rsa_priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_MODULUS_BITS, 1024)],
                                      [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_RSA)], mech(CKM_RSA_PKCS_KEY_PAIR_GEN))
U = UNAVAILABLE


@section
def one_fault_at_a_time():
    r, out = raw.get_attributes(s, aes, [(CKA_VALUE, 64)])
    rv("secret key with CKA_SENSITIVE=TRUE: CKA_VALUE is CKR_ATTRIBUTE_SENSITIVE", r, CKR_ATTRIBUTE_SENSITIVE)
    same("sensitive CKA_VALUE alone: its ulValueLen is CK_UNAVAILABLE_INFORMATION", out[0][0], U)
    r, out = raw.get_attributes(s, aes, [(CKA_MODULUS, 64)])
    rv("secret key: CKA_MODULUS is CKR_ATTRIBUTE_TYPE_INVALID", r, CKR_ATTRIBUTE_TYPE_INVALID)
    same("invalid CKA_MODULUS alone: its ulValueLen is CK_UNAVAILABLE_INFORMATION", out[0][0], U)
    r, out = raw.get_attributes(s, aes, [(0x7FFF0001, 16)])
    rv("an attribute type no object has (0x7FFF0001) is CKR_ATTRIBUTE_TYPE_INVALID", r, CKR_ATTRIBUTE_TYPE_INVALID)
    r, out = raw.get_attributes(s, ec_priv, [(CKA_VALUE, 256)])
    rv("EC private key: CKA_VALUE is CKR_ATTRIBUTE_SENSITIVE", r, CKR_ATTRIBUTE_SENSITIVE)
    r, out = raw.get_attributes(s, rsa_priv, [(CKA_PRIVATE_EXPONENT, 512), (CKA_PRIME_1, 512)])
    rv("RSA private key: CKA_PRIVATE_EXPONENT and CKA_PRIME_1 are CKR_ATTRIBUTE_SENSITIVE", r, CKR_ATTRIBUTE_SENSITIVE)
    same("RSA private key: CKA_PRIVATE_EXPONENT and CKA_PRIME_1 get ulValueLen CK_UNAVAILABLE_INFORMATION", [out[0][0], out[1][0]], [U, U])
    r, out = raw.get_attributes(s, ec_pub, [(CKA_VALUE, 64)])
    rv("EC public key: CKA_VALUE is CKR_ATTRIBUTE_TYPE_INVALID", r, CKR_ATTRIBUTE_TYPE_INVALID)


@section
def mixed_template():
    r, out = raw.get_attributes(s, aes, [(CKA_VALUE, 64), (CKA_MODULUS, 64), (CKA_VALUE_LEN, ULONG), (CKA_LABEL, 64)])
    rv("sensitive CKA_VALUE + invalid CKA_MODULUS + valid ones in one call: SENSITIVE or TYPE_INVALID", r, [CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID])
    same("mixed template: the sensitive CKA_VALUE and the invalid CKA_MODULUS get CK_UNAVAILABLE_INFORMATION", [out[0][0], out[1][0]], [U, U])
    same("mixed template: the valid CKA_VALUE_LEN is filled in anyway", out[2], (ULONG, ulong(32)))
    same("mixed template: the valid CKA_LABEL is filled in anyway", out[3], (len(b"sensitive aes"), b"sensitive aes"))


@section
def lengths_and_buffers():
    r, out = raw.get_attributes(s, aes, [(CKA_LABEL, None), (CKA_VALUE_LEN, None), (CKA_CLASS, None)])
    rv("NULL pValue for every attribute returns CKR_OK", r, CKR_OK)
    same("NULL pValue: ulValueLen is the length (label 13, CK_ULONGs %d)" % ULONG, [x[0] for x in out], [13, ULONG, ULONG])
    r, out = raw.get_attributes(s, aes, [(CKA_LABEL, 3), (CKA_VALUE_LEN, ULONG)])
    rv("a 3-byte buffer for a 13-byte CKA_LABEL is CKR_BUFFER_TOO_SMALL", r, CKR_BUFFER_TOO_SMALL)
    same("too-small buffer: CKA_LABEL gets CK_UNAVAILABLE_INFORMATION", out[0][0], U)
    same("too-small buffer for CKA_LABEL: CKA_VALUE_LEN, whose buffer was big enough, is filled in", out[1], (ULONG, ulong(32)))
    r, out = raw.get_attributes(s, aes, [(CKA_LABEL, 13)])
    rv("an exactly-sized buffer returns CKR_OK", r, CKR_OK)
    same("an exactly-sized buffer gets the CKA_LABEL value", out[0], (13, b"sensitive aes"))
    r, out = raw.get_attributes(s, aes, [(CKA_VALUE, 64), (CKA_LABEL, 2)])
    rv("sensitive + too small in one call: SENSITIVE or BUFFER_TOO_SMALL", r, [CKR_ATTRIBUTE_SENSITIVE, CKR_BUFFER_TOO_SMALL])
    same("sensitive + too small: both get CK_UNAVAILABLE_INFORMATION", [out[0][0], out[1][0]], [U, U])
    r, out = raw.get_attributes(s, rsa_pub, [(CKA_MODULUS, None), (CKA_MODULUS, 128)])
    rv("RSA-1024 public key: NULL then a 128-byte buffer for CKA_MODULUS returns CKR_OK", r, CKR_OK)
    same("RSA-1024 CKA_MODULUS: ulValueLen 128 with NULL pValue and with a 128-byte buffer", [out[0][0], out[1][0]], [128, 128])
    same("RSA-1024 CKA_MODULUS read through ctypes equals the one PyKCS11 reads", out[1][1], attr_bytes(s, rsa_pub, CKA_MODULUS))


@section
def high_level_view():
    vals = s.getAttributeValue(aes, [CKA_VALUE, CKA_LABEL, CKA_MODULUS, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE])
    same("PyKCS11 getAttributeValue: [VALUE, LABEL, MODULUS, SENSITIVE, EXTRACTABLE, NEVER_EXTRACTABLE]", list(vals), [None, "sensitive aes", None, True, False, True])


run()
