/* Per-operation latency and throughput of any PKCS#11 module, as a C application sees it.
 *
 *   module-bench <module.so> <seconds-per-cell> [pin]
 *
 * Loads the module, times C_Initialize, logs in when a PIN is given, makes its own keys
 * (EC P-256 and RSA-2048 key pairs, an AES-256 key: session objects, gone at exit), warms
 * up, and then measures, at 1 and 4 threads (each thread its own session):
 *
 *   ECDSA-P256 sign       C_SignInit(CKM_ECDSA) + C_Sign of a 32-byte digest
 *   RSA-2048 sign         C_SignInit(CKM_SHA256_RSA_PKCS) + C_Sign of 64 bytes
 *   AES-GCM encrypt 64 B  C_EncryptInit(CKM_AES_GCM, fresh 12-byte IV) + C_Encrypt
 *   find by label         C_FindObjectsInit(CKA_LABEL) + C_FindObjects + C_FindObjectsFinal
 *   random 32 B           C_GenerateRandom(32)
 *
 * Prints one JSON object on stdout: C_Initialize time, resident memory (VmRSS of this
 * process before dlopen and after initialisation and warm-up, and of any child processes
 * the module started), and per cell ops/s, p50 and p99 in microseconds, and errors.
 *
 * Build: cc -O2 -Wall -Wextra -Werror -I/usr/include/p11-kit-1 -Inative/include
 *        -o module-bench bench/module-bench.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include "pkcs11_v30.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static CK_FUNCTION_LIST_PTR F;
static CK_SLOT_ID slot;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, CK_RV rv) {
  fprintf(stderr, "module-bench: %s failed: 0x%lx\n", what, (unsigned long)rv);
  exit(1);
}

#define MUST(expr)                                                                                                \
  do {                                                                                                            \
    CK_RV rv_ = (expr);                                                                                           \
    if (rv_ != CKR_OK) die(#expr, rv_);                                                                           \
  } while (0)

/* VmRSS of a process in kB, or 0. */
static long rss_kb(const char *pid) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%s/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  long kb = 0;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}

