/* The module's process-wide state: initialised or not, which runtime serves it, and
 * how many calls are in flight. No lock is held while a call waits for the runtime. */
#ifndef P11KMS_MODULE_H
#define P11KMS_MODULE_H

#include "pkcs11_v30.h"
#include "transport.h"

CK_RV p11_module_enter(struct p11_transport **transport);
void p11_module_leave(void);

#endif
