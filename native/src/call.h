/* One PKCS#11 call as a frame exchange: the request is built in C-prototype order, the
 * response starts with the rv. Outputs are read into locals and written to the caller's
 * memory only once the whole response has been read and found well formed. */
#ifndef P11KMS_CALL_H
#define P11KMS_CALL_H

#include "calls.gen.h"
#include "frame.h"
#include "pkcs11_v30.h"
#include "transport.h"

struct p11_call {
  struct p11_transport *transport;
  int entered; /* counted as in flight by the module; not for C_Initialize/C_Finalize */
  struct p11f_writer request;
  uint8_t *response;
  size_t response_length;
  struct p11f_reader reader;
  int sensitive_response;
};

/* Fails with CKR_CRYPTOKI_NOT_INITIALIZED before anything else, as the standard says. */
CK_RV p11_call_begin(struct p11_call *call, enum p11f_call function);
/* For C_Initialize and C_Finalize, which run while the module is not (or no longer)
 * open for calls. */
void p11_call_begin_direct(struct p11_call *call, enum p11f_call function, struct p11_transport *transport);
/* Sends the request and returns the rv of the response, or CKR_DEVICE_ERROR when the
 * runtime could not be reached or answered with a malformed frame. */
CK_RV p11_call_run(struct p11_call *call);
/* Releases the call. Returns rv, or CKR_DEVICE_ERROR when reading the outputs failed. */
CK_RV p11_call_end(struct p11_call *call, CK_RV rv);
/* Abandons a call whose arguments were refused before sending. */
CK_RV p11_call_abort(struct p11_call *call, CK_RV rv);

void p11_put_ulong(struct p11_call *call, CK_ULONG value);
void p11_put_byte(struct p11_call *call, CK_BYTE value);
/* A byte array argument; NULL with a length is refused by the callers first. */
void p11_put_bytes(struct p11_call *call, const void *data, CK_ULONG length);
void p11_put_secret(struct p11_call *call, const void *data, CK_ULONG length);
void p11_put_fixed(struct p11_call *call, const void *data, size_t width);
CK_RV p11_put_template(struct p11_call *call, const CK_ATTRIBUTE *attributes, CK_ULONG count);
CK_RV p11_put_query(struct p11_call *call, const CK_ATTRIBUTE *attributes, CK_ULONG count);
CK_RV p11_put_mechanism(struct p11_call *call, const CK_MECHANISM *mechanism);
/* An output buffer: out may be NULL (a length query); length must not be. */
void p11_put_outbuf(struct p11_call *call, const CK_BYTE *out, const CK_ULONG *length);
void p11_put_ulong_list(struct p11_call *call, const CK_ULONG *list, const CK_ULONG *count);

CK_ULONG p11_get_ulong(struct p11_call *call);
/* On CKR_OK, reads one CK_ULONG output (a new handle, a size) and stores it. */
CK_RV p11_get_ulong_output(struct p11_call *call, CK_RV rv, CK_ULONG *out);
CK_BYTE p11_get_byte(struct p11_call *call);
void p11_get_fixed(struct p11_call *call, void *out, size_t width);
/* Applies an OUTRES under the output-buffer rules; only for rv OK or BUFFER_TOO_SMALL. */
CK_RV p11_get_outbuf(struct p11_call *call, CK_RV rv, CK_BYTE *out, CK_ULONG *length, CK_ULONG capacity);
CK_RV p11_get_ulong_list(struct p11_call *call, CK_RV rv, CK_ULONG *list, CK_ULONG *count, CK_ULONG capacity);
CK_RV p11_get_query_result(struct p11_call *call, CK_ATTRIBUTE *attributes, CK_ULONG count,
                           const CK_ULONG *capacities);

/* Stores through a pointer the host may have left unaligned (Oracle does). */
void p11_store_ulong(CK_ULONG *target, CK_ULONG value);
CK_ULONG p11_load_ulong(const CK_ULONG *source);

#endif
