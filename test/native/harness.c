/* A PKCS#11 host program for testing libp11kms.so the way C applications use it: it
 * dlopens the module, takes its function lists (C_GetFunctionList, and C_GetInterface for
 * 3.0) and runs one named scenario per invocation:
 *
 *   harness <module.so> <scenario>
 *
 * Each run prints `OK <scenario>` (exit 0) or `FAIL <scenario>: <what>` (exit 1); a
 * watchdog turns a hang into `FAIL <scenario>: watchdog ...` (exit 2). Lines starting with
 * INFO carry figures (time per cycle, throughput, hosting mode). The module finds its KMS
 * through P11KMS_CONF; the scenarios make every key they need with C_GenerateKey and
 * C_GenerateKeyPair, as session objects, so nothing is left on the KMS.
 *
 * Scenarios: init-args null-args buffers cycles threads fork child-death stale-handles.
 * Tunables (environment): HARNESS_CYCLES (500), HARNESS_THREADS (8), HARNESS_OPS (1000),
 * HARNESS_WATCHDOG (seconds, 240).
 *
 * Build: cc -Wall -Wextra -Werror -O1 -g -I/usr/include/p11-kit-1 -Inative/include
 *        -o harness test/native/harness.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include "pkcs11_v30.h"
#include "ck_rv_names.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------ */
/* Reporting                                                                             */

static const char *scenario = "harness";
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void info(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  pthread_mutex_lock(&report_lock);
  printf("INFO %s: ", scenario);
  vprintf(format, ap);
  printf("\n");
  fflush(stdout);
  pthread_mutex_unlock(&report_lock);
  va_end(ap);
}

/* The first failure ends the process at once: nothing after it can be trusted, and an
 * exit through atexit handlers could hang on the module's threads. */
