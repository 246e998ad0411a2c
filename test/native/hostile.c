/* Hostile input for libp11kms.so: every function of the 2.40 list and the 3.0 interface,
 * called with NULL pointers, invalid session and object handles, short buffers, count
 * mismatches, huge lengths, bad templates and bad mechanisms, before C_Initialize, while
 * initialised and after C_Finalize. Every call must come back with the CK_RV the standard
 * names (several are accepted where it allows several); a crash or a sanitizer report is
 * a failure of the tap test that runs this under ASan.
 *
 *   hostile <module.so>
 *
 * Unlike harness.c it does not stop at the first surprise: every mismatch prints
 * `MISMATCH <line>: <call> returned <rv>, expected <rvs>`, and the run ends with
 * `CALLS <n> MISMATCHES <m>` and `OK hostile` (exit 0) when there was none.
 *
 * Build: cc -Wall -Wextra -Werror -O1 -g -I/usr/include/p11-kit-1 -Inative/include
 *        -o hostile test/native/hostile.c -ldl
 */
#define _GNU_SOURCE
#include "pkcs11_v30.h"
#include "ck_rv_names.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long calls, mismatches;
static CK_RV last_rv;

static void expect_at(int line, const char *what, CK_RV got, const CK_RV *want, size_t n) {
  calls++;
  last_rv = got;
  for (size_t i = 0; i < n; i++)
    if (got == want[i]) return;
  mismatches++;
  printf("MISMATCH hostile.c:%d: %s returned %s, expected", line, what, ck_rv_name(got));
  for (size_t i = 0; i < n; i++) printf("%s %s", i ? " or" : "", ck_rv_name(want[i]));
  printf("\n");
  fflush(stdout);
}

/* EXPECT(call, rv...): the call must return one of the rvs. */
#define RVS(...) ((const CK_RV[]){ __VA_ARGS__ }), (sizeof((const CK_RV[]){ __VA_ARGS__ }) / sizeof(CK_RV))
#define EXPECT(expr, ...) expect_at(__LINE__, #expr, (expr), RVS(__VA_ARGS__))
#define BAD(expr) EXPECT(expr, CKR_ARGUMENTS_BAD)

static void fatal(const char *what, CK_RV rv) __attribute__((noreturn));
static void fatal(const char *what, CK_RV rv) {
  printf("FAIL hostile: %s returned %s\n", what, ck_rv_name(rv));
  fflush(stdout);
  _exit(1);
}

static CK_FUNCTION_LIST_PTR F;
static CK_FUNCTION_LIST_3_0 *F3;

static const CK_BYTE P256_OID[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
/* Far beyond any frame the module sends (64 MiB): it must refuse, never read that much. */
static const CK_ULONG HUGE_LENGTH = (CK_ULONG)1 << 40;
static const CK_SESSION_HANDLE BAD_SESSIONS[] = { 0, 0x7ffffff0UL, ~(CK_ULONG)0 };
static const CK_OBJECT_HANDLE BAD_OBJECTS[] = { 0, 0x7fffff00UL, ~(CK_ULONG)0 };

/* Buffers every call may use: real memory, so only the argument under test is wrong. */
static CK_BYTE data[64] = { 1, 2, 3 }, out[512], sig[64];
static CK_ULONG out_len, count;
static CK_OBJECT_HANDLE handle, handle2;
static CK_SLOT_ID slot_buf[8];
static CK_MECHANISM_TYPE mech_buf[128];
static CK_INFO info;
static CK_SLOT_INFO slot_info;
static CK_TOKEN_INFO token_info;
static CK_MECHANISM_INFO mech_info;
static CK_SESSION_INFO session_info;
static CK_UTF8CHAR pin[] = "1234", user_name[] = "user", token_label[32];
static CK_BYTE iv[12];
static CK_GCM_PARAMS gcm;

static void load(const char *path) {
  void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!module) {
    printf("FAIL hostile: dlopen %s: %s\n", path, dlerror());
    _exit(1);
  }
  CK_C_GetFunctionList get_function_list = (CK_C_GetFunctionList)dlsym(module, "C_GetFunctionList");
  CK_C_GetInterface get_interface = (CK_C_GetInterface)dlsym(module, "C_GetInterface");
  if (!get_function_list || !get_interface) fatal("dlsym", CKR_GENERAL_ERROR);
  BAD(get_function_list(NULL));
  CK_RV rv = get_function_list(&F);
  if (rv != CKR_OK) fatal("C_GetFunctionList", rv);
  CK_VERSION v30 = { 3, 0 };
  CK_INTERFACE_PTR interface = NULL;
  BAD(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, NULL, 0));
  rv = get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &interface, 0);
  if (rv != CKR_OK || !interface) fatal("C_GetInterface", rv);
  F3 = interface->pFunctionList;
  CK_C_GetInterfaceList get_interface_list = (CK_C_GetInterfaceList)dlsym(module, "C_GetInterfaceList");
  if (!get_interface_list) fatal("dlsym C_GetInterfaceList", CKR_GENERAL_ERROR);
  CK_INTERFACE list[1];
  count = 0;
  EXPECT(get_interface_list(list, &count), CKR_BUFFER_TOO_SMALL);
  BAD(get_interface_list(list, NULL));
  memset(token_label, ' ', sizeof(token_label));
  memset(&gcm, 0, sizeof(gcm));
  gcm.pIv = iv;
  gcm.ulIvLen = 12;
  gcm.ulIvBits = 96;
  gcm.ulTagBits = 128;
}

/* Every function, with plausible arguments (and with huge lengths): nothing is looked at
 * before the module says it is not initialised. */
