#include "runtime.h"
#include "log.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct p11_transport *current;
/* Set once the embedded runtime has been started in this address space, and kept in
 * forked children: their copy of libnode has no thread behind it. */
static int embedded_unavailable;
static char unavailable_reason[256];

/* The package root holds dist/ (the runtime) and .deps/ (libnode): it is found from the
 * module's own path, build/Release/libp11kms.so or prebuilds/linux-x64/libp11kms.so. */
static int find_package_root(char *root, size_t root_size) {
  const char *configured = getenv("P11KMS_RUNTIME_DIR");
  if (configured && *configured) {
    snprintf(root, root_size, "%s", configured);
    return 0;
  }
  Dl_info self;
  if (!dladdr((void *)find_package_root, &self) || !self.dli_fname) return -1;
  char path[PATH_MAX];
  if (!realpath(self.dli_fname, path)) return -1;
  for (int depth = 0; depth < 5; depth++) {
    char *slash = strrchr(path, '/');
    if (!slash || slash == path) return -1;
    *slash = '\0';
    char probe[PATH_MAX + 64];
    snprintf(probe, sizeof(probe), "%s/dist/src/runtime/host-child.js", path);
    if (access(probe, R_OK) == 0) {
      snprintf(root, root_size, "%s", path);
      return 0;
    }
  }
  return -1;
}

/* A host that already runs V8 (a Node program using pkcs11js, say) cannot take a
 * second copy of it: the symbols would clash. */
static int host_runs_node(void) {
  return dlsym(RTLD_DEFAULT, "napi_create_threadsafe_function") != NULL ||
         dlsym(RTLD_DEFAULT, "_ZN2v86Isolate10GetCurrentEv") != NULL;
}

struct p11_transport *p11_runtime_acquire(int threads_allowed, char *reason, size_t reason_size) {
  if (current) {
    snprintf(reason, reason_size, "%s (already running)", current->mode);
    return current;
  }
  char root[PATH_MAX];
  if (find_package_root(root, sizeof(root)) != 0) {
    snprintf(reason, reason_size, "cannot find the p11kms runtime next to the module (set P11KMS_RUNTIME_DIR)");
    return NULL;
  }
  const char *requested = getenv("P11KMS_HOSTING");
  int want_child = requested && strcmp(requested, "child") == 0;
  int want_embedded = requested && strcmp(requested, "embedded") == 0;
  char why_not_embedded[256] = "";

  if (want_child)
    snprintf(why_not_embedded, sizeof(why_not_embedded), "P11KMS_HOSTING=child");
  else if (!threads_allowed)
    snprintf(why_not_embedded, sizeof(why_not_embedded),
             "the application does not let the library create threads (CKF_LIBRARY_CANT_CREATE_OS_THREADS)");
  else if (embedded_unavailable)
    snprintf(why_not_embedded, sizeof(why_not_embedded), "%s", unavailable_reason);
  else if (host_runs_node())
    snprintf(why_not_embedded, sizeof(why_not_embedded), "the host process already runs Node.js/V8");
  else {
    current = p11_transport_embedded_open(root, why_not_embedded, sizeof(why_not_embedded));
    /* Never twice: a failed start may have left V8 half initialised. */
    embedded_unavailable = 1;
    snprintf(unavailable_reason, sizeof(unavailable_reason), "%s",
             current ? "forked from a process whose runtime was embedded" : why_not_embedded);
    if (current) {
      snprintf(reason, reason_size, "embedded: libnode on a thread of this process");
      p11_log(P11_LOG_INFO, "hosting: %s", reason);
      return current;
    }
  }
  if (want_embedded) {
    snprintf(reason, reason_size, "P11KMS_HOSTING=embedded, but %s", why_not_embedded);
    p11_log(P11_LOG_ERROR, "hosting: %s", reason);
    return NULL;
  }
  current = p11_transport_child_open(root, reason, reason_size);
  if (!current) {
    p11_log(P11_LOG_ERROR, "hosting: no runtime: embedded unavailable (%s), child unavailable (%s)", why_not_embedded,
            reason);
    return NULL;
  }
  snprintf(reason, reason_size, "child process, because %s", why_not_embedded);
  p11_log(P11_LOG_INFO, "hosting: %s", reason);
  return current;
}

void p11_runtime_forget_after_fork(void) {
  if (current) current->abandon(current);
  current = NULL;
}

const char *p11_runtime_mode(void) { return current ? current->mode : "not started"; }
