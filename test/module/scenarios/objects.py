"""C_CreateObject, C_DestroyObject, C_SetAttributeValue and C_CopyObject (PKCS#11 2.40 section 5.7)."""
import datetime
import os
import subprocess
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from p11check import *

lib = load()
s = open_rw(lib)
L = lib.lib
raw = Raw()
MSG = b"signed by an imported key"


def der_integer(n):
    b = n.to_bytes(n.bit_length() // 8 + 1, "big")
    return bytes([0x02, len(b)]) + b


@section
def data_object():
    o = s.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, True), (CKA_LABEL, "pykcs11 data"), (CKA_APPLICATION, "pykcs11-app"), (CKA_VALUE, b"\x00data\xffvalue")])
    same("CKO_DATA: CLASS, LABEL, APPLICATION, TOKEN read back", list(s.getAttributeValue(o, [CKA_CLASS, CKA_LABEL, CKA_APPLICATION, CKA_TOKEN])),
         [CKO_DATA, "pykcs11 data", "pykcs11-app", True])
    same("CKO_DATA: CKA_VALUE reads back byte for byte", attr_bytes(s, o, CKA_VALUE), b"\x00data\xffvalue")
    r, copy = raw.copy_object(s, o, [(CKA_LABEL, "pykcs11 data copy")])
    copy = handle(copy)
    rv("C_CopyObject of a data object with a new label returns CKR_OK", r, CKR_OK)
    true("C_CopyObject of a data object gives a new handle", h(copy) not in (0, h(o)), [h(copy), h(o)])
    same("the copy has the new label, the same application and value",
         [s.getAttributeValue(copy, [CKA_LABEL])[0], s.getAttributeValue(copy, [CKA_APPLICATION])[0], attr_bytes(s, copy, CKA_VALUE)],
         ["pykcs11 data copy", "pykcs11-app", b"\x00data\xffvalue"])
    same("the original keeps its label", s.getAttributeValue(o, [CKA_LABEL])[0], "pykcs11 data")
    r, _ = raw.copy_object(s, o, [(CKA_VALUE, b"other")])
    rv("C_CopyObject that tries to change CKA_VALUE is refused (CKR_ATTRIBUTE_READ_ONLY or TYPE_INVALID)", r, [CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_TYPE_INVALID, CKR_TEMPLATE_INCONSISTENT])


@section
def secret_key_value():
    value = bytes(range(100, 116))
    k = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, value), (CKA_TOKEN, False), (CKA_SENSITIVE, False),
                        (CKA_EXTRACTABLE, True), (CKA_ENCRYPT, True), (CKA_DECRYPT, True)])
    same("imported AES key: KEY_TYPE, VALUE_LEN", list(s.getAttributeValue(k, [CKA_KEY_TYPE, CKA_VALUE_LEN])), [CKK_AES, 16])
    same("imported AES key (not sensitive): CKA_VALUE reads back", attr_bytes(s, k, CKA_VALUE), value)
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    e = Cipher(algorithms.AES(value), modes.ECB()).encryptor()
    same("imported AES key encrypts one block as AES-ECB does", bytes(s.encrypt(k, bytes(16), mech(CKM_AES_ECB))), e.update(bytes(16)) + e.finalize())
    r, _ = raw.copy_object(s, k, [(CKA_LABEL, "copy of extractable key")])
    rv("C_CopyObject of a non-sensitive extractable key returns CKR_OK", r, CKR_OK)
    sens = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, value), (CKA_TOKEN, False), (CKA_SENSITIVE, True)])
    same("a sensitive key reads CKA_COPYABLE=FALSE", s.getAttributeValue(sens, [CKA_COPYABLE], allAsBinary=True)[0], [0])
    rv("C_CopyObject of a key with CKA_COPYABLE=FALSE is CKR_ACTION_PROHIBITED", raw.copy_object(s, sens, [])[0], CKR_ACTION_PROHIBITED)
    r = rv_of(s.createObject, [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, bytes(15))])
    rv("C_CreateObject of a 15-byte AES key is CKR_ATTRIBUTE_VALUE_INVALID", r, CKR_ATTRIBUTE_VALUE_INVALID)
    r = rv_of(s.createObject, [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES)])
    rv("C_CreateObject of a secret key without CKA_VALUE is CKR_TEMPLATE_INCOMPLETE", r, CKR_TEMPLATE_INCOMPLETE)


