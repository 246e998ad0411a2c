/* Functions p11kms does not offer. They still check that the module is initialised, so
 * that callers see the standard's order of errors. */
#include "api.h"
#include "call.h"
#include "module.h"

static CK_RV refuse(CK_RV rv) {
  struct p11_transport *transport;
  CK_RV state = p11_module_enter(&transport);
  if (state != CKR_OK) return state;
  p11_module_leave();
  return rv;
}

#define NOT_SUPPORTED refuse(CKR_FUNCTION_NOT_SUPPORTED)

CK_RV C_GetOperationState(CK_SESSION_HANDLE s, CK_BYTE_PTR p, CK_ULONG_PTR l) {
  (void)s, (void)p, (void)l;
  return NOT_SUPPORTED;
}
CK_RV C_SetOperationState(CK_SESSION_HANDLE s, CK_BYTE_PTR p, CK_ULONG l, CK_OBJECT_HANDLE e, CK_OBJECT_HANDLE a) {
  (void)s, (void)p, (void)l, (void)e, (void)a;
  return NOT_SUPPORTED;
}
CK_RV C_SignRecoverInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  (void)s, (void)m, (void)k;
  return NOT_SUPPORTED;
}
CK_RV C_SignRecover(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  (void)s, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}
CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  (void)s, (void)m, (void)k;
  return NOT_SUPPORTED;
}
CK_RV C_VerifyRecover(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  (void)s, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}
CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  (void)s, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}
CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  (void)s, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}
CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  (void)s, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}
CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  (void)s, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}

/* Legacy parallel-function calls: PKCS#11 2.40 section 5.17. */
CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE s) {
  (void)s;
  return refuse(CKR_FUNCTION_NOT_PARALLEL);
}
CK_RV C_CancelFunction(CK_SESSION_HANDLE s) {
  (void)s;
  return refuse(CKR_FUNCTION_NOT_PARALLEL);
}

/* Slots never change while the module is loaded, so there is never an event. */
CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved) {
  if (reserved || !slot) return refuse(CKR_ARGUMENTS_BAD);
  return refuse((flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : CKR_FUNCTION_NOT_SUPPORTED);
}

/* The PKCS#11 3.0 message-based functions. */
CK_RV C_MessageEncryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  (void)s, (void)m, (void)k;
  return NOT_SUPPORTED;
}
CK_RV C_EncryptMessage(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al, CK_BYTE_PTR d,
                       CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  (void)s, (void)p, (void)pl, (void)a, (void)al, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}
CK_RV C_EncryptMessageBegin(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al) {
  (void)s, (void)p, (void)pl, (void)a, (void)al;
  return NOT_SUPPORTED;
}
CK_RV C_EncryptMessageNext(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o,
                           CK_ULONG_PTR ol, CK_FLAGS f) {
  (void)s, (void)p, (void)pl, (void)d, (void)dl, (void)o, (void)ol, (void)f;
  return NOT_SUPPORTED;
}
CK_RV C_MessageEncryptFinal(CK_SESSION_HANDLE s) {
  (void)s;
  return NOT_SUPPORTED;
}
CK_RV C_MessageDecryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  (void)s, (void)m, (void)k;
  return NOT_SUPPORTED;
}
CK_RV C_DecryptMessage(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al, CK_BYTE_PTR d,
                       CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol) {
  (void)s, (void)p, (void)pl, (void)a, (void)al, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}
CK_RV C_DecryptMessageBegin(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al) {
  (void)s, (void)p, (void)pl, (void)a, (void)al;
  return NOT_SUPPORTED;
}
CK_RV C_DecryptMessageNext(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o,
                           CK_ULONG_PTR ol, CK_FLAGS f) {
  (void)s, (void)p, (void)pl, (void)d, (void)dl, (void)o, (void)ol, (void)f;
  return NOT_SUPPORTED;
}
CK_RV C_MessageDecryptFinal(CK_SESSION_HANDLE s) {
  (void)s;
  return NOT_SUPPORTED;
}
CK_RV C_MessageSignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  (void)s, (void)m, (void)k;
  return NOT_SUPPORTED;
}
CK_RV C_SignMessage(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o,
                    CK_ULONG_PTR ol) {
  (void)s, (void)p, (void)pl, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}
CK_RV C_SignMessageBegin(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl) {
  (void)s, (void)p, (void)pl;
  return NOT_SUPPORTED;
}
CK_RV C_SignMessageNext(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o,
                        CK_ULONG_PTR ol) {
  (void)s, (void)p, (void)pl, (void)d, (void)dl, (void)o, (void)ol;
  return NOT_SUPPORTED;
}
CK_RV C_MessageSignFinal(CK_SESSION_HANDLE s) {
  (void)s;
  return NOT_SUPPORTED;
}
CK_RV C_MessageVerifyInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k) {
  (void)s, (void)m, (void)k;
  return NOT_SUPPORTED;
}
CK_RV C_VerifyMessage(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR g,
                      CK_ULONG gl) {
  (void)s, (void)p, (void)pl, (void)d, (void)dl, (void)g, (void)gl;
  return NOT_SUPPORTED;
}
CK_RV C_VerifyMessageBegin(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl) {
  (void)s, (void)p, (void)pl;
  return NOT_SUPPORTED;
}
CK_RV C_VerifyMessageNext(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR g,
                          CK_ULONG gl) {
  (void)s, (void)p, (void)pl, (void)d, (void)dl, (void)g, (void)gl;
  return NOT_SUPPORTED;
}
CK_RV C_MessageVerifyFinal(CK_SESSION_HANDLE s) {
  (void)s;
  return NOT_SUPPORTED;
}
