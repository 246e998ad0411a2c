"""CKA_SENSITIVE and CKA_EXTRACTABLE are one-way latches and CKA_ALWAYS_SENSITIVE/CKA_NEVER_EXTRACTABLE
are the KMS's history of them (PKCS#11 2.40: common footnotes 11 and 12; C_DeriveKey; issue 11 item 1)."""
from p11check import *

lib = load()
s = open_rw(lib)

LATCHES = [CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE]


def aes(label, sensitive, extractable, extra=()):
    return s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 32), (CKA_TOKEN, True), (CKA_LABEL, label),
                          (CKA_SENSITIVE, sensitive), (CKA_EXTRACTABLE, extractable), (CKA_ENCRYPT, True), (CKA_DECRYPT, True)] + list(extra))


def latches(o):
    return list(s.getAttributeValue(o, LATCHES))


def uid(o):
    return bytes(attr_bytes(s, o, CKA_UNIQUE_ID)).decode()


@section
def history_from_the_kms():
    locked = aes("protection locked " + RUN, True, False)
    same("generated SENSITIVE=TRUE, EXTRACTABLE=FALSE: [SENSITIVE, EXTRACTABLE, ALWAYS_SENSITIVE, NEVER_EXTRACTABLE]", latches(locked), [True, False, True, True])
    readable = aes("protection readable " + RUN, False, True)
    same("generated SENSITIVE=FALSE, EXTRACTABLE=TRUE: ALWAYS_SENSITIVE and NEVER_EXTRACTABLE are FALSE", latches(readable), [False, True, False, False])
    imported = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, bytes(range(32))), (CKA_TOKEN, True),
                               (CKA_LABEL, "protection imported " + RUN), (CKA_SENSITIVE, True), (CKA_EXTRACTABLE, False)])
    same("C_CreateObject SENSITIVE=TRUE, EXTRACTABLE=FALSE: the bytes came from outside, so ALWAYS_SENSITIVE and NEVER_EXTRACTABLE are FALSE",
         latches(imported), [True, False, False, False])
    pub, priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, OID["P-256"])],
                                  [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_SENSITIVE, True), (CKA_EXTRACTABLE, False), (CKA_DERIVE, True)],
                                  mech(CKM_EC_KEY_PAIR_GEN))
    same("generated EC private key SENSITIVE=TRUE, EXTRACTABLE=FALSE: ALWAYS_SENSITIVE and NEVER_EXTRACTABLE are TRUE", latches(priv), [True, False, True, True])
    loose_pub, loose_priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, OID["P-256"])],
                                              [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_SENSITIVE, False), (CKA_EXTRACTABLE, True)],
                                              mech(CKM_EC_KEY_PAIR_GEN))
    same("generated EC private key SENSITIVE=FALSE: ALWAYS_SENSITIVE is FALSE (the module still never reveals it: SENSITIVE reads TRUE)",
         latches(loose_priv), [True, True, False, False])
    point = attr_bytes(s, loose_pub, CKA_EC_POINT)
    derived = s.deriveKey(priv, [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 32), (CKA_TOKEN, False),
                                 (CKA_SENSITIVE, False), (CKA_EXTRACTABLE, True), (CKA_ENCRYPT, True)], PyKCS11.ECDH1_DERIVE_Mechanism(point))
    same("C_DeriveKey (ECDH1) from a protected private key with a SENSITIVE=FALSE, EXTRACTABLE=TRUE template: the KMS makes it SENSITIVE, not EXTRACTABLE, with the base's history",
         latches(derived), [True, False, True, True])
    r, _ = Raw().get_attributes(s, derived, [(CKA_VALUE, 64)])
    rv("the derived key's CKA_VALUE is CKR_ATTRIBUTE_SENSITIVE", r, CKR_ATTRIBUTE_SENSITIVE)


@section
def set_attribute_value_only_tightens():
    k = aes("protection tightened " + RUN, False, True)
    fact("tightened_uid", uid(k))
    rv("C_SetAttributeValue CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE on a readable key returns CKR_OK",
       rv_of(s.setAttributeValue, k, [(CKA_SENSITIVE, True), (CKA_EXTRACTABLE, False)]), CKR_OK)
    same("after tightening: SENSITIVE, not EXTRACTABLE, and never ALWAYS_SENSITIVE nor NEVER_EXTRACTABLE", latches(k), [True, False, False, False])
    rv("C_SetAttributeValue CKA_EXTRACTABLE=TRUE is CKR_ATTRIBUTE_READ_ONLY", rv_of(s.setAttributeValue, k, [(CKA_EXTRACTABLE, True)]), CKR_ATTRIBUTE_READ_ONLY)
    rv("C_SetAttributeValue CKA_SENSITIVE=FALSE is CKR_ATTRIBUTE_READ_ONLY", rv_of(s.setAttributeValue, k, [(CKA_SENSITIVE, False)]), CKR_ATTRIBUTE_READ_ONLY)
    rv("C_SetAttributeValue CKA_NEVER_EXTRACTABLE=TRUE is CKR_ATTRIBUTE_READ_ONLY", rv_of(s.setAttributeValue, k, [(CKA_NEVER_EXTRACTABLE, True)]), CKR_ATTRIBUTE_READ_ONLY)
    same("nothing changed", latches(k), [True, False, False, False])
    w = aes("protection wrapper " + RUN, False, True, [(CKA_WRAP, True)])
    rv("C_WrapKey of the now non-extractable key is CKR_KEY_UNEXTRACTABLE", rv_of(s.wrapKey, w, k, mech(CKM_AES_KEY_WRAP_PAD)), CKR_KEY_UNEXTRACTABLE)


run()
