/*
 * veracrypt-replay: the PKCS#11 calls VeraCrypt makes for security-token keyfiles, in
 * VeraCrypt's order, against any PKCS#11 module. VeraCrypt is not packaged in Debian, so
 * examples/veracrypt/run.sh runs this instead of `veracrypt --text ...`.
 *
 * The call sequence follows VeraCrypt's src/Common/SecurityToken.cpp (1.2x):
 *
 *   InitLibrary            dlopen(RTLD_NOW|RTLD_LOCAL), C_GetFunctionList, C_Initialize(NULL)
 *   GetTokenSlots          C_GetSlotList(TRUE, NULL, &n), C_GetSlotList(TRUE, slots, &n),
 *                          C_GetSlotInfo per slot (slots without CKF_TOKEN_PRESENT are skipped)
 *   LoginUserIfRequired    first time: C_GetTokenInfo (CKF_WRITE_PROTECTED decides
 *                          CKF_RW_SESSION), C_OpenSession(SERIAL[|RW]); later: C_GetSessionInfo;
 *                          then C_GetTokenInfo, and while the token says CKF_LOGIN_REQUIRED:
 *                          C_Login(USER, NULL, 0) with CKF_PROTECTED_AUTHENTICATION_PATH,
 *                          else C_Login(USER, pin)
 *   GetAvailableKeyfiles   per slot: LoginUserIfRequired, C_GetTokenInfo,
 *                          C_FindObjectsInit{CKA_CLASS=CKO_DATA}, C_FindObjects(max 1) until it
 *                          returns no object, C_FindObjectsFinal; per object CKA_PRIVATE (objects
 *                          whose CKA_PRIVATE is a CK_BBOOL other than CK_TRUE are skipped), then
 *                          CKA_LABEL, each read as two C_GetAttributeValue calls (length, value)
 *   GetKeyfileData         LoginUserIfRequired, CKA_VALUE in two calls (what mount hashes)
 *   GetAvailableTokens     GetTokenSlots, then C_GetTokenInfo per slot (import lists the tokens)
 *   CreateKeyfile          LoginUserIfRequired, GetAvailableKeyfiles (the name must be new),
 *                          C_CreateObject{CLASS=DATA, TOKEN, PRIVATE, LABEL, VALUE}, CKA_VALUE
 *                          read back; a length mismatch destroys the object (CKR_DEVICE_MEMORY)
 *   DeleteKeyfile          LoginUserIfRequired, C_DestroyObject
 *   CloseLibrary           C_CloseSession per open session, C_Finalize(NULL), dlclose
 *
 * Usage: veracrypt-replay MODULE [--pin PIN] COMMAND ARGS
 *   list                          like `veracrypt --text --list-token-keyfiles` (one path a line)
 *   mount  TOKEN-PATH OUT         resolve token://slot/N/file/ID as mount does, write CKA_VALUE to OUT
 *   import SLOT FILE              like `veracrypt --text --import-token-keyfiles` choosing token SLOT
 *                                 and keyfile FILE; the keyfile's name is FILE's base name
 *   delete TOKEN-PATH             like `veracrypt --text --delete-token-keyfiles`, then checks the
 *                                 object is gone (the check is ours, not VeraCrypt's)
 *   show   TOKEN-PATH             not VeraCrypt: prints CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL
 *                                 and CKA_VALUE of the keyfile's object, read in one call
 *
 * Every PKCS#11 call is printed with its return value. Exit status 0 on success, 1 otherwise.
 *
 * Build: cc -O2 -Wall -Wextra -I/usr/include/p11-kit-1 -o veracrypt-replay veracrypt-replay.c -ldl
 */
#include <p11-kit/pkcs11.h>
#include "ck_rv_names.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_PREFIX "token://"
#define MAX_SLOTS 32
#define MAX_KEYFILES 256

static CK_FUNCTION_LIST_PTR p11;
static void *library;
static const char *pin;

struct session {
  CK_SLOT_ID slot;
  CK_SESSION_HANDLE handle;
  int user_logged_in;
};
static struct session sessions[MAX_SLOTS];
static int session_count;

