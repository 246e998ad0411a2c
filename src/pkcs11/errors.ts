import { isNoValidKey, KmipError, KmipTransportError } from '../kmip/errors';
import { CKR } from './constants';

/** A PKCS#11 failure with its CK_RV. The message goes to the module log only. */
export class Pkcs11Error extends Error {
  constructor(readonly rv: number, message: string) {
    super(message);
  }
}

export function fail(rv: number, message: string): never {
  throw new Pkcs11Error(rv, message);
}

/** What a KMIP failure was about: it decides between e.g. OBJECT_ and KEY_HANDLE_INVALID. */
export type FailureSubject = 'object' | 'key' | 'login' | 'decrypt' | 'verify' | 'create';

/**
 * The one map from KMIP ResultReason to CK_RV. A missing object becomes an invalid
 * handle, a refused permission a forbidden key function, an unreachable KMS a device
 * error; nothing is flattened into CKR_GENERAL_ERROR.
 */
const BY_REASON: Readonly<Record<string, number | Partial<Record<FailureSubject | 'default', number>>>> = {
  Item_Not_Found: { key: CKR.KEY_HANDLE_INVALID, default: CKR.OBJECT_HANDLE_INVALID },
  Object_Not_Found: { key: CKR.KEY_HANDLE_INVALID, default: CKR.OBJECT_HANDLE_INVALID },
  Object_Destroyed: { key: CKR.KEY_HANDLE_INVALID, default: CKR.OBJECT_HANDLE_INVALID },
  Object_Archived: { key: CKR.KEY_HANDLE_INVALID, default: CKR.OBJECT_HANDLE_INVALID },
  Permission_Denied: { object: CKR.ACTION_PROHIBITED, create: CKR.ACTION_PROHIBITED, default: CKR.KEY_FUNCTION_NOT_PERMITTED },
  Not_Authorised: { object: CKR.ACTION_PROHIBITED, create: CKR.ACTION_PROHIBITED, default: CKR.KEY_FUNCTION_NOT_PERMITTED },
  Authentication_Not_Successful: { login: CKR.PIN_INCORRECT, default: CKR.USER_NOT_LOGGED_IN },
  Incompatible_Cryptographic_Usage_Mask: CKR.KEY_FUNCTION_NOT_PERMITTED,
  Wrong_Key_Lifecycle_State: CKR.KEY_FUNCTION_NOT_PERMITTED,
  Sensitive: CKR.KEY_UNEXTRACTABLE,
  Not_Extractable: CKR.KEY_UNEXTRACTABLE,
  Bad_Cryptographic_Parameters: CKR.MECHANISM_PARAM_INVALID,
  Unsupported_Cryptographic_Parameters: CKR.MECHANISM_PARAM_INVALID,
  Missing_Initialization_Vector: CKR.MECHANISM_PARAM_INVALID,
  Cryptographic_Failure: { decrypt: CKR.ENCRYPTED_DATA_INVALID, verify: CKR.SIGNATURE_INVALID, default: CKR.FUNCTION_FAILED },
  Invalid_Field: { decrypt: CKR.ENCRYPTED_DATA_LEN_RANGE, create: CKR.TEMPLATE_INCONSISTENT, default: CKR.DATA_LEN_RANGE },
  Invalid_Attribute: CKR.TEMPLATE_INCONSISTENT,
  Invalid_Attribute_Value: CKR.ATTRIBUTE_VALUE_INVALID,
  Attribute_Read_Only: CKR.ATTRIBUTE_READ_ONLY,
  Object_Already_Exists: CKR.ATTRIBUTE_VALUE_INVALID,
  Key_Format_Type_Not_Supported: CKR.TEMPLATE_INCONSISTENT,
  Invalid_Object_Type: { key: CKR.KEY_TYPE_INCONSISTENT, default: CKR.TEMPLATE_INCONSISTENT },
  Illegal_Object_Type: { key: CKR.KEY_TYPE_INCONSISTENT, default: CKR.TEMPLATE_INCONSISTENT },
  Operation_Not_Supported: CKR.FUNCTION_FAILED,
  Feature_Not_Supported: CKR.FUNCTION_FAILED,
  Server_Limit_Exceeded: CKR.DEVICE_MEMORY,
  Response_Too_Large: CKR.DEVICE_MEMORY,
};

export function rvForKmipFailure(e: unknown, subject: FailureSubject): number {
  if (e instanceof Pkcs11Error) return e.rv;
  if (e instanceof KmipTransportError) return CKR.DEVICE_ERROR;
  if (e instanceof KmipError) {
    // The module names a key it has already found: the KMS refusing it for this operation (its
    // state or usage mask, in Cosmian's words "no valid key") is a forbidden function, not a bad handle.
    if (isNoValidKey(e)) return CKR.KEY_FUNCTION_NOT_PERMITTED;
    const entry = BY_REASON[e.reason];
    if (typeof entry === 'number') return entry;
    if (entry) return entry[subject] ?? entry.default ?? CKR.FUNCTION_FAILED;
    return CKR.DEVICE_ERROR;
  }
  return CKR.FUNCTION_FAILED;
}

/** Wraps a KMIP failure as a Pkcs11Error, keeping the KMS's words for the log. */
export function kmipFailure(e: unknown, subject: FailureSubject): Pkcs11Error {
  if (e instanceof Pkcs11Error) return e;
  const reason = e instanceof KmipError ? `${e.reason}: ${e.message}` : e instanceof Error ? e.message : String(e);
  return new Pkcs11Error(rvForKmipFailure(e, subject), reason);
}