static void all_not_initialised(void) {
  CK_FUNCTION_LIST_3_0 *f = F3;
  CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
  CK_ATTRIBUTE a[] = { { CKA_LABEL, data, 4 } };
  CK_SLOT_ID event_slot;
#define NI(expr) EXPECT(expr, CKR_CRYPTOKI_NOT_INITIALIZED)
  NI(f->C_Finalize(NULL));
  /* Either check may come first (PKCS#11 2.40, 5.4). */
  EXPECT(f->C_Finalize(data), CKR_CRYPTOKI_NOT_INITIALIZED, CKR_ARGUMENTS_BAD);
  NI(f->C_GetInfo(&info));
  NI(f->C_GetSlotList(CK_TRUE, slot_buf, &count));
  NI(f->C_GetSlotInfo(0, &slot_info));
  NI(f->C_GetTokenInfo(0, &token_info));
  NI(f->C_GetMechanismList(0, mech_buf, &count));
  NI(f->C_GetMechanismInfo(0, CKM_SHA256, &mech_info));
  NI(f->C_InitToken(0, pin, HUGE_LENGTH, token_label));
  NI(f->C_InitPIN(1, pin, HUGE_LENGTH));
  NI(f->C_SetPIN(1, pin, 4, pin, HUGE_LENGTH));
  NI(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &handle));
  NI(f->C_CloseSession(1));
  NI(f->C_CloseAllSessions(0));
  NI(f->C_GetSessionInfo(1, &session_info));
  NI(f->C_GetOperationState(1, out, &out_len));
  NI(f->C_SetOperationState(1, data, HUGE_LENGTH, 0, 0));
  NI(f->C_Login(1, CKU_USER, pin, HUGE_LENGTH));
  NI(f->C_Logout(1));
  NI(f->C_CreateObject(1, a, HUGE_LENGTH, &handle));
  NI(f->C_CopyObject(1, 1, a, 1, &handle));
  NI(f->C_DestroyObject(1, 1));
  NI(f->C_GetObjectSize(1, 1, &count));
  NI(f->C_GetAttributeValue(1, 1, a, 1));
  NI(f->C_SetAttributeValue(1, 1, a, 1));
  NI(f->C_FindObjectsInit(1, a, 1));
  NI(f->C_FindObjects(1, &handle, HUGE_LENGTH, &count));
  NI(f->C_FindObjectsFinal(1));
  NI(f->C_EncryptInit(1, &m, 1));
  NI(f->C_Encrypt(1, data, HUGE_LENGTH, out, &out_len));
  NI(f->C_EncryptUpdate(1, data, 4, out, &out_len));
  NI(f->C_EncryptFinal(1, out, &out_len));
  NI(f->C_DecryptInit(1, &m, 1));
  NI(f->C_Decrypt(1, data, 4, out, &out_len));
  NI(f->C_DecryptUpdate(1, data, 4, out, &out_len));
  NI(f->C_DecryptFinal(1, out, &out_len));
  NI(f->C_DigestInit(1, &m));
  NI(f->C_Digest(1, data, 4, out, &out_len));
  NI(f->C_DigestUpdate(1, data, HUGE_LENGTH));
  NI(f->C_DigestKey(1, 1));
  NI(f->C_DigestFinal(1, out, &out_len));
  NI(f->C_SignInit(1, &m, 1));
  NI(f->C_Sign(1, data, 4, out, &out_len));
  NI(f->C_SignUpdate(1, data, 4));
  NI(f->C_SignFinal(1, out, &out_len));
  NI(f->C_SignRecoverInit(1, &m, 1));
  NI(f->C_SignRecover(1, data, 4, out, &out_len));
  NI(f->C_VerifyInit(1, &m, 1));
  NI(f->C_Verify(1, data, 4, sig, 64));
  NI(f->C_VerifyUpdate(1, data, 4));
  NI(f->C_VerifyFinal(1, sig, 64));
  NI(f->C_VerifyRecoverInit(1, &m, 1));
  NI(f->C_VerifyRecover(1, sig, 64, out, &out_len));
  NI(f->C_DigestEncryptUpdate(1, data, 4, out, &out_len));
  NI(f->C_DecryptDigestUpdate(1, data, 4, out, &out_len));
  NI(f->C_SignEncryptUpdate(1, data, 4, out, &out_len));
  NI(f->C_DecryptVerifyUpdate(1, data, 4, out, &out_len));
  NI(f->C_GenerateKey(1, &m, a, 1, &handle));
  NI(f->C_GenerateKeyPair(1, &m, a, 1, a, 1, &handle, &handle2));
  NI(f->C_WrapKey(1, &m, 1, 1, out, &out_len));
  NI(f->C_UnwrapKey(1, &m, 1, data, 40, a, 1, &handle));
  NI(f->C_DeriveKey(1, &m, 1, a, 1, &handle));
  NI(f->C_SeedRandom(1, data, 4));
  NI(f->C_GenerateRandom(1, out, HUGE_LENGTH));
  NI(f->C_GetFunctionStatus(1));
  NI(f->C_CancelFunction(1));
  NI(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event_slot, NULL));
  NI(f->C_LoginUser(1, CKU_USER, pin, 4, user_name, 4));
  NI(f->C_SessionCancel(1, CKF_SIGN));
  NI(f->C_MessageEncryptInit(1, &m, 1));
  NI(f->C_EncryptMessage(1, &gcm, sizeof(gcm), NULL, 0, data, 4, out, &out_len));
  NI(f->C_EncryptMessageBegin(1, &gcm, sizeof(gcm), NULL, 0));
  NI(f->C_EncryptMessageNext(1, &gcm, sizeof(gcm), data, 4, out, &out_len, 0));
  NI(f->C_MessageEncryptFinal(1));
  NI(f->C_MessageDecryptInit(1, &m, 1));
  NI(f->C_DecryptMessage(1, &gcm, sizeof(gcm), NULL, 0, data, 4, out, &out_len));
  NI(f->C_DecryptMessageBegin(1, &gcm, sizeof(gcm), NULL, 0));
  NI(f->C_DecryptMessageNext(1, &gcm, sizeof(gcm), data, 4, out, &out_len, 0));
  NI(f->C_MessageDecryptFinal(1));
  NI(f->C_MessageSignInit(1, &m, 1));
  NI(f->C_SignMessage(1, NULL, 0, data, 4, out, &out_len));
  NI(f->C_SignMessageBegin(1, NULL, 0));
  NI(f->C_SignMessageNext(1, NULL, 0, data, 4, out, &out_len));
  NI(f->C_MessageSignFinal(1));
  NI(f->C_MessageVerifyInit(1, &m, 1));
  NI(f->C_VerifyMessage(1, NULL, 0, data, 4, sig, 64));
  NI(f->C_VerifyMessageBegin(1, NULL, 0));
  NI(f->C_VerifyMessageNext(1, NULL, 0, data, 4, sig, 64));
  NI(f->C_MessageVerifyFinal(1));
#undef NI
}

/* Every function that takes a session, with a session that does not exist and otherwise
 * good arguments. Functions p11kms does not offer may say so instead. */
