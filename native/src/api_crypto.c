/* Encrypt, decrypt, digest, sign and verify: every one is an Init, a single-part call,
 * or an Update/Final pair, so four shapes serve them all. The output-buffer rules (a
 * length query or a short buffer keeps the operation alive) are applied by the
 * runtime, which also keeps the result so that the KMS never does the work twice. */
#include "api.h"
#include "call.h"

static CK_RV operation_init(enum p11f_call function, CK_SESSION_HANDLE session, CK_MECHANISM_PTR mechanism,
                            CK_OBJECT_HANDLE key) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, function);
  if (rv != CKR_OK) return rv;
  p11_put_ulong(&call, session);
  rv = p11_put_mechanism(&call, mechanism);
  if (rv != CKR_OK) return p11_call_abort(&call, rv);
  p11_put_ulong(&call, key);
  return p11_call_end(&call, p11_call_run(&call));
}

/* Input in, output out: C_Encrypt, C_EncryptUpdate, C_Sign, C_Digest... */
static CK_RV operation_transform(enum p11f_call function, CK_SESSION_HANDLE session, const CK_BYTE *input,
                                 CK_ULONG input_length, CK_BYTE *output, CK_ULONG *output_length) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, function);
  if (rv != CKR_OK) return rv;
  if ((!input && input_length) || !output_length) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  CK_ULONG capacity = output ? p11_load_ulong(output_length) : 0;
  p11_put_ulong(&call, session);
  p11_put_secret(&call, input, input_length);
  p11_put_outbuf(&call, output, output_length);
  rv = p11_call_run(&call);
  rv = p11_get_outbuf(&call, rv, output, output_length, capacity);
  return p11_call_end(&call, rv);
}

/* Input in, nothing out: C_SignUpdate, C_VerifyUpdate, C_DigestUpdate... */
static CK_RV operation_feed(enum p11f_call function, CK_SESSION_HANDLE session, const CK_BYTE *input,
                            CK_ULONG input_length) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, function);
  if (rv != CKR_OK) return rv;
  if (!input && input_length) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, session);
  p11_put_secret(&call, input, input_length);
  return p11_call_end(&call, p11_call_run(&call));
}

/* Output only: C_EncryptFinal, C_SignFinal, C_DigestFinal... */
static CK_RV operation_finish(enum p11f_call function, CK_SESSION_HANDLE session, CK_BYTE *output,
                              CK_ULONG *output_length) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, function);
  if (rv != CKR_OK) return rv;
  if (!output_length) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  CK_ULONG capacity = output ? p11_load_ulong(output_length) : 0;
  p11_put_ulong(&call, session);
  p11_put_outbuf(&call, output, output_length);
  rv = p11_call_run(&call);
  rv = p11_get_outbuf(&call, rv, output, output_length, capacity);
  return p11_call_end(&call, rv);
}

/* Two inputs, nothing out: C_Verify. */
static CK_RV operation_check(enum p11f_call function, CK_SESSION_HANDLE session, const CK_BYTE *data,
                             CK_ULONG data_length, const CK_BYTE *signature, CK_ULONG signature_length) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, function);
  if (rv != CKR_OK) return rv;
  if ((!data && data_length) || (!signature && signature_length)) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, session);
  p11_put_secret(&call, data, data_length);
  p11_put_bytes(&call, signature, signature_length);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_EncryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  return operation_init(P11F_CALL_EncryptInit, s, m, k);
}
CK_RV C_Encrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_transform(P11F_CALL_Encrypt, s, in, in_len, out, out_len);
}
CK_RV C_EncryptUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_transform(P11F_CALL_EncryptUpdate, s, in, in_len, out, out_len);
}
CK_RV C_EncryptFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_finish(P11F_CALL_EncryptFinal, s, out, out_len);
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  return operation_init(P11F_CALL_DecryptInit, s, m, k);
}
CK_RV C_Decrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_transform(P11F_CALL_Decrypt, s, in, in_len, out, out_len);
}
CK_RV C_DecryptUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_transform(P11F_CALL_DecryptUpdate, s, in, in_len, out, out_len);
}
CK_RV C_DecryptFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_finish(P11F_CALL_DecryptFinal, s, out, out_len);
}

CK_RV C_DigestInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_DigestInit);
  if (rv != CKR_OK) return rv;
  p11_put_ulong(&call, s);
  rv = p11_put_mechanism(&call, m);
  if (rv != CKR_OK) return p11_call_abort(&call, rv);
  return p11_call_end(&call, p11_call_run(&call));
}
CK_RV C_Digest(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_transform(P11F_CALL_Digest, s, in, in_len, out, out_len);
}
CK_RV C_DigestUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len) {
  return operation_feed(P11F_CALL_DigestUpdate, s, in, in_len);
}
CK_RV C_DigestKey(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_DigestKey);
  if (rv != CKR_OK) return rv;
  p11_put_ulong(&call, s);
  p11_put_ulong(&call, k);
  return p11_call_end(&call, p11_call_run(&call));
}
CK_RV C_DigestFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_finish(P11F_CALL_DigestFinal, s, out, out_len);
}

CK_RV C_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  return operation_init(P11F_CALL_SignInit, s, m, k);
}
CK_RV C_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_transform(P11F_CALL_Sign, s, in, in_len, out, out_len);
}
CK_RV C_SignUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len) {
  return operation_feed(P11F_CALL_SignUpdate, s, in, in_len);
}
CK_RV C_SignFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return operation_finish(P11F_CALL_SignFinal, s, out, out_len);
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  return operation_init(P11F_CALL_VerifyInit, s, m, k);
}
CK_RV C_Verify(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig, CK_ULONG sig_len) {
  return operation_check(P11F_CALL_Verify, s, data, data_len, sig, sig_len);
}
CK_RV C_VerifyUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len) {
  return operation_feed(P11F_CALL_VerifyUpdate, s, in, in_len);
}
CK_RV C_VerifyFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG sig_len) {
  return operation_feed(P11F_CALL_VerifyFinal, s, sig, sig_len);
}
