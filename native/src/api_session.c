/* Slots, tokens, mechanisms, sessions and login. */
#include "api.h"
#include "call.h"

#include <string.h>

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GetSlotList);
  if (rv != CKR_OK) return rv;
  if (!pulCount) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  CK_ULONG capacity = pSlotList ? p11_load_ulong(pulCount) : 0;
  p11_put_byte(&call, tokenPresent);
  p11_put_ulong_list(&call, pSlotList, pulCount);
  rv = p11_call_run(&call);
  rv = p11_get_ulong_list(&call, rv, pSlotList, pulCount, capacity);
  return p11_call_end(&call, rv);
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GetSlotInfo);
  if (rv != CKR_OK) return rv;
  if (!pInfo) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, slotID);
  rv = p11_call_run(&call);
  if (rv == CKR_OK) {
    CK_SLOT_INFO info;
    p11_get_fixed(&call, info.slotDescription, sizeof(info.slotDescription));
    p11_get_fixed(&call, info.manufacturerID, sizeof(info.manufacturerID));
    info.flags = p11_get_ulong(&call);
    info.hardwareVersion.major = p11_get_byte(&call);
    info.hardwareVersion.minor = p11_get_byte(&call);
    info.firmwareVersion.major = p11_get_byte(&call);
    info.firmwareVersion.minor = p11_get_byte(&call);
    if (!call.reader.failed) memcpy(pInfo, &info, sizeof(info));
  }
  return p11_call_end(&call, rv);
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GetTokenInfo);
  if (rv != CKR_OK) return rv;
  if (!pInfo) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, slotID);
  rv = p11_call_run(&call);
  if (rv == CKR_OK) {
    CK_TOKEN_INFO info;
    p11_get_fixed(&call, info.label, sizeof(info.label));
    p11_get_fixed(&call, info.manufacturerID, sizeof(info.manufacturerID));
    p11_get_fixed(&call, info.model, sizeof(info.model));
    p11_get_fixed(&call, info.serialNumber, sizeof(info.serialNumber));
    info.flags = p11_get_ulong(&call);
    info.ulMaxSessionCount = p11_get_ulong(&call);
    info.ulSessionCount = p11_get_ulong(&call);
    info.ulMaxRwSessionCount = p11_get_ulong(&call);
    info.ulRwSessionCount = p11_get_ulong(&call);
    info.ulMaxPinLen = p11_get_ulong(&call);
    info.ulMinPinLen = p11_get_ulong(&call);
    info.ulTotalPublicMemory = p11_get_ulong(&call);
    info.ulFreePublicMemory = p11_get_ulong(&call);
    info.ulTotalPrivateMemory = p11_get_ulong(&call);
    info.ulFreePrivateMemory = p11_get_ulong(&call);
    info.hardwareVersion.major = p11_get_byte(&call);
    info.hardwareVersion.minor = p11_get_byte(&call);
    info.firmwareVersion.major = p11_get_byte(&call);
    info.firmwareVersion.minor = p11_get_byte(&call);
    p11_get_fixed(&call, info.utcTime, sizeof(info.utcTime));
    if (!call.reader.failed) memcpy(pInfo, &info, sizeof(info));
  }
  return p11_call_end(&call, rv);
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GetMechanismList);
  if (rv != CKR_OK) return rv;
  if (!pulCount) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  CK_ULONG capacity = pMechanismList ? p11_load_ulong(pulCount) : 0;
  p11_put_ulong(&call, slotID);
  p11_put_ulong_list(&call, pMechanismList, pulCount);
  rv = p11_call_run(&call);
  rv = p11_get_ulong_list(&call, rv, pMechanismList, pulCount, capacity);
  return p11_call_end(&call, rv);
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GetMechanismInfo);
  if (rv != CKR_OK) return rv;
  if (!pInfo) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, slotID);
  p11_put_ulong(&call, type);
  rv = p11_call_run(&call);
  if (rv == CKR_OK) {
    CK_MECHANISM_INFO info;
    info.ulMinKeySize = p11_get_ulong(&call);
    info.ulMaxKeySize = p11_get_ulong(&call);
    info.flags = p11_get_ulong(&call);
    if (!call.reader.failed) memcpy(pInfo, &info, sizeof(info));
  }
  return p11_call_end(&call, rv);
}

CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_InitToken);
  if (rv != CKR_OK) return rv;
  if (!pLabel || (!pPin && ulPinLen)) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, slotID);
  p11_put_secret(&call, pPin, ulPinLen);
  p11_put_fixed(&call, pLabel, 32);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_InitPIN);
  if (rv != CKR_OK) return rv;
  if (!pPin && ulPinLen) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_secret(&call, pPin, ulPinLen);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin,
               CK_ULONG ulNewLen) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_SetPIN);
  if (rv != CKR_OK) return rv;
  if ((!pOldPin && ulOldLen) || (!pNewPin && ulNewLen)) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_secret(&call, pOldPin, ulOldLen);
  p11_put_secret(&call, pNewPin, ulNewLen);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                    CK_SESSION_HANDLE_PTR phSession) {
  /* pApplication and Notify stay on this side: the token never sends notifications. */
  (void)pApplication;
  (void)Notify;
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_OpenSession);
  if (rv != CKR_OK) return rv;
  if (!phSession) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, slotID);
  p11_put_ulong(&call, flags);
  rv = p11_get_ulong_output(&call, p11_call_run(&call), phSession);
  return p11_call_end(&call, rv);
}

/* Calls whose only argument is a handle and which return nothing. */
static CK_RV call_with_handle(enum p11f_call function, CK_ULONG handle) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, function);
  if (rv != CKR_OK) return rv;
  p11_put_ulong(&call, handle);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession) { return call_with_handle(P11F_CALL_CloseSession, hSession); }

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID) { return call_with_handle(P11F_CALL_CloseAllSessions, slotID); }

CK_RV C_Logout(CK_SESSION_HANDLE hSession) { return call_with_handle(P11F_CALL_Logout, hSession); }

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GetSessionInfo);
  if (rv != CKR_OK) return rv;
  if (!pInfo) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  rv = p11_call_run(&call);
  if (rv == CKR_OK) {
    CK_SESSION_INFO info;
    info.slotID = p11_get_ulong(&call);
    info.state = p11_get_ulong(&call);
    info.flags = p11_get_ulong(&call);
    info.ulDeviceError = p11_get_ulong(&call);
    if (!call.reader.failed) memcpy(pInfo, &info, sizeof(info));
  }
  return p11_call_end(&call, rv);
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_Login);
  if (rv != CKR_OK) return rv;
  /* A NULL PIN is legal: it asks for the protected authentication path. */
  if (!pPin && ulPinLen) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_ulong(&call, userType);
  p11_put_secret(&call, pPin, ulPinLen);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                  CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_LoginUser);
  if (rv != CKR_OK) return rv;
  if ((!pPin && ulPinLen) || !pUsername) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_ulong(&call, userType);
  p11_put_secret(&call, pPin, ulPinLen);
  p11_put_bytes(&call, pUsername, ulUsernameLen);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_SessionCancel);
  if (rv != CKR_OK) return rv;
  p11_put_ulong(&call, hSession);
  p11_put_ulong(&call, flags);
  return p11_call_end(&call, p11_call_run(&call));
}