static void bad_sessions(CK_OBJECT_HANDLE key) {
  CK_FUNCTION_LIST_3_0 *f = F3;
  CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
  CK_ATTRIBUTE a[] = { { CKA_LABEL, data, 4 } };
  for (size_t i = 0; i < sizeof(BAD_SESSIONS) / sizeof(BAD_SESSIONS[0]); i++) {
    CK_SESSION_HANDLE s = BAD_SESSIONS[i];
#define BS(expr) EXPECT(expr, CKR_SESSION_HANDLE_INVALID)
#define BS_OR_NS(expr) EXPECT(expr, CKR_SESSION_HANDLE_INVALID, CKR_FUNCTION_NOT_SUPPORTED)
    BS(f->C_CloseSession(s));
    BS(f->C_GetSessionInfo(s, &session_info));
    BS_OR_NS(f->C_GetOperationState(s, out, &out_len));
    BS_OR_NS(f->C_SetOperationState(s, data, 4, 0, 0));
    BS(f->C_Login(s, CKU_USER, pin, 4));
    BS(f->C_Logout(s));
    BS_OR_NS(f->C_InitPIN(s, pin, 4));
    BS_OR_NS(f->C_SetPIN(s, pin, 4, pin, 4));
    BS(f->C_CreateObject(s, a, 1, &handle));
    BS(f->C_CopyObject(s, key, a, 1, &handle));
    BS(f->C_DestroyObject(s, key));
    BS(f->C_GetObjectSize(s, key, &count));
    BS(f->C_GetAttributeValue(s, key, a, 1));
    BS(f->C_SetAttributeValue(s, key, a, 1));
    BS(f->C_FindObjectsInit(s, a, 1));
    BS(f->C_FindObjects(s, &handle, 1, &count));
    BS(f->C_FindObjectsFinal(s));
    BS(f->C_EncryptInit(s, &m, key));
    BS(f->C_Encrypt(s, data, 4, out, &out_len));
    BS(f->C_EncryptUpdate(s, data, 4, out, &out_len));
    BS(f->C_EncryptFinal(s, out, &out_len));
    BS(f->C_DecryptInit(s, &m, key));
    BS(f->C_Decrypt(s, data, 4, out, &out_len));
    BS(f->C_DecryptUpdate(s, data, 4, out, &out_len));
    BS(f->C_DecryptFinal(s, out, &out_len));
    BS(f->C_DigestInit(s, &m));
    BS(f->C_Digest(s, data, 4, out, &out_len));
    BS(f->C_DigestUpdate(s, data, 4));
    BS(f->C_DigestKey(s, key));
    BS(f->C_DigestFinal(s, out, &out_len));
    BS(f->C_SignInit(s, &m, key));
    BS(f->C_Sign(s, data, 4, out, &out_len));
    BS(f->C_SignUpdate(s, data, 4));
    BS(f->C_SignFinal(s, out, &out_len));
    BS_OR_NS(f->C_SignRecoverInit(s, &m, key));
    BS_OR_NS(f->C_SignRecover(s, data, 4, out, &out_len));
    BS(f->C_VerifyInit(s, &m, key));
    BS(f->C_Verify(s, data, 4, sig, 64));
    BS(f->C_VerifyUpdate(s, data, 4));
    BS(f->C_VerifyFinal(s, sig, 64));
    BS_OR_NS(f->C_VerifyRecoverInit(s, &m, key));
    BS_OR_NS(f->C_VerifyRecover(s, sig, 64, out, &out_len));
    BS_OR_NS(f->C_DigestEncryptUpdate(s, data, 4, out, &out_len));
    BS_OR_NS(f->C_DecryptDigestUpdate(s, data, 4, out, &out_len));
    BS_OR_NS(f->C_SignEncryptUpdate(s, data, 4, out, &out_len));
    BS_OR_NS(f->C_DecryptVerifyUpdate(s, data, 4, out, &out_len));
    BS(f->C_GenerateKey(s, &m, a, 1, &handle));
    BS(f->C_GenerateKeyPair(s, &m, a, 1, a, 1, &handle, &handle2));
    BS(f->C_WrapKey(s, &m, key, key, out, &out_len));
    BS(f->C_UnwrapKey(s, &m, key, data, 40, a, 1, &handle));
    BS(f->C_DeriveKey(s, &m, key, a, 1, &handle));
    BS_OR_NS(f->C_SeedRandom(s, data, 4));
    BS(f->C_GenerateRandom(s, out, 4));
    EXPECT(f->C_GetFunctionStatus(s), CKR_SESSION_HANDLE_INVALID, CKR_FUNCTION_NOT_PARALLEL);
    EXPECT(f->C_CancelFunction(s), CKR_SESSION_HANDLE_INVALID, CKR_FUNCTION_NOT_PARALLEL);
    BS_OR_NS(f->C_LoginUser(s, CKU_USER, pin, 4, user_name, 4));
    BS_OR_NS(f->C_SessionCancel(s, CKF_SIGN));
    BS_OR_NS(f->C_MessageEncryptInit(s, &m, key));
    BS_OR_NS(f->C_EncryptMessage(s, &gcm, sizeof(gcm), NULL, 0, data, 4, out, &out_len));
    BS_OR_NS(f->C_EncryptMessageBegin(s, &gcm, sizeof(gcm), NULL, 0));
    BS_OR_NS(f->C_EncryptMessageNext(s, &gcm, sizeof(gcm), data, 4, out, &out_len, 0));
    BS_OR_NS(f->C_MessageEncryptFinal(s));
    BS_OR_NS(f->C_MessageDecryptInit(s, &m, key));
    BS_OR_NS(f->C_DecryptMessage(s, &gcm, sizeof(gcm), NULL, 0, data, 4, out, &out_len));
    BS_OR_NS(f->C_DecryptMessageBegin(s, &gcm, sizeof(gcm), NULL, 0));
    BS_OR_NS(f->C_DecryptMessageNext(s, &gcm, sizeof(gcm), data, 4, out, &out_len, 0));
    BS_OR_NS(f->C_MessageDecryptFinal(s));
    BS_OR_NS(f->C_MessageSignInit(s, &m, key));
    BS_OR_NS(f->C_SignMessage(s, NULL, 0, data, 4, out, &out_len));
    BS_OR_NS(f->C_SignMessageBegin(s, NULL, 0));
    BS_OR_NS(f->C_SignMessageNext(s, NULL, 0, data, 4, out, &out_len));
    BS_OR_NS(f->C_MessageSignFinal(s));
    BS_OR_NS(f->C_MessageVerifyInit(s, &m, key));
    BS_OR_NS(f->C_VerifyMessage(s, NULL, 0, data, 4, sig, 64));
    BS_OR_NS(f->C_VerifyMessageBegin(s, NULL, 0));
    BS_OR_NS(f->C_VerifyMessageNext(s, NULL, 0, data, 4, sig, 64));
    BS_OR_NS(f->C_MessageVerifyFinal(s));
#undef BS
#undef BS_OR_NS
  }
}