static void fail_at(int line, const char *format, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fail_at(int line, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  pthread_mutex_lock(&report_lock);
  printf("FAIL %s: ", scenario);
  vprintf(format, ap);
  printf(" (harness.c:%d)\n", line);
  fflush(stdout);
  fflush(stderr);
  va_end(ap);
  _exit(1);
}

#define FAIL(...) fail_at(__LINE__, __VA_ARGS__)
#define CHECK(cond, ...)                                                                                          \
  do {                                                                                                            \
    if (!(cond)) fail_at(__LINE__, __VA_ARGS__);                                                                  \
  } while (0)
/* One expected rv. */
#define EXPECT(expr, want)                                                                                        \
  do {                                                                                                            \
    CK_RV got_ = (expr);                                                                                          \
    if (got_ != (CK_RV)(want)) fail_at(__LINE__, "%s returned %s, expected %s", #expr, ck_rv_name(got_), ck_rv_name(want)); \
  } while (0)
#define OK(expr) EXPECT(expr, CKR_OK)
/* Either of two rvs; the rv is left in `last_rv` for the caller. */
static __thread CK_RV last_rv;
#define EXPECT2(expr, a, b)                                                                                       \
  do {                                                                                                            \
    last_rv = (expr);                                                                                             \
    if (last_rv != (CK_RV)(a) && last_rv != (CK_RV)(b))                                                           \
      fail_at(__LINE__, "%s returned %s, expected %s or %s", #expr, ck_rv_name(last_rv), ck_rv_name(a), ck_rv_name(b));    \
  } while (0)

/* ------------------------------------------------------------------------------------ */
/* Watchdog: a hang is a failure, reported as such rather than as a test-runner timeout.  */

static char watchdog_message[256];
static size_t watchdog_length;

static void on_alarm(int signal_number) {
  (void)signal_number;
  ssize_t ignored = write(STDOUT_FILENO, watchdog_message, watchdog_length);
  (void)ignored;
  _exit(2);
}

static unsigned watchdog_seconds(void) {
  const char *text = getenv("HARNESS_WATCHDOG");
  long value = text ? strtol(text, NULL, 10) : 0;
  return value > 0 ? (unsigned)value : 240;
}

static void arm_watchdog(unsigned seconds, const char *what) {
  int n = snprintf(watchdog_message, sizeof(watchdog_message), "FAIL %s: watchdog: %s did not finish within %u s\n",
                   scenario, what, seconds);
  watchdog_length = n > 0 && (size_t)n < sizeof(watchdog_message) ? (size_t)n : 0;
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, NULL);
  alarm(seconds);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long env_number(const char *name, unsigned long fallback) {
  const char *text = getenv(name);
  if (!text || !*text) return fallback;
  char *end;
  unsigned long value = strtoul(text, &end, 10);
  return *end == '\0' && value > 0 ? value : fallback;
}

/* ------------------------------------------------------------------------------------ */
/* The module                                                                            */

static void *module_handle;
static CK_FUNCTION_LIST_PTR F;       /* from C_GetFunctionList: the 2.40 list */
static CK_FUNCTION_LIST_3_0 *F3;     /* from C_GetInterface("PKCS 11", 3.0) */
static CK_C_GetInterface get_interface;
static CK_C_GetInterfaceList get_interface_list;

static void load_module(const char *path) {
  module_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  CHECK(module_handle, "dlopen %s: %s", path, dlerror());
  CK_C_GetFunctionList get_function_list = (CK_C_GetFunctionList)dlsym(module_handle, "C_GetFunctionList");
  CHECK(get_function_list, "the module exports no C_GetFunctionList");
  EXPECT(get_function_list(NULL), CKR_ARGUMENTS_BAD);
  OK(get_function_list(&F));
  CHECK(F != NULL, "C_GetFunctionList gave a NULL list");
  get_interface = (CK_C_GetInterface)dlsym(module_handle, "C_GetInterface");
  get_interface_list = (CK_C_GetInterfaceList)dlsym(module_handle, "C_GetInterfaceList");
  CHECK(get_interface && get_interface_list, "the module exports no C_GetInterface/C_GetInterfaceList");
  CK_VERSION v30 = { 3, 0 };
  CK_INTERFACE_PTR interface = NULL;
  OK(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &interface, 0));
  CHECK(interface && interface->pFunctionList, "C_GetInterface gave no 3.0 list");
  F3 = interface->pFunctionList;
}

/* For scenarios that call from several threads: PKCS#11 says NULL arguments promise the
 * module that the application never calls it concurrently. */
static CK_RV initialize_threaded(void) {
  CK_C_INITIALIZE_ARGS args;
  memset(&args, 0, sizeof(args));
  args.flags = CKF_OS_LOCKING_OK;
  return F->C_Initialize(&args);
}

static CK_SLOT_ID first_slot(void) {
  CK_SLOT_ID slots[16];
  CK_ULONG count = 16;
  OK(F->C_GetSlotList(CK_TRUE, slots, &count));
  CHECK(count > 0, "the module shows no slot with a token (is P11KMS_CONF set?)");
  return slots[0];
}

static CK_SESSION_HANDLE open_session(CK_SLOT_ID slot) {
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  OK(F->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session));
  CHECK(session != CK_INVALID_HANDLE, "C_OpenSession gave CK_INVALID_HANDLE");
  return session;
}

static const CK_BYTE P256_OID[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* Session objects (CKA_TOKEN false): the KMS destroys them when their session closes. */
static CK_RV generate_ec(CK_SESSION_HANDLE s, const char *label, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv) {
  CK_MECHANISM mechanism = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
  CK_ATTRIBUTE pub_template[] = {
    { CKA_TOKEN, &no, sizeof(no) },
    { CKA_EC_PARAMS, (void *)P256_OID, sizeof(P256_OID) },
    { CKA_VERIFY, &yes, sizeof(yes) },
    { CKA_LABEL, (void *)label, strlen(label) },
  };
  CK_ATTRIBUTE priv_template[] = {
    { CKA_TOKEN, &no, sizeof(no) },
    { CKA_SIGN, &yes, sizeof(yes) },
    { CKA_SENSITIVE, &yes, sizeof(yes) },
    { CKA_LABEL, (void *)label, strlen(label) },
  };
  return F->C_GenerateKeyPair(s, &mechanism, pub_template, 4, priv_template, 4, pub, priv);
}

static CK_RV generate_aes(CK_SESSION_HANDLE s, const char *label, CK_OBJECT_HANDLE *key) {
  CK_MECHANISM mechanism = { CKM_AES_KEY_GEN, NULL, 0 };
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG length = 32;
  CK_ATTRIBUTE template[] = {
    { CKA_CLASS, &cls, sizeof(cls) },
    { CKA_KEY_TYPE, &type, sizeof(type) },
    { CKA_TOKEN, &no, sizeof(no) },
    { CKA_VALUE_LEN, &length, sizeof(length) },
    { CKA_ENCRYPT, &yes, sizeof(yes) },
    { CKA_DECRYPT, &yes, sizeof(yes) },
    { CKA_LABEL, (void *)label, strlen(label) },
  };
  return F->C_GenerateKey(s, &mechanism, template, 7, key);
}

static void must_generate_ec(CK_SESSION_HANDLE s, const char *label, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv) {
  CK_RV rv = generate_ec(s, label, pub, priv);
  CHECK(rv == CKR_OK, "C_GenerateKeyPair (EC P-256) returned %s", ck_rv_name(rv));
}

static void must_generate_aes(CK_SESSION_HANDLE s, const char *label, CK_OBJECT_HANDLE *key) {
  CK_RV rv = generate_aes(s, label, key);
  CHECK(rv == CKR_OK, "C_GenerateKey (AES-256) returned %s", ck_rv_name(rv));
}

/* ECDSA with SHA-256 over data; returns the rv of the first failing call. */
static CK_RV ecdsa_sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const CK_BYTE *data, CK_ULONG length,
                        CK_BYTE signature[64]) {
  CK_MECHANISM mechanism = { CKM_ECDSA_SHA256, NULL, 0 };
  CK_RV rv = F->C_SignInit(s, &mechanism, key);
  if (rv != CKR_OK) return rv;
  CK_ULONG signature_length = 64;
  rv = F->C_Sign(s, (CK_BYTE_PTR)data, length, signature, &signature_length);
  if (rv == CKR_OK && signature_length != 64) return CKR_GENERAL_ERROR;
  return rv;
}

static CK_RV ecdsa_verify(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const CK_BYTE *data, CK_ULONG length,
                          const CK_BYTE *signature, CK_ULONG signature_length) {
  CK_MECHANISM mechanism = { CKM_ECDSA_SHA256, NULL, 0 };
  CK_RV rv = F->C_VerifyInit(s, &mechanism, key);
  if (rv != CKR_OK) return rv;
  return F->C_Verify(s, (CK_BYTE_PTR)data, length, (CK_BYTE_PTR)signature, signature_length);
}

static void gcm_params(CK_GCM_PARAMS *params, CK_BYTE iv[12]) {
  memset(params, 0, sizeof(*params));
  params->pIv = iv;
  params->ulIvLen = 12;
  params->ulIvBits = 96;
  params->pAAD = NULL;
  params->ulAADLen = 0;
  params->ulTagBits = 128;
}

/* AES-GCM encryption of `length` bytes into out (length + 16 bytes). */
static CK_RV gcm_encrypt(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_BYTE iv[12], const CK_BYTE *data,
                         CK_ULONG length, CK_BYTE *out, CK_ULONG *out_length) {
  CK_GCM_PARAMS params;
  gcm_params(&params, iv);
  CK_MECHANISM mechanism = { CKM_AES_GCM, &params, sizeof(params) };
  CK_RV rv = F->C_EncryptInit(s, &mechanism, key);
  if (rv != CKR_OK) return rv;
  return F->C_Encrypt(s, (CK_BYTE_PTR)data, length, out, out_length);
}

/* Finds objects by label; returns the rv of the first failing call and the count. */
static CK_RV find_by_label(CK_SESSION_HANDLE s, const char *label, CK_ULONG *found) {
  CK_ATTRIBUTE template[] = { { CKA_LABEL, (void *)label, strlen(label) } };
  CK_RV rv = F->C_FindObjectsInit(s, template, 1);
  if (rv != CKR_OK) return rv;
  CK_OBJECT_HANDLE handles[16];
  CK_ULONG count = 0;
  rv = F->C_FindObjects(s, handles, 16, &count);
  CK_RV final_rv = F->C_FindObjectsFinal(s);
  *found = count;
  return rv != CKR_OK ? rv : final_rv;
}

static void library_description(char out[33]) {
  CK_INFO module_info;
  OK(F->C_GetInfo(&module_info));
  memcpy(out, module_info.libraryDescription, 32);
  out[32] = '\0';
  for (int i = 31; i >= 0 && out[i] == ' '; i--) out[i] = '\0';
}

/* A label of this process, so that runs against one KMS never see each other's keys. */
static void make_label(char *out, size_t size, const char *what) {
  snprintf(out, size, "harness-%s-%ld-%ld", what, (long)getpid(), (long)(now_seconds() * 1000) % 100000000L);
}

/* ------------------------------------------------------------------------------------ */
/* init-args                                                                             */

static CK_RV create_mutex(CK_VOID_PTR_PTR mutex) {
  pthread_mutex_t *m = malloc(sizeof(*m));
  if (!m) return CKR_HOST_MEMORY;
  pthread_mutex_init(m, NULL);
  *mutex = m;
  return CKR_OK;
}
static CK_RV destroy_mutex(CK_VOID_PTR mutex) {
  pthread_mutex_destroy(mutex);
  free(mutex);
  return CKR_OK;
}
static CK_RV lock_mutex(CK_VOID_PTR mutex) { return pthread_mutex_lock(mutex) == 0 ? CKR_OK : CKR_GENERAL_ERROR; }
static CK_RV unlock_mutex(CK_VOID_PTR mutex) { return pthread_mutex_unlock(mutex) == 0 ? CKR_OK : CKR_GENERAL_ERROR; }

/* Every function but C_Initialize, C_GetFunctionList and the interface calls, with NULL or
 * zero arguments, must say CKR_CRYPTOKI_NOT_INITIALIZED before it looks at any of them. */
static void expect_all_uninitialised(void) {
  CK_FUNCTION_LIST_3_0 *f = F3;
#define NI(expr) EXPECT(expr, CKR_CRYPTOKI_NOT_INITIALIZED)
  NI(f->C_Finalize(NULL));
  NI(f->C_GetInfo(NULL));
  NI(f->C_GetSlotList(CK_FALSE, NULL, NULL));
  NI(f->C_GetSlotInfo(0, NULL));
  NI(f->C_GetTokenInfo(0, NULL));
  NI(f->C_GetMechanismList(0, NULL, NULL));
  NI(f->C_GetMechanismInfo(0, 0, NULL));
  NI(f->C_InitToken(0, NULL, 0, NULL));
  NI(f->C_InitPIN(0, NULL, 0));
  NI(f->C_SetPIN(0, NULL, 0, NULL, 0));
  NI(f->C_OpenSession(0, 0, NULL, NULL, NULL));
  NI(f->C_CloseSession(0));
  NI(f->C_CloseAllSessions(0));
  NI(f->C_GetSessionInfo(0, NULL));
  NI(f->C_GetOperationState(0, NULL, NULL));
  NI(f->C_SetOperationState(0, NULL, 0, 0, 0));
  NI(f->C_Login(0, 0, NULL, 0));
  NI(f->C_Logout(0));
  NI(f->C_CreateObject(0, NULL, 0, NULL));
  NI(f->C_CopyObject(0, 0, NULL, 0, NULL));
  NI(f->C_DestroyObject(0, 0));
  NI(f->C_GetObjectSize(0, 0, NULL));
  NI(f->C_GetAttributeValue(0, 0, NULL, 0));
  NI(f->C_SetAttributeValue(0, 0, NULL, 0));
  NI(f->C_FindObjectsInit(0, NULL, 0));
  NI(f->C_FindObjects(0, NULL, 0, NULL));
  NI(f->C_FindObjectsFinal(0));
  NI(f->C_EncryptInit(0, NULL, 0));
  NI(f->C_Encrypt(0, NULL, 0, NULL, NULL));
  NI(f->C_EncryptUpdate(0, NULL, 0, NULL, NULL));
  NI(f->C_EncryptFinal(0, NULL, NULL));
  NI(f->C_DecryptInit(0, NULL, 0));
  NI(f->C_Decrypt(0, NULL, 0, NULL, NULL));
  NI(f->C_DecryptUpdate(0, NULL, 0, NULL, NULL));
  NI(f->C_DecryptFinal(0, NULL, NULL));
  NI(f->C_DigestInit(0, NULL));
  NI(f->C_Digest(0, NULL, 0, NULL, NULL));
  NI(f->C_DigestUpdate(0, NULL, 0));
  NI(f->C_DigestKey(0, 0));
  NI(f->C_DigestFinal(0, NULL, NULL));
  NI(f->C_SignInit(0, NULL, 0));
  NI(f->C_Sign(0, NULL, 0, NULL, NULL));
  NI(f->C_SignUpdate(0, NULL, 0));
  NI(f->C_SignFinal(0, NULL, NULL));
  NI(f->C_SignRecoverInit(0, NULL, 0));
  NI(f->C_SignRecover(0, NULL, 0, NULL, NULL));
  NI(f->C_VerifyInit(0, NULL, 0));
  NI(f->C_Verify(0, NULL, 0, NULL, 0));
  NI(f->C_VerifyUpdate(0, NULL, 0));
  NI(f->C_VerifyFinal(0, NULL, 0));
  NI(f->C_VerifyRecoverInit(0, NULL, 0));
  NI(f->C_VerifyRecover(0, NULL, 0, NULL, NULL));
  NI(f->C_DigestEncryptUpdate(0, NULL, 0, NULL, NULL));
  NI(f->C_DecryptDigestUpdate(0, NULL, 0, NULL, NULL));
  NI(f->C_SignEncryptUpdate(0, NULL, 0, NULL, NULL));
  NI(f->C_DecryptVerifyUpdate(0, NULL, 0, NULL, NULL));
  NI(f->C_GenerateKey(0, NULL, NULL, 0, NULL));
  NI(f->C_GenerateKeyPair(0, NULL, NULL, 0, NULL, 0, NULL, NULL));
  NI(f->C_WrapKey(0, NULL, 0, 0, NULL, NULL));
  NI(f->C_UnwrapKey(0, NULL, 0, NULL, 0, NULL, 0, NULL));
  NI(f->C_DeriveKey(0, NULL, 0, NULL, 0, NULL));
  NI(f->C_SeedRandom(0, NULL, 0));
  NI(f->C_GenerateRandom(0, NULL, 0));
  NI(f->C_GetFunctionStatus(0));
  NI(f->C_CancelFunction(0));
  NI(f->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL));
  NI(f->C_LoginUser(0, 0, NULL, 0, NULL, 0));
  NI(f->C_SessionCancel(0, 0));
  NI(f->C_MessageEncryptInit(0, NULL, 0));
  NI(f->C_EncryptMessage(0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL));
  NI(f->C_EncryptMessageBegin(0, NULL, 0, NULL, 0));
  NI(f->C_EncryptMessageNext(0, NULL, 0, NULL, 0, NULL, NULL, 0));
  NI(f->C_MessageEncryptFinal(0));
  NI(f->C_MessageDecryptInit(0, NULL, 0));
  NI(f->C_DecryptMessage(0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL));
  NI(f->C_DecryptMessageBegin(0, NULL, 0, NULL, 0));
  NI(f->C_DecryptMessageNext(0, NULL, 0, NULL, 0, NULL, NULL, 0));
  NI(f->C_MessageDecryptFinal(0));
  NI(f->C_MessageSignInit(0, NULL, 0));
  NI(f->C_SignMessage(0, NULL, 0, NULL, 0, NULL, NULL));
  NI(f->C_SignMessageBegin(0, NULL, 0));
  NI(f->C_SignMessageNext(0, NULL, 0, NULL, 0, NULL, NULL));
  NI(f->C_MessageSignFinal(0));
  NI(f->C_MessageVerifyInit(0, NULL, 0));
  NI(f->C_VerifyMessage(0, NULL, 0, NULL, 0, NULL, 0));
  NI(f->C_VerifyMessageBegin(0, NULL, 0));
  NI(f->C_VerifyMessageNext(0, NULL, 0, NULL, 0, NULL, 0));
  NI(f->C_MessageVerifyFinal(0));
#undef NI
}