struct keyfile {
  CK_SLOT_ID slot;
  CK_OBJECT_HANDLE handle;
  char id[256];
};

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("veracrypt-replay: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* Prints one traced call; VeraCrypt throws Pkcs11Exception on anything but CKR_OK, and so do we. */
static CK_RV traced(CK_RV rv, const char *what) {
  printf("  %-60s -> %s\n", what, ck_rv_name(rv));
  fflush(stdout);
  return rv;
}
static void must(CK_RV rv, const char *what) {
  if (traced(rv, what) != CKR_OK) die("%s failed: %s (VeraCrypt: Pkcs11Exception)", what, ck_rv_name(rv));
}

static void init_library(const char *path) {
  library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) die("dlopen %s: %s", path, dlerror());
  CK_C_GetFunctionList get_function_list = (CK_C_GetFunctionList)dlsym(library, "C_GetFunctionList");
  if (!get_function_list) die("no C_GetFunctionList in %s", path);
  must(get_function_list(&p11), "C_GetFunctionList");
  must(p11->C_Initialize(NULL), "C_Initialize(NULL)");
}

static void close_library(void) {
  char what[96];
  for (int i = 0; i < session_count; i++) {
    snprintf(what, sizeof what, "C_CloseSession(%lu)", (unsigned long)sessions[i].handle);
    traced(p11->C_CloseSession(sessions[i].handle), what); /* VeraCrypt ignores errors here */
  }
  session_count = 0;
  must(p11->C_Finalize(NULL), "C_Finalize(NULL)");
  dlclose(library);
}

static struct session *find_session(CK_SLOT_ID slot) {
  for (int i = 0; i < session_count; i++)
    if (sessions[i].slot == slot) return &sessions[i];
  return NULL;
}

static size_t get_token_slots(CK_SLOT_ID *out) {
  CK_ULONG count = 0;
  must(p11->C_GetSlotList(CK_TRUE, NULL, &count), "C_GetSlotList(TRUE, NULL)");
  if (count == 0) return 0;
  CK_SLOT_ID all[MAX_SLOTS];
  if (count > MAX_SLOTS) die("too many slots");
  char what[96];
  snprintf(what, sizeof what, "C_GetSlotList(TRUE, [%lu])", (unsigned long)count);
  must(p11->C_GetSlotList(CK_TRUE, all, &count), what);
  size_t n = 0;
  for (CK_ULONG i = 0; i < count; i++) {
    CK_SLOT_INFO info;
    snprintf(what, sizeof what, "C_GetSlotInfo(%lu)", (unsigned long)all[i]);
    CK_RV rv = traced(p11->C_GetSlotInfo(all[i], &info), what);
    if (rv != CKR_OK || !(info.flags & CKF_TOKEN_PRESENT)) {
      printf("    slot %lu skipped: no CKF_TOKEN_PRESENT\n", (unsigned long)all[i]);
      continue;
    }
    out[n++] = all[i];
  }
  return n;
}

struct token_info {
  CK_FLAGS flags;
  char label[33];
};

static struct token_info get_token_info(CK_SLOT_ID slot) {
  CK_TOKEN_INFO info;
  char what[96];
  snprintf(what, sizeof what, "C_GetTokenInfo(%lu)", (unsigned long)slot);
  must(p11->C_GetTokenInfo(slot, &info), what);
  struct token_info t;
  t.flags = info.flags;
  memcpy(t.label, info.label, 32);
  t.label[32] = 0;
  for (int i = 31; i >= 0 && t.label[i] == ' '; i--) t.label[i] = 0;
  printf("    token \"%s\", flags 0x%lx%s%s%s\n", t.label, (unsigned long)t.flags,
         (t.flags & CKF_LOGIN_REQUIRED) ? " LOGIN_REQUIRED" : "",
         (t.flags & CKF_PROTECTED_AUTHENTICATION_PATH) ? " PROTECTED_AUTHENTICATION_PATH" : "",
         (t.flags & CKF_WRITE_PROTECTED) ? " WRITE_PROTECTED" : "");
  return t;
}