/* Object handles that name nothing, where the standard says which rv that is. */
static void bad_objects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE aes) {
  CK_ATTRIBUTE a[] = { { CKA_LABEL, out, sizeof(out) } };
  CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 }, sha = { CKM_SHA256, NULL, 0 };
  CK_MECHANISM gcm_mechanism = { CKM_AES_GCM, &gcm, sizeof(gcm) }, wrap = { CKM_AES_KEY_WRAP, NULL, 0 };
  CK_MECHANISM hkdf = { CKM_HKDF_DERIVE, NULL, 0 };
  CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
  CK_KEY_TYPE aes_type = CKK_AES;
  CK_ATTRIBUTE unwrap_template[] = { { CKA_CLASS, &secret, sizeof(secret) }, { CKA_KEY_TYPE, &aes_type, sizeof(aes_type) } };
  for (size_t i = 0; i < sizeof(BAD_OBJECTS) / sizeof(BAD_OBJECTS[0]); i++) {
    CK_OBJECT_HANDLE o = BAD_OBJECTS[i];
    EXPECT(F->C_GetAttributeValue(s, o, a, 1), CKR_OBJECT_HANDLE_INVALID);
    EXPECT(F->C_SetAttributeValue(s, o, a, 1), CKR_OBJECT_HANDLE_INVALID);
    EXPECT(F->C_GetObjectSize(s, o, &count), CKR_OBJECT_HANDLE_INVALID);
    EXPECT(F->C_DestroyObject(s, o), CKR_OBJECT_HANDLE_INVALID);
    EXPECT(F->C_CopyObject(s, o, NULL, 0, &handle), CKR_OBJECT_HANDLE_INVALID);
    EXPECT(F->C_EncryptInit(s, &gcm_mechanism, o), CKR_KEY_HANDLE_INVALID);
    EXPECT(F->C_DecryptInit(s, &gcm_mechanism, o), CKR_KEY_HANDLE_INVALID);
    EXPECT(F->C_SignInit(s, &ecdsa, o), CKR_KEY_HANDLE_INVALID);
    EXPECT(F->C_VerifyInit(s, &ecdsa, o), CKR_KEY_HANDLE_INVALID);
    EXPECT(F3->C_MessageEncryptInit(s, &gcm_mechanism, o), CKR_KEY_HANDLE_INVALID, CKR_FUNCTION_NOT_SUPPORTED);
    EXPECT(F3->C_MessageDecryptInit(s, &gcm_mechanism, o), CKR_KEY_HANDLE_INVALID, CKR_FUNCTION_NOT_SUPPORTED);
    EXPECT(F3->C_MessageSignInit(s, &ecdsa, o), CKR_KEY_HANDLE_INVALID, CKR_FUNCTION_NOT_SUPPORTED);
    EXPECT(F3->C_MessageVerifyInit(s, &ecdsa, o), CKR_KEY_HANDLE_INVALID, CKR_FUNCTION_NOT_SUPPORTED);
    EXPECT(F->C_DeriveKey(s, &hkdf, o, unwrap_template, 2, &handle), CKR_KEY_HANDLE_INVALID);
    out_len = sizeof(out);
    EXPECT(F->C_WrapKey(s, &wrap, o, aes, out, &out_len), CKR_WRAPPING_KEY_HANDLE_INVALID);
    out_len = sizeof(out);
    EXPECT(F->C_WrapKey(s, &wrap, aes, o, out, &out_len), CKR_KEY_HANDLE_INVALID);
    EXPECT(F->C_UnwrapKey(s, &wrap, o, data, 40, unwrap_template, 2, &handle), CKR_UNWRAPPING_KEY_HANDLE_INVALID);
    EXPECT(F->C_DigestInit(s, &sha), CKR_OK);
    EXPECT(F->C_DigestKey(s, o), CKR_KEY_HANDLE_INVALID);
    EXPECT(F->C_DigestInit(s, NULL), CKR_OK, CKR_ARGUMENTS_BAD);
    out_len = sizeof(out);
    EXPECT(F->C_DigestFinal(s, out, &out_len), CKR_OK, CKR_OPERATION_NOT_INITIALIZED);
  }
}

/* NULL where the standard wants a pointer: CKR_ARGUMENTS_BAD, for every such argument,
 * including the 3.0 message functions (which p11kms may not offer at all). */
static void null_pointers(CK_SLOT_ID slot, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE aes, CK_OBJECT_HANDLE priv) {
  CK_FUNCTION_LIST_3_0 *f = F3;
  CK_MECHANISM sha = { CKM_SHA256, NULL, 0 }, aes_gen = { CKM_AES_KEY_GEN, NULL, 0 };
  CK_ATTRIBUTE a[] = { { CKA_LABEL, data, 4 } };
  BAD(f->C_GetInfo(NULL));
  BAD(f->C_GetSlotList(CK_FALSE, slot_buf, NULL));
  BAD(f->C_GetSlotInfo(slot, NULL));
  BAD(f->C_GetTokenInfo(slot, NULL));
  BAD(f->C_GetMechanismList(slot, mech_buf, NULL));
  BAD(f->C_GetMechanismInfo(slot, CKM_SHA256, NULL));
  BAD(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL));
  BAD(f->C_GetSessionInfo(s, NULL));
  BAD(f->C_Login(s, CKU_USER, NULL, 4));
  BAD(f->C_CreateObject(s, NULL, 1, &handle));
  BAD(f->C_CreateObject(s, a, 1, NULL));
  BAD(f->C_CopyObject(s, aes, a, 1, NULL));
  BAD(f->C_CopyObject(s, aes, NULL, 1, &handle));
  BAD(f->C_GetObjectSize(s, aes, NULL));
  BAD(f->C_GetAttributeValue(s, aes, NULL, 1));
  BAD(f->C_SetAttributeValue(s, aes, NULL, 1));
  BAD(f->C_FindObjectsInit(s, NULL, 1));
  BAD(f->C_GenerateKey(s, NULL, a, 1, &handle));
  BAD(f->C_GenerateKey(s, &aes_gen, a, 1, NULL));
  BAD(f->C_GenerateKeyPair(s, NULL, a, 1, a, 1, &handle, &handle2));
  BAD(f->C_GenerateKeyPair(s, &aes_gen, a, 1, NULL, 1, &handle, &handle2));
  BAD(f->C_WrapKey(s, NULL, aes, aes, out, &out_len));
  BAD(f->C_WrapKey(s, &aes_gen, aes, aes, out, NULL));
  BAD(f->C_UnwrapKey(s, NULL, aes, data, 40, a, 1, &handle));
  BAD(f->C_UnwrapKey(s, &aes_gen, aes, data, 40, a, 1, NULL));
  BAD(f->C_DeriveKey(s, NULL, priv, a, 1, &handle));
  BAD(f->C_DeriveKey(s, &aes_gen, priv, a, 1, NULL));
  BAD(f->C_GenerateRandom(s, NULL, 4));
  BAD(f->C_SeedRandom(s, NULL, 4));
  BAD(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL));
  BAD(f->C_LoginUser(s, CKU_USER, pin, 4, NULL, 4));
  /* Operations: the argument check comes before the operation state is looked at. */
  EXPECT(f->C_DigestInit(s, &sha), CKR_OK);
  BAD(f->C_Digest(s, NULL, 4, out, &out_len));
  BAD(f->C_Digest(s, data, 4, out, NULL));
  BAD(f->C_DigestUpdate(s, NULL, 4));
  BAD(f->C_DigestFinal(s, out, NULL));
  EXPECT(f->C_DigestInit(s, NULL), CKR_OK, CKR_ARGUMENTS_BAD);
