/*
 * oracle-tde-replay: what an Oracle database in TDE "HSM mode" asks of a PKCS#11 module,
 * replayed without Oracle. Each mode is one Oracle process (one C_Initialize) working on a
 * state directory that stands for Oracle's datafile headers: the master key ids (MKIDs) and
 * the table keys wrapped under them.
 *
 * The sequence is inferred, as in Cosmian's module, from what Oracle is known to need (the
 * Cosmian KMS PKCS#11 provider's code and CHANGELOG, Oracle's HSM documentation), not from an
 * Oracle trace:
 *   - ADMINISTER KEY MANAGEMENT SET KEYSTORE OPEN IDENTIFIED BY <password>: C_Login(CKU_USER,
 *     password) on a read-write session;
 *   - SET KEY: C_GenerateKey(CKM_AES_KEY_GEN) of a 32-byte AES key labelled
 *     ORACLE.TDE.HSM.MK.<MKID>, sensitive, not extractable, on the token, with
 *     ENCRYPT/DECRYPT/WRAP/UNWRAP; the MKID is 17 bytes shown as 34 hex digits, starting 06;
 *   - the key is found again by CKA_CLASS + CKA_LABEL, and by the label
 *     ORACLE.SECURITY.KM.ENCRYPTION.<hex of the MKID's characters>, which Cosmian maps to
 *     ORACLE.TDE.HSM.MK.<MKID> (test vector below);
 *   - table and tablespace keys (32 bytes) are wrapped and unwrapped with C_Encrypt/C_Decrypt,
 *     CKM_AES_CBC without padding and a 16-byte IV, into output buffers and length words that
 *     are not aligned (Oracle passes misaligned pointers: Cosmian uses write_unaligned).
 *
 * Usage: oracle-tde-replay MODULE PASSWORD STATE-DIR MODE
 *   setkey   generate master key 1, find it by both labels, wrap 3 table keys under it
 *   open     a new process opens the wallet: login, find every master key of the state directory
 *            by its KM label, unwrap every table key and compare with the expected bytes
 *   rekey    generate master key 2, rewrap the table keys under it (unwrap with key 1, wrap with
 *            key 2) and wrap 2 new ones; the old wrappings stay in the state directory
 *   refuse   the master key cannot leave: CKA_VALUE is sensitive, C_WrapKey is refused, and
 *            CKA_EXTRACTABLE / CKA_SENSITIVE cannot be changed
 *
 * State directory: mk<N>.id (MKID text), tk-<name>.key (the table key, kept here only so the
 * replay can check results), tk-<name>.mk<N> (IV || ciphertext wrapped under master key N).
 *
 * Every PKCS#11 call is printed with its return value. Exit status 0 on success, 1 otherwise.
 *
 * Build: cc -O2 -Wall -Wextra -I/usr/include/p11-kit-1 -o oracle-tde-replay oracle-tde-replay.c -ldl
 */
#include <p11-kit/pkcs11.h>
#include "ck_rv_names.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MK_PREFIX "ORACLE.TDE.HSM.MK."
#define KM_PREFIX "ORACLE.SECURITY.KM.ENCRYPTION."
#define TABLE_KEY_LEN 32
#define IV_LEN 16

