/* Objects: creation, attributes and search. */
#include "api.h"
#include "call.h"

#include <stdlib.h>

CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                     CK_OBJECT_HANDLE_PTR phObject) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_CreateObject);
  if (rv != CKR_OK) return rv;
  if (!phObject || (!pTemplate && ulCount)) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  rv = p11_put_template(&call, pTemplate, ulCount);
  if (rv != CKR_OK) return p11_call_abort(&call, rv);
  rv = p11_get_ulong_output(&call, p11_call_run(&call), phObject);
  return p11_call_end(&call, rv);
}

CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                   CK_OBJECT_HANDLE_PTR phNewObject) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_CopyObject);
  if (rv != CKR_OK) return rv;
  if (!phNewObject || (!pTemplate && ulCount)) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_ulong(&call, hObject);
  rv = p11_put_template(&call, pTemplate, ulCount);
  if (rv != CKR_OK) return p11_call_abort(&call, rv);
  rv = p11_get_ulong_output(&call, p11_call_run(&call), phNewObject);
  return p11_call_end(&call, rv);
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_DestroyObject);
  if (rv != CKR_OK) return rv;
  p11_put_ulong(&call, hSession);
  p11_put_ulong(&call, hObject);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GetObjectSize);
  if (rv != CKR_OK) return rv;
  if (!pulSize) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_ulong(&call, hObject);
  rv = p11_get_ulong_output(&call, p11_call_run(&call), pulSize);
  return p11_call_end(&call, rv);
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                          CK_ULONG ulCount) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GetAttributeValue);
  if (rv != CKR_OK) return rv;
  if (!pTemplate && ulCount) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_ulong(&call, hObject);
  /* First, as it bounds ulCount: a huge count must be refused, not allocated. */
  rv = p11_put_query(&call, pTemplate, ulCount);
  if (rv != CKR_OK) return p11_call_abort(&call, rv);
  /* The caller's capacities are copied before anything is written back, so that a
   * check against them can never read a length this call has already replaced. */
  CK_ULONG *capacities = calloc(ulCount ? ulCount : 1, sizeof(CK_ULONG));
  if (!capacities) return p11_call_abort(&call, CKR_HOST_MEMORY);
  for (CK_ULONG i = 0; i < ulCount; i++) capacities[i] = pTemplate[i].pValue ? pTemplate[i].ulValueLen : 0;
  rv = p11_call_run(&call);
  if (rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
      rv == CKR_BUFFER_TOO_SMALL) {
    if (p11_get_query_result(&call, pTemplate, ulCount, capacities) != CKR_OK) rv = CKR_DEVICE_ERROR;
  }
  free(capacities);
  return p11_call_end(&call, rv);
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                          CK_ULONG ulCount) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_SetAttributeValue);
  if (rv != CKR_OK) return rv;
  if (!pTemplate && ulCount) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_ulong(&call, hObject);
  rv = p11_put_template(&call, pTemplate, ulCount);
  if (rv != CKR_OK) return p11_call_abort(&call, rv);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_FindObjectsInit);
  if (rv != CKR_OK) return rv;
  if (!pTemplate && ulCount) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  rv = p11_put_template(&call, pTemplate, ulCount);
  if (rv != CKR_OK) return p11_call_abort(&call, rv);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount,
                    CK_ULONG_PTR pulObjectCount) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_FindObjects);
  if (rv != CKR_OK) return rv;
  if (!phObject || !pulObjectCount) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_ulong_list(&call, phObject, &ulMaxObjectCount);
  rv = p11_call_run(&call);
  rv = p11_get_ulong_list(&call, rv, phObject, pulObjectCount, ulMaxObjectCount);
  return p11_call_end(&call, rv);
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_FindObjectsFinal);
  if (rv != CKR_OK) return rv;
  p11_put_ulong(&call, hSession);
  return p11_call_end(&call, p11_call_run(&call));
}