@section
def certificate():
    with tempfile.TemporaryDirectory() as d:
        key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.der")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                        "-subj", "/CN=pykcs11 test/O=p11kms", "-days", "2", "-set_serial", "0x00c0ffee1234", "-outform", "DER", "-out", crt],
                       check=True, capture_output=True)
        der = open(crt, "rb").read()
        issuer_der = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", crt, "-noout", "-serial"], check=True, capture_output=True).stdout
    cert = x509.load_der_x509_certificate(der)
    c = s.createObject([(CKA_CLASS, CKO_CERTIFICATE), (CKA_CERTIFICATE_TYPE, CKC_X_509), (CKA_TOKEN, True), (CKA_VALUE, der),
                        (CKA_LABEL, "pykcs11 cert"), (CKA_ID, b"\x01\x02cert"), (CKA_SUBJECT, cert.subject.public_bytes())])
    same("certificate: CKA_VALUE is openssl's DER", attr_bytes(s, c, CKA_VALUE), der)
    same("certificate: CKA_SUBJECT is the DER Name of the subject", attr_bytes(s, c, CKA_SUBJECT), cert.subject.public_bytes())
    same("certificate: CKA_ISSUER is the DER Name of the issuer (self-signed: the subject)", attr_bytes(s, c, CKA_ISSUER), cert.issuer.public_bytes())
    same("openssl reports serial C0FFEE1234", issuer_der.strip(), b"serial=C0FFEE1234")
    same("certificate: CKA_SERIAL_NUMBER is the DER INTEGER 0xC0FFEE1234", attr_bytes(s, c, CKA_SERIAL_NUMBER), der_integer(0xC0FFEE1234))
    same("certificate: CKA_CERTIFICATE_TYPE, CKA_LABEL", list(s.getAttributeValue(c, [CKA_CERTIFICATE_TYPE, CKA_LABEL])), [CKC_X_509, "pykcs11 cert"])
    same("certificate: CKA_ID round-trips", attr_bytes(s, c, CKA_ID), b"\x01\x02cert")
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    same("certificate: CKA_PUBLIC_KEY_INFO is the certificate's SPKI", attr_bytes(s, c, CKA_PUBLIC_KEY_INFO), spki)


def verify_rv(key, m, data, sig):
    r = init(L.C_VerifyInit, s, m, key)
    return r if r != CKR_OK else L.C_Verify(s.session, ckbytelist(data), ckbytelist(sig))


def b(n, size=None):
    return n.to_bytes(size or (n.bit_length() + 7) // 8, "big")


@section
def rsa_import():
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n = k.private_numbers()
    pub = s.createObject([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_TOKEN, False), (CKA_VERIFY, True),
                          (CKA_MODULUS, b(n.public_numbers.n)), (CKA_PUBLIC_EXPONENT, b(n.public_numbers.e)), (CKA_LABEL, "imported rsa")])
    priv = s.createObject([(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_TOKEN, False), (CKA_SIGN, True), (CKA_LABEL, "imported rsa"),
                           (CKA_MODULUS, b(n.public_numbers.n)), (CKA_PUBLIC_EXPONENT, b(n.public_numbers.e)), (CKA_PRIVATE_EXPONENT, b(n.d)),
                           (CKA_PRIME_1, b(n.p)), (CKA_PRIME_2, b(n.q)), (CKA_EXPONENT_1, b(n.dmp1)), (CKA_EXPONENT_2, b(n.dmq1)), (CKA_COEFFICIENT, b(n.iqmp))])
    same("imported RSA public key: CKA_MODULUS reads back", attr_bytes(s, pub, CKA_MODULUS), b(n.public_numbers.n))
    sig = bytes(s.sign(priv, MSG, mech(CKM_SHA256_RSA_PKCS)))
    same("imported RSA private key signs exactly as cryptography does with the same key (PKCS#1 v1.5)", sig, k.sign(MSG, padding.PKCS1v15(), hashes.SHA256()))
    rv("the imported RSA public key verifies it (C_Verify)", verify_rv(pub, mech(CKM_SHA256_RSA_PKCS), MSG, sig), CKR_OK)
    rv("the imported private key's CKA_PRIVATE_EXPONENT is CKR_ATTRIBUTE_SENSITIVE", raw.get_attributes(s, priv, [(CKA_PRIVATE_EXPONENT, 512)])[0], CKR_ATTRIBUTE_SENSITIVE)