#define BAD_OR_NS(expr) EXPECT(expr, CKR_ARGUMENTS_BAD, CKR_FUNCTION_NOT_SUPPORTED)
  BAD_OR_NS(f->C_EncryptMessage(s, NULL, sizeof(gcm), NULL, 0, data, 4, out, &out_len));
  BAD_OR_NS(f->C_EncryptMessage(s, &gcm, sizeof(gcm), NULL, 0, NULL, 4, out, &out_len));
  BAD_OR_NS(f->C_EncryptMessage(s, &gcm, sizeof(gcm), NULL, 0, data, 4, out, NULL));
  BAD_OR_NS(f->C_EncryptMessageBegin(s, NULL, sizeof(gcm), NULL, 0));
  BAD_OR_NS(f->C_EncryptMessageNext(s, &gcm, sizeof(gcm), data, 4, out, NULL, 0));
  BAD_OR_NS(f->C_DecryptMessage(s, &gcm, sizeof(gcm), NULL, 4, data, 4, out, &out_len));
  BAD_OR_NS(f->C_DecryptMessageBegin(s, NULL, sizeof(gcm), NULL, 0));
  BAD_OR_NS(f->C_DecryptMessageNext(s, &gcm, sizeof(gcm), NULL, 4, out, &out_len, 0));
  BAD_OR_NS(f->C_SignMessage(s, NULL, 0, NULL, 4, out, &out_len));
  BAD_OR_NS(f->C_SignMessage(s, NULL, 0, data, 4, out, NULL));
  BAD_OR_NS(f->C_SignMessageNext(s, NULL, 0, data, 4, out, NULL));
  BAD_OR_NS(f->C_VerifyMessage(s, NULL, 0, data, 4, NULL, 64));
  BAD_OR_NS(f->C_VerifyMessageNext(s, NULL, 0, NULL, 4, sig, 64));
#undef BAD_OR_NS
}

/* Buffers shorter than the answer, NULL buffers asking for the length, and counts that do
 * not match: the two-call convention of PKCS#11 section 5.2, and CKR_BUFFER_TOO_SMALL. */
