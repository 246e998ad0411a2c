/* In-process hosting: libnode is loaded at run time, not linked, so that the module
 * still loads (and falls back to a child process) where libnode is missing. */
#include "transport.h"
#include "embed/node_host.h"
#include "log.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct embedded_transport {
  struct p11_transport base;
  p11kms_node_call_fn call;
};

static int embedded_call(struct p11_transport *base, uint8_t *request, size_t request_length, uint8_t **response,
                         size_t *response_length) {
  struct embedded_transport *t = (struct embedded_transport *)base;
  return t->call(request, request_length, response, response_length, p11_transport_deadline_ms());
}

static void embedded_abandon(struct p11_transport *base) {
  /* After fork() the runtime thread exists only in the parent; nothing here may be
   * touched again in the child, which is why the module switches to a child process. */
  (void)base;
}

static void *load_libnode(const char *package_root, char *reason, size_t reason_size) {
  char bundled[PATH_MAX];
  snprintf(bundled, sizeof(bundled), "%s/.deps/node18/usr/lib/x86_64-linux-gnu/libnode.so.108", package_root);
  const char *candidates[] = { getenv("P11KMS_LIBNODE"), bundled, "libnode.so.108" };
  const char *last_error = "not found";
  for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
    if (!candidates[i] || !*candidates[i]) continue;
    if (candidates[i][0] == '/' && access(candidates[i], R_OK) != 0) continue;
    /* RTLD_GLOBAL so that the host library below resolves libnode.so.108 to this copy. */
    void *handle = dlopen(candidates[i], RTLD_NOW | RTLD_GLOBAL);
    if (handle) {
      p11_log(P11_LOG_INFO, "loaded libnode from %s", candidates[i]);
      return handle;
    }
    last_error = dlerror();
  }
  snprintf(reason, reason_size, "libnode.so.108 cannot be loaded (%s)", last_error ? last_error : "unknown error");
  return NULL;
}

struct p11_transport *p11_transport_embedded_open(const char *package_root, char *reason, size_t reason_size) {
  char entry[PATH_MAX], host_library[PATH_MAX];
  int n = snprintf(entry, sizeof(entry), "%s/dist/src/runtime/host-embedded.js", package_root);
  if (n < 0 || (size_t)n >= sizeof(entry) || access(entry, R_OK) != 0) {
    snprintf(reason, reason_size, "runtime script %s/dist/src/runtime/host-embedded.js not found", package_root);
    return NULL;
  }
  Dl_info self;
  if (!dladdr((void *)p11_transport_embedded_open, &self) || !self.dli_fname) {
    snprintf(reason, reason_size, "cannot find the module's own directory");
    return NULL;
  }
  const char *slash = strrchr(self.dli_fname, '/');
  size_t directory_length = slash ? (size_t)(slash - self.dli_fname) : 1;
  n = snprintf(host_library, sizeof(host_library), "%.*s/libp11kms-node.so", (int)directory_length,
               slash ? self.dli_fname : ".");
  if (n < 0 || (size_t)n >= sizeof(host_library)) {
    snprintf(reason, reason_size, "module path too long");
    return NULL;
  }

  if (!load_libnode(package_root, reason, reason_size)) return NULL;
  /* Neither library is ever closed: V8 cannot be unloaded from a live process. */
  void *host = dlopen(host_library, RTLD_NOW | RTLD_LOCAL);
  if (!host) {
    snprintf(reason, reason_size, "cannot load %s (%s)", host_library, dlerror());
    return NULL;
  }
  p11kms_node_start_fn start = (p11kms_node_start_fn)dlsym(host, "p11kms_node_start");
  p11kms_node_call_fn call = (p11kms_node_call_fn)dlsym(host, "p11kms_node_call");
  if (!start || !call) {
    snprintf(reason, reason_size, "%s lacks the host entry points", host_library);
    return NULL;
  }
  if (start(entry, reason, reason_size) != 0) return NULL;

  static struct embedded_transport transport;
  transport.base.mode = "embedded";
  transport.base.call = embedded_call;
  transport.base.abandon = embedded_abandon;
  transport.call = call;
  return &transport.base;
}