static void check_interfaces(void) {
  CK_ULONG count = 0;
  EXPECT(get_interface_list(NULL, NULL), CKR_ARGUMENTS_BAD);
  OK(get_interface_list(NULL, &count));
  CHECK(count == 2, "C_GetInterfaceList counts %lu interfaces, expected 2 (3.0 and 2.40)", (unsigned long)count);
  CK_INTERFACE list[4];
  count = 1;
  EXPECT(get_interface_list(list, &count), CKR_BUFFER_TOO_SMALL);
  CHECK(count == 2, "C_GetInterfaceList with a short buffer says %lu", (unsigned long)count);
  count = 4;
  OK(get_interface_list(list, &count));
  CHECK(count == 2, "C_GetInterfaceList returned %lu interfaces", (unsigned long)count);
  int seen30 = 0, seen240 = 0;
  for (CK_ULONG i = 0; i < count; i++) {
    CHECK(list[i].pInterfaceName && strcmp((const char *)list[i].pInterfaceName, "PKCS 11") == 0,
          "interface %lu is not named \"PKCS 11\"", (unsigned long)i);
    const CK_VERSION *v = list[i].pFunctionList;
    CHECK(v != NULL, "interface %lu has no function list", (unsigned long)i);
    if (v->major == 3 && v->minor == 0) seen30 = 1;
    if (v->major == 2 && v->minor == 40) seen240 = 1;
  }
  CHECK(seen30 && seen240, "the interfaces are not 3.0 and 2.40 (3.0 %d, 2.40 %d)", seen30, seen240);

  CK_INTERFACE_PTR interface = NULL;
  CK_VERSION v240 = { 2, 40 }, v30 = { 3, 0 }, v99 = { 9, 9 };
  EXPECT(get_interface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
  OK(get_interface(NULL, NULL, &interface, 0));
  CHECK(interface && interface->pFunctionList, "C_GetInterface(NULL, NULL) gave no list");
  OK(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &interface, 0));
  const CK_FUNCTION_LIST *list240 = interface->pFunctionList;
  CHECK(list240->version.major == 2 && list240->version.minor == 40, "the 2.40 interface's list says %d.%d",
        list240->version.major, list240->version.minor);
  CHECK(list240 == F, "C_GetFunctionList and the 2.40 interface give different lists");
  OK(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &interface, 0));
  CHECK(interface->pFunctionList == F3, "C_GetInterface 3.0 is not stable");
  CHECK(F3->version.major == 3 && F3->version.minor == 0, "the 3.0 list says %d.%d", F3->version.major,
        F3->version.minor);
  EXPECT2(get_interface((CK_UTF8CHAR_PTR) "PKCS 11", &v99, &interface, 0), CKR_ARGUMENTS_BAD, CKR_FUNCTION_FAILED);
  EXPECT2(get_interface((CK_UTF8CHAR_PTR) "Vendor X", NULL, &interface, 0), CKR_ARGUMENTS_BAD, CKR_FUNCTION_FAILED);
  /* No interface claims fork safety, so asking for it finds none. */
  EXPECT2(get_interface(NULL, NULL, &interface, CKF_INTERFACE_FORK_SAFE), CKR_ARGUMENTS_BAD, CKR_FUNCTION_FAILED);

  /* The 3.0 list is the 2.40 list followed by the new functions: the shared part is the
   * same entry points, and no entry of either is NULL. */
  size_t first = offsetof(CK_FUNCTION_LIST, C_Initialize);
  CHECK(memcmp((const char *)F + first, (const char *)F3 + first, sizeof(CK_FUNCTION_LIST) - first) == 0,
        "the 3.0 list's 2.40 part differs from the 2.40 list");
  size_t slots = (sizeof(CK_FUNCTION_LIST_3_0) - offsetof(CK_FUNCTION_LIST_3_0, C_Initialize)) / sizeof(void (*)(void));
  for (size_t i = 0; i < slots; i++) {
    void (*entry)(void);
    memcpy(&entry, (const char *)F3 + offsetof(CK_FUNCTION_LIST_3_0, C_Initialize) + i * sizeof(entry), sizeof(entry));
    CHECK(entry != NULL, "entry %zu of the 3.0 function list is NULL", i);
  }
}

/* Each 3.0 function, called with well-formed arguments, works or is not supported. */
static void check_v30_functions(CK_SESSION_HANDLE s) {
  CK_OBJECT_HANDLE aes, pub, priv;
  char label[64];
  make_label(label, sizeof(label), "v30");
  must_generate_aes(s, label, &aes);
  must_generate_ec(s, label, &pub, &priv);

#define WORKS_OR_NOT_SUPPORTED(expr) EXPECT2(expr, CKR_OK, CKR_FUNCTION_NOT_SUPPORTED)
  CK_UTF8CHAR pin[] = "1234", user[] = "user";
  WORKS_OR_NOT_SUPPORTED(F3->C_LoginUser(s, CKU_USER, pin, 4, user, 4));
  if (last_rv == CKR_OK) OK(F3->C_Logout(s));

  /* C_SessionCancel ends the named operation. */
  CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
  OK(F3->C_SignInit(s, &ecdsa, priv));
  WORKS_OR_NOT_SUPPORTED(F3->C_SessionCancel(s, CKF_SIGN));
  if (last_rv == CKR_OK) {
    CK_BYTE data[4] = { 1, 2, 3, 4 }, signature[64];
    CK_ULONG signature_length = sizeof(signature);
    EXPECT(F3->C_Sign(s, data, 4, signature, &signature_length), CKR_OPERATION_NOT_INITIALIZED);
  } else {
    OK(F3->C_SignInit(s, NULL, 0));
  }

  CK_BYTE iv[12] = { 0 }, data[64] = { 0 }, out[128], tag[16];
  CK_ULONG out_length = sizeof(out);
  CK_GCM_PARAMS gcm;
  gcm_params(&gcm, iv);
  CK_MECHANISM gcm_mechanism = { CKM_AES_GCM, NULL, 0 };
  CK_MECHANISM ecdsa_plain = { CKM_ECDSA, NULL, 0 };
  WORKS_OR_NOT_SUPPORTED(F3->C_MessageEncryptInit(s, &gcm_mechanism, aes));
  int encrypt_active = last_rv == CKR_OK;
  WORKS_OR_NOT_SUPPORTED(F3->C_EncryptMessage(s, &gcm, sizeof(gcm), NULL, 0, data, sizeof(data), out, &out_length));
  WORKS_OR_NOT_SUPPORTED(F3->C_EncryptMessageBegin(s, &gcm, sizeof(gcm), NULL, 0));
  out_length = sizeof(out);
  WORKS_OR_NOT_SUPPORTED(F3->C_EncryptMessageNext(s, &gcm, sizeof(gcm), data, sizeof(data), out, &out_length, 1));
  if (encrypt_active || last_rv == CKR_FUNCTION_NOT_SUPPORTED) WORKS_OR_NOT_SUPPORTED(F3->C_MessageEncryptFinal(s));
  WORKS_OR_NOT_SUPPORTED(F3->C_MessageDecryptInit(s, &gcm_mechanism, aes));
  out_length = sizeof(out);
  WORKS_OR_NOT_SUPPORTED(F3->C_DecryptMessage(s, &gcm, sizeof(gcm), NULL, 0, tag, sizeof(tag), out, &out_length));
  WORKS_OR_NOT_SUPPORTED(F3->C_DecryptMessageBegin(s, &gcm, sizeof(gcm), NULL, 0));
  out_length = sizeof(out);
  WORKS_OR_NOT_SUPPORTED(F3->C_DecryptMessageNext(s, &gcm, sizeof(gcm), tag, sizeof(tag), out, &out_length, 1));
  WORKS_OR_NOT_SUPPORTED(F3->C_MessageDecryptFinal(s));
  WORKS_OR_NOT_SUPPORTED(F3->C_MessageSignInit(s, &ecdsa_plain, priv));
  out_length = sizeof(out);
  WORKS_OR_NOT_SUPPORTED(F3->C_SignMessage(s, NULL, 0, data, 32, out, &out_length));
  WORKS_OR_NOT_SUPPORTED(F3->C_SignMessageBegin(s, NULL, 0));
  out_length = sizeof(out);
  WORKS_OR_NOT_SUPPORTED(F3->C_SignMessageNext(s, NULL, 0, data, 32, out, &out_length));
  WORKS_OR_NOT_SUPPORTED(F3->C_MessageSignFinal(s));
  WORKS_OR_NOT_SUPPORTED(F3->C_MessageVerifyInit(s, &ecdsa_plain, pub));
  WORKS_OR_NOT_SUPPORTED(F3->C_VerifyMessage(s, NULL, 0, data, 32, out, 64));
  WORKS_OR_NOT_SUPPORTED(F3->C_VerifyMessageBegin(s, NULL, 0));
  WORKS_OR_NOT_SUPPORTED(F3->C_VerifyMessageNext(s, NULL, 0, data, 32, out, 64));
  WORKS_OR_NOT_SUPPORTED(F3->C_MessageVerifyFinal(s));
#undef WORKS_OR_NOT_SUPPORTED

  /* The interface calls work through the 3.0 list itself too. */
  CK_ULONG count = 0;
  OK(F3->C_GetInterfaceList(NULL, &count));
  CK_INTERFACE_PTR interface = NULL;
  OK(F3->C_GetInterface(NULL, NULL, &interface, 0));
}