static void short_buffers(CK_SLOT_ID slot, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE aes, CK_OBJECT_HANDLE priv) {
  count = 0;
  EXPECT(F->C_GetSlotList(CK_FALSE, slot_buf, &count), CKR_BUFFER_TOO_SMALL);
  if (count != 1) printf("NOTE C_GetSlotList with no room says %lu slots\n", (unsigned long)count);
  count = ~(CK_ULONG)0; /* a count far larger than the buffer: the module writes only what exists */
  EXPECT(F->C_GetSlotList(CK_FALSE, slot_buf, &count), CKR_OK);
  count = 1;
  EXPECT(F->C_GetMechanismList(slot, mech_buf, &count), CKR_BUFFER_TOO_SMALL);
  CK_ULONG mechanisms = count;
  count = 0;
  EXPECT(F->C_GetMechanismList(slot, NULL, &count), CKR_OK);
  if (count != mechanisms) { mismatches++; printf("MISMATCH: C_GetMechanismList counts %lu, then %lu\n", (unsigned long)mechanisms, (unsigned long)count); }

  /* A signature into 10 bytes: too small, with the length needed; the operation lives on. */
  CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
  EXPECT(F->C_SignInit(s, &ecdsa, priv), CKR_OK);
  out_len = 10;
  EXPECT(F->C_Sign(s, data, 32, out, &out_len), CKR_BUFFER_TOO_SMALL);
  if (out_len != 64) { mismatches++; printf("MISMATCH: C_Sign with 10 bytes says %lu needed, expected 64\n", (unsigned long)out_len); }
  out_len = 0;
  EXPECT(F->C_Sign(s, data, 32, NULL, &out_len), CKR_OK);
  out_len = sizeof(out);
  EXPECT(F->C_Sign(s, data, 32, out, &out_len), CKR_OK);
  /* A huge input length: refused before the module reads any of it. */
  EXPECT(F->C_SignInit(s, &ecdsa, priv), CKR_OK);
  out_len = sizeof(out);
  EXPECT(F->C_Sign(s, data, HUGE_LENGTH, out, &out_len), CKR_DATA_LEN_RANGE, CKR_ARGUMENTS_BAD, CKR_HOST_MEMORY);
  EXPECT(F->C_SignInit(s, NULL, 0), CKR_OK, CKR_ARGUMENTS_BAD, CKR_OPERATION_NOT_INITIALIZED);

  CK_MECHANISM gcm_mechanism = { CKM_AES_GCM, &gcm, sizeof(gcm) };
  EXPECT(F->C_EncryptInit(s, &gcm_mechanism, aes), CKR_OK);
  out_len = 3;
  EXPECT(F->C_Encrypt(s, data, 16, out, &out_len), CKR_BUFFER_TOO_SMALL);
  if (out_len < 32) { mismatches++; printf("MISMATCH: C_Encrypt with 3 bytes says %lu needed\n", (unsigned long)out_len); }
  out_len = sizeof(out);
  EXPECT(F->C_Encrypt(s, data, 16, out, &out_len), CKR_OK);
  EXPECT(F->C_EncryptInit(s, &gcm_mechanism, aes), CKR_OK);
  out_len = sizeof(out);
  EXPECT(F->C_Encrypt(s, data, HUGE_LENGTH, out, &out_len), CKR_DATA_LEN_RANGE, CKR_ARGUMENTS_BAD, CKR_HOST_MEMORY);
  EXPECT(F->C_EncryptInit(s, NULL, aes), CKR_OK, CKR_ARGUMENTS_BAD, CKR_OPERATION_NOT_INITIALIZED);

  CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };
  EXPECT(F->C_DigestInit(s, &sha), CKR_OK);
  out_len = 31;
  EXPECT(F->C_Digest(s, data, 4, out, &out_len), CKR_BUFFER_TOO_SMALL);
  out_len = sizeof(out);
  EXPECT(F->C_Digest(s, data, 4, out, &out_len), CKR_OK);
  EXPECT(F->C_DigestInit(s, &sha), CKR_OK);
  EXPECT(F->C_DigestUpdate(s, data, HUGE_LENGTH), CKR_DATA_LEN_RANGE, CKR_ARGUMENTS_BAD, CKR_HOST_MEMORY);
  EXPECT(F->C_DigestInit(s, NULL), CKR_OK, CKR_ARGUMENTS_BAD, CKR_OPERATION_NOT_INITIALIZED);

  EXPECT(F->C_GenerateRandom(s, out, HUGE_LENGTH), CKR_DATA_LEN_RANGE, CKR_ARGUMENTS_BAD, CKR_HOST_MEMORY);
  EXPECT(F->C_Login(s, CKU_USER, pin, HUGE_LENGTH), CKR_PIN_LEN_RANGE, CKR_ARGUMENTS_BAD, CKR_HOST_MEMORY, CKR_USER_ALREADY_LOGGED_IN, CKR_USER_TYPE_INVALID, CKR_OK);

  /* FindObjects: asking for zero objects, or for far more than the buffer could take. */
  EXPECT(F->C_FindObjectsInit(s, NULL, 0), CKR_OK);
  count = 99;
  EXPECT(F->C_FindObjects(s, &handle, 0, &count), CKR_OK, CKR_ARGUMENTS_BAD);
  EXPECT(F->C_FindObjectsFinal(s), CKR_OK);

  /* C_GetAttributeValue: a short value buffer marks that attribute unavailable and says
   * BUFFER_TOO_SMALL; NULL values ask for lengths; an unknown type is TYPE_INVALID. */
  CK_BYTE small[2];
  CK_ATTRIBUTE q[] = { { CKA_LABEL, small, sizeof(small) }, { CKA_CLASS, NULL, 0 } };
  EXPECT(F->C_GetAttributeValue(s, aes, q, 2), CKR_BUFFER_TOO_SMALL);
  if (q[0].ulValueLen != CK_UNAVAILABLE_INFORMATION || q[1].ulValueLen != sizeof(CK_OBJECT_CLASS)) {
    mismatches++;
    printf("MISMATCH: short CKA_LABEL gave length %ld, CKA_CLASS length %ld\n", (long)q[0].ulValueLen, (long)q[1].ulValueLen);
  }
  CK_ATTRIBUTE unknown[] = { { 0x7ffffff1UL, out, sizeof(out) }, { CKA_CLASS, out + 64, sizeof(CK_OBJECT_CLASS) } };
  EXPECT(F->C_GetAttributeValue(s, aes, unknown, 2), CKR_ATTRIBUTE_TYPE_INVALID);
  if (unknown[0].ulValueLen != CK_UNAVAILABLE_INFORMATION) { mismatches++; printf("MISMATCH: unknown attribute length %ld\n", (long)unknown[0].ulValueLen); }
  CK_ATTRIBUTE huge_query[] = { { CKA_LABEL, out, HUGE_LENGTH } };
  EXPECT(F->C_GetAttributeValue(s, aes, huge_query, 1), CKR_OK, CKR_ARGUMENTS_BAD);
  EXPECT(F->C_GetAttributeValue(s, aes, q, HUGE_LENGTH), CKR_ARGUMENTS_BAD, CKR_TEMPLATE_INCONSISTENT);
  EXPECT(F->C_GetAttributeValue(s, aes, q, 0), CKR_OK);
}

/* Templates that lie: values with a length but no pointer, unknown types, values of the
 * wrong size for their type, lengths beyond any frame, counts beyond the array. */
