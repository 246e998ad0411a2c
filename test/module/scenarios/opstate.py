"""Operation state (PKCS#11 2.40 sections 5.2 and 5.8 to 5.11): length queries, short buffers,
errors that end an operation, a second Init, and how often the KMS is asked.

P11KMS_TEST_COUNTER_URL is a proxy in front of the KMS (started by the tap test) that counts
KMIP operations; GET <url>/__counts returns them."""
import hashlib
import json
import os
import urllib.request

from p11check import *

lib = load()
s = open_rw(lib)
L = lib.lib
raw = Raw()
MSG = b"operation state"


def kms_counts():
    with urllib.request.urlopen(os.environ["P11KMS_TEST_COUNTER_URL"] + "/__counts") as r:
        return json.load(r)


def kms_calls(op, run):
    before = kms_counts().get(op, 0)
    result = run()
    return kms_counts().get(op, 0) - before, result


rsa_pub, rsa_priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_RSA), (CKA_MODULUS_BITS, 2048)],
                                      [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_RSA)], mech(CKM_RSA_PKCS_KEY_PAIR_GEN))
aes = s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 32), (CKA_TOKEN, False)])
PSS = PyKCS11.RSA_PSS_Mechanism(CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 32)
GCM = PyKCS11.AES_GCM_Mechanism(bytes(12), b"aad", 128)


def verify_rv(key, m, data, sig):
    r = init(L.C_VerifyInit, s, m, key)
    return r if r != CKR_OK else L.C_Verify(s.session, ckbytelist(data), ckbytelist(sig))


@section
def sign_length_query_then_short_buffer_then_real_call():
    init(L.C_SignInit, s, PSS, rsa_priv)

    def three_calls():
        return [raw.output("C_Sign", s, MSG, None), raw.output("C_Sign", s, MSG, 100), raw.output("C_Sign", s, MSG, 256)]
    n, (query, short, real) = kms_calls("Sign", three_calls)
    same("C_Sign with NULL output: CKR_OK and the length 256", query[:2], (CKR_OK, 256))
    same("C_Sign with a 100-byte buffer: CKR_BUFFER_TOO_SMALL and the length 256", [rv_name(short[0]), short[1]], ["CKR_BUFFER_TOO_SMALL", 256])
    same("C_Sign after BUFFER_TOO_SMALL still works (the operation stayed active): CKR_OK, 256 bytes", [rv_name(real[0]), real[1]], ["CKR_OK", 256])
    same("length query + short buffer + real C_Sign made exactly one KMIP Sign", n, 1)
    rv("the signature verifies", verify_rv(rsa_pub, PSS, MSG, real[2]), CKR_OK)
    rv("a delivered signature ends the operation: next C_Sign is CKR_OPERATION_NOT_INITIALIZED", raw.output("C_Sign", s, MSG, 256)[0], CKR_OPERATION_NOT_INITIALIZED)


@section
def cipher_length_query_does_the_work_once():
    init(L.C_EncryptInit, s, GCM, aes)
    n, (query, short, real) = kms_calls("Encrypt", lambda: [raw.output("C_Encrypt", s, MSG, None), raw.output("C_Encrypt", s, MSG, 4),
                                                            raw.output("C_Encrypt", s, MSG, 64)])
    same("AES-GCM C_Encrypt NULL / 4-byte / 64-byte buffer: OK, BUFFER_TOO_SMALL, OK, all reporting %d bytes" % (len(MSG) + 16),
         [[rv_name(x[0]), x[1]] for x in (query, short, real)], [["CKR_OK", len(MSG) + 16], ["CKR_BUFFER_TOO_SMALL", len(MSG) + 16], ["CKR_OK", len(MSG) + 16]])
    same("AES-GCM C_Encrypt length query + short buffer + real call made exactly one KMIP Encrypt", n, 1)
    init(L.C_DecryptInit, s, GCM, aes)
    n, (query, real) = kms_calls("Decrypt", lambda: [raw.output("C_Decrypt", s, real[2], None), raw.output("C_Decrypt", s, real[2], 64)])
    same("AES-GCM C_Decrypt NULL then real: the plaintext, with one KMIP Decrypt", [query[1], real[2], n], [len(MSG), MSG, 1])
    init(L.C_EncryptInit, s, GCM, aes)
    for part in (MSG[:5], MSG[5:]):
        L.C_EncryptUpdate(s.session, ckbytelist(part), ckbytelist([0] * 64))
    n, (query, short, fin) = kms_calls("Encrypt", lambda: [raw.output("C_EncryptFinal", s, None, None), raw.output("C_EncryptFinal", s, None, 3),
                                                           raw.output("C_EncryptFinal", s, None, 64)])
    same("C_EncryptFinal NULL / 3-byte / 64-byte buffer: OK, BUFFER_TOO_SMALL, OK with the single-part ciphertext",
         [rv_name(query[0]), rv_name(short[0]), rv_name(fin[0]), fin[2]], ["CKR_OK", "CKR_BUFFER_TOO_SMALL", "CKR_OK", real_ct()])
    same("C_EncryptFinal length query + short buffer + real call made exactly one KMIP Encrypt", n, 1)


def real_ct():
    init(L.C_EncryptInit, s, GCM, aes)
    return raw.output("C_Encrypt", s, MSG, 64)[2]