static void open_session(CK_SLOT_ID slot) {
  if (find_session(slot)) return;
  CK_FLAGS flags = CKF_SERIAL_SESSION;
  if (!(get_token_info(slot).flags & CKF_WRITE_PROTECTED)) flags |= CKF_RW_SESSION;
  CK_SESSION_HANDLE h;
  char what[96];
  snprintf(what, sizeof what, "C_OpenSession(%lu, SERIAL%s)", (unsigned long)slot, (flags & CKF_RW_SESSION) ? "|RW" : "");
  must(p11->C_OpenSession(slot, flags, NULL, NULL, &h), what);
  if (session_count == MAX_SLOTS) die("too many sessions");
  sessions[session_count++] = (struct session){ .slot = slot, .handle = h, .user_logged_in = 0 };
}

static void login_user_if_required(CK_SLOT_ID slot) {
  struct session *s = find_session(slot);
  if (!s) {
    open_session(slot);
    s = find_session(slot);
  } else {
    CK_SESSION_INFO info;
    CK_RV rv = traced(p11->C_GetSessionInfo(s->handle, &info), "C_GetSessionInfo");
    if (rv == CKR_OK) {
      s->user_logged_in = info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
    } else {
      traced(p11->C_CloseSession(s->handle), "C_CloseSession");
      *s = sessions[--session_count];
      open_session(slot);
      s = find_session(slot);
    }
  }
  struct token_info token = get_token_info(slot);
  if (s->user_logged_in || !(token.flags & CKF_LOGIN_REQUIRED)) {
    if (!(token.flags & CKF_LOGIN_REQUIRED)) printf("    no CKF_LOGIN_REQUIRED: VeraCrypt does not log in\n");
    return;
  }
  CK_RV rv;
  if (token.flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
    rv = traced(p11->C_Login(s->handle, CKU_USER, NULL, 0), "C_Login(USER, NULL, 0)");
  } else {
    if (!pin) die("the token needs a PIN (CKF_LOGIN_REQUIRED): pass --pin, as veracrypt --token-pin");
    rv = traced(p11->C_Login(s->handle, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin)), "C_Login(USER, pin)");
  }
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) die("login failed: %s", ck_rv_name(rv));
  s->user_logged_in = 1;
}

/* SecurityToken::GetObjectAttribute: length first (pValue NULL), then the value. Returns the length. */
static CK_ULONG get_object_attribute(CK_SLOT_ID slot, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, const char *name,
                                     unsigned char **value) {
  struct session *s = find_session(slot);
  if (!s) die("no session on slot %lu", (unsigned long)slot);
  CK_ATTRIBUTE a = { type, NULL, 0 };
  char what[96];
  snprintf(what, sizeof what, "C_GetAttributeValue(%lu, %s, pValue=NULL)", (unsigned long)object, name);
  must(p11->C_GetAttributeValue(s->handle, object, &a, 1), what);
  *value = NULL;
  if (a.ulValueLen == 0) return 0;
  *value = malloc(a.ulValueLen + 1);
  if (!*value) die("out of memory");
  a.pValue = *value;
  snprintf(what, sizeof what, "C_GetAttributeValue(%lu, %s, [%lu])", (unsigned long)object, name, (unsigned long)a.ulValueLen);
  must(p11->C_GetAttributeValue(s->handle, object, &a, 1), what);
  (*value)[a.ulValueLen] = 0;
  return a.ulValueLen;
}