static CK_FUNCTION_LIST_PTR p11;
static void *library;
static CK_SESSION_HANDLE session;
static const char *state_dir;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("oracle-tde-replay: FAILED: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static CK_RV traced(CK_RV rv, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  printf("  %-66s -> %s\n", what, ck_rv_name(rv));
  return rv;
}
/* The call is made first, then traced: the trace may show what the call returned. */
#define MUST(call, ...)                                                            \
  do {                                                                             \
    CK_RV rv_ = (call);                                                            \
    traced(rv_, __VA_ARGS__);                                                      \
    if (rv_ != CKR_OK) die("%s returned %s", #call, ck_rv_name(rv_));                 \
  } while (0)
#define EXPECT(want, call, ...)                                                    \
  do {                                                                             \
    CK_RV rv_ = (call);                                                            \
    traced(rv_, __VA_ARGS__);                                                      \
    if (rv_ != (want)) die("%s returned %s, not %s", #call, ck_rv_name(rv_), #want);  \
  } while (0)

static void hex(char *out, const unsigned char *in, size_t n) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02X", in[i]);
}

/* ORACLE.SECURITY.KM.ENCRYPTION.<hex of the MKID's characters>, as Cosmian decodes it. */
static void km_label(char *out, const char *mkid) {
  strcpy(out, KM_PREFIX);
  hex(out + strlen(out), (const unsigned char *)mkid, strlen(mkid));
}

/* --- the state directory --------------------------------------------------------------------- */

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", state_dir, name); }

static void write_state(const char *name, const void *data, size_t len) {
  char path[4096];
  path_of(path, sizeof path, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) die("cannot write %s", path);
}

static size_t read_state(const char *name, void *data, size_t cap) {
  char path[4096];
  path_of(path, sizeof path, name);
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot read %s", path);
  size_t n = fread(data, 1, cap, f);
  fclose(f);
  return n;
}

static void read_mkid(int n, char *mkid) {
  char name[32];
  snprintf(name, sizeof name, "mk%d.id", n);
  size_t len = read_state(name, mkid, 63);
  mkid[len] = 0;
}

/* --- the Oracle process ----------------------------------------------------------------------- */

static void open_wallet(const char *module, const char *password) {
  library = dlopen(module, RTLD_NOW | RTLD_LOCAL);
  if (!library) die("dlopen %s: %s", module, dlerror());
  CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(library, "C_GetFunctionList");
  if (!gfl) die("no C_GetFunctionList");
  MUST(gfl(&p11), "C_GetFunctionList");
  /* A multi-threaded server: OS locking, library threads allowed. */
  CK_C_INITIALIZE_ARGS args;
  memset(&args, 0, sizeof args);
  args.flags = CKF_OS_LOCKING_OK;
  MUST(p11->C_Initialize(&args), "C_Initialize(CKF_OS_LOCKING_OK)");
  CK_SLOT_ID slots[8];
  CK_ULONG count = 8;
  MUST(p11->C_GetSlotList(CK_TRUE, slots, &count), "C_GetSlotList(TRUE)");
  if (count == 0) die("no token");
  CK_TOKEN_INFO info;
  MUST(p11->C_GetTokenInfo(slots[0], &info), "C_GetTokenInfo(%lu): \"%.32s\"", (unsigned long)slots[0], (char *)info.label);
  if (info.flags & CKF_WRITE_PROTECTED) die("the token is write-protected: Oracle needs to create keys");
  MUST(p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session), "C_OpenSession(SERIAL|RW)");
  /* IDENTIFIED BY <keystore password> */
  MUST(p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)password, (CK_ULONG)strlen(password)),
       "C_Login(CKU_USER, keystore password, %zu bytes)", strlen(password));
}

static void close_wallet(void) {
  MUST(p11->C_Logout(session), "C_Logout");
  MUST(p11->C_CloseSession(session), "C_CloseSession");
  MUST(p11->C_Finalize(NULL), "C_Finalize");
  dlclose(library);
}

/* C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal; returns the number found (handles in out). */
static CK_ULONG find(CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out, CK_ULONG cap, const char *what) {
  MUST(p11->C_FindObjectsInit(session, tmpl, n), "C_FindObjectsInit(%s)", what);
  CK_ULONG found = 0;
  MUST(p11->C_FindObjects(session, out, cap, &found), "C_FindObjects(max %lu) = %lu object(s)", (unsigned long)cap,
       (unsigned long)found);
  MUST(p11->C_FindObjectsFinal(session), "C_FindObjectsFinal");
  return found;
}

/* Exactly one object must match; `what` names the search in the trace. */
static CK_OBJECT_HANDLE find_one(CK_ATTRIBUTE *t, CK_ULONG count, const char *what, const char *label) {
  CK_OBJECT_HANDLE h[4];
  CK_ULONG n = find(t, count, h, 4, what);
  if (n != 1) die("%lu objects for %s, expected 1", (unsigned long)n, label);
  return h[0];
}

static CK_OBJECT_HANDLE find_by_class_and_label(const char *label) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) } };
  char what[200];
  snprintf(what, sizeof what, "CLASS=SECRET_KEY, LABEL=%.40s...", label);
  return find_one(t, 2, what, label);
}

static CK_OBJECT_HANDLE find_by_label_only(const char *label) {
  CK_ATTRIBUTE t[] = { { CKA_LABEL, (void *)label, (CK_ULONG)strlen(label) } };
  char what[200];
  snprintf(what, sizeof what, "LABEL=%.48s...", label);
  return find_one(t, 1, what, label);
}

