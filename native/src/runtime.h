/* Which hosting serves this process, and what happens to it across fork(). */
#ifndef P11KMS_RUNTIME_H
#define P11KMS_RUNTIME_H

#include "transport.h"

/* Returns the transport for this process, starting one on first use. The reason the
 * hosting was chosen is written to reason. NULL when no hosting can start. Without
 * threads_allowed, only a hosting that creates no thread in the host is started. */
struct p11_transport *p11_runtime_acquire(int threads_allowed, char *reason, size_t reason_size);

/* Called in a child after fork(): the parent's runtime is unreachable from here. */
void p11_runtime_forget_after_fork(void);

const char *p11_runtime_mode(void);

#endif