/* The summed VmRSS of this process's children (a runtime the module started). */
static long children_rss_kb(int *count) {
  long total = 0;
  *count = 0;
  DIR *tasks = opendir("/proc/self/task");
  if (!tasks) return 0;
  struct dirent *entry;
  while ((entry = readdir(tasks)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char path[300];
    snprintf(path, sizeof(path), "/proc/self/task/%s/children", entry->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    char pid[32];
    while (fscanf(f, "%31s", pid) == 1) {
      total += rss_kb(pid);
      (*count)++;
    }
    fclose(f);
  }
  closedir(tasks);
  return total;
}

/* ------------------------------------------------------------------------------------ */
/* Keys and operations                                                                   */

static const CK_BYTE P256_OID[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static char label[64];
static CK_OBJECT_HANDLE ec_key, rsa_key, aes_key;

static void make_keys(CK_SESSION_HANDLE s) {
  CK_ULONG label_length = strlen(label);
  CK_OBJECT_HANDLE pub;
  CK_MECHANISM ec_gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
  CK_ATTRIBUTE ec_pub[] = { { CKA_TOKEN, &no, 1 }, { CKA_EC_PARAMS, (void *)P256_OID, sizeof(P256_OID) },
                            { CKA_VERIFY, &yes, 1 }, { CKA_LABEL, label, label_length } };
  CK_ATTRIBUTE ec_priv[] = { { CKA_TOKEN, &no, 1 }, { CKA_SIGN, &yes, 1 }, { CKA_SENSITIVE, &yes, 1 },
                             { CKA_LABEL, label, label_length } };
  MUST(F->C_GenerateKeyPair(s, &ec_gen, ec_pub, 4, ec_priv, 4, &pub, &ec_key));

  CK_MECHANISM rsa_gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
  CK_ULONG bits = 2048;
  CK_BYTE exponent[] = { 0x01, 0x00, 0x01 };
  CK_ATTRIBUTE rsa_pub[] = { { CKA_TOKEN, &no, 1 }, { CKA_MODULUS_BITS, &bits, sizeof(bits) },
                             { CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent) }, { CKA_VERIFY, &yes, 1 },
                             { CKA_LABEL, label, label_length } };
  CK_ATTRIBUTE rsa_priv[] = { { CKA_TOKEN, &no, 1 }, { CKA_SIGN, &yes, 1 }, { CKA_SENSITIVE, &yes, 1 },
                              { CKA_LABEL, label, label_length } };
  MUST(F->C_GenerateKeyPair(s, &rsa_gen, rsa_pub, 5, rsa_priv, 4, &pub, &rsa_key));

  CK_MECHANISM aes_gen = { CKM_AES_KEY_GEN, NULL, 0 };
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG length = 32;
  CK_ATTRIBUTE aes[] = { { CKA_CLASS, &cls, sizeof(cls) },       { CKA_KEY_TYPE, &type, sizeof(type) },
                         { CKA_TOKEN, &no, 1 },                  { CKA_VALUE_LEN, &length, sizeof(length) },
                         { CKA_ENCRYPT, &yes, 1 },               { CKA_DECRYPT, &yes, 1 },
                         { CKA_LABEL, label, label_length } };
  MUST(F->C_GenerateKey(s, &aes_gen, aes, 7, &aes_key));
}

enum operation { OP_ECDSA, OP_RSA, OP_GCM, OP_FIND, OP_RANDOM, OP_COUNT };
static const char *operation_names[OP_COUNT] = { "ECDSA-P256 sign", "RSA-2048 sign", "AES-GCM encrypt 64 B",
                                                  "find by label", "random 32 B" };

static CK_RV run_once(enum operation op, CK_SESSION_HANDLE s, uint64_t counter) {
  CK_BYTE data[64], out[512];
  CK_ULONG out_length = sizeof(out);
  memset(data, (int)(counter & 0xff), sizeof(data));
  CK_RV rv;
  switch (op) {
  case OP_ECDSA: {
    CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
    if ((rv = F->C_SignInit(s, &m, ec_key)) != CKR_OK) return rv;
    return F->C_Sign(s, data, 32, out, &out_length);
  }
  case OP_RSA: {
    CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    if ((rv = F->C_SignInit(s, &m, rsa_key)) != CKR_OK) return rv;
    return F->C_Sign(s, data, 64, out, &out_length);
  }
  case OP_GCM: {
    CK_BYTE iv[12] = { 0 };
    memcpy(iv, &counter, sizeof(counter));
    CK_GCM_PARAMS params;
    memset(&params, 0, sizeof(params));
    params.pIv = iv;
    params.ulIvLen = 12;
    params.ulIvBits = 96;
    params.ulTagBits = 128;
    CK_MECHANISM m = { CKM_AES_GCM, &params, sizeof(params) };
    if ((rv = F->C_EncryptInit(s, &m, aes_key)) != CKR_OK) return rv;
    rv = F->C_Encrypt(s, data, 64, out, &out_length);
    return rv == CKR_OK && out_length != 80 ? CKR_GENERAL_ERROR : rv;
  }
  case OP_FIND: {
    CK_ATTRIBUTE template[] = { { CKA_LABEL, label, strlen(label) } };
    if ((rv = F->C_FindObjectsInit(s, template, 1)) != CKR_OK) return rv;
    CK_OBJECT_HANDLE found[16];
    CK_ULONG count = 0;
    rv = F->C_FindObjects(s, found, 16, &count);
    CK_RV final_rv = F->C_FindObjectsFinal(s);
    if (rv == CKR_OK && count == 0) return CKR_GENERAL_ERROR;
    return rv != CKR_OK ? rv : final_rv;
  }
  default:
    return F->C_GenerateRandom(s, out, 32);
  }
}

/* ------------------------------------------------------------------------------------ */
/* Measurement                                                                           */

struct worker {
  pthread_t thread;
  int index;
  enum operation op;
  double warm_until, until;
  pthread_barrier_t *barrier;
  uint32_t *latencies_ns;
  size_t count, capacity;
  unsigned long errors;
  CK_RV first_error;
  double started, finished;
};

static void *worker_main(void *argument) {
  struct worker *w = argument;
  CK_SESSION_HANDLE s;
  CK_RV rv = F->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
  if (rv != CKR_OK) die("C_OpenSession (worker)", rv);
  uint64_t counter = ((uint64_t)w->index << 40) ^ (uint64_t)(now_seconds() * 1e6);
  pthread_barrier_wait(w->barrier);
  while (now_seconds() < w->warm_until) run_once(w->op, s, counter++);
  w->started = now_seconds();
  for (;;) {
    double t0 = now_seconds();
    if (t0 >= w->until) break;
    rv = run_once(w->op, s, counter++);
    double t1 = now_seconds();
    if (rv != CKR_OK) {
      if (!w->errors) w->first_error = rv;
      w->errors++;
      continue;
    }
    if (w->count == w->capacity) {
      w->capacity = w->capacity ? w->capacity * 2 : 65536;
      w->latencies_ns = realloc(w->latencies_ns, w->capacity * sizeof(uint32_t));
      if (!w->latencies_ns) die("realloc", CKR_HOST_MEMORY);
    }
    double ns = (t1 - t0) * 1e9;
    w->latencies_ns[w->count++] = ns > 4e9 ? 4000000000u : (uint32_t)ns;
  }
  w->finished = now_seconds();
  F->C_CloseSession(s);
  return NULL;
}

static int compare_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double percentile_us(const uint32_t *sorted, size_t n, double q) {
  if (n == 0) return -1;
  size_t i = (size_t)(q * (double)n + 0.999999);
  if (i > 0) i--;
  if (i >= n) i = n - 1;
  return sorted[i] / 1000.0;
}

static void measure(enum operation op, int threads, double seconds, int first) {
  struct worker *workers = calloc((size_t)threads, sizeof(*workers));
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
  for (int i = 0; i < threads; i++) {
    workers[i].index = i;
    workers[i].op = op;
    workers[i].barrier = &barrier;
    pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
  }
  double warm = seconds / 5 < 0.5 ? seconds / 5 : 0.5;
  double start = now_seconds();
  for (int i = 0; i < threads; i++) {
    workers[i].warm_until = start + warm;
    workers[i].until = start + warm + seconds;
  }
  pthread_barrier_wait(&barrier);
  size_t total = 0;
  unsigned long errors = 0;
  CK_RV first_error = CKR_OK;
  double began = 1e300, ended = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(workers[i].thread, NULL);
    total += workers[i].count;
    errors += workers[i].errors;
    if (workers[i].errors && first_error == CKR_OK) first_error = workers[i].first_error;
    if (workers[i].started < began) began = workers[i].started;
    if (workers[i].finished > ended) ended = workers[i].finished;
  }
  uint32_t *all = malloc((total ? total : 1) * sizeof(uint32_t));
  size_t at = 0;
  for (int i = 0; i < threads; i++) {
    memcpy(all + at, workers[i].latencies_ns, workers[i].count * sizeof(uint32_t));
    at += workers[i].count;
    free(workers[i].latencies_ns);
  }
  qsort(all, total, sizeof(uint32_t), compare_u32);
  double elapsed = ended - began;
  printf("%s\n    {\"name\": \"%s\", \"threads\": %d, \"ops\": %zu, \"errors\": %lu, \"first_error\": \"0x%lx\", "
         "\"seconds\": %.3f, \"ops_per_s\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f}",
         first ? "" : ",", operation_names[op], threads, total, errors, (unsigned long)first_error, elapsed,
         elapsed > 0 ? (double)total / elapsed : 0, percentile_us(all, total, 0.5), percentile_us(all, total, 0.99));
  fflush(stdout);
  fprintf(stderr, "module-bench: %-22s %d thread%s %9.0f ops/s  p50 %8.1f us  p99 %8.1f us  errors %lu\n",
          operation_names[op], threads, threads == 1 ? " " : "s", elapsed > 0 ? (double)total / elapsed : 0,
          percentile_us(all, total, 0.5), percentile_us(all, total, 0.99), errors);
  free(all);
  free(workers);
  pthread_barrier_destroy(&barrier);
}

/* Prints a blank-padded PKCS#11 text field as a JSON string (it is printable ASCII). */
static void json_text(const char *key, const CK_UTF8CHAR *field, size_t width) {
  size_t n = width;
  while (n > 0 && field[n - 1] == ' ') n--;
  printf("  \"%s\": \"", key);
  for (size_t i = 0; i < n; i++) putchar(field[i] >= 0x20 && field[i] < 0x7f && field[i] != '"' && field[i] != '\\' ? field[i] : '?');
  printf("\",\n");
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <module.so> <seconds-per-cell> [pin]\n", argv[0]);
    return 64;
  }
  double seconds = atof(argv[2]);
  if (seconds <= 0) seconds = 3;
  const char *pin = argc > 3 ? argv[3] : NULL;

  long rss_before = rss_kb("self");
  void *module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!module) {
    fprintf(stderr, "module-bench: dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  CK_C_GetFunctionList get_function_list = (CK_C_GetFunctionList)dlsym(module, "C_GetFunctionList");
  if (!get_function_list) die("dlsym C_GetFunctionList", CKR_GENERAL_ERROR);
  MUST(get_function_list(&F));
  /* Several threads call the module at once: it must lock (NULL arguments would tell it
   * that the application never calls it concurrently, and SoftHSM2 then takes no locks). */
  CK_C_INITIALIZE_ARGS init_args;
  memset(&init_args, 0, sizeof(init_args));
  init_args.flags = CKF_OS_LOCKING_OK;
  double t0 = now_seconds();
  MUST(F->C_Initialize(&init_args));
  double init_ms = (now_seconds() - t0) * 1000;

  /* The first slot whose token is initialised (SoftHSM also shows an empty one). */
  CK_SLOT_ID slots[64];
  CK_ULONG count = 64;
  MUST(F->C_GetSlotList(CK_TRUE, slots, &count));
  int found = 0;
  CK_TOKEN_INFO token;
  for (CK_ULONG i = 0; i < count && !found; i++) {
    if (F->C_GetTokenInfo(slots[i], &token) == CKR_OK && (token.flags & CKF_TOKEN_INITIALIZED)) {
      slot = slots[i];
      found = 1;
    }
  }
  if (!found) die("finding an initialised token", CKR_TOKEN_NOT_PRESENT);
  CK_SESSION_HANDLE owner;
  MUST(F->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &owner));
  if (pin) MUST(F->C_Login(owner, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)));
  snprintf(label, sizeof(label), "module-bench-%ld", (long)getpid());
  double k0 = now_seconds();
  make_keys(owner);
  double keys_ms = (now_seconds() - k0) * 1000;

  /* Warm-up: every operation, a little, before the memory is read. */
  for (int op = 0; op < OP_COUNT; op++)
    for (int i = 0; i < 50; i++) {
      CK_RV rv = run_once((enum operation)op, owner, (uint64_t)(op * 1000 + i));
      if (rv != CKR_OK) die(operation_names[op], rv);
    }
  long rss_after = rss_kb("self");
  int children = 0;
  long child_rss = children_rss_kb(&children);

  CK_INFO module_info;
  MUST(F->C_GetInfo(&module_info));
  printf("{\n  \"module\": \"%s\",\n", argv[1]);
  json_text("library", module_info.libraryDescription, sizeof(module_info.libraryDescription));
  json_text("manufacturer", module_info.manufacturerID, sizeof(module_info.manufacturerID));
  printf("  \"seconds_per_cell\": %.2f,\n  \"initialize_ms\": %.2f,\n  \"keygen_ms\": %.1f,\n", seconds, init_ms,
         keys_ms);
  printf("  \"rss_before_kb\": %ld,\n  \"rss_after_kb\": %ld,\n  \"rss_added_kb\": %ld,\n", rss_before, rss_after,
         rss_after - rss_before);
  printf("  \"child_processes\": %d,\n  \"child_rss_kb\": %ld,\n  \"cells\": [", children, child_rss);
  int first = 1;
  const int levels[2] = { 1, 4 };
  for (int op = 0; op < OP_COUNT; op++)
    for (int l = 0; l < 2; l++) {
      measure((enum operation)op, levels[l], seconds, first);
      first = 0;
    }
  printf("\n  ]\n}\n");
  fflush(stdout);
  if (pin) F->C_Logout(owner);
  F->C_CloseSession(owner);
  F->C_Finalize(NULL);
  return 0;
}
