/* The embedded runtime host: libnode on a thread of its own inside the host process.
 * This library is the only part of p11kms linked to libnode; libp11kms.so dlopens it, so
 * that a machine without libnode still gets the out-of-process hosting. */
#ifndef P11KMS_NODE_HOST_H
#define P11KMS_NODE_HOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the runtime once per process and waits until its dispatcher is ready.
 * Returns 0, or -1 with a reason. Later calls return the first call's result. */
int p11kms_node_start(const char *entry_script, char *reason, size_t reason_size);

/* Hands one request frame to the runtime and waits up to deadline_ms for the response,
 * which is malloc'd and owned by the caller. Returns 0 or -1. */
int p11kms_node_call(uint8_t *request, size_t request_length, uint8_t **response, size_t *response_length,
                     unsigned deadline_ms);

typedef int (*p11kms_node_start_fn)(const char *, char *, size_t);
typedef int (*p11kms_node_call_fn)(uint8_t *, size_t, uint8_t **, size_t *, unsigned);

#ifdef __cplusplus
}
#endif

#endif