/* How Oracle finds a master key it has an MKID for: by the KM label (mapped by the module). */
static CK_OBJECT_HANDLE find_master_key(const char *mkid) {
  char km[200], mk[100];
  km_label(km, mkid);
  snprintf(mk, sizeof mk, MK_PREFIX "%s", mkid);
  CK_OBJECT_HANDLE h = find_by_label_only(km);
  CK_ATTRIBUTE a = { CKA_LABEL, NULL, 0 };
  char label[128] = "";
  MUST(p11->C_GetAttributeValue(session, h, &a, 1), "C_GetAttributeValue(%lu, CKA_LABEL, NULL)", (unsigned long)h);
  if (a.ulValueLen >= sizeof label) die("label too long");
  a.pValue = label;
  MUST(p11->C_GetAttributeValue(session, h, &a, 1), "C_GetAttributeValue(%lu, CKA_LABEL)", (unsigned long)h);
  label[a.ulValueLen] = 0;
  if (strcmp(label, mk) != 0) die("the KM label found \"%s\", not %s", label, mk);
  printf("    the KM label found the master key %s (handle %lu)\n", mk, (unsigned long)h);
  return h;
}

static CK_OBJECT_HANDLE generate_master_key(char *mkid_out) {
  /* The MKID: 17 bytes, the first one 0x06, shown as 34 upper-case hex digits. */
  unsigned char id[17];
  id[0] = 0x06;
  MUST(p11->C_GenerateRandom(session, id + 1, 16), "C_GenerateRandom(16)");
  hex(mkid_out, id, 17);
  char label[100];
  snprintf(label, sizeof label, MK_PREFIX "%s", mkid_out);
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE kt = CKK_AES;
  CK_ULONG len = 32;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE t[] = {
    { CKA_CLASS, &cls, sizeof cls },        { CKA_KEY_TYPE, &kt, sizeof kt },
    { CKA_VALUE_LEN, &len, sizeof len },    { CKA_LABEL, label, (CK_ULONG)strlen(label) },
    { CKA_TOKEN, &yes, sizeof yes },        { CKA_SENSITIVE, &yes, sizeof yes },
    { CKA_EXTRACTABLE, &no, sizeof no },    { CKA_ENCRYPT, &yes, sizeof yes },
    { CKA_DECRYPT, &yes, sizeof yes },      { CKA_WRAP, &yes, sizeof yes },
    { CKA_UNWRAP, &yes, sizeof yes },
  };
  CK_MECHANISM m = { CKM_AES_KEY_GEN, NULL, 0 };
  CK_OBJECT_HANDLE key;
  MUST(p11->C_GenerateKey(session, &m, t, sizeof t / sizeof t[0], &key), "C_GenerateKey(AES_KEY_GEN, 32, %s)", label);
  printf("    master key %s is handle %lu\n", label, (unsigned long)key);

  /* What Oracle needs the key to say about itself. */
  CK_BBOOL sens = 0, extr = 1, asens = 0, nextr = 0, enc = 0, dec = 0, wrap = 0, unwrap = 0, tok = 0;
  CK_ULONG vlen = 0;
  CK_KEY_TYPE ktype = 0;
  CK_ATTRIBUTE q[] = {
    { CKA_SENSITIVE, &sens, 1 },  { CKA_EXTRACTABLE, &extr, 1 }, { CKA_ALWAYS_SENSITIVE, &asens, 1 },
    { CKA_NEVER_EXTRACTABLE, &nextr, 1 }, { CKA_ENCRYPT, &enc, 1 }, { CKA_DECRYPT, &dec, 1 },
    { CKA_WRAP, &wrap, 1 },       { CKA_UNWRAP, &unwrap, 1 },    { CKA_TOKEN, &tok, 1 },
    { CKA_VALUE_LEN, &vlen, sizeof vlen }, { CKA_KEY_TYPE, &ktype, sizeof ktype },
  };
  MUST(p11->C_GetAttributeValue(session, key, q, sizeof q / sizeof q[0]), "C_GetAttributeValue(%lu, SENSITIVE, EXTRACTABLE, ...)",
       (unsigned long)key);
  printf("    SENSITIVE=%d EXTRACTABLE=%d ALWAYS_SENSITIVE=%d NEVER_EXTRACTABLE=%d ENCRYPT=%d DECRYPT=%d WRAP=%d UNWRAP=%d TOKEN=%d "
         "VALUE_LEN=%lu KEY_TYPE=%s\n",
         sens, extr, asens, nextr, enc, dec, wrap, unwrap, tok, (unsigned long)vlen, ktype == CKK_AES ? "CKK_AES" : "?");
  if (!sens || extr || !enc || !dec || !wrap || !unwrap || !tok || vlen != 32 || ktype != CKK_AES)
    die("the master key does not have the attributes Oracle needs");
  if (!asens || !nextr) die("a key generated sensitive and unextractable must be ALWAYS_SENSITIVE and NEVER_EXTRACTABLE");
  return key;
}

