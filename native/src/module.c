/* Library-level functions: initialisation, the function lists and the 3.0 interfaces.
 * Everything here is answered in C; every other call becomes a frame. */
#include "module.h"
#include "call.h"
#include "api.h"
#include "log.h"
#include "runtime.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define LIBRARY_VERSION_MAJOR 0
#define LIBRARY_VERSION_MINOR 1

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t state_idle = PTHREAD_COND_INITIALIZER;
static int initialized;
static unsigned long in_flight;
static struct p11_transport *transport;
static char hosting_reason[256];
static pthread_once_t process_setup = PTHREAD_ONCE_INIT;

/* In a forked child only the forking thread exists: the parent's calls in flight, its
 * runtime thread and its locks are gone. The child starts uninitialised, as PKCS#11
 * requires, and its next C_Initialize starts a runtime of its own. */
static void after_fork_in_child(void) {
  pthread_mutex_init(&state_lock, NULL);
  pthread_cond_init(&state_idle, NULL);
  initialized = 0;
  in_flight = 0;
  transport = NULL;
  p11_runtime_forget_after_fork();
}

static void setup_process(void) {
  p11_log_configure();
  pthread_atfork(NULL, NULL, after_fork_in_child);
}

CK_RV p11_module_enter(struct p11_transport **out) {
  pthread_mutex_lock(&state_lock);
  if (!initialized) {
    pthread_mutex_unlock(&state_lock);
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  in_flight++;
  *out = transport;
  pthread_mutex_unlock(&state_lock);
  return CKR_OK;
}

void p11_module_leave(void) {
  pthread_mutex_lock(&state_lock);
  if (in_flight > 0 && --in_flight == 0) pthread_cond_broadcast(&state_idle);
  pthread_mutex_unlock(&state_lock);
}

/* CKF_LIBRARY_CANT_CREATE_OS_THREADS is no reason to refuse: the child-process hosting
 * creates no thread in the host (it starts a process, and the calling threads read the
 * socket themselves), so such an application gets that hosting. GnuTLS sets this flag. */
static int may_create_threads(const CK_C_INITIALIZE_ARGS *args) {
  return !args || !(args->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS);
}

static CK_RV check_initialize_arguments(const CK_C_INITIALIZE_ARGS *args) {
  if (!args) return CKR_OK;
  if (args->pReserved) return CKR_ARGUMENTS_BAD;
  int callbacks = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) + (args->LockMutex != NULL) +
                  (args->UnlockMutex != NULL);
  if (callbacks != 0 && callbacks != 4) return CKR_ARGUMENTS_BAD;
  /* The runtime's threads wait on condition variables, which the application's mutex
   * callbacks cannot provide: only OS locking will do. */
  if (callbacks == 4 && !(args->flags & CKF_OS_LOCKING_OK)) return CKR_CANT_LOCK;
  return CKR_OK;
}

CK_RV C_Initialize(CK_VOID_PTR pInitArgs) {
  pthread_once(&process_setup, setup_process);
  CK_RV rv = check_initialize_arguments(pInitArgs);
  if (rv != CKR_OK) return rv;

  pthread_mutex_lock(&state_lock);
  if (initialized) {
    pthread_mutex_unlock(&state_lock);
    return CKR_CRYPTOKI_ALREADY_INITIALIZED;
  }
  int threads_allowed = may_create_threads(pInitArgs);
  struct p11_transport *acquired = p11_runtime_acquire(threads_allowed, hosting_reason, sizeof(hosting_reason));
  if (!acquired) {
    pthread_mutex_unlock(&state_lock);
    return threads_allowed ? CKR_FUNCTION_FAILED : CKR_NEED_TO_CREATE_THREADS;
  }
  struct p11_call call;
  p11_call_begin_direct(&call, P11F_CALL_Initialize, acquired);
  p11_put_ulong(&call, sizeof(CK_ULONG));
  p11_put_ulong(&call, sizeof(void *));
  uint16_t probe = 1;
  p11_put_byte(&call, *(uint8_t *)&probe);
  p11_put_bytes(&call, P11F_SCHEMA_DIGEST, sizeof(P11F_SCHEMA_DIGEST) - 1);
  p11_put_bytes(&call, hosting_reason, strlen(hosting_reason));
  p11_put_ulong(&call, 0); /* the handle base; a restarted child runtime gets a higher one */
  rv = p11_call_end(&call, p11_call_run(&call));
  if (rv == CKR_OK) {
    transport = acquired;
    initialized = 1;
  } else {
    p11_log(P11_LOG_ERROR, "C_Initialize: the runtime answered 0x%lx", (unsigned long)rv);
    if (rv == CKR_DEVICE_ERROR) rv = CKR_FUNCTION_FAILED;
  }
  pthread_mutex_unlock(&state_lock);
  return rv;
}