@section
def errors_end_operations():
    init(L.C_SignInit, s, mech(CKM_RSA_PKCS), rsa_priv)
    rv("CKM_RSA_PKCS C_Sign of 300 bytes (too long for the modulus) is CKR_DATA_LEN_RANGE", raw.output("C_Sign", s, b"x" * 300, 256)[0], CKR_DATA_LEN_RANGE)
    rv("CKR_DATA_LEN_RANGE from C_Sign ended the operation: C_Sign is now CKR_OPERATION_NOT_INITIALIZED", raw.output("C_Sign", s, b"x" * 20, 256)[0], CKR_OPERATION_NOT_INITIALIZED)
    init(L.C_SignInit, s, mech(CKM_RSA_PKCS), rsa_priv)
    rv("CKM_RSA_PKCS is single-part: C_SignUpdate is CKR_FUNCTION_NOT_SUPPORTED", L.C_SignUpdate(s.session, ckbytelist(b"abc")), CKR_FUNCTION_NOT_SUPPORTED)
    rv("a failed C_SignUpdate ended the operation: C_Sign is now CKR_OPERATION_NOT_INITIALIZED", raw.output("C_Sign", s, b"x" * 20, 256)[0], CKR_OPERATION_NOT_INITIALIZED)
    ct = real_ct()
    init(L.C_DecryptInit, s, GCM, aes)
    rv("AES-GCM C_Decrypt of a forged tag is CKR_ENCRYPTED_DATA_INVALID", raw.output("C_Decrypt", s, ct[:-1] + bytes([ct[-1] ^ 1]), 64)[0], CKR_ENCRYPTED_DATA_INVALID)
    rv("CKR_ENCRYPTED_DATA_INVALID ended the operation: C_Decrypt is now CKR_OPERATION_NOT_INITIALIZED", raw.output("C_Decrypt", s, ct, 64)[0], CKR_OPERATION_NOT_INITIALIZED)
    init(L.C_VerifyInit, s, PSS, rsa_pub)
    rv("C_Verify of a bad signature is CKR_SIGNATURE_INVALID", L.C_Verify(s.session, ckbytelist(MSG), ckbytelist(bytes(256))), CKR_SIGNATURE_INVALID)
    rv("CKR_SIGNATURE_INVALID ended the operation: C_Verify is now CKR_OPERATION_NOT_INITIALIZED", L.C_Verify(s.session, ckbytelist(MSG), ckbytelist(bytes(256))), CKR_OPERATION_NOT_INITIALIZED)
    rv("C_SignFinal without C_SignInit is CKR_OPERATION_NOT_INITIALIZED", raw.output("C_SignFinal", s, None, 256)[0], CKR_OPERATION_NOT_INITIALIZED)
    rv("C_EncryptUpdate without C_EncryptInit is CKR_OPERATION_NOT_INITIALIZED", L.C_EncryptUpdate(s.session, ckbytelist(MSG), ckbytelist([0] * 64)), CKR_OPERATION_NOT_INITIALIZED)


@section
def second_init_is_operation_active():
    cases = [("C_SignInit", lambda: init(L.C_SignInit, s, PSS, rsa_priv)), ("C_VerifyInit", lambda: init(L.C_VerifyInit, s, PSS, rsa_pub)),
             ("C_EncryptInit", lambda: init(L.C_EncryptInit, s, GCM, aes)), ("C_DecryptInit", lambda: init(L.C_DecryptInit, s, GCM, aes)),
             ("C_DigestInit", lambda: init(L.C_DigestInit, s, mech(CKM_SHA256)))]
    for name, call in cases:
        rv(name + " returns CKR_OK", call(), CKR_OK)
        rv(name + " a second time is CKR_OPERATION_ACTIVE", call(), CKR_OPERATION_ACTIVE)
    sig = raw.output("C_Sign", s, MSG, 256)
    rv("the first sign operation survives the refused second C_SignInit", sig[0], CKR_OK)
    rv("the verify operation survives the refused second C_VerifyInit", L.C_Verify(s.session, ckbytelist(MSG), ckbytelist(sig[2])), CKR_OK)
    same("the digest operation survives the refused second C_DigestInit", raw.output("C_Digest", s, MSG, 32)[2], hashlib.sha256(MSG).digest())


@section
def closing_the_session_ends_operations():
    a = open_rw(lib)
    init(L.C_SignInit, a, PSS, rsa_priv)
    init(L.C_EncryptInit, a, GCM, aes)
    a.closeSession()
    rv("C_Sign on the closed session is CKR_SESSION_HANDLE_INVALID", raw.output("C_Sign", a, MSG, 256)[0], CKR_SESSION_HANDLE_INVALID)
    b = open_rw(lib)
    true("a new session gets a new handle", sh(b) != sh(a), [sh(a), sh(b)])
    rv("the new session has no sign operation: CKR_OPERATION_NOT_INITIALIZED", raw.output("C_Sign", b, MSG, 256)[0], CKR_OPERATION_NOT_INITIALIZED)
    rv("C_SignInit in the new session returns CKR_OK (nothing active)", init(L.C_SignInit, b, PSS, rsa_priv), CKR_OK)
    b.closeSession()


run()
