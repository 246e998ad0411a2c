/* Key generation, wrapping, derivation and random numbers. */
#include "api.h"
#include "call.h"

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pTemplate,
                    CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GenerateKey);
  if (rv != CKR_OK) return rv;
  if (!pMechanism || !phKey || (!pTemplate && ulCount)) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  if ((rv = p11_put_mechanism(&call, pMechanism)) != CKR_OK || (rv = p11_put_template(&call, pTemplate, ulCount)) != CKR_OK)
    return p11_call_abort(&call, rv);
  rv = p11_get_ulong_output(&call, p11_call_run(&call), phKey);
  return p11_call_end(&call, rv);
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pPublicKeyTemplate,
                        CK_ULONG ulPublicKeyAttributeCount, CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
                        CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey,
                        CK_OBJECT_HANDLE_PTR phPrivateKey) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GenerateKeyPair);
  if (rv != CKR_OK) return rv;
  if (!pMechanism || !phPublicKey || !phPrivateKey || (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
      (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount))
    return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  if ((rv = p11_put_mechanism(&call, pMechanism)) != CKR_OK ||
      (rv = p11_put_template(&call, pPublicKeyTemplate, ulPublicKeyAttributeCount)) != CKR_OK ||
      (rv = p11_put_template(&call, pPrivateKeyTemplate, ulPrivateKeyAttributeCount)) != CKR_OK)
    return p11_call_abort(&call, rv);
  rv = p11_call_run(&call);
  if (rv == CKR_OK) {
    CK_OBJECT_HANDLE public_key = p11_get_ulong(&call);
    CK_OBJECT_HANDLE private_key = p11_get_ulong(&call);
    if (!call.reader.failed) {
      p11_store_ulong(phPublicKey, public_key);
      p11_store_ulong(phPrivateKey, private_key);
    }
  }
  return p11_call_end(&call, rv);
}

CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hWrappingKey,
                CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_WrapKey);
  if (rv != CKR_OK) return rv;
  if (!pMechanism || !pulWrappedKeyLen) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  CK_ULONG capacity = pWrappedKey ? p11_load_ulong(pulWrappedKeyLen) : 0;
  p11_put_ulong(&call, hSession);
  if ((rv = p11_put_mechanism(&call, pMechanism)) != CKR_OK) return p11_call_abort(&call, rv);
  p11_put_ulong(&call, hWrappingKey);
  p11_put_ulong(&call, hKey);
  p11_put_outbuf(&call, pWrappedKey, pulWrappedKeyLen);
  rv = p11_call_run(&call);
  rv = p11_get_outbuf(&call, rv, pWrappedKey, pulWrappedKeyLen, capacity);
  return p11_call_end(&call, rv);
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hUnwrappingKey,
                  CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                  CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_UnwrapKey);
  if (rv != CKR_OK) return rv;
  if (!pMechanism || !phKey || (!pWrappedKey && ulWrappedKeyLen) || (!pTemplate && ulAttributeCount))
    return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  if ((rv = p11_put_mechanism(&call, pMechanism)) != CKR_OK) return p11_call_abort(&call, rv);
  p11_put_ulong(&call, hUnwrappingKey);
  p11_put_bytes(&call, pWrappedKey, ulWrappedKeyLen);
  if ((rv = p11_put_template(&call, pTemplate, ulAttributeCount)) != CKR_OK) return p11_call_abort(&call, rv);
  rv = p11_get_ulong_output(&call, p11_call_run(&call), phKey);
  return p11_call_end(&call, rv);
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hBaseKey,
                  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_DeriveKey);
  if (rv != CKR_OK) return rv;
  if (!pMechanism || !phKey || (!pTemplate && ulAttributeCount)) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  if ((rv = p11_put_mechanism(&call, pMechanism)) != CKR_OK) return p11_call_abort(&call, rv);
  p11_put_ulong(&call, hBaseKey);
  if ((rv = p11_put_template(&call, pTemplate, ulAttributeCount)) != CKR_OK) return p11_call_abort(&call, rv);
  rv = p11_get_ulong_output(&call, p11_call_run(&call), phKey);
  return p11_call_end(&call, rv);
}

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_SeedRandom);
  if (rv != CKR_OK) return rv;
  if (!pSeed && ulSeedLen) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  p11_put_ulong(&call, hSession);
  p11_put_secret(&call, pSeed, ulSeedLen);
  return p11_call_end(&call, p11_call_run(&call));
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData, CK_ULONG ulRandomLen) {
  struct p11_call call;
  CK_RV rv = p11_call_begin(&call, P11F_CALL_GenerateRandom);
  if (rv != CKR_OK) return rv;
  if (!pRandomData && ulRandomLen) return p11_call_abort(&call, CKR_ARGUMENTS_BAD);
  CK_ULONG produced = ulRandomLen;
  p11_put_ulong(&call, hSession);
  /* A zero-length request still reaches the runtime, which checks the session. */
  CK_BYTE none;
  p11_put_outbuf(&call, pRandomData ? pRandomData : &none, &produced);
  rv = p11_call_run(&call);
  rv = p11_get_outbuf(&call, rv, pRandomData ? pRandomData : &none, &produced, ulRandomLen);
  if (rv == CKR_OK && produced != ulRandomLen) call.reader.failed = 1;
  return p11_call_end(&call, rv);
}