/*
 * One C_Encrypt or C_Decrypt as Oracle makes it: the output buffer and the length word sit at
 * odd addresses. A length query (NULL output) comes first, then a buffer one byte short
 * (CKR_BUFFER_TOO_SMALL, which does not end the operation, and must not write past it), then
 * the real call. Returns the output length.
 */
static size_t cbc(int encrypt, CK_OBJECT_HANDLE key, const unsigned char *iv, const unsigned char *in, size_t in_len,
                  unsigned char *out) {
  const char *op = encrypt ? "C_Encrypt" : "C_Decrypt";
  CK_MECHANISM m = { CKM_AES_CBC, (void *)iv, IV_LEN };
  if (encrypt) MUST(p11->C_EncryptInit(session, &m, key), "C_EncryptInit(AES_CBC, 16-byte IV, key %lu)", (unsigned long)key);
  else MUST(p11->C_DecryptInit(session, &m, key), "C_DecryptInit(AES_CBC, 16-byte IV, key %lu)", (unsigned long)key);

  unsigned char *raw = malloc(in_len + 64);
  unsigned char *len_raw = malloc(sizeof(CK_ULONG) + 8);
  if (!raw || !len_raw) die("out of memory");
  unsigned char *buf = raw + 1; /* malloc + 1: not aligned */
  CK_ULONG *plen = (CK_ULONG *)(void *)(len_raw + 1);
  CK_ULONG v;
  CK_RV (*fn)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR) = encrypt ? p11->C_Encrypt : p11->C_Decrypt;

  v = 0;
  memcpy(plen, &v, sizeof v);
  MUST(fn(session, (CK_BYTE_PTR)in, in_len, NULL, plen), "%s(%zu bytes, NULL) length query, len at %p", op, in_len, (void *)plen);
  memcpy(&v, plen, sizeof v);
  if (v != in_len) die("%s length query said %lu, expected %zu", op, (unsigned long)v, in_len);

  memset(raw, 0xA5, in_len + 64);
  v = in_len - 1;
  memcpy(plen, &v, sizeof v);
  EXPECT(CKR_BUFFER_TOO_SMALL, fn(session, (CK_BYTE_PTR)in, in_len, buf, plen), "%s(%zu bytes, buffer of %lu at %p)", op, in_len,
         (unsigned long)v, (void *)buf);
  memcpy(&v, plen, sizeof v);
  if (v != in_len) die("%s with a small buffer reported %lu, expected %zu", op, (unsigned long)v, in_len);
  for (size_t i = 0; i < in_len + 63; i++)
    if (buf[i] != 0xA5) die("%s wrote into a buffer that was too small", op);

  v = in_len;
  memcpy(plen, &v, sizeof v);
  MUST(fn(session, (CK_BYTE_PTR)in, in_len, buf, plen), "%s(%zu bytes, buffer of %zu at %p, len at %p)", op, in_len, in_len, (void *)buf,
       (void *)plen);
  memcpy(&v, plen, sizeof v);
  if (v != in_len) die("%s produced %lu bytes, expected %zu", op, (unsigned long)v, in_len);
  if (raw[0] != 0xA5 || buf[in_len] != 0xA5) die("%s wrote outside its output buffer", op);
  memcpy(out, buf, in_len);
  free(raw);
  free(len_raw);
  return in_len;
}