@section
def ec_import():
    k = ec.generate_private_key(ec.SECP256R1())
    point = k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    pub = s.createObject([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_TOKEN, False), (CKA_VERIFY, True),
                          (CKA_EC_PARAMS, OID["P-256"]), (CKA_EC_POINT, der_octet_string(point))])
    priv = s.createObject([(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_TOKEN, False), (CKA_SIGN, True),
                           (CKA_EC_PARAMS, OID["P-256"]), (CKA_VALUE, b(k.private_numbers().private_value, 32))])
    same("imported EC public key: CKA_EC_POINT reads back as given", attr_bytes(s, pub, CKA_EC_POINT), der_octet_string(point))
    sig = bytes(s.sign(priv, MSG, mech(CKM_ECDSA_SHA256)))
    rv("the imported EC public key verifies the imported private key's ECDSA-SHA256 signature (C_Verify)", verify_rv(pub, mech(CKM_ECDSA_SHA256), MSG, sig), CKR_OK)
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        k.public_key().verify(der, MSG, ec.ECDSA(hashes.SHA256()))
        ok = True
    except Exception:
        ok = False
    true("cryptography verifies the imported EC key's signature with the original key", ok)


@section
def destroy_and_handles():
    o = s.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, True), (CKA_LABEL, "to destroy " + RUN), (CKA_VALUE, b"x")])
    gone = h(o)
    rv("C_DestroyObject returns CKR_OK", L.C_DestroyObject(s.session, o), CKR_OK)
    rv("C_GetAttributeValue on the destroyed handle is CKR_OBJECT_HANDLE_INVALID", raw.get_attributes(s, gone, [(CKA_LABEL, None)])[0], CKR_OBJECT_HANDLE_INVALID)
    rv("C_DestroyObject on it again is CKR_OBJECT_HANDLE_INVALID", L.C_DestroyObject(s.session, o), CKR_OBJECT_HANDLE_INVALID)
    same("a search by its label finds nothing", s.findObjects([(CKA_LABEL, "to destroy " + RUN)]), [])
    new = [h(s.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, False), (CKA_LABEL, "after destroy %d" % i), (CKA_VALUE, b"y")])) for i in range(5)]
    true("handles of new objects never reuse the destroyed one", gone not in new and len(set(new)) == 5, [gone, new])
    true("handles of new objects are above the destroyed one", min(new) > gone, [gone, new])


@section
def set_attribute_value():
    k = s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 16), (CKA_TOKEN, True), (CKA_LABEL, "before-" + RUN)])
    rv("C_SetAttributeValue of CKA_LABEL and CKA_ID returns CKR_OK", rv_of(s.setAttributeValue, k, [(CKA_LABEL, "after-" + RUN), (CKA_ID, b"\x00new-id\xff")]), CKR_OK)
    same("CKA_LABEL and CKA_ID read back the new values", [s.getAttributeValue(k, [CKA_LABEL])[0], attr_bytes(s, k, CKA_ID)], ["after-" + RUN, b"\x00new-id\xff"])
    same("a search by the new label finds the key", [h(x) for x in s.findObjects([(CKA_LABEL, "after-" + RUN)])], [h(k)])
    same("a search by the old label finds nothing", s.findObjects([(CKA_LABEL, "before-" + RUN)]), [])
    rv("C_SetAttributeValue of CKA_KEY_TYPE is CKR_ATTRIBUTE_READ_ONLY", rv_of(s.setAttributeValue, k, [(CKA_KEY_TYPE, CKK_GENERIC_SECRET)]), CKR_ATTRIBUTE_READ_ONLY)
    rv("C_SetAttributeValue of CKA_VALUE_LEN is CKR_ATTRIBUTE_READ_ONLY", rv_of(s.setAttributeValue, k, [(CKA_VALUE_LEN, 32)]), CKR_ATTRIBUTE_READ_ONLY)
    same("after the refused change the key is still AES-128", list(s.getAttributeValue(k, [CKA_KEY_TYPE, CKA_VALUE_LEN])), [CKK_AES, 16])
    ro = lib.openSession(lib.getSlotList()[0], CKF_SERIAL_SESSION)
    rv("C_SetAttributeValue of a token object in a R/O session is CKR_SESSION_READ_ONLY", rv_of(ro.setAttributeValue, k, [(CKA_LABEL, "ro")]), CKR_SESSION_READ_ONLY)
    ro.closeSession()


run()
