/* A PKCS#11 host that signs while the test kills, restarts and replaces KMS servers under
 * the module. It is driven line by line on stdin, so the test decides when each event
 * happens relative to the calls:
 *
 *   failover <module.so>
 *
 * After C_Initialize, a session and an EC P-256 key pair (session objects) it prints READY
 * and reads commands:
 *
 *   sign         one C_SignInit + C_Sign; prints
 *                  SIGN init=<rv> init_ms=<ms> sign=<rv> sign_ms=<ms>
 *   loop <n>     starts n threads, each with its own session, signing until `stop`; every
 *                failed call prints at once
 *                  FAILURE thread=<i> t_ms=<since loop start> call=<name> rv=<rv> ms=<duration> ok_before=<n>
 *   stop         stops the threads; prints THREAD i ok=<n> failed=<n> max_ms=<ms> per thread
 *   quit         closes the session, C_Finalize, exits 0
 *
 * Every command is answered by a line `DONE <command>`. rvs are printed in hex. A setup
 * failure prints `FAIL <what>` and exits 1.
 *
 * Build: cc -Wall -Wextra -Werror -O1 -g -I/usr/include/p11-kit-1 -Inative/include
 *        -o failover test/native/failover.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include "pkcs11_v30.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16

static CK_FUNCTION_LIST_PTR F;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  pthread_mutex_lock(&out_lock);
  vprintf(format, ap);
  printf("\n");
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
  va_end(ap);
}

static void die(const char *what, CK_RV rv) __attribute__((noreturn));
static void die(const char *what, CK_RV rv) {
  say("FAIL %s: rv 0x%lx", what, (unsigned long)rv);
  _exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static const CK_BYTE P256_OID[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_SLOT_ID slot;
static CK_OBJECT_HANDLE private_key;

static void setup(const char *path, CK_SESSION_HANDLE *session) {
  void *module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!module) {
    say("FAIL dlopen %s: %s", path, dlerror());
    _exit(1);
  }
  CK_C_GetFunctionList get_function_list = (CK_C_GetFunctionList)dlsym(module, "C_GetFunctionList");
  if (!get_function_list) die("no C_GetFunctionList", 0);
  CK_RV rv = get_function_list(&F);
  if (rv != CKR_OK) die("C_GetFunctionList", rv);
  CK_C_INITIALIZE_ARGS args;
  memset(&args, 0, sizeof(args));
  args.flags = CKF_OS_LOCKING_OK; /* the loop calls from several threads */
  if ((rv = F->C_Initialize(&args)) != CKR_OK) die("C_Initialize", rv);
  CK_ULONG count = 1;
  if ((rv = F->C_GetSlotList(CK_TRUE, &slot, &count)) != CKR_OK || count == 0) die("C_GetSlotList", rv);
  if ((rv = F->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, session)) != CKR_OK) die("C_OpenSession", rv);
  char label[64];
  snprintf(label, sizeof(label), "failover-%ld", (long)getpid());
  CK_MECHANISM mechanism = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
  CK_ATTRIBUTE pub_template[] = {
    { CKA_TOKEN, &no, sizeof(no) },
    { CKA_EC_PARAMS, (void *)P256_OID, sizeof(P256_OID) },
    { CKA_VERIFY, &yes, sizeof(yes) },
    { CKA_LABEL, label, strlen(label) },
  };
  CK_ATTRIBUTE priv_template[] = {
    { CKA_TOKEN, &no, sizeof(no) },
    { CKA_SIGN, &yes, sizeof(yes) },
    { CKA_SENSITIVE, &yes, sizeof(yes) },
    { CKA_LABEL, label, strlen(label) },
  };
  CK_OBJECT_HANDLE public_key;
  rv = F->C_GenerateKeyPair(*session, &mechanism, pub_template, 4, priv_template, 4, &public_key, &private_key);
  if (rv != CKR_OK) die("C_GenerateKeyPair", rv);
}

struct timed {
  CK_RV init_rv, sign_rv;
  double init_ms, sign_ms;
};