static void bad_templates(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE aes) {
  CK_MECHANISM aes_gen = { CKM_AES_KEY_GEN, NULL, 0 };
  CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
  CK_KEY_TYPE aes_type = CKK_AES;
  CK_ULONG length = 32;
  CK_BYTE one_byte = 1;
  CK_ATTRIBUTE hollow[] = { { CKA_LABEL, NULL, 12 } };
  CK_ATTRIBUTE unknown[] = { { CKA_CLASS, &secret, sizeof(secret) }, { CKA_VALUE_LEN, &length, sizeof(length) }, { 0x7ffffff2UL, &one_byte, 1 } };
  CK_ATTRIBUTE short_class[] = { { CKA_CLASS, &one_byte, 1 }, { CKA_VALUE_LEN, &length, sizeof(length) } };
  CK_ATTRIBUTE short_bool[] = { { CKA_CLASS, &secret, sizeof(secret) }, { CKA_VALUE_LEN, &length, sizeof(length) }, { CKA_ENCRYPT, &length, sizeof(length) } };
  CK_ATTRIBUTE short_len[] = { { CKA_CLASS, &secret, sizeof(secret) }, { CKA_VALUE_LEN, &one_byte, 1 } };
  CK_ATTRIBUTE huge_value[] = { { CKA_LABEL, data, HUGE_LENGTH } };
  CK_ATTRIBUTE odd_nested[] = { { CKA_WRAP_TEMPLATE, data, 7 } };
  CK_ATTRIBUTE good[] = { { CKA_CLASS, &secret, sizeof(secret) }, { CKA_KEY_TYPE, &aes_type, sizeof(aes_type) }, { CKA_VALUE_LEN, &length, sizeof(length) }, { CKA_TOKEN, &no, sizeof(no) } };
#define TEMPLATE_RVS CKR_TEMPLATE_INCONSISTENT, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID, CKR_ARGUMENTS_BAD
  EXPECT(F->C_GenerateKey(s, &aes_gen, hollow, 1, &handle), CKR_ATTRIBUTE_VALUE_INVALID, CKR_ARGUMENTS_BAD);
  EXPECT(F->C_GenerateKey(s, &aes_gen, unknown, 3, &handle), CKR_ATTRIBUTE_TYPE_INVALID, CKR_TEMPLATE_INCONSISTENT);
  EXPECT(F->C_GenerateKey(s, &aes_gen, short_class, 2, &handle), CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT);
  EXPECT(F->C_GenerateKey(s, &aes_gen, short_bool, 3, &handle), CKR_ATTRIBUTE_VALUE_INVALID);
  EXPECT(F->C_GenerateKey(s, &aes_gen, short_len, 2, &handle), CKR_ATTRIBUTE_VALUE_INVALID);
  EXPECT(F->C_GenerateKey(s, &aes_gen, huge_value, 1, &handle), TEMPLATE_RVS, CKR_HOST_MEMORY);
  EXPECT(F->C_GenerateKey(s, &aes_gen, odd_nested, 1, &handle), CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT);
  EXPECT(F->C_GenerateKey(s, &aes_gen, good, HUGE_LENGTH, &handle), TEMPLATE_RVS);
  EXPECT(F->C_CreateObject(s, hollow, 1, &handle), CKR_ATTRIBUTE_VALUE_INVALID, CKR_ARGUMENTS_BAD);
  EXPECT(F->C_CreateObject(s, unknown, 3, &handle), CKR_ATTRIBUTE_TYPE_INVALID, CKR_TEMPLATE_INCONSISTENT, CKR_TEMPLATE_INCOMPLETE);
  EXPECT(F->C_CreateObject(s, short_class, 2, &handle), CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT);
  EXPECT(F->C_CreateObject(s, huge_value, 1, &handle), TEMPLATE_RVS, CKR_HOST_MEMORY);
  EXPECT(F->C_SetAttributeValue(s, aes, hollow, 1), CKR_ATTRIBUTE_VALUE_INVALID, CKR_ARGUMENTS_BAD);
  EXPECT(F->C_SetAttributeValue(s, aes, unknown + 2, 1), CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_READ_ONLY);
  EXPECT(F->C_SetAttributeValue(s, aes, short_class, 1), CKR_ATTRIBUTE_VALUE_INVALID, CKR_ATTRIBUTE_READ_ONLY);
  EXPECT(F->C_SetAttributeValue(s, aes, huge_value, 1), TEMPLATE_RVS, CKR_HOST_MEMORY);
  EXPECT(F->C_FindObjectsInit(s, hollow, 1), CKR_ATTRIBUTE_VALUE_INVALID, CKR_ARGUMENTS_BAD);
  EXPECT(F->C_FindObjectsInit(s, short_class, 1), CKR_OK, CKR_ATTRIBUTE_VALUE_INVALID);
  if (last_rv == CKR_OK) EXPECT(F->C_FindObjectsFinal(s), CKR_OK);
  EXPECT(F->C_FindObjectsInit(s, huge_value, 1), TEMPLATE_RVS, CKR_HOST_MEMORY);
  EXPECT(F->C_FindObjectsInit(s, good, HUGE_LENGTH), TEMPLATE_RVS);
  CK_MECHANISM ec_gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
  CK_ATTRIBUTE bad_params[] = { { CKA_EC_PARAMS, data, 5 }, { CKA_TOKEN, &no, sizeof(no) } };
  EXPECT(F->C_GenerateKeyPair(s, &ec_gen, bad_params, 2, NULL, 0, &handle, &handle2), CKR_ATTRIBUTE_VALUE_INVALID, CKR_CURVE_NOT_SUPPORTED, CKR_TEMPLATE_INCONSISTENT, CKR_DOMAIN_PARAMS_INVALID);
  EXPECT(F->C_GenerateKeyPair(s, &ec_gen, hollow, 1, NULL, 0, &handle, &handle2), CKR_ATTRIBUTE_VALUE_INVALID, CKR_ARGUMENTS_BAD);
  EXPECT(F->C_GenerateKeyPair(s, &ec_gen, good, 4, good, HUGE_LENGTH, &handle, &handle2), TEMPLATE_RVS);
#undef TEMPLATE_RVS
}

/* Mechanisms that are no mechanism: an unknown type, a parameter length without a
 * parameter, a huge parameter length, a mechanism the key cannot do. */
static void bad_mechanisms(CK_SLOT_ID slot, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE aes, CK_OBJECT_HANDLE priv) {
  CK_MECHANISM unknown = { 0x7ffffff3UL, NULL, 0 };
  CK_MECHANISM hollow = { CKM_AES_CBC, NULL, 16 };
  CK_MECHANISM huge = { CKM_AES_CBC, iv, HUGE_LENGTH };
  CK_MECHANISM huge_raw = { CKM_SHA256_HMAC, iv, HUGE_LENGTH };
  CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
  CK_ATTRIBUTE a[] = { { CKA_TOKEN, &no, sizeof(no) } };
  EXPECT(F->C_GetMechanismInfo(slot, unknown.mechanism, &mech_info), CKR_MECHANISM_INVALID);
  EXPECT(F->C_EncryptInit(s, &unknown, aes), CKR_MECHANISM_INVALID);
  EXPECT(F->C_DecryptInit(s, &unknown, aes), CKR_MECHANISM_INVALID);
  EXPECT(F->C_SignInit(s, &unknown, priv), CKR_MECHANISM_INVALID);
  EXPECT(F->C_VerifyInit(s, &unknown, priv), CKR_MECHANISM_INVALID);
  EXPECT(F->C_DigestInit(s, &unknown), CKR_MECHANISM_INVALID);
  EXPECT(F->C_GenerateKey(s, &unknown, a, 1, &handle), CKR_MECHANISM_INVALID);
  EXPECT(F->C_GenerateKeyPair(s, &unknown, a, 1, a, 1, &handle, &handle2), CKR_MECHANISM_INVALID);
  out_len = sizeof(out);
  EXPECT(F->C_WrapKey(s, &unknown, aes, aes, out, &out_len), CKR_MECHANISM_INVALID);
  EXPECT(F->C_UnwrapKey(s, &unknown, aes, data, 40, a, 1, &handle), CKR_MECHANISM_INVALID);
  EXPECT(F->C_DeriveKey(s, &unknown, priv, a, 1, &handle), CKR_MECHANISM_INVALID);
  EXPECT(F3->C_MessageEncryptInit(s, &unknown, aes), CKR_MECHANISM_INVALID, CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_EncryptInit(s, &hollow, aes), CKR_MECHANISM_PARAM_INVALID);
  EXPECT(F->C_EncryptInit(s, &huge, aes), CKR_MECHANISM_PARAM_INVALID, CKR_HOST_MEMORY);
  EXPECT(F->C_SignInit(s, &huge_raw, aes), CKR_MECHANISM_PARAM_INVALID, CKR_HOST_MEMORY);
  EXPECT(F->C_EncryptInit(s, &ecdsa, aes), CKR_MECHANISM_INVALID, CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_FUNCTION_NOT_PERMITTED);
  EXPECT(F->C_SignInit(s, &ecdsa, aes), CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_FUNCTION_NOT_PERMITTED);
}

