"""Error codes for bad handles, forbidden key use and wrong mechanisms (PKCS#11 2.40 section 5.1)."""
from p11check import *

lib = load()
s = open_rw(lib)
L = lib.lib
raw = Raw()
BOGUS = 0x7FFF1234

ec_pub, ec_priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, OID["P-256"])],
                                    [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_SIGN, True)], mech(CKM_EC_KEY_PAIR_GEN))


@section
def unknown_handles():
    bogus_session = LowLevel.CK_SESSION_HANDLE()
    bogus_session.assign(BOGUS)
    rv("C_GetSessionInfo of an unknown session handle is CKR_SESSION_HANDLE_INVALID", L.C_GetSessionInfo(bogus_session, LowLevel.CK_SESSION_INFO()), CKR_SESSION_HANDLE_INVALID)
    rv("C_CloseSession of an unknown session handle is CKR_SESSION_HANDLE_INVALID", L.C_CloseSession(bogus_session), CKR_SESSION_HANDLE_INVALID)
    rv("C_FindObjectsInit on an unknown session handle is CKR_SESSION_HANDLE_INVALID", L.C_FindObjectsInit(bogus_session, s._template2ckattrlist([])), CKR_SESSION_HANDLE_INVALID)
    rv("C_GetAttributeValue of an unknown object handle is CKR_OBJECT_HANDLE_INVALID", raw.get_attributes(s, BOGUS, [(CKA_CLASS, None)])[0], CKR_OBJECT_HANDLE_INVALID)
    rv("C_DestroyObject of an unknown object handle is CKR_OBJECT_HANDLE_INVALID", L.C_DestroyObject(s.session, handle(BOGUS)), CKR_OBJECT_HANDLE_INVALID)
    rv("C_SetAttributeValue of an unknown object handle is CKR_OBJECT_HANDLE_INVALID", rv_of(s.setAttributeValue, handle(BOGUS), [(CKA_LABEL, "x")]), CKR_OBJECT_HANDLE_INVALID)
    rv("C_SignInit with an unknown key handle is CKR_KEY_HANDLE_INVALID", init(L.C_SignInit, s, mech(CKM_ECDSA), handle(BOGUS)), CKR_KEY_HANDLE_INVALID)
    rv("C_EncryptInit with an unknown key handle is CKR_KEY_HANDLE_INVALID", init(L.C_EncryptInit, s, mech(CKM_AES_ECB), handle(BOGUS)), CKR_KEY_HANDLE_INVALID)
    rv("C_WrapKey with an unknown wrapping key is CKR_WRAPPING_KEY_HANDLE_INVALID", rv_of(s.wrapKey, handle(BOGUS), ec_priv, mech(CKM_AES_KEY_WRAP_PAD)), CKR_WRAPPING_KEY_HANDLE_INVALID)
    rv("C_SignInit with handle 0 (CK_INVALID_HANDLE) is CKR_KEY_HANDLE_INVALID", init(L.C_SignInit, s, mech(CKM_ECDSA), handle(0)), CKR_KEY_HANDLE_INVALID)


@section
def forbidden_key_use():
    pub, priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, OID["P-256"]), (CKA_VERIFY, True)],
                                  [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_SIGN, False), (CKA_DERIVE, True)], mech(CKM_EC_KEY_PAIR_GEN))
    same("a private key generated with CKA_SIGN=FALSE reads CKA_SIGN=FALSE", s.getAttributeValue(priv, [CKA_SIGN])[0], False)
    rv("C_SignInit with a CKA_SIGN=FALSE key is CKR_KEY_FUNCTION_NOT_PERMITTED", init(L.C_SignInit, s, mech(CKM_ECDSA), priv), CKR_KEY_FUNCTION_NOT_PERMITTED)
    aes = s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 16), (CKA_TOKEN, False), (CKA_ENCRYPT, False), (CKA_DECRYPT, True)])
    rv("C_EncryptInit with a CKA_ENCRYPT=FALSE key is CKR_KEY_FUNCTION_NOT_PERMITTED", init(L.C_EncryptInit, s, mech(CKM_AES_ECB), aes), CKR_KEY_FUNCTION_NOT_PERMITTED)
    rv("C_DecryptInit with the same key (CKA_DECRYPT=TRUE) returns CKR_OK", init(L.C_DecryptInit, s, mech(CKM_AES_ECB), aes), CKR_OK)


@section
def wrong_mechanism_or_key_type():
    rsa_pub, rsa_priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_MODULUS_BITS, 1024)],
                                          [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_RSA)], mech(CKM_RSA_PKCS_KEY_PAIR_GEN))
    rv("C_SignInit(CKM_ECDSA) with an RSA key is CKR_KEY_TYPE_INCONSISTENT", init(L.C_SignInit, s, mech(CKM_ECDSA), rsa_priv), CKR_KEY_TYPE_INCONSISTENT)
    rv("C_SignInit(CKM_AES_GCM), not a signature mechanism, is CKR_MECHANISM_INVALID", init(L.C_SignInit, s, mech(CKM_AES_GCM), ec_priv), CKR_MECHANISM_INVALID)
    rv("C_SignInit(CKM_ECDSA) with a public key is CKR_KEY_TYPE_INCONSISTENT", init(L.C_SignInit, s, mech(CKM_ECDSA), ec_pub), CKR_KEY_TYPE_INCONSISTENT)
    rv("C_GenerateKey(CKM_RSA_PKCS_KEY_PAIR_GEN) is CKR_MECHANISM_INVALID", rv_of(s.generateKey, [(CKA_CLASS, CKO_SECRET_KEY)], mech(CKM_RSA_PKCS_KEY_PAIR_GEN)), CKR_MECHANISM_INVALID)
    rv("C_SignInit with a mechanism the token does not list (CKM_MD5_RSA_PKCS) is CKR_MECHANISM_INVALID", init(L.C_SignInit, s, mech(CKM_MD5_RSA_PKCS), rsa_priv), CKR_MECHANISM_INVALID)
    rv("C_SeedRandom is CKR_RANDOM_SEED_NOT_SUPPORTED", L.C_SeedRandom(s.session, ckbytelist(b"seed")), CKR_RANDOM_SEED_NOT_SUPPORTED)
    a, b = bytes(s.generateRandom(32)), bytes(s.generateRandom(32))
    true("C_GenerateRandom gives 32 bytes, different each time", len(a) == 32 and a != b)


run()