static void find_objects(CK_SLOT_ID slot, CK_OBJECT_HANDLE *out, size_t *n) {
  struct session *s = find_session(slot);
  /* VeraCrypt passes a CK_ATTRIBUTE_TYPE variable holding CKO_DATA: a CK_ULONG either way. */
  CK_ATTRIBUTE_TYPE object_class = CKO_DATA;
  CK_ATTRIBUTE find_template = { CKA_CLASS, &object_class, sizeof object_class };
  must(p11->C_FindObjectsInit(s->handle, &find_template, 1), "C_FindObjectsInit({CKA_CLASS=CKO_DATA})");
  *n = 0;
  for (;;) {
    CK_OBJECT_HANDLE object;
    CK_ULONG count = 0;
    CK_RV rv = p11->C_FindObjects(s->handle, &object, 1, &count);
    char what[96];
    if (count == 1) snprintf(what, sizeof what, "C_FindObjects(max 1) = object %lu", (unsigned long)object);
    else snprintf(what, sizeof what, "C_FindObjects(max 1) = none");
    if (traced(rv, what) != CKR_OK) {
      traced(p11->C_FindObjectsFinal(s->handle), "C_FindObjectsFinal");
      die("C_FindObjects failed");
    }
    if (count != 1) break;
    if (*n == MAX_KEYFILES) die("too many objects");
    out[(*n)++] = object;
  }
  must(p11->C_FindObjectsFinal(s->handle), "C_FindObjectsFinal");
}

static size_t get_available_keyfiles(const CK_SLOT_ID *slot_filter, const char *id_filter, struct keyfile *out) {
  CK_SLOT_ID slots[MAX_SLOTS];
  size_t slot_count = get_token_slots(slots);
  size_t n = 0;
  for (size_t i = 0; i < slot_count; i++) {
    CK_SLOT_ID slot = slots[i];
    if (slot_filter && *slot_filter != slot) continue;
    login_user_if_required(slot);
    get_token_info(slot);
    CK_OBJECT_HANDLE objects[MAX_KEYFILES];
    size_t count;
    find_objects(slot, objects, &count);
    for (size_t j = 0; j < count; j++) {
      unsigned char *private_attr, *label;
      CK_ULONG len = get_object_attribute(slot, objects[j], CKA_PRIVATE, "CKA_PRIVATE", &private_attr);
      int skip = len == sizeof(CK_BBOOL) && *(CK_BBOOL *)private_attr != CK_TRUE;
      free(private_attr);
      if (skip) {
        printf("    object %lu skipped: CKA_PRIVATE is FALSE\n", (unsigned long)objects[j]);
        continue;
      }
      len = get_object_attribute(slot, objects[j], CKA_LABEL, "CKA_LABEL", &label);
      struct keyfile k = { .slot = slot, .handle = objects[j] };
      snprintf(k.id, sizeof k.id, "%s", label ? (char *)label : "");
      free(label);
      if (k.id[0] == 0 || (id_filter && strcmp(id_filter, k.id) != 0)) continue;
      out[n++] = k;
      if (id_filter) break;
    }
  }
  return n;
}

/* SecurityTokenKeyfile(const SecurityTokenKeyfilePath &): token://slot/<n>/file/<id>. */
static struct keyfile keyfile_from_path(const char *path) {
  unsigned long slot;
  if (sscanf(path, URL_PREFIX "slot/%lu", &slot) != 1) die("invalid security token keyfile path %s", path);
  const char *id = strstr(path, "/file/");
  if (!id) die("invalid security token keyfile path %s", path);
  id += strlen("/file/");
  CK_SLOT_ID slot_id = slot;
  struct keyfile found[MAX_KEYFILES];
  if (get_available_keyfiles(&slot_id, id, found) == 0) die("%s: SecurityTokenKeyfileNotFound", path);
  return found[0];
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open %s", path);
  unsigned char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len == cap) {
      cap = cap ? cap * 2 : 4096;
      buf = realloc(buf, cap);
      if (!buf) die("out of memory");
    }
    size_t r = fread(buf + *len, 1, cap - *len, f);
    if (r == 0) break;
    *len += r;
  }
  fclose(f);
  return buf;
}

/* TextUserInterface::ListSecurityTokenKeyfiles: one path a line. */
static void cmd_list(void) {
  struct keyfile k[MAX_KEYFILES];
  size_t n = get_available_keyfiles(NULL, NULL, k);
  printf("\n");
  for (size_t i = 0; i < n; i++) printf(URL_PREFIX "slot/%lu/file/%s\n", (unsigned long)k[i].slot, k[i].id);
}