static int scenario_init_args(void) {
  arm_watchdog(watchdog_seconds(), "init-args");
  expect_all_uninitialised();

  CK_C_INITIALIZE_ARGS args;
  memset(&args, 0, sizeof(args));
  args.pReserved = &args;
  EXPECT(F->C_Initialize(&args), CKR_ARGUMENTS_BAD);

  memset(&args, 0, sizeof(args));
  args.CreateMutex = create_mutex;
  args.DestroyMutex = destroy_mutex;
  args.LockMutex = lock_mutex;
  args.UnlockMutex = unlock_mutex;
  EXPECT(F->C_Initialize(&args), CKR_CANT_LOCK);

  args.DestroyMutex = NULL; /* some but not all callbacks */
  args.flags = CKF_OS_LOCKING_OK;
  EXPECT(F->C_Initialize(&args), CKR_ARGUMENTS_BAD);
  args.DestroyMutex = destroy_mutex;

  /* CKF_LIBRARY_CANT_CREATE_OS_THREADS is honoured, not refused: see scenario no-threads. */
  /* None of the refusals initialised anything. */
  EXPECT(F->C_GetInfo(&(CK_INFO){ 0 }), CKR_CRYPTOKI_NOT_INITIALIZED);

  double started = now_seconds();
  OK(F->C_Initialize(&args)); /* callbacks and CKF_OS_LOCKING_OK: the module uses OS locking */
  info("C_Initialize took %.1f ms", (now_seconds() - started) * 1000);
  EXPECT(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
  EXPECT(F->C_Initialize(&args), CKR_CRYPTOKI_ALREADY_INITIALIZED);
  EXPECT(F->C_Finalize(&args), CKR_ARGUMENTS_BAD);

  CK_INFO module_info;
  memset(&module_info, 0xa5, sizeof(module_info));
  OK(F->C_GetInfo(&module_info));
  CHECK(module_info.cryptokiVersion.major == 2 && module_info.cryptokiVersion.minor == 40,
        "CK_INFO.cryptokiVersion is %d.%d, expected 2.40", module_info.cryptokiVersion.major,
        module_info.cryptokiVersion.minor);
  CHECK(module_info.flags == 0, "CK_INFO.flags is 0x%lx, expected 0", (unsigned long)module_info.flags);
  CHECK(F->version.major == 2 && F->version.minor == 40, "the function list says %d.%d, expected 2.40",
        F->version.major, F->version.minor);
  for (int i = 0; i < 32; i++) {
    CHECK(module_info.manufacturerID[i] >= 0x20 && module_info.manufacturerID[i] < 0x7f &&
              module_info.libraryDescription[i] >= 0x20 && module_info.libraryDescription[i] < 0x7f,
          "CK_INFO text fields are not blank-padded printable text");
  }
  char description[33];
  library_description(description);
  info("library: %s", description);

  check_interfaces();

  CK_SLOT_ID slot = first_slot();
  CK_SESSION_HANDLE s = open_session(slot);
  check_v30_functions(s);
  EXPECT(F->C_GetFunctionStatus(s), CKR_FUNCTION_NOT_PARALLEL);
  EXPECT(F->C_CancelFunction(s), CKR_FUNCTION_NOT_PARALLEL);
  CK_SLOT_ID event_slot;
  EXPECT(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event_slot, NULL), CKR_NO_EVENT);
  OK(F->C_CloseSession(s));

  OK(F->C_Finalize(NULL));
  EXPECT(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
  expect_all_uninitialised();
  /* And again, plainly, after a finalisation. */
  OK(F->C_Initialize(NULL));
  OK(F->C_GetInfo(&module_info));
  OK(F->C_Finalize(NULL));
  return 0;
}

/* ------------------------------------------------------------------------------------ */
/* null-args                                                                             */

static int scenario_null_args(void) {
  arm_watchdog(watchdog_seconds(), "null-args");
  OK(F->C_Initialize(NULL));
  CK_SLOT_ID slot = first_slot();
  CK_SLOT_ID bad_slot = 0x7fff;
  CK_SESSION_HANDLE s = open_session(slot);
  CK_SESSION_HANDLE bad_session = 0x7ffffff0UL;
  CK_OBJECT_HANDLE bad_object = 0x7fffff00UL;
  char label[64];
  make_label(label, sizeof(label), "null");
  CK_OBJECT_HANDLE aes, pub, priv;
  must_generate_aes(s, label, &aes);
  must_generate_ec(s, label, &pub, &priv);

  CK_BYTE data[64] = { 1 }, out[256];
  CK_ULONG out_length = sizeof(out), count = 0;
  CK_OBJECT_HANDLE handle;
  CK_ATTRIBUTE one_attribute[] = { { CKA_LABEL, label, strlen(label) } };
  CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
  CK_MECHANISM sha256 = { CKM_SHA256, NULL, 0 };
  CK_MECHANISM aes_gen = { CKM_AES_KEY_GEN, NULL, 0 };
  CK_MECHANISM ec_gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
  CK_MECHANISM wrap = { CKM_AES_KEY_WRAP, NULL, 0 };
  CK_UTF8CHAR pin[] = "1234";
  CK_UTF8CHAR token_label[32];
  memset(token_label, ' ', sizeof(token_label));
#define BAD(expr) EXPECT(expr, CKR_ARGUMENTS_BAD)

  /* General and slot functions. */
  BAD(F->C_GetInfo(NULL));
  BAD(F->C_GetSlotList(CK_TRUE, NULL, NULL));
  BAD(F->C_GetSlotList(CK_FALSE, (CK_SLOT_ID[4]){ 0 }, NULL));
  BAD(F->C_GetSlotInfo(slot, NULL));
  EXPECT(F->C_GetSlotInfo(bad_slot, &(CK_SLOT_INFO){ 0 }), CKR_SLOT_ID_INVALID);
  BAD(F->C_GetTokenInfo(slot, NULL));
  EXPECT(F->C_GetTokenInfo(bad_slot, &(CK_TOKEN_INFO){ 0 }), CKR_SLOT_ID_INVALID);
  BAD(F->C_GetMechanismList(slot, NULL, NULL));
  BAD(F->C_GetMechanismList(slot, (CK_MECHANISM_TYPE[4]){ 0 }, NULL));
  EXPECT(F->C_GetMechanismList(bad_slot, NULL, &count), CKR_SLOT_ID_INVALID);
  BAD(F->C_GetMechanismInfo(slot, CKM_AES_GCM, NULL));
  EXPECT(F->C_GetMechanismInfo(slot, 0x7ffffff0UL, &(CK_MECHANISM_INFO){ 0 }), CKR_MECHANISM_INVALID);
  EXPECT(F->C_GetMechanismInfo(bad_slot, CKM_AES_GCM, &(CK_MECHANISM_INFO){ 0 }), CKR_SLOT_ID_INVALID);
  BAD(F->C_InitToken(slot, NULL, 4, token_label));
  BAD(F->C_InitToken(slot, pin, 4, NULL));
  BAD(F->C_InitPIN(s, NULL, 4));
  BAD(F->C_SetPIN(s, NULL, 4, pin, 4));
  BAD(F->C_SetPIN(s, pin, 4, NULL, 4));
  BAD(F->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, (void *)&count));

  /* Sessions. */
  BAD(F->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL));
  EXPECT(F->C_OpenSession(bad_slot, CKF_SERIAL_SESSION, NULL, NULL, &handle), CKR_SLOT_ID_INVALID);
  EXPECT(F->C_OpenSession(slot, 0, NULL, NULL, &handle), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
  EXPECT(F->C_CloseSession(bad_session), CKR_SESSION_HANDLE_INVALID);
  EXPECT(F->C_CloseSession(CK_INVALID_HANDLE), CKR_SESSION_HANDLE_INVALID);
  EXPECT(F->C_CloseAllSessions(bad_slot), CKR_SLOT_ID_INVALID);
  BAD(F->C_GetSessionInfo(s, NULL));
  EXPECT(F->C_GetSessionInfo(bad_session, &(CK_SESSION_INFO){ 0 }), CKR_SESSION_HANDLE_INVALID);
  BAD(F->C_Login(s, CKU_USER, NULL, 4));
  EXPECT(F->C_Login(bad_session, CKU_USER, pin, 4), CKR_SESSION_HANDLE_INVALID);
  EXPECT(F->C_Logout(bad_session), CKR_SESSION_HANDLE_INVALID);
  BAD(F3->C_LoginUser(s, CKU_USER, NULL, 4, (CK_UTF8CHAR_PTR) "u", 1));
  BAD(F3->C_LoginUser(s, CKU_USER, pin, 4, NULL, 1));
  EXPECT(F3->C_SessionCancel(bad_session, 0), CKR_SESSION_HANDLE_INVALID);

  /* Objects. */
  BAD(F->C_CreateObject(s, NULL, 2, &handle));
  BAD(F->C_CreateObject(s, one_attribute, 1, NULL));
  {
    /* An attribute with a length but no value: the template is refused, nothing read. */
    CK_ATTRIBUTE hollow[] = { { CKA_LABEL, NULL, 12 } };
    EXPECT2(F->C_CreateObject(s, hollow, 1, &handle), CKR_ATTRIBUTE_VALUE_INVALID, CKR_ARGUMENTS_BAD);
    /* A nested template whose length is not a whole number of CK_ATTRIBUTEs. */
    CK_ATTRIBUTE inner[] = { { CKA_ENCRYPT, &yes, sizeof(yes) } };
    CK_ATTRIBUTE nested[] = { { CKA_WRAP_TEMPLATE, inner, sizeof(inner) - 1 } };
    EXPECT2(F->C_CreateObject(s, nested, 1, &handle), CKR_ATTRIBUTE_VALUE_INVALID, CKR_TEMPLATE_INCONSISTENT);
    /* A count far beyond any template. */
    EXPECT2(F->C_FindObjectsInit(s, one_attribute, 1UL << 40), CKR_TEMPLATE_INCONSISTENT, CKR_ARGUMENTS_BAD);
  }
  BAD(F->C_CopyObject(s, aes, NULL, 1, &handle));
  BAD(F->C_CopyObject(s, aes, one_attribute, 1, NULL));
  EXPECT(F->C_CopyObject(s, bad_object, NULL, 0, &handle), CKR_OBJECT_HANDLE_INVALID);
  EXPECT(F->C_DestroyObject(s, bad_object), CKR_OBJECT_HANDLE_INVALID);
  EXPECT(F->C_DestroyObject(bad_session, aes), CKR_SESSION_HANDLE_INVALID);
  BAD(F->C_GetObjectSize(s, aes, NULL));
  EXPECT(F->C_GetObjectSize(s, bad_object, &count), CKR_OBJECT_HANDLE_INVALID);
  BAD(F->C_GetAttributeValue(s, aes, NULL, 1));
  EXPECT(F->C_GetAttributeValue(s, bad_object, one_attribute, 1), CKR_OBJECT_HANDLE_INVALID);
  EXPECT(F->C_GetAttributeValue(bad_session, aes, one_attribute, 1), CKR_SESSION_HANDLE_INVALID);
  OK(F->C_GetAttributeValue(s, aes, NULL, 0));
  BAD(F->C_SetAttributeValue(s, aes, NULL, 1));
  EXPECT(F->C_SetAttributeValue(s, bad_object, one_attribute, 1), CKR_OBJECT_HANDLE_INVALID);
  BAD(F->C_FindObjectsInit(s, NULL, 1));
  EXPECT(F->C_FindObjectsInit(bad_session, NULL, 0), CKR_SESSION_HANDLE_INVALID);
  EXPECT(F->C_FindObjects(s, &handle, 1, &count), CKR_OPERATION_NOT_INITIALIZED);
  EXPECT(F->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
  OK(F->C_FindObjectsInit(s, one_attribute, 1));
  BAD(F->C_FindObjects(s, NULL, 10, &count));
  BAD(F->C_FindObjects(s, &handle, 1, NULL));
  EXPECT(F->C_FindObjects(bad_session, &handle, 1, &count), CKR_SESSION_HANDLE_INVALID);
  OK(F->C_FindObjectsFinal(s));

  /* Encryption and decryption: NULL data with a length, no length pointer, bad handles. */
  CK_BYTE iv[12] = { 0 };
  CK_GCM_PARAMS gcm;
  gcm_params(&gcm, iv);
  CK_MECHANISM gcm_mechanism = { CKM_AES_GCM, &gcm, sizeof(gcm) };
  EXPECT(F->C_Encrypt(s, data, 16, out, &out_length), CKR_OPERATION_NOT_INITIALIZED);
  EXPECT(F->C_EncryptInit(s, &gcm_mechanism, bad_object), CKR_KEY_HANDLE_INVALID);
  EXPECT(F->C_EncryptInit(bad_session, &gcm_mechanism, aes), CKR_SESSION_HANDLE_INVALID);
  /* PKCS#11 3.0: an Init with a NULL mechanism cancels; 2.40 modules refuse it. */
  EXPECT2(F->C_EncryptInit(s, NULL, aes), CKR_OK, CKR_ARGUMENTS_BAD);
  OK(F->C_EncryptInit(s, &gcm_mechanism, aes));
  EXPECT(F->C_EncryptInit(s, &gcm_mechanism, aes), CKR_OPERATION_ACTIVE);
  BAD(F->C_Encrypt(s, NULL, 16, out, &out_length));
  BAD(F->C_Encrypt(s, data, 16, out, NULL));
  BAD(F->C_EncryptUpdate(s, NULL, 16, out, &out_length));
  BAD(F->C_EncryptUpdate(s, data, 16, out, NULL));
  BAD(F->C_EncryptFinal(s, out, NULL));
  EXPECT(F->C_Encrypt(bad_session, data, 16, out, &out_length), CKR_SESSION_HANDLE_INVALID);
  out_length = sizeof(out);
  /* Argument errors are caught before the call reaches the token: the operation is alive. */
  OK(F->C_Encrypt(s, data, 16, out, &out_length));
  CHECK(out_length == 32, "GCM of 16 bytes gave %lu bytes", (unsigned long)out_length);
  EXPECT(F->C_DecryptInit(s, &gcm_mechanism, bad_object), CKR_KEY_HANDLE_INVALID);
  OK(F->C_DecryptInit(s, &gcm_mechanism, aes));
  BAD(F->C_Decrypt(s, NULL, 32, out, &out_length));
  BAD(F->C_Decrypt(s, out, 32, out + 64, NULL));
  BAD(F->C_DecryptUpdate(s, NULL, 16, out, &out_length));
  BAD(F->C_DecryptFinal(s, out, NULL));
  EXPECT2(F->C_DecryptInit(s, NULL, aes), CKR_OK, CKR_ARGUMENTS_BAD);

  /* Mechanism parameters whose length does not fit their structure. */
  CK_MECHANISM bad_gcm = { CKM_AES_GCM, &gcm, sizeof(gcm) + 8 };
  EXPECT(F->C_EncryptInit(s, &bad_gcm, aes), CKR_MECHANISM_PARAM_INVALID);
  bad_gcm.ulParameterLen = 8;
  EXPECT(F->C_EncryptInit(s, &bad_gcm, aes), CKR_MECHANISM_PARAM_INVALID);
  bad_gcm.ulParameterLen = sizeof(gcm) - 1;
  EXPECT(F->C_DecryptInit(s, &bad_gcm, aes), CKR_MECHANISM_PARAM_INVALID);
  bad_gcm.pParameter = NULL;
  bad_gcm.ulParameterLen = sizeof(gcm);
  EXPECT(F->C_EncryptInit(s, &bad_gcm, aes), CKR_MECHANISM_PARAM_INVALID);
  {
    CK_GCM_PARAMS hollow = gcm;
    hollow.pIv = NULL; /* an IV length without an IV */
    CK_MECHANISM m = { CKM_AES_GCM, &hollow, sizeof(hollow) };
    EXPECT(F->C_EncryptInit(s, &m, aes), CKR_MECHANISM_PARAM_INVALID);
    CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, NULL, 0 };
    CK_MECHANISM m_oaep = { CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep) - 1 };
    EXPECT(F->C_EncryptInit(s, &m_oaep, pub), CKR_MECHANISM_PARAM_INVALID);
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    CK_MECHANISM m_pss = { CKM_SHA256_RSA_PKCS_PSS, &pss, 4 };
    EXPECT(F->C_SignInit(s, &m_pss, priv), CKR_MECHANISM_PARAM_INVALID);
    CK_AES_CTR_PARAMS ctr;
    memset(&ctr, 0, sizeof(ctr));
    CK_MECHANISM m_ctr = { CKM_AES_CTR, &ctr, sizeof(ctr) + 1 };
    EXPECT(F->C_EncryptInit(s, &m_ctr, aes), CKR_MECHANISM_PARAM_INVALID);
    CK_ECDH1_DERIVE_PARAMS ecdh;
    memset(&ecdh, 0, sizeof(ecdh));
    CK_MECHANISM m_ecdh = { CKM_ECDH1_DERIVE, &ecdh, 3 };
    EXPECT(F->C_DeriveKey(s, &m_ecdh, priv, NULL, 0, &handle), CKR_MECHANISM_PARAM_INVALID);
  }

  /* Digests. */
  EXPECT(F->C_Digest(s, data, 3, out, &out_length), CKR_OPERATION_NOT_INITIALIZED);
  EXPECT(F->C_DigestInit(bad_session, &sha256), CKR_SESSION_HANDLE_INVALID);
  OK(F->C_DigestInit(s, &sha256));
  BAD(F->C_Digest(s, NULL, 3, out, &out_length));
  BAD(F->C_Digest(s, data, 3, out, NULL));
  BAD(F->C_DigestUpdate(s, NULL, 3));
  BAD(F->C_DigestFinal(s, out, NULL));
  EXPECT(F->C_DigestKey(s, bad_object), CKR_KEY_HANDLE_INVALID);
  EXPECT2(F->C_DigestInit(s, NULL), CKR_OK, CKR_ARGUMENTS_BAD);

  /* Signatures. */
  EXPECT(F->C_SignInit(s, &ecdsa, bad_object), CKR_KEY_HANDLE_INVALID);
  EXPECT(F->C_SignInit(bad_session, &ecdsa, priv), CKR_SESSION_HANDLE_INVALID);
  OK(F->C_SignInit(s, &ecdsa, priv));
  BAD(F->C_Sign(s, NULL, 3, out, &out_length));
  BAD(F->C_Sign(s, data, 3, out, NULL));
  BAD(F->C_SignUpdate(s, NULL, 3));
  BAD(F->C_SignFinal(s, out, NULL));
  EXPECT2(F->C_SignInit(s, NULL, priv), CKR_OK, CKR_ARGUMENTS_BAD);
  EXPECT(F->C_VerifyInit(s, &ecdsa, bad_object), CKR_KEY_HANDLE_INVALID);
  OK(F->C_VerifyInit(s, &ecdsa, pub));
  BAD(F->C_Verify(s, NULL, 3, out, 64));
  BAD(F->C_Verify(s, data, 3, NULL, 64));
  BAD(F->C_VerifyUpdate(s, NULL, 3));
  BAD(F->C_VerifyFinal(s, NULL, 64));
  EXPECT2(F->C_VerifyInit(s, NULL, pub), CKR_OK, CKR_ARGUMENTS_BAD);

  /* Key management. */
  CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
  CK_ULONG key_length = 32;
  CK_ATTRIBUTE aes_template[] = { { CKA_CLASS, &secret, sizeof(secret) }, { CKA_VALUE_LEN, &key_length, sizeof(key_length) } };
  BAD(F->C_GenerateKey(s, NULL, aes_template, 2, &handle));
  BAD(F->C_GenerateKey(s, &aes_gen, NULL, 2, &handle));
  BAD(F->C_GenerateKey(s, &aes_gen, aes_template, 2, NULL));
  EXPECT(F->C_GenerateKey(bad_session, &aes_gen, aes_template, 2, &handle), CKR_SESSION_HANDLE_INVALID);
  CK_OBJECT_HANDLE h1, h2;
  CK_ATTRIBUTE ec_public[] = { { CKA_EC_PARAMS, (void *)P256_OID, sizeof(P256_OID) } };
  BAD(F->C_GenerateKeyPair(s, NULL, ec_public, 1, NULL, 0, &h1, &h2));
  BAD(F->C_GenerateKeyPair(s, &ec_gen, NULL, 1, NULL, 0, &h1, &h2));
  BAD(F->C_GenerateKeyPair(s, &ec_gen, ec_public, 1, NULL, 1, &h1, &h2));
  BAD(F->C_GenerateKeyPair(s, &ec_gen, ec_public, 1, NULL, 0, NULL, &h2));
  BAD(F->C_GenerateKeyPair(s, &ec_gen, ec_public, 1, NULL, 0, &h1, NULL));
  BAD(F->C_WrapKey(s, NULL, aes, aes, out, &out_length));
  BAD(F->C_WrapKey(s, &wrap, aes, aes, out, NULL));
  BAD(F->C_WrapKey(s, &wrap, aes, aes, NULL, NULL));
  EXPECT(F->C_WrapKey(s, &wrap, bad_object, aes, out, &out_length), CKR_WRAPPING_KEY_HANDLE_INVALID);
  BAD(F->C_UnwrapKey(s, NULL, aes, out, 40, aes_template, 2, &handle));
  BAD(F->C_UnwrapKey(s, &wrap, aes, NULL, 40, aes_template, 2, &handle));
  BAD(F->C_UnwrapKey(s, &wrap, aes, out, 40, NULL, 2, &handle));
  BAD(F->C_UnwrapKey(s, &wrap, aes, out, 40, aes_template, 2, NULL));
  BAD(F->C_DeriveKey(s, NULL, priv, aes_template, 2, &handle));
  BAD(F->C_DeriveKey(s, &ec_gen, priv, NULL, 2, &handle));
  BAD(F->C_DeriveKey(s, &ec_gen, priv, aes_template, 2, NULL));

  /* Random numbers: no output buffer for a length is ARGUMENTS_BAD; zero bytes is fine. */
  BAD(F->C_GenerateRandom(s, NULL, 16));
  OK(F->C_GenerateRandom(s, NULL, 0));
  OK(F->C_GenerateRandom(s, out, 0));
  EXPECT(F->C_GenerateRandom(bad_session, out, 16), CKR_SESSION_HANDLE_INVALID);
  BAD(F->C_SeedRandom(s, NULL, 16));
  EXPECT2(F->C_SeedRandom(s, data, 16), CKR_RANDOM_SEED_NOT_SUPPORTED, CKR_OK);

  /* What p11kms does not offer says so, whatever the arguments. */
  EXPECT(F->C_GetOperationState(s, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_SetOperationState(s, NULL, 5, 0, 0), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_SignRecoverInit(s, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_SignRecover(s, NULL, 5, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_VerifyRecoverInit(s, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_VerifyRecover(s, NULL, 5, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_DigestEncryptUpdate(s, NULL, 5, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_DecryptDigestUpdate(s, NULL, 5, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_SignEncryptUpdate(s, NULL, 5, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
  EXPECT(F->C_DecryptVerifyUpdate(s, NULL, 5, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
#undef BAD

  /* After all that, the session still works. */
  CK_BYTE signature[64];
  OK(ecdsa_sign(s, priv, data, sizeof(data), signature));
  OK(ecdsa_verify(s, pub, data, sizeof(data), signature, 64));
  OK(F->C_CloseSession(s));
  EXPECT(F->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID);
  EXPECT(F->C_GenerateRandom(s, out, 16), CKR_SESSION_HANDLE_INVALID);
  OK(F->C_Finalize(NULL));
  return 0;
}

/* ------------------------------------------------------------------------------------ */
/* buffers                                                                               */

static void store_ulong(void *target, CK_ULONG value) { memcpy(target, &value, sizeof(value)); }
static CK_ULONG load_ulong(const void *source) {
  CK_ULONG value;
  memcpy(&value, source, sizeof(value));
  return value;
}

/* The two-call convention on one single-part call: NULL asks the length, a short buffer
 * gets CKR_BUFFER_TOO_SMALL and the length with the operation still alive, and the exact
 * length delivers into an unaligned buffer through an unaligned length pointer. */
typedef CK_RV (*single_part_fn)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);

static void two_calls(const char *what, single_part_fn call, CK_SESSION_HANDLE s, CK_BYTE *input, CK_ULONG input_length,
                      CK_ULONG expected_length, CK_BYTE *result) {
  CK_ULONG length = 0;
  OK(call(s, input, input_length, NULL, &length));
  CHECK(length == expected_length, "%s: the length query says %lu, expected %lu", what, (unsigned long)length,
        (unsigned long)expected_length);
  OK(call(s, input, input_length, NULL, &length)); /* a second query changes nothing */
  CK_BYTE small[8];
  length = 3;
  EXPECT(call(s, input, input_length, small, &length), CKR_BUFFER_TOO_SMALL);
  CHECK(length == expected_length, "%s: CKR_BUFFER_TOO_SMALL came with %lu, expected %lu", what, (unsigned long)length,
        (unsigned long)expected_length);
  /* Unaligned output and an unaligned CK_ULONG length, as Oracle passes them. */
  unsigned char *raw_out = malloc(expected_length + 9);
  unsigned char *raw_length = malloc(sizeof(CK_ULONG) + 3);
  CHECK(raw_out && raw_length, "out of memory");
  CK_BYTE *unaligned_out = raw_out + 1;
  CK_ULONG *unaligned_length = (CK_ULONG *)(void *)(raw_length + 1);
  memset(raw_out, 0xee, expected_length + 9);
  store_ulong(unaligned_length, expected_length);
  OK(call(s, input, input_length, unaligned_out, unaligned_length));
  CHECK(load_ulong(unaligned_length) == expected_length, "%s: delivered %lu bytes, expected %lu", what,
        (unsigned long)load_ulong(unaligned_length), (unsigned long)expected_length);
  CHECK(raw_out[0] == 0xee && raw_out[expected_length + 1] == 0xee, "%s: wrote outside the buffer", what);
  memcpy(result, unaligned_out, expected_length);
  free(raw_out);
  free(raw_length);
  /* Delivered: the operation is over. */
  length = expected_length;
  EXPECT(call(s, input, input_length, small, &length), CKR_OPERATION_NOT_INITIALIZED);
}

static int scenario_buffers(void) {
  arm_watchdog(watchdog_seconds(), "buffers");
  OK(F->C_Initialize(NULL));
  CK_SLOT_ID slot = first_slot();
  CK_SESSION_HANDLE s = open_session(slot);
  char label[64];
  make_label(label, sizeof(label), "buffers");
  CK_OBJECT_HANDLE aes, pub, priv;
  must_generate_aes(s, label, &aes);
  must_generate_ec(s, label, &pub, &priv);
  CK_BYTE data[64];
  for (int i = 0; i < 64; i++) data[i] = (CK_BYTE)i;

  /* C_Sign: ECDSA P-256 signatures are 64 bytes. */
  CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
  CK_BYTE signature[64];
  OK(F->C_SignInit(s, &ecdsa, priv));
  two_calls("C_Sign", F->C_Sign, s, data, sizeof(data), 64, signature);
  OK(ecdsa_verify(s, pub, data, sizeof(data), signature, 64));
  signature[10] ^= 1;
  EXPECT(ecdsa_verify(s, pub, data, sizeof(data), signature, 64), CKR_SIGNATURE_INVALID);

  /* C_SignFinal follows the same rules. */
  OK(F->C_SignInit(s, &ecdsa, priv));
  OK(F->C_SignUpdate(s, data, 32));
  OK(F->C_SignUpdate(s, data + 32, 32));
  CK_ULONG length = 0;
  OK(F->C_SignFinal(s, NULL, &length));
  CHECK(length == 64, "C_SignFinal length query says %lu", (unsigned long)length);
  length = 10;
  EXPECT(F->C_SignFinal(s, signature, &length), CKR_BUFFER_TOO_SMALL);
  CHECK(length == 64, "C_SignFinal short buffer says %lu", (unsigned long)length);
  OK(F->C_SignFinal(s, signature, &length));
  OK(ecdsa_verify(s, pub, data, sizeof(data), signature, 64));

  /* C_Encrypt: AES-GCM of 64 bytes is 64 bytes and a 16-byte tag. */
  CK_BYTE iv[12] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2 };
  CK_GCM_PARAMS gcm;
  gcm_params(&gcm, iv);
  CK_MECHANISM gcm_mechanism = { CKM_AES_GCM, &gcm, sizeof(gcm) };
  CK_BYTE ciphertext[80], plaintext[64];
  OK(F->C_EncryptInit(s, &gcm_mechanism, aes));
  two_calls("C_Encrypt", F->C_Encrypt, s, data, sizeof(data), 80, ciphertext);
  OK(F->C_DecryptInit(s, &gcm_mechanism, aes));
  two_calls("C_Decrypt", F->C_Decrypt, s, ciphertext, sizeof(ciphertext), 64, plaintext);
  CHECK(memcmp(plaintext, data, 64) == 0, "AES-GCM did not round-trip");

  /* C_Digest: SHA-256("abc"). */
  static const CK_BYTE abc_sha256[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                          0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                          0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
  CK_MECHANISM sha256 = { CKM_SHA256, NULL, 0 };
  CK_BYTE digest[32];
  OK(F->C_DigestInit(s, &sha256));
  two_calls("C_Digest", F->C_Digest, s, (CK_BYTE_PTR) "abc", 3, 32, digest);
  CHECK(memcmp(digest, abc_sha256, 32) == 0, "SHA-256(\"abc\") is wrong");

  /* C_GetAttributeValue: CKA_EC_POINT of the public key (DER OCTET STRING, 67 bytes for
   * P-256) and CKA_KEY_TYPE, a CK_ULONG, into unaligned memory. */
  CK_ATTRIBUTE query[2] = { { CKA_EC_POINT, NULL, 0 }, { CKA_KEY_TYPE, NULL, 0 } };
  OK(F->C_GetAttributeValue(s, pub, query, 2));
  CHECK(query[0].ulValueLen == 67, "CKA_EC_POINT length %lu, expected 67", (unsigned long)query[0].ulValueLen);
  CHECK(query[1].ulValueLen == sizeof(CK_ULONG), "CKA_KEY_TYPE length %lu", (unsigned long)query[1].ulValueLen);
  unsigned char *raw = malloc(67 + sizeof(CK_ULONG) + 8);
  CHECK(raw, "out of memory");
  memset(raw, 0xee, 67 + sizeof(CK_ULONG) + 8);
  CK_BYTE small[4];
  query[0].pValue = small;
  query[0].ulValueLen = sizeof(small);
  query[1].pValue = raw + 1;
  query[1].ulValueLen = sizeof(CK_ULONG);
  EXPECT(F->C_GetAttributeValue(s, pub, query, 2), CKR_BUFFER_TOO_SMALL);
  CHECK(query[0].ulValueLen == CK_UNAVAILABLE_INFORMATION, "a short attribute buffer left ulValueLen %lu",
        (unsigned long)query[0].ulValueLen);
  CHECK(query[1].ulValueLen == sizeof(CK_ULONG) && load_ulong(raw + 1) == CKK_EC,
        "the attribute that fitted was not delivered beside the one that did not");
  query[0].pValue = raw + 1;
  query[0].ulValueLen = 67;
  query[1].pValue = raw + 1 + 67 + 2; /* unaligned CK_ULONG */
  query[1].ulValueLen = sizeof(CK_ULONG);
  OK(F->C_GetAttributeValue(s, pub, query, 2));
  CHECK(query[0].ulValueLen == 67 && raw[1] == 0x04 && raw[2] == 65 && raw[3] == 0x04,
        "CKA_EC_POINT is not a DER OCTET STRING of an uncompressed point");
  CHECK(load_ulong(raw + 1 + 67 + 2) == CKK_EC, "CKA_KEY_TYPE read unaligned is %lu",
        (unsigned long)load_ulong(raw + 1 + 67 + 2));
  CHECK(raw[0] == 0xee && raw[68] == 0xee, "C_GetAttributeValue wrote outside the attribute buffer");
  free(raw);
  /* A sensitive attribute: CK_UNAVAILABLE_INFORMATION, and the others still delivered. */
  CK_BYTE value[64];
  CK_KEY_TYPE key_type = 0;
  CK_ATTRIBUTE sensitive[2] = { { CKA_VALUE, value, sizeof(value) }, { CKA_KEY_TYPE, &key_type, sizeof(key_type) } };
  EXPECT(F->C_GetAttributeValue(s, priv, sensitive, 2), CKR_ATTRIBUTE_SENSITIVE);
  CHECK(sensitive[0].ulValueLen == CK_UNAVAILABLE_INFORMATION && key_type == CKK_EC,
        "CKA_VALUE of a sensitive key: ulValueLen %lu, key type %lu", (unsigned long)sensitive[0].ulValueLen,
        (unsigned long)key_type);

  /* Lists: C_GetSlotList and C_GetMechanismList into unaligned arrays. */
  CK_ULONG count = 0;
  OK(F->C_GetMechanismList(slot, NULL, &count));
  CHECK(count > 5, "only %lu mechanisms", (unsigned long)count);
  CK_ULONG short_count = 1;
  CK_MECHANISM_TYPE one[1];
  EXPECT(F->C_GetMechanismList(slot, one, &short_count), CKR_BUFFER_TOO_SMALL);
  CHECK(short_count == count, "C_GetMechanismList short buffer says %lu, expected %lu", (unsigned long)short_count,
        (unsigned long)count);
  unsigned char *raw_list = malloc((count + 1) * sizeof(CK_ULONG) + 1);
  unsigned char raw_count[sizeof(CK_ULONG) + 1];
  CHECK(raw_list, "out of memory");
  store_ulong(raw_count + 1, count);
  OK(F->C_GetMechanismList(slot, (CK_MECHANISM_TYPE_PTR)(void *)(raw_list + 1), (CK_ULONG_PTR)(void *)(raw_count + 1)));
  CHECK(load_ulong(raw_count + 1) == count, "C_GetMechanismList delivered %lu", (unsigned long)load_ulong(raw_count + 1));
  int has_gcm = 0;
  for (CK_ULONG i = 0; i < count; i++)
    if (load_ulong(raw_list + 1 + i * sizeof(CK_ULONG)) == CKM_AES_GCM) has_gcm = 1;
  CHECK(has_gcm, "CKM_AES_GCM is not in the mechanism list");
  free(raw_list);
  store_ulong(raw_count + 1, 4);
  unsigned char raw_slots[4 * sizeof(CK_ULONG) + 1];
  OK(F->C_GetSlotList(CK_TRUE, (CK_SLOT_ID_PTR)(void *)(raw_slots + 1), (CK_ULONG_PTR)(void *)(raw_count + 1)));
  CHECK(load_ulong(raw_count + 1) >= 1 && load_ulong(raw_slots + 1) == slot, "unaligned C_GetSlotList");

  /* C_GenerateRandom into an unaligned buffer. */
  unsigned char random_raw[40];
  memset(random_raw, 0, sizeof(random_raw));
  OK(F->C_GenerateRandom(s, random_raw + 1, 32));
  CHECK(random_raw[0] == 0 && random_raw[33] == 0, "C_GenerateRandom wrote outside its buffer");

  OK(F->C_CloseSession(s));
  OK(F->C_Finalize(NULL));
  return 0;
}

/* ------------------------------------------------------------------------------------ */
/* cycles                                                                                */

static int scenario_cycles(void) {
  unsigned long cycles = env_number("HARNESS_CYCLES", 500);
  arm_watchdog(watchdog_seconds(), "cycles");
  double first_init = 0, started = now_seconds();
  for (unsigned long i = 0; i < cycles; i++) {
    double t0 = now_seconds();
    CK_RV rv = F->C_Initialize(NULL);
    CHECK(rv == CKR_OK, "cycle %lu: C_Initialize returned %s", i, ck_rv_name(rv));
    if (i == 0) first_init = now_seconds() - t0;
    CK_SLOT_ID slots[8];
    CK_ULONG count = 8;
    rv = F->C_GetSlotList(CK_TRUE, slots, &count);
    CHECK(rv == CKR_OK && count > 0, "cycle %lu: C_GetSlotList returned %s, %lu slots", i, ck_rv_name(rv),
          (unsigned long)count);
    CK_SESSION_HANDLE s;
    rv = F->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s);
    CHECK(rv == CKR_OK, "cycle %lu: C_OpenSession returned %s", i, ck_rv_name(rv));
    CK_BYTE random[32];
    rv = F->C_GenerateRandom(s, random, sizeof(random));
    CHECK(rv == CKR_OK, "cycle %lu: C_GenerateRandom returned %s", i, ck_rv_name(rv));
    rv = F->C_CloseSession(s);
    CHECK(rv == CKR_OK, "cycle %lu: C_CloseSession returned %s", i, ck_rv_name(rv));
    /* Every other cycle leaves a session open for C_Finalize to close. */
    if (i % 2 == 1) {
      rv = F->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s);
      CHECK(rv == CKR_OK, "cycle %lu: second C_OpenSession returned %s", i, ck_rv_name(rv));
    }
    rv = F->C_Finalize(NULL);
    CHECK(rv == CKR_OK, "cycle %lu: C_Finalize returned %s", i, ck_rv_name(rv));
    rv = F->C_GenerateRandom(s, random, sizeof(random));
    CHECK(rv == CKR_CRYPTOKI_NOT_INITIALIZED, "cycle %lu: a call after C_Finalize returned %s", i, ck_rv_name(rv));
  }
  double elapsed = now_seconds() - started;
  info("%lu cycles in %.2f s: %.3f ms per cycle (first C_Initialize %.1f ms)", cycles, elapsed,
       elapsed * 1000 / (double)cycles, first_init * 1000);
  return 0;
}

/* ------------------------------------------------------------------------------------ */
/* threads                                                                               */

struct shared_keys {
  CK_SLOT_ID slot;
  CK_OBJECT_HANDLE aes, pub, priv;
  char label[64];
  unsigned long operations;
};

struct worker {
  pthread_t thread;
  int index;
  const struct shared_keys *keys;
  unsigned long done[4];
};

static void *worker_main(void *argument) {
  struct worker *w = argument;
  const struct shared_keys *k = w->keys;
  CK_SESSION_HANDLE s;
  CK_RV rv = F->C_OpenSession(k->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
  CHECK(rv == CKR_OK, "thread %d: C_OpenSession returned %s", w->index, ck_rv_name(rv));
  CK_BYTE data[64];
  for (unsigned long i = 0; i < k->operations; i++) {
    memset(data, (int)(i & 0xff), sizeof(data));
    data[0] = (CK_BYTE)w->index;
    switch ((i + (unsigned long)w->index) % 4) {
    case 0: {
      CK_BYTE signature[64];
      rv = ecdsa_sign(s, k->priv, data, sizeof(data), signature);
      CHECK(rv == CKR_OK, "thread %d op %lu: ECDSA sign returned %s", w->index, i, ck_rv_name(rv));
      break;
    }
    case 1: {
      CK_BYTE iv[12] = { 0 }, out[80];
      memcpy(iv, &i, sizeof(i) < 8 ? sizeof(i) : 8);
      iv[11] = (CK_BYTE)w->index;
      CK_ULONG out_length = sizeof(out);
      rv = gcm_encrypt(s, k->aes, iv, data, sizeof(data), out, &out_length);
      CHECK(rv == CKR_OK && out_length == 80, "thread %d op %lu: AES-GCM encrypt returned %s (%lu bytes)", w->index,
            i, ck_rv_name(rv), (unsigned long)out_length);
      break;
    }
    case 2: {
      CK_BYTE random[32];
      rv = F->C_GenerateRandom(s, random, sizeof(random));
      CHECK(rv == CKR_OK, "thread %d op %lu: C_GenerateRandom returned %s", w->index, i, ck_rv_name(rv));
      break;
    }
    default: {
      CK_ULONG found = 0;
      rv = find_by_label(s, k->label, &found);
      CHECK(rv == CKR_OK && found == 3, "thread %d op %lu: find by label returned %s and %lu objects (expected 3)",
            w->index, i, ck_rv_name(rv), (unsigned long)found);
      break;
    }
    }
    w->done[(i + (unsigned long)w->index) % 4]++;
  }
  rv = F->C_CloseSession(s);
  CHECK(rv == CKR_OK, "thread %d: C_CloseSession returned %s", w->index, ck_rv_name(rv));
  return NULL;
}

static int scenario_threads(void) {
  unsigned long thread_count = env_number("HARNESS_THREADS", 8);
  struct shared_keys keys;
  memset(&keys, 0, sizeof(keys));
  keys.operations = env_number("HARNESS_OPS", 1000);
  arm_watchdog(watchdog_seconds(), "threads");
  OK(initialize_threaded());
  keys.slot = first_slot();
  /* The keys belong to this session, which stays open while the threads use them. */
  CK_SESSION_HANDLE owner = open_session(keys.slot);
  make_label(keys.label, sizeof(keys.label), "threads");
  must_generate_aes(owner, keys.label, &keys.aes);
  must_generate_ec(owner, keys.label, &keys.pub, &keys.priv);

  struct worker *workers = calloc(thread_count, sizeof(*workers));
  CHECK(workers, "out of memory");
  double started = now_seconds();
  for (unsigned long i = 0; i < thread_count; i++) {
    workers[i].index = (int)i;
    workers[i].keys = &keys;
    CHECK(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) == 0, "pthread_create failed");
  }
  for (unsigned long i = 0; i < thread_count; i++) pthread_join(workers[i].thread, NULL);
  double elapsed = now_seconds() - started;
  unsigned long total = 0, by_kind[4] = { 0 };
  for (unsigned long i = 0; i < thread_count; i++)
    for (int k = 0; k < 4; k++) {
      by_kind[k] += workers[i].done[k];
      total += workers[i].done[k];
    }
  CHECK(total == thread_count * keys.operations, "only %lu of %lu operations ran", total,
        thread_count * keys.operations);
  info("%lu threads x %lu operations in %.2f s: %.0f ops/s (sign %lu, encrypt %lu, random %lu, find %lu)",
       thread_count, keys.operations, elapsed, (double)total / elapsed, by_kind[0], by_kind[1], by_kind[2], by_kind[3]);
  free(workers);
  OK(F->C_CloseSession(owner));
  OK(F->C_Finalize(NULL));
  return 0;
}

/* ------------------------------------------------------------------------------------ */
/* fork                                                                                  */

static void fork_child(CK_SESSION_HANDLE parent_session, CK_OBJECT_HANDLE parent_key) {
  scenario = "fork (child)";
  arm_watchdog(60, "the forked child");
  CK_BYTE data[32] = { 7 }, signature[64];
  CK_ULONG length = sizeof(signature);
  CK_INFO module_info;
  /* The child inherits no initialised module: every call says so, none hangs. */
  EXPECT(F->C_GetInfo(&module_info), CKR_CRYPTOKI_NOT_INITIALIZED);
  EXPECT(F->C_GenerateRandom(parent_session, data, sizeof(data)), CKR_CRYPTOKI_NOT_INITIALIZED);
  EXPECT(F->C_Sign(parent_session, data, sizeof(data), signature, &length), CKR_CRYPTOKI_NOT_INITIALIZED);
  EXPECT(F->C_SignInit(parent_session, &(CK_MECHANISM){ CKM_ECDSA_SHA256, NULL, 0 }, parent_key),
         CKR_CRYPTOKI_NOT_INITIALIZED);
  EXPECT(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
  double started = now_seconds();
  OK(F->C_Initialize(NULL));
  info("C_Initialize in the child took %.1f ms", (now_seconds() - started) * 1000);
  char description[33];
  library_description(description);
  info("library in the child: %s", description);
  CHECK(strstr(description, "child process") != NULL,
        "the forked child's runtime is \"%s\", expected the child-process hosting", description);
  CK_SLOT_ID slot = first_slot();
  CK_SESSION_HANDLE s = open_session(slot);
  char label[64];
  make_label(label, sizeof(label), "fork-child");
  CK_OBJECT_HANDLE pub, priv;
  must_generate_ec(s, label, &pub, &priv);
  OK(ecdsa_sign(s, priv, data, sizeof(data), signature));
  OK(ecdsa_verify(s, pub, data, sizeof(data), signature, 64));
  OK(F->C_CloseSession(s));
  OK(F->C_Finalize(NULL));
  fflush(stdout);
  exit(0);
}

static int scenario_fork(void) {
  arm_watchdog(watchdog_seconds(), "fork");
  OK(initialize_threaded());
  char description[33];
  library_description(description);
  info("library in the parent: %s", description);
  CK_SLOT_ID slot = first_slot();
  CK_SESSION_HANDLE s = open_session(slot);
  char label[64];
  make_label(label, sizeof(label), "fork");
  CK_OBJECT_HANDLE pub, priv;
  must_generate_ec(s, label, &pub, &priv);
  CK_BYTE data[32] = { 1 }, signature[64];
  OK(ecdsa_sign(s, priv, data, sizeof(data), signature));

  fflush(stdout);
  fflush(stderr);
  pid_t child = fork();
  CHECK(child >= 0, "fork: %s", strerror(errno));
  if (child == 0) fork_child(s, priv);

  /* The parent goes on using its runtime while the child starts its own. */
  for (int i = 0; i < 20; i++) {
    data[1] = (CK_BYTE)i;
    OK(ecdsa_sign(s, priv, data, sizeof(data), signature));
    OK(ecdsa_verify(s, pub, data, sizeof(data), signature, 64));
  }
  int status = 0;
  pid_t waited;
  do
    waited = waitpid(child, &status, 0);
  while (waited < 0 && errno == EINTR);
  CHECK(waited == child, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child %s %d",
        WIFEXITED(status) ? "exited with" : "was killed by signal",
        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  /* And after the child is gone. */
  OK(ecdsa_sign(s, priv, data, sizeof(data), signature));
  OK(ecdsa_verify(s, pub, data, sizeof(data), signature, 64));
  CK_BYTE random[16];
  OK(F->C_GenerateRandom(s, random, sizeof(random)));
  OK(F->C_CloseSession(s));
  OK(F->C_Finalize(NULL));
  return 0;
}

/* ------------------------------------------------------------------------------------ */
/* child-death                                                                           */

static int cmdline_has(pid_t pid, const char *needle) {
  char path[64], buffer[4096];
  snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buffer, 1, sizeof(buffer) - 1, f);
  fclose(f);
  for (size_t i = 0; i < n; i++)
    if (buffer[i] == '\0') buffer[i] = ' ';
  buffer[n] = '\0';
  return strstr(buffer, needle) != NULL;
}

/* The runtime is a child of this process, started by whichever thread first needed it:
 * every thread's children file is read, and /proc scanned for our ppid as a fallback. */
static pid_t find_runtime_child(void) {
  DIR *tasks = opendir("/proc/self/task");
  if (tasks) {
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL) {
      if (entry->d_name[0] == '.') continue;
      char path[300];
      snprintf(path, sizeof(path), "/proc/self/task/%s/children", entry->d_name);
      FILE *f = fopen(path, "r");
      if (!f) continue;
      long pid;
      while (fscanf(f, "%ld", &pid) == 1) {
        if (cmdline_has((pid_t)pid, "host-child")) {
          fclose(f);
          closedir(tasks);
          return (pid_t)pid;
        }
      }
      fclose(f);
    }
    closedir(tasks);
  }
  DIR *proc = opendir("/proc");
  if (!proc) return -1;
  struct dirent *entry;
  pid_t self = getpid(), found = -1;
  while ((entry = readdir(proc)) != NULL && found < 0) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    char path[64], stat[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t n = fread(stat, 1, sizeof(stat) - 1, f);
    fclose(f);
    stat[n] = '\0';
    char *close_paren = strrchr(stat, ')');
    long ppid = 0;
    char state;
    if (close_paren && sscanf(close_paren + 1, " %c %ld", &state, &ppid) == 2 && ppid == self &&
        cmdline_has((pid_t)pid, "host-child"))
      found = (pid_t)pid;
  }
  closedir(proc);
  return found;
}

struct death_worker {
  CK_SLOT_ID slot;
  volatile int stop;
  unsigned long calls, failures, last_failure;
};

/* Keeps calls in flight while the runtime is killed. Its session may vanish with the
 * runtime, so on an error it opens a new one. */
static void *death_worker_main(void *argument) {
  struct death_worker *w = argument;
  CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
  while (!w->stop) {
    CK_RV rv = CKR_OK;
    if (s == CK_INVALID_HANDLE) rv = F->C_OpenSession(w->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
    if (rv == CKR_OK) {
      CK_BYTE random[32];
      rv = F->C_GenerateRandom(s, random, sizeof(random));
    }
    w->calls++;
    if (rv != CKR_OK) {
      CHECK(rv == CKR_DEVICE_ERROR || rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
                rv == CKR_DEVICE_REMOVED,
            "a call in flight when the runtime died returned %s", ck_rv_name(rv));
      w->failures++;
      w->last_failure = rv;
      s = CK_INVALID_HANDLE;
    }
  }
  return NULL;
}

static int scenario_child_death(void) {
  arm_watchdog(watchdog_seconds(), "child-death");
  const char *hosting = getenv("P11KMS_HOSTING");
  CHECK(hosting && strcmp(hosting, "child") == 0, "child-death needs P11KMS_HOSTING=child");
  OK(initialize_threaded());
  CK_SLOT_ID slot = first_slot();
  CK_SESSION_HANDLE s = open_session(slot);
  CK_BYTE random[32];
  OK(F->C_GenerateRandom(s, random, sizeof(random)));
  pid_t runtime = find_runtime_child();
  CHECK(runtime > 0, "cannot find the runtime's node child process");
  info("runtime child pid %ld", (long)runtime);

  for (int round = 0; round < 3; round++) {
    struct death_worker w;
    memset(&w, 0, sizeof(w));
    w.slot = slot;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, death_worker_main, &w) == 0, "pthread_create failed");
    while (w.calls < 50) usleep(1000);
    CHECK(kill(runtime, SIGKILL) == 0, "kill -9 %ld: %s", (long)runtime, strerror(errno));
    /* The next call on the killed runtime: an error or, after a restart, an answer. */
    double t0 = now_seconds();
    CK_RV rv = F->C_GenerateRandom(s, random, sizeof(random));
    double waited = now_seconds() - t0;
    info("round %d: first call after kill -9 returned %s in %.1f ms", round, ck_rv_name(rv), waited * 1000);
    CHECK(rv == CKR_OK || rv == CKR_DEVICE_ERROR || rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
              rv == CKR_DEVICE_REMOVED,
          "the first call after the runtime died returned %s", ck_rv_name(rv));
    /* Let the worker run on the restarted runtime, then stop it. */
    unsigned long calls_at_kill = w.calls;
    double deadline = now_seconds() + 30;
    while (w.calls < calls_at_kill + 100 && now_seconds() < deadline) usleep(1000);
    w.stop = 1;
    pthread_join(thread, NULL);
    CHECK(w.calls >= calls_at_kill + 100, "the worker made no progress after the restart");
    info("round %d: worker made %lu calls, %lu failed (last %s)", round, w.calls, w.failures,
         w.failures ? ck_rv_name(w.last_failure) : "none");

    /* Later calls succeed: the module comes back with a new runtime. */
    CK_SLOT_ID slots[4];
    CK_ULONG count = 4;
    OK(F->C_GetSlotList(CK_TRUE, slots, &count));
    if (F->C_GenerateRandom(s, random, sizeof(random)) != CKR_OK) s = open_session(slot);
    OK(F->C_GenerateRandom(s, random, sizeof(random)));
    char label[64];
    make_label(label, sizeof(label), "death");
    CK_OBJECT_HANDLE pub, priv;
    must_generate_ec(s, label, &pub, &priv);
    CK_BYTE signature[64];
    OK(ecdsa_sign(s, priv, random, sizeof(random), signature));
    OK(ecdsa_verify(s, pub, random, sizeof(random), signature, 64));
    OK(F->C_DestroyObject(s, pub));
    OK(F->C_DestroyObject(s, priv));
    pid_t next = find_runtime_child();
    CHECK(next > 0 && next != runtime, "no new runtime child after the restart (old %ld, now %ld)", (long)runtime,
          (long)next);
    runtime = next;
  }
  OK(F->C_CloseSession(s));
  OK(F->C_Finalize(NULL));
  return 0;
}

/* ------------------------------------------------------------------------------------ */
/* stale-handles                                                                         */

/* After the runtime dies and comes back, a handle given out before must not name
 * something made after: the application still holds it, and would sign with, or close,
 * what another part of it opened. */
static int scenario_stale_handles(void) {
  arm_watchdog(watchdog_seconds(), "stale-handles");
  const char *hosting = getenv("P11KMS_HOSTING");
  CHECK(hosting && strcmp(hosting, "child") == 0, "stale-handles needs P11KMS_HOSTING=child");
  OK(F->C_Initialize(NULL));
  CK_SLOT_ID slot = first_slot();
  CK_SESSION_HANDLE before = open_session(slot);
  char label[64];
  make_label(label, sizeof(label), "stale");
  CK_OBJECT_HANDLE old_pub, old_priv;
  must_generate_ec(before, label, &old_pub, &old_priv);
  pid_t runtime = find_runtime_child();
  CHECK(runtime > 0, "cannot find the runtime's node child process");
  CHECK(kill(runtime, SIGKILL) == 0, "kill -9 %ld: %s", (long)runtime, strerror(errno));
  usleep(200000);
  CK_BYTE random[16];
  CK_RV rv = F->C_GenerateRandom(before, random, sizeof(random));
  info("the first call after kill -9 returned %s", ck_rv_name(rv));

  /* A new session (read-only, where the old one was read-write) and a new key pair. */
  CK_SESSION_HANDLE after;
  OK(F->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &after));
  CK_OBJECT_HANDLE new_pub, new_priv;
  must_generate_ec(after, label, &new_pub, &new_priv);
  info("session %lu before the restart, %lu after; private key %lu before, %lu after", (unsigned long)before,
       (unsigned long)after, (unsigned long)old_priv, (unsigned long)new_priv);
  CK_SESSION_INFO session_info;
  rv = F->C_GetSessionInfo(before, &session_info);
  CHECK(rv != CKR_OK, "the session handle %lu from before the restart is valid again: it names session %lu, opened "
                      "after the restart (flags 0x%lx: %s)",
        (unsigned long)before, (unsigned long)after, (unsigned long)session_info.flags,
        session_info.flags & CKF_RW_SESSION ? "read-write" : "read-only, though it was opened read-write");
  CK_MECHANISM ecdsa = { CKM_ECDSA_SHA256, NULL, 0 };
  rv = F->C_SignInit(after, &ecdsa, old_priv);
  CHECK(rv == CKR_KEY_HANDLE_INVALID, "the key handle %lu from before the restart gives %s: it names a key made after",
        (unsigned long)old_priv, ck_rv_name(rv));
  OK(F->C_CloseSession(after));
  OK(F->C_Finalize(NULL));
  return 0;
}

/* ------------------------------------------------------------------------------------ */
/* no-threads: an application that forbids the library to create threads (GnuTLS does)  */

static int count_threads(void) {
  DIR *tasks = opendir("/proc/self/task");
  if (!tasks) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(tasks)) != NULL;)
    if (e->d_name[0] != '.') n++;
  closedir(tasks);
  return n;
}

static int scenario_no_threads(void) {
  arm_watchdog(watchdog_seconds(), "no-threads");
  int before = count_threads();
  CK_C_INITIALIZE_ARGS args;
  memset(&args, 0, sizeof(args));
  args.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS | CKF_OS_LOCKING_OK;
  OK(F->C_Initialize(&args));
  char description[33];
  library_description(description);
  CHECK(strstr(description, "child process") != NULL, "without threads the runtime is \"%s\", expected the child process",
        description);
  CK_SLOT_ID slot = first_slot();
  CK_SESSION_HANDLE s = open_session(slot);
  char label[64];
  make_label(label, sizeof(label), "no-threads");
  CK_OBJECT_HANDLE pub, priv;
  must_generate_ec(s, label, &pub, &priv);
  CK_BYTE data[32] = { 3 }, signature[64];
  OK(ecdsa_sign(s, priv, data, sizeof(data), signature));
  OK(ecdsa_verify(s, pub, data, sizeof(data), signature, 64));
  int after = count_threads();
  CHECK(before > 0 && after == before, "the module created threads: %d before C_Initialize, %d after", before, after);
  info("threads before and after: %d, %d", before, after);
  OK(F->C_CloseSession(s));
  OK(F->C_Finalize(NULL));
  return 0;
}

/* ------------------------------------------------------------------------------------ */

static const struct {
  const char *name;
  int (*run)(void);
} scenarios[] = {
  { "init-args", scenario_init_args }, { "null-args", scenario_null_args }, { "buffers", scenario_buffers },
  { "cycles", scenario_cycles },       { "threads", scenario_threads },     { "fork", scenario_fork },
  { "child-death", scenario_child_death }, { "stale-handles", scenario_stale_handles },
  { "no-threads", scenario_no_threads },
};

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <module.so> <scenario>\nscenarios:", argv[0]);
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) fprintf(stderr, " %s", scenarios[i].name);
    fprintf(stderr, "\n");
    return 64;
  }
  for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
    if (strcmp(argv[2], scenarios[i].name) != 0) continue;
    scenario = scenarios[i].name;
    load_module(argv[1]);
    int failed = scenarios[i].run();
    alarm(0);
    if (failed) FAIL("failed");
    printf("OK %s\n", scenario);
    fflush(stdout);
    return 0;
  }
  fprintf(stderr, "unknown scenario %s\n", argv[2]);
  return 64;
}