static CK_OBJECT_HANDLE generate_aes(CK_SESSION_HANDLE s) {
  CK_MECHANISM mechanism = { CKM_AES_KEY_GEN, NULL, 0 };
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG length = 32;
  CK_ATTRIBUTE template[] = {
    { CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &type, sizeof(type) }, { CKA_TOKEN, &no, sizeof(no) },
    { CKA_VALUE_LEN, &length, sizeof(length) }, { CKA_ENCRYPT, &yes, sizeof(yes) }, { CKA_DECRYPT, &yes, sizeof(yes) },
    { CKA_WRAP, &yes, sizeof(yes) }, { CKA_UNWRAP, &yes, sizeof(yes) }, { CKA_LABEL, "hostile", 7 },
  };
  CK_OBJECT_HANDLE key;
  CK_RV rv = F->C_GenerateKey(s, &mechanism, template, 9, &key);
  if (rv != CKR_OK) fatal("C_GenerateKey", rv);
  return key;
}

static void generate_ec(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv) {
  CK_MECHANISM mechanism = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
  CK_ATTRIBUTE pub_template[] = {
    { CKA_TOKEN, &no, sizeof(no) }, { CKA_EC_PARAMS, (void *)P256_OID, sizeof(P256_OID) }, { CKA_VERIFY, &yes, sizeof(yes) },
  };
  CK_ATTRIBUTE priv_template[] = { { CKA_TOKEN, &no, sizeof(no) }, { CKA_SIGN, &yes, sizeof(yes) } };
  CK_RV rv = F->C_GenerateKeyPair(s, &mechanism, pub_template, 3, priv_template, 2, pub, priv);
  if (rv != CKR_OK) fatal("C_GenerateKeyPair", rv);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: hostile <module.so>\n");
    return 2;
  }
  load(argv[1]);
  all_not_initialised();

  CK_C_INITIALIZE_ARGS args;
  memset(&args, 0, sizeof(args));
  args.pReserved = data;
  BAD(F->C_Initialize(&args));
  CK_RV rv = F->C_Initialize(NULL);
  if (rv != CKR_OK) fatal("C_Initialize", rv);
  EXPECT(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
  BAD(F->C_Finalize(data));

  CK_SLOT_ID slot;
  count = 1;
  rv = F->C_GetSlotList(CK_TRUE, &slot, &count);
  if (rv != CKR_OK || count == 0) fatal("C_GetSlotList (is P11KMS_CONF set?)", rv);
  CK_SESSION_HANDLE s;
  rv = F->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
  if (rv != CKR_OK) fatal("C_OpenSession", rv);
  CK_OBJECT_HANDLE aes = generate_aes(s), pub, priv;
  generate_ec(s, &pub, &priv);

  const CK_SLOT_ID bad_slots[] = { 0x7fff, ~(CK_ULONG)0 };
  for (size_t i = 0; i < 2; i++) {
    EXPECT(F->C_GetSlotInfo(bad_slots[i], &slot_info), CKR_SLOT_ID_INVALID);
    EXPECT(F->C_GetTokenInfo(bad_slots[i], &token_info), CKR_SLOT_ID_INVALID);
    count = 128;
    EXPECT(F->C_GetMechanismList(bad_slots[i], mech_buf, &count), CKR_SLOT_ID_INVALID);
    EXPECT(F->C_GetMechanismInfo(bad_slots[i], CKM_SHA256, &mech_info), CKR_SLOT_ID_INVALID);
    EXPECT(F->C_OpenSession(bad_slots[i], CKF_SERIAL_SESSION, NULL, NULL, &handle), CKR_SLOT_ID_INVALID);
    EXPECT(F->C_CloseAllSessions(bad_slots[i]), CKR_SLOT_ID_INVALID);
    EXPECT(F->C_InitToken(bad_slots[i], pin, 4, token_label), CKR_SLOT_ID_INVALID, CKR_FUNCTION_NOT_SUPPORTED);
  }
  EXPECT(F->C_OpenSession(slot, 0, NULL, NULL, &handle), CKR_SESSION_PARALLEL_NOT_SUPPORTED);

  bad_sessions(aes);
  bad_objects(s, aes);
  null_pointers(slot, s, aes, priv);
  short_buffers(slot, s, aes, priv);
  bad_templates(s, aes);
  bad_mechanisms(slot, s, aes, priv);

  /* After all that, the session still signs. */
  CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
  EXPECT(F->C_SignInit(s, &ecdsa, priv), CKR_OK);
  out_len = sizeof(out);
  EXPECT(F->C_Sign(s, data, 32, out, &out_len), CKR_OK);
  EXPECT(F->C_VerifyInit(s, &ecdsa, pub), CKR_OK);
  EXPECT(F->C_Verify(s, data, 32, out, out_len), CKR_OK);
  EXPECT(F->C_CloseSession(s), CKR_OK);
  EXPECT(F->C_Finalize(NULL), CKR_OK);
  all_not_initialised();
  EXPECT(F->C_Initialize(NULL), CKR_OK);
  EXPECT(F->C_Finalize(NULL), CKR_OK);

  printf("CALLS %lu MISMATCHES %lu\n", calls, mismatches);
  if (mismatches == 0) printf("OK hostile\n");
  fflush(stdout);
  return mismatches == 0 ? 0 : 1;
}