static void cmd_mount(const char *path, const char *out) {
  struct keyfile k = keyfile_from_path(path);
  /* GetKeyfileData */
  login_user_if_required(k.slot);
  unsigned char *value;
  CK_ULONG len = get_object_attribute(k.slot, k.handle, CKA_VALUE, "CKA_VALUE", &value);
  FILE *f = fopen(out, "wb");
  if (!f || fwrite(value, 1, len, f) != len || fclose(f) != 0) die("cannot write %s", out);
  printf("\nkeyfile %s: %lu bytes of CKA_VALUE written to %s (VeraCrypt hashes them into its keyfile pool)\n", path,
         (unsigned long)len, out);
  free(value);
}

/* TextUserInterface::ImportSecurityTokenKeyfiles: the tokens, the user's choice, then CreateKeyfile. */
static void cmd_import(CK_SLOT_ID slot, const char *file) {
  CK_SLOT_ID slots[MAX_SLOTS];
  size_t slot_count = get_token_slots(slots);
  int present = 0;
  for (size_t i = 0; i < slot_count; i++) {
    get_token_info(slots[i]);
    present |= slots[i] == slot;
  }
  if (!present) die("no token in slot %lu", (unsigned long)slot);
  const char *name = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
  size_t data_len;
  unsigned char *data = read_file(file, &data_len);
  if (data_len == 0) die("%s is empty", file);
  /* CreateKeyfile */
  login_user_if_required(slot);
  struct keyfile existing[MAX_KEYFILES];
  size_t n = get_available_keyfiles(&slot, NULL, existing);
  for (size_t i = 0; i < n; i++)
    if (strcmp(existing[i].id, name) == 0) die("SecurityTokenKeyfileAlreadyExists: %s", name);
  CK_OBJECT_CLASS data_class = CKO_DATA;
  CK_BBOOL true_val = CK_TRUE;
  CK_ATTRIBUTE keyfile_template[] = {
    { CKA_CLASS, &data_class, sizeof data_class },
    { CKA_TOKEN, &true_val, sizeof true_val },
    { CKA_PRIVATE, &true_val, sizeof true_val },
    { CKA_LABEL, (CK_UTF8CHAR *)name, (CK_ULONG)strlen(name) },
    { CKA_VALUE, data, (CK_ULONG)data_len },
  };
  CK_OBJECT_HANDLE handle;
  must(p11->C_CreateObject(find_session(slot)->handle, keyfile_template, 5, &handle),
       "C_CreateObject({DATA, TOKEN, PRIVATE, LABEL, VALUE})");
  printf("    new object %lu\n", (unsigned long)handle);
  /* "Some tokens report success even if the new object was truncated" */
  unsigned char *value;
  CK_ULONG len = get_object_attribute(slot, handle, CKA_VALUE, "CKA_VALUE", &value);
  if (len != data_len) {
    traced(p11->C_DestroyObject(find_session(slot)->handle, handle), "C_DestroyObject");
    die("CKA_VALUE read back has %lu bytes, not %zu: CKR_DEVICE_MEMORY", (unsigned long)len, data_len);
  }
  /* VeraCrypt compares the length only; the bytes are compared here too. */
  if (memcmp(value, data, data_len) != 0) die("CKA_VALUE read back differs from %s", file);
  printf("\nimported %s as " URL_PREFIX "slot/%lu/file/%s (%zu bytes, read back identical)\n", file, (unsigned long)slot, name,
         data_len);
  free(value);
  free(data);
}

