/* How frames reach the TypeScript runtime. Two hostings implement it: libnode on a
 * thread of this process (transport_embedded.c) and a node child process over a
 * socketpair (transport_child.c). Callers never know which one they have. */
#ifndef P11KMS_TRANSPORT_H
#define P11KMS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

struct p11_transport {
  const char *mode;
  /* Sends a finished request frame and waits for its response frame. On success the
   * response is malloc'd and owned by the caller. Returns 0, or -1 when the runtime
   * could not be reached or did not answer in time. */
  int (*call)(struct p11_transport *transport, uint8_t *request, size_t request_length, uint8_t **response,
              size_t *response_length);
  /* Forgets every thread and descriptor without touching them: used in a child after
   * fork(), where the parent's threads no longer exist. */
  void (*abandon)(struct p11_transport *transport);
};

/* Both return NULL and fill reason when the hosting cannot be used. */
struct p11_transport *p11_transport_embedded_open(const char *package_root, char *reason, size_t reason_size);
struct p11_transport *p11_transport_child_open(const char *package_root, char *reason, size_t reason_size);

/* The longest a host thread waits for the runtime; the runtime's own KMS timeouts are
 * shorter, so this only fires when the runtime itself is stuck or gone. */
unsigned p11_transport_deadline_ms(void);

#endif