/* Wraps a table key under master key N and stores IV || ciphertext as tk-<name>.mk<N>. */
static void wrap_table_key(const char *name, const unsigned char *tk, CK_OBJECT_HANDLE mk, int n) {
  unsigned char blob[IV_LEN + TABLE_KEY_LEN];
  MUST(p11->C_GenerateRandom(session, blob, IV_LEN), "C_GenerateRandom(16) for the IV");
  cbc(1, mk, blob, tk, TABLE_KEY_LEN, blob + IV_LEN);
  if (memcmp(blob + IV_LEN, tk, TABLE_KEY_LEN) == 0) die("the ciphertext is the plaintext");
  /* Unwrapped again at once, in this process. */
  unsigned char back[TABLE_KEY_LEN];
  cbc(0, mk, blob, blob + IV_LEN, TABLE_KEY_LEN, back);
  if (memcmp(back, tk, TABLE_KEY_LEN) != 0) die("table key %s did not round-trip", name);
  char file[64];
  snprintf(file, sizeof file, "tk-%s.mk%d", name, n);
  write_state(file, blob, sizeof blob);
  printf("    table key %s wrapped under master key %d -> %s (unwrapped back: identical)\n", name, n, file);
}

static void new_table_key(const char *name, unsigned char *tk) {
  MUST(p11->C_GenerateRandom(session, tk, TABLE_KEY_LEN), "C_GenerateRandom(32) table key %s", name);
  char file[64];
  snprintf(file, sizeof file, "tk-%s.key", name);
  write_state(file, tk, TABLE_KEY_LEN);
}

static void unwrap_table_key(const char *file, CK_OBJECT_HANDLE mk, unsigned char *tk) {
  unsigned char blob[IV_LEN + TABLE_KEY_LEN];
  if (read_state(file, blob, sizeof blob) != sizeof blob) die("%s is not IV || 32 bytes", file);
  cbc(0, mk, blob, blob + IV_LEN, TABLE_KEY_LEN, tk);
}

/* --- the modes -------------------------------------------------------------------------------- */

static void mode_setkey(void) {
  printf("-- SET KEY: C_GenerateKey\n");
  char mkid[64];
  CK_OBJECT_HANDLE mk = generate_master_key(mkid);
  write_state("mk1.id", mkid, strlen(mkid));

  printf("-- the master key is found by CKA_CLASS + CKA_LABEL\n");
  char label[100], km[200];
  snprintf(label, sizeof label, MK_PREFIX "%s", mkid);
  if (find_by_class_and_label(label) != mk) die("found another object");

  printf("-- and by its KM label (label only, and with CKA_CLASS), mapped by the module\n");
  km_label(km, mkid);
  printf("    %s\n", km);
  if (find_master_key(mkid) != mk) die("the KM label found another object");
  if (find_by_class_and_label(km) != mk) die("CLASS + KM label found another object");
  {
    /* The rest of the template still applies: a data object with the KM label is not the key. */
    CK_OBJECT_CLASS data = CKO_DATA;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &data, sizeof data }, { CKA_LABEL, km, (CK_ULONG)strlen(km) } };
    CK_OBJECT_HANDLE h[2];
    if (find(t, 2, h, 2, "CLASS=DATA, LABEL=the KM label") != 0) die("a CKO_DATA search found the master key");
  }
  {
    /* An MKID nobody generated maps to nothing. */
    char other[200];
    km_label(other, "06FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
    CK_ATTRIBUTE t[] = { { CKA_LABEL, other, (CK_ULONG)strlen(other) } };
    CK_OBJECT_HANDLE h[2];
    if (find(t, 1, h, 2, "LABEL=KM label of an unknown MKID") != 0) die("an unknown MKID found an object");
  }

  printf("-- table keys wrapped with CKM_AES_CBC (no padding), unaligned buffers and lengths\n");
  const char *names[] = { "employees", "orders", "users_tbs" };
  for (int i = 0; i < 3; i++) {
    unsigned char tk[TABLE_KEY_LEN];
    new_table_key(names[i], tk);
    wrap_table_key(names[i], tk, mk, 1);
  }
}