CK_RV C_Finalize(CK_VOID_PTR pReserved) {
  if (pReserved) return CKR_ARGUMENTS_BAD;
  pthread_mutex_lock(&state_lock);
  if (!initialized) {
    pthread_mutex_unlock(&state_lock);
    return CKR_CRYPTOKI_NOT_INITIALIZED;
  }
  initialized = 0;
  /* Calls already in flight finish (each within its own deadline) before the token is
   * reset under them; new ones are refused from here on. */
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += p11_transport_deadline_ms() / 1000 + 1;
  while (in_flight > 0)
    if (pthread_cond_timedwait(&state_idle, &state_lock, &deadline) == ETIMEDOUT) break;
  struct p11_call call;
  p11_call_begin_direct(&call, P11F_CALL_Finalize, transport);
  CK_RV rv = p11_call_end(&call, p11_call_run(&call));
  if (rv != CKR_OK) p11_log(P11_LOG_ERROR, "C_Finalize: the runtime answered 0x%lx", (unsigned long)rv);
  pthread_mutex_unlock(&state_lock);
  /* The runtime stays up: V8 cannot start twice in a process, and the next
   * C_Initialize finds the token reset. */
  return CKR_OK;
}

static void pad(CK_UTF8CHAR *field, size_t width, const char *text) {
  memset(field, ' ', width);
  size_t length = strlen(text);
  memcpy(field, text, length < width ? length : width);
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo) {
  pthread_mutex_lock(&state_lock);
  int ready = initialized;
  const char *mode = p11_runtime_mode();
  pthread_mutex_unlock(&state_lock);
  if (!ready) return CKR_CRYPTOKI_NOT_INITIALIZED;
  if (!pInfo) return CKR_ARGUMENTS_BAD;
  CK_INFO info;
  memset(&info, 0, sizeof(info));
  info.cryptokiVersion.major = 2;
  info.cryptokiVersion.minor = 40;
  pad(info.manufacturerID, sizeof(info.manufacturerID), "p11kms");
  /* The hosting mode shows in `pkcs11-tool -I`, which is how `p11kms doctor` reads it. */
  char description[64];
  snprintf(description, sizeof(description), "p11kms KMIP (%s)", mode);
  pad(info.libraryDescription, sizeof(info.libraryDescription), description);
  info.libraryVersion.major = LIBRARY_VERSION_MAJOR;
  info.libraryVersion.minor = LIBRARY_VERSION_MINOR;
  memcpy(pInfo, &info, sizeof(info));
  return CKR_OK;
}