/* One ECDSA-SHA256 signature; a failed C_SignInit skips C_Sign (sign_rv stays CKR_OK). */
static struct timed sign_once(CK_SESSION_HANDLE s) {
  struct timed t = { CKR_OK, CKR_OK, 0, 0 };
  CK_MECHANISM mechanism = { CKM_ECDSA_SHA256, NULL, 0 };
  CK_BYTE data[32] = { 1, 2, 3 }, signature[64];
  CK_ULONG length = sizeof(signature);
  double started = now_ms();
  t.init_rv = F->C_SignInit(s, &mechanism, private_key);
  t.init_ms = now_ms() - started;
  if (t.init_rv != CKR_OK) return t;
  started = now_ms();
  t.sign_rv = F->C_Sign(s, data, sizeof(data), signature, &length);
  t.sign_ms = now_ms() - started;
  return t;
}

struct worker {
  pthread_t thread;
  int index;
  unsigned long ok, failed;
  double max_ms;
};

static volatile int stopping;
static double loop_started;

static void note(struct worker *w, const char *call, CK_RV rv, double ms) {
  if (ms > w->max_ms) w->max_ms = ms;
  if (rv == CKR_OK) return;
  w->failed++;
  say("FAILURE thread=%d t_ms=%.0f call=%s rv=0x%lx ms=%.0f ok_before=%lu", w->index, now_ms() - loop_started, call,
      (unsigned long)rv, ms, w->ok);
}

static void *worker_main(void *argument) {
  struct worker *w = argument;
  CK_SESSION_HANDLE s;
  CK_RV rv = F->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
  if (rv != CKR_OK) die("C_OpenSession in a loop thread", rv);
  unsigned long pause_us = strtoul(getenv("FAILOVER_PAUSE_US") ? getenv("FAILOVER_PAUSE_US") : "2000", NULL, 10);
  while (!__atomic_load_n(&stopping, __ATOMIC_SEQ_CST)) {
    struct timed t = sign_once(s);
    note(w, "C_SignInit", t.init_rv, t.init_ms);
    if (t.init_rv == CKR_OK) note(w, "C_Sign", t.sign_rv, t.sign_ms);
    if (t.init_rv == CKR_OK && t.sign_rv == CKR_OK) w->ok++;
    if (pause_us > 0) usleep((useconds_t)pause_us);
  }
  if ((rv = F->C_CloseSession(s)) != CKR_OK) die("C_CloseSession in a loop thread", rv);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: failover <module.so>\n");
    return 2;
  }
  CK_SESSION_HANDLE session;
  setup(argv[1], &session);
  say("READY");
  struct worker workers[MAX_THREADS];
  int running = 0;
  char line[128];
  while (fgets(line, sizeof(line), stdin)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, "sign") == 0) {
      struct timed t = sign_once(session);
      say("SIGN init=0x%lx init_ms=%.0f sign=0x%lx sign_ms=%.0f", (unsigned long)t.init_rv, t.init_ms,
          (unsigned long)t.sign_rv, t.sign_ms);
    } else if (strncmp(line, "loop ", 5) == 0 && running == 0) {
      int n = atoi(line + 5);
      if (n < 1 || n > MAX_THREADS) n = 1;
      __atomic_store_n(&stopping, 0, __ATOMIC_SEQ_CST);
      loop_started = now_ms();
      for (int i = 0; i < n; i++) {
        memset(&workers[i], 0, sizeof(workers[i]));
        workers[i].index = i;
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) die("pthread_create", 0);
      }
      running = n;
    } else if (strcmp(line, "stop") == 0) {
      __atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
      for (int i = 0; i < running; i++) {
        if (pthread_join(workers[i].thread, NULL) != 0) die("pthread_join", 0);
        say("THREAD %d ok=%lu failed=%lu max_ms=%.0f", i, workers[i].ok, workers[i].failed, workers[i].max_ms);
      }
      running = 0;
    } else if (strcmp(line, "quit") == 0) {
      CK_RV rv = F->C_CloseSession(session);
      if (rv != CKR_OK && rv != CKR_DEVICE_ERROR) die("C_CloseSession", rv);
      if ((rv = F->C_Finalize(NULL)) != CKR_OK) die("C_Finalize", rv);
      say("DONE quit");
      return 0;
    } else {
      say("UNKNOWN %s", line);
    }
    say("DONE %s", line);
  }
  return 0;
}