static void cmd_delete(const char *path) {
  struct keyfile k = keyfile_from_path(path);
  /* DeleteKeyfile */
  login_user_if_required(k.slot);
  char what[96];
  snprintf(what, sizeof what, "C_DestroyObject(%lu)", (unsigned long)k.handle);
  must(p11->C_DestroyObject(find_session(k.slot)->handle, k.handle), what);
  /* Our check, not VeraCrypt's: the handle is dead and a new listing no longer has the keyfile. */
  printf("  -- checking that the keyfile is gone\n");
  CK_BBOOL b;
  CK_ATTRIBUTE a = { CKA_PRIVATE, &b, sizeof b };
  snprintf(what, sizeof what, "C_GetAttributeValue(%lu, CKA_PRIVATE)", (unsigned long)k.handle);
  CK_RV rv = traced(p11->C_GetAttributeValue(find_session(k.slot)->handle, k.handle, &a, 1), what);
  if (rv != CKR_OBJECT_HANDLE_INVALID) die("the destroyed object's handle still answers: %s", ck_rv_name(rv));
  struct keyfile left[MAX_KEYFILES];
  const char *id = strstr(path, "/file/") + strlen("/file/");
  if (get_available_keyfiles(&k.slot, id, left) != 0) die("%s is still listed after C_DestroyObject", path);
  printf("\ndeleted %s: the handle is invalid and the listing no longer has it\n", path);
}

static void cmd_show(const char *path) {
  struct keyfile k = keyfile_from_path(path);
  CK_OBJECT_CLASS cls = 0;
  CK_BBOOL token = 0, priv = 0;
  CK_ATTRIBUTE a[] = {
    { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &token, sizeof token }, { CKA_PRIVATE, &priv, sizeof priv },
    { CKA_LABEL, NULL, 0 },          { CKA_VALUE, NULL, 0 },
  };
  CK_SESSION_HANDLE s = find_session(k.slot)->handle;
  must(p11->C_GetAttributeValue(s, k.handle, a, 5), "C_GetAttributeValue(CLASS, TOKEN, PRIVATE, LABEL=NULL, VALUE=NULL)");
  a[3].pValue = calloc(1, a[3].ulValueLen + 1);
  a[4].pValue = malloc(a[4].ulValueLen + 1);
  must(p11->C_GetAttributeValue(s, k.handle, a, 5), "C_GetAttributeValue(CLASS, TOKEN, PRIVATE, LABEL, VALUE)");
  printf("\n%s is object %lu:\n", path, (unsigned long)k.handle);
  printf("  CKA_CLASS   = %s\n", cls == CKO_DATA ? "CKO_DATA" : "(not CKO_DATA)");
  printf("  CKA_TOKEN   = %s\n", token ? "TRUE" : "FALSE");
  printf("  CKA_PRIVATE = %s\n", priv ? "TRUE" : "FALSE");
  printf("  CKA_LABEL   = \"%s\"\n", (char *)a[3].pValue);
  printf("  CKA_VALUE   = %lu bytes:", (unsigned long)a[4].ulValueLen);
  for (CK_ULONG i = 0; i < a[4].ulValueLen && i < 16; i++) printf(" %02x", ((unsigned char *)a[4].pValue)[i]);
  printf("%s\n", a[4].ulValueLen > 16 ? " ..." : "");
  if (cls != CKO_DATA || !token || !priv || strcmp((char *)a[3].pValue, k.id) != 0) die("unexpected attributes");
  free(a[3].pValue);
  free(a[4].pValue);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 3) die("usage: veracrypt-replay MODULE [--pin PIN] list|mount|import|delete|show ARGS");
  const char *module = argv[1];
  int i = 2;
  if (strcmp(argv[i], "--pin") == 0 && i + 1 < argc) {
    pin = argv[i + 1];
    i += 2;
  }
  if (i >= argc) die("no command");
  const char *cmd = argv[i++];
  int rest = argc - i;
  init_library(module);
  if (strcmp(cmd, "list") == 0 && rest == 0) cmd_list();
  else if (strcmp(cmd, "mount") == 0 && rest == 2) cmd_mount(argv[i], argv[i + 1]);
  else if (strcmp(cmd, "import") == 0 && rest == 2) cmd_import(strtoul(argv[i], NULL, 10), argv[i + 1]);
  else if (strcmp(cmd, "delete") == 0 && rest == 1) cmd_delete(argv[i]);
  else if (strcmp(cmd, "show") == 0 && rest == 1) cmd_show(argv[i]);
  else die("bad command line");
  close_library();
  return 0;
}