#define P11_FUNCTIONS_2_40                                                                                             \
  C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList, C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo,               \
      C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN, C_SetPIN, C_OpenSession, C_CloseSession,         \
      C_CloseAllSessions, C_GetSessionInfo, C_GetOperationState, C_SetOperationState, C_Login, C_Logout,               \
      C_CreateObject, C_CopyObject, C_DestroyObject, C_GetObjectSize, C_GetAttributeValue, C_SetAttributeValue,        \
      C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal, C_EncryptInit, C_Encrypt, C_EncryptUpdate,                 \
      C_EncryptFinal, C_DecryptInit, C_Decrypt, C_DecryptUpdate, C_DecryptFinal, C_DigestInit, C_Digest,               \
      C_DigestUpdate, C_DigestKey, C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate, C_SignFinal, C_SignRecoverInit,    \
      C_SignRecover, C_VerifyInit, C_Verify, C_VerifyUpdate, C_VerifyFinal, C_VerifyRecoverInit, C_VerifyRecover,      \
      C_DigestEncryptUpdate, C_DecryptDigestUpdate, C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey,         \
      C_GenerateKeyPair, C_WrapKey, C_UnwrapKey, C_DeriveKey, C_SeedRandom, C_GenerateRandom, C_GetFunctionStatus,     \
      C_CancelFunction, C_WaitForSlotEvent

static CK_FUNCTION_LIST function_list_2_40 = { { 2, 40 }, P11_FUNCTIONS_2_40 };

static CK_FUNCTION_LIST_3_0 function_list_3_0 = {
  { 3, 0 },
  P11_FUNCTIONS_2_40,
  C_GetInterfaceList,
  C_GetInterface,
  C_LoginUser,
  C_SessionCancel,
  C_MessageEncryptInit,
  C_EncryptMessage,
  C_EncryptMessageBegin,
  C_EncryptMessageNext,
  C_MessageEncryptFinal,
  C_MessageDecryptInit,
  C_DecryptMessage,
  C_DecryptMessageBegin,
  C_DecryptMessageNext,
  C_MessageDecryptFinal,
  C_MessageSignInit,
  C_SignMessage,
  C_SignMessageBegin,
  C_SignMessageNext,
  C_MessageSignFinal,
  C_MessageVerifyInit,
  C_VerifyMessage,
  C_VerifyMessageBegin,
  C_VerifyMessageNext,
  C_MessageVerifyFinal,
};

static CK_CHAR interface_name[] = "PKCS 11";

static CK_INTERFACE interfaces[] = {
  { interface_name, &function_list_3_0, 0 },
  { interface_name, &function_list_2_40, 0 },
};
#define INTERFACE_COUNT (sizeof(interfaces) / sizeof(interfaces[0]))

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList) {
  if (!ppFunctionList) return CKR_ARGUMENTS_BAD;
  *ppFunctionList = &function_list_2_40;
  return CKR_OK;
}

CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount) {
  if (!pulCount) return CKR_ARGUMENTS_BAD;
  if (!pInterfacesList) {
    p11_store_ulong(pulCount, INTERFACE_COUNT);
    return CKR_OK;
  }
  if (p11_load_ulong(pulCount) < INTERFACE_COUNT) {
    p11_store_ulong(pulCount, INTERFACE_COUNT);
    return CKR_BUFFER_TOO_SMALL;
  }
  memcpy(pInterfacesList, interfaces, sizeof(interfaces));
  p11_store_ulong(pulCount, INTERFACE_COUNT);
  return CKR_OK;
}

CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion, CK_INTERFACE_PTR_PTR ppInterface,
                     CK_FLAGS flags) {
  if (!ppInterface) return CKR_ARGUMENTS_BAD;
  if (pInterfaceName && strcmp((const char *)pInterfaceName, (const char *)interface_name) != 0)
    return CKR_ARGUMENTS_BAD;
  for (size_t i = 0; i < INTERFACE_COUNT; i++) {
    const CK_VERSION *version = interfaces[i].pFunctionList;
    if (pVersion && (pVersion->major != version->major || pVersion->minor != version->minor)) continue;
    if ((interfaces[i].flags & flags) != flags) continue;
    *ppInterface = &interfaces[i];
    return CKR_OK;
  }
  return CKR_ARGUMENTS_BAD;
}