/* Unwraps every tk-*.mk<N> of the state directory with master key N, found by its KM label. */
static void mode_open(void) {
  CK_OBJECT_HANDLE mks[10] = { 0 };
  int unwrapped = 0;
  for (int n = 1; n < 10; n++) {
    char name[32], path[4096];
    snprintf(name, sizeof name, "mk%d.id", n);
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    fclose(f);
    char mkid[64];
    read_mkid(n, mkid);
    printf("-- master key %d (MKID %s) is looked up by its KM label\n", n, mkid);
    mks[n] = find_master_key(mkid);
  }
  DIR *d = opendir(state_dir);
  if (!d) die("cannot open %s", state_dir);
  struct dirent *e;
  char files[64][256];
  int count = 0;
  while ((e = readdir(d)) && count < 64) {
    const char *dot = strrchr(e->d_name, '.');
    if (strncmp(e->d_name, "tk-", 3) == 0 && dot && strncmp(dot, ".mk", 3) == 0) snprintf(files[count++], 256, "%s", e->d_name);
  }
  closedir(d);
  qsort(files, count, sizeof files[0], (int (*)(const void *, const void *))strcmp);
  for (int i = 0; i < count; i++) {
    const char *dot = strrchr(files[i], '.');
    int n = atoi(dot + 3);
    if (n <= 0 || n >= 10 || !mks[n]) die("%s: no master key %d", files[i], n);
    printf("-- unwrapping %s with master key %d\n", files[i], n);
    unsigned char tk[TABLE_KEY_LEN], want[TABLE_KEY_LEN];
    unwrap_table_key(files[i], mks[n], tk);
    char keyfile[256];
    snprintf(keyfile, sizeof keyfile, "%.*s.key", (int)(dot - files[i]), files[i]);
    if (read_state(keyfile, want, sizeof want) != sizeof want) die("%s is short", keyfile);
    if (memcmp(tk, want, TABLE_KEY_LEN) != 0) die("%s does not unwrap to %s", files[i], keyfile);
    printf("    %s unwraps to the table key in %s\n", files[i], keyfile);
    unwrapped++;
  }
  if (unwrapped == 0) die("nothing to unwrap");
  printf("-- %d wrapped table keys unwrapped in this new process\n", unwrapped);
}

static void mode_rekey(void) {
  char mkid1[64];
  read_mkid(1, mkid1);
  printf("-- the current master key 1\n");
  CK_OBJECT_HANDLE mk1 = find_master_key(mkid1);
  printf("-- SET KEY again: master key 2\n");
  char mkid2[64];
  CK_OBJECT_HANDLE mk2 = generate_master_key(mkid2);
  if (strcmp(mkid1, mkid2) == 0) die("the same MKID twice");
  write_state("mk2.id", mkid2, strlen(mkid2));
  printf("-- the table keys are rewrapped: unwrap with master key 1, wrap with master key 2\n");
  const char *old[] = { "employees", "orders", "users_tbs" };
  for (int i = 0; i < 3; i++) {
    char file[64];
    unsigned char tk[TABLE_KEY_LEN];
    snprintf(file, sizeof file, "tk-%s.mk1", old[i]);
    unwrap_table_key(file, mk1, tk);
    wrap_table_key(old[i], tk, mk2, 2);
  }
  printf("-- new tables get keys wrapped under master key 2\n");
  const char *fresh[] = { "invoices", "audit_tbs" };
  for (int i = 0; i < 2; i++) {
    unsigned char tk[TABLE_KEY_LEN];
    new_table_key(fresh[i], tk);
    wrap_table_key(fresh[i], tk, mk2, 2);
  }
}

static void mode_refuse(void) {
  char mkid[64];
  read_mkid(1, mkid);
  CK_OBJECT_HANDLE mk = find_master_key(mkid);

  printf("-- CKA_VALUE of the master key is sensitive\n");
  unsigned char value[64];
  CK_ATTRIBUTE a = { CKA_VALUE, NULL, 0 };
  EXPECT(CKR_ATTRIBUTE_SENSITIVE, p11->C_GetAttributeValue(session, mk, &a, 1), "C_GetAttributeValue(%lu, CKA_VALUE, NULL)",
         (unsigned long)mk);
  if (a.ulValueLen != CK_UNAVAILABLE_INFORMATION) die("ulValueLen is %lu, not CK_UNAVAILABLE_INFORMATION", (unsigned long)a.ulValueLen);
  a.pValue = value;
  a.ulValueLen = sizeof value;
  EXPECT(CKR_ATTRIBUTE_SENSITIVE, p11->C_GetAttributeValue(session, mk, &a, 1), "C_GetAttributeValue(%lu, CKA_VALUE, [64])",
         (unsigned long)mk);
  if (a.ulValueLen != CK_UNAVAILABLE_INFORMATION) die("ulValueLen is %lu, not CK_UNAVAILABLE_INFORMATION", (unsigned long)a.ulValueLen);
  printf("    ulValueLen = CK_UNAVAILABLE_INFORMATION\n");

  printf("-- C_WrapKey of the master key under another key is refused\n");
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE kt = CKK_AES;
  CK_ULONG len = 32;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  const char *wlabel = "export-attempt-kek";
  CK_ATTRIBUTE t[] = {
    { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt }, { CKA_VALUE_LEN, &len, sizeof len },
    { CKA_TOKEN, &no, sizeof no },   { CKA_WRAP, &yes, sizeof yes },   { CKA_LABEL, (void *)wlabel, (CK_ULONG)strlen(wlabel) },
  };
  CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
  CK_OBJECT_HANDLE kek;
  MUST(p11->C_GenerateKey(session, &gen, t, 6, &kek), "C_GenerateKey(AES 32, CKA_TOKEN=FALSE, CKA_WRAP=TRUE): a kek");
  CK_MECHANISM wrap = { CKM_AES_KEY_WRAP, NULL, 0 };
  unsigned char wrapped[128];
  CK_ULONG wlen = 0;
  EXPECT(CKR_KEY_UNEXTRACTABLE, p11->C_WrapKey(session, &wrap, kek, mk, NULL, &wlen), "C_WrapKey(AES_KEY_WRAP, kek, master key, NULL)");
  wlen = sizeof wrapped;
  EXPECT(CKR_KEY_UNEXTRACTABLE, p11->C_WrapKey(session, &wrap, kek, mk, wrapped, &wlen),
         "C_WrapKey(AES_KEY_WRAP, kek, master key, [128])");
  MUST(p11->C_DestroyObject(session, kek), "C_DestroyObject(kek)");

  printf("-- CKA_EXTRACTABLE and CKA_SENSITIVE cannot be changed\n");
  CK_ATTRIBUTE set_extractable = { CKA_EXTRACTABLE, &yes, sizeof yes };
  EXPECT(CKR_ATTRIBUTE_READ_ONLY, p11->C_SetAttributeValue(session, mk, &set_extractable, 1), "C_SetAttributeValue(CKA_EXTRACTABLE=TRUE)");
  CK_ATTRIBUTE set_sensitive = { CKA_SENSITIVE, &no, sizeof no };
  EXPECT(CKR_ATTRIBUTE_READ_ONLY, p11->C_SetAttributeValue(session, mk, &set_sensitive, 1), "C_SetAttributeValue(CKA_SENSITIVE=FALSE)");
  CK_BBOOL extr = 1, sens = 0;
  CK_ATTRIBUTE q[] = { { CKA_EXTRACTABLE, &extr, 1 }, { CKA_SENSITIVE, &sens, 1 } };
  MUST(p11->C_GetAttributeValue(session, mk, q, 2), "C_GetAttributeValue(EXTRACTABLE, SENSITIVE)");
  if (extr || !sens) die("the master key changed: EXTRACTABLE=%d SENSITIVE=%d", extr, sens);
  printf("    still EXTRACTABLE=FALSE, SENSITIVE=TRUE\n");
  a.pValue = value;
  a.ulValueLen = sizeof value;
  EXPECT(CKR_ATTRIBUTE_SENSITIVE, p11->C_GetAttributeValue(session, mk, &a, 1), "C_GetAttributeValue(CKA_VALUE) again");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 5) die("usage: oracle-tde-replay MODULE PASSWORD STATE-DIR setkey|open|rekey|refuse");
  state_dir = argv[3];
  const char *mode = argv[4];

  /* The replay's hex encoding against Cosmian's test vector (sessions.rs). */
  char km[200];
  km_label(km, "069F37D091A73D4F13BF2CE921EB2CF080");
  if (strcmp(km, KM_PREFIX "30363946333744303931413733443446313342463243453932314542324346303830") != 0)
    die("km_label disagrees with Cosmian's test vector");

  open_wallet(argv[1], argv[2]);
  if (strcmp(mode, "setkey") == 0) mode_setkey();
  else if (strcmp(mode, "open") == 0) mode_open();
  else if (strcmp(mode, "rekey") == 0) mode_rekey();
  else if (strcmp(mode, "refuse") == 0) mode_refuse();
  else die("unknown mode %s", mode);
  close_wallet();
  return 0;
}
