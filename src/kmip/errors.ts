/**
 * Typed KMIP failures. Every error that crosses a KMIP boundary carries a ResultReason
 * (Cosmian spelling, e.g. "Item_Not_Found"), so the server can put it in a BatchItem and
 * the client can hand it back to callers who map it to a PKCS#11 CK_RV.
 */

export type ResultReason =
  | 'Item_Not_Found'
  | 'Response_Too_Large'
  | 'Authentication_Not_Successful'
  | 'Invalid_Message'
  | 'Operation_Not_Supported'
  | 'Missing_Data'
  | 'Invalid_Field'
  | 'Feature_Not_Supported'
  | 'Cryptographic_Failure'
  | 'Permission_Denied'
  | 'Object_Archived'
  | 'Key_Format_Type_Not_Supported'
  | 'Key_Compression_Type_Not_Supported'
  | 'Key_Value_Not_Present'
  | 'Sensitive'
  | 'Not_Extractable'
  | 'Object_Already_Exists'
  | 'Invalid_Data_Type'
  | 'Attribute_Not_Found'
  | 'Attribute_Read_Only'
  | 'Attribute_Single_Valued'
  | 'Bad_Cryptographic_Parameters'
  | 'Bad_Password'
  | 'Codec_Error'
  | 'Illegal_Object_Type'
  | 'Incompatible_Cryptographic_Usage_Mask'
  | 'Internal_Server_Error'
  | 'Invalid_Attribute'
  | 'Invalid_Attribute_Value'
  | 'Invalid_Object_Type'
  | 'Missing_Initialization_Vector'
  | 'Object_Destroyed'
  | 'Object_Not_Found'
  | 'Not_Authorised'
  | 'Server_Limit_Exceeded'
  | 'Unknown_Enumeration'
  | 'Unknown_Tag'
  | 'Unsupported_Cryptographic_Parameters'
  | 'Unsupported_Protocol_Version'
  | 'Wrong_Key_Lifecycle_State'
  | 'General_Failure';

export class KmipError extends Error {
  override readonly name: string = 'KmipError';
  constructor(
    readonly reason: ResultReason | string,
    message: string,
    /** HTTP status to use when the failure is answered outside a RequestMessage. */
    readonly httpStatus = 422,
    /** Why, in p11kms's words, when the message is Cosmian's terser one: for the server log only. */
    readonly detail?: string,
  ) {
    super(message);
  }

  /** Cosmian's text form of a failed bare operation: "Reason: message". */
  toText(): string {
    return `${this.reason}: ${this.message}`;
  }
}

/**
 * A failure Cosmian raises as one of its server errors rather than as a KMIP error
 * (KmsError::InvalidRequest and the like, crate/server/src/error.rs): its RequestMessage batch
 * item says Operation_Not_Supported with the error's text (core/operations/message.rs), and
 * the bare /kmip/2_1 answer is that text alone, without a reason in front
 * (routes/mod.rs, ResponseError::error_response).
 */
export class KmipServerError extends KmipError {
  override readonly name: string = 'KmipServerError';
  constructor(message: string, detail?: string) {
    super('Operation_Not_Supported', message, 422, detail);
  }

  override toText(): string {
    return this.message;
  }
}

/** A decoding failure: the bytes or JSON did not form valid TTLV. */
export class TtlvCodecError extends KmipError {
  override readonly name: string = 'TtlvCodecError';
  constructor(message: string) {
    super('Codec_Error', message);
  }
}

/** Transport-level failure on the client side: connect refused, timeout, TLS. */
export class KmipTransportError extends Error {
  override readonly name = 'KmipTransportError';
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

export const fail = {
  notFound: (id: string): KmipError => COSMIAN_FAILURES.objectNotFound(id),
  invalidField: (msg: string): KmipError => new KmipError('Invalid_Field', msg),
  missing: (what: string): KmipError => new KmipError('Missing_Data', `missing ${what}`),
  notSupported: (msg: string): KmipError => new KmipError('Operation_Not_Supported', msg),
  crypto: (msg: string): KmipError => new KmipError('Cryptographic_Failure', msg),
  badParams: (msg: string): KmipError => new KmipError('Bad_Cryptographic_Parameters', msg),
  state: (msg: string): KmipError => new KmipError('Wrong_Key_Lifecycle_State', msg),
  denied: (msg: string): KmipError => new KmipError('Permission_Denied', msg),
};

/**
 * The failures client code written for Cosmian KMS matches on, answered with Cosmian's
 * ResultReason and message text (Cosmian/kms, crate/server/src; test/server/cosmian-errors.test.ts
 * cites each source). Where Cosmian's text is terse, p11kms's explanation goes in `detail`,
 * which the server logs and never sends.
 */
export const COSMIAN_FAILURES = {
  /** core/retrieve_object_utils.rs, retrieve_object_for_operation: no object of that UID the caller may use. */
  objectNotFound: (uid: string, detail?: string): KmipError =>
    new KmipError('Object_Not_Found', `object not found for identifier ${uid}`, 422, detail),
  /**
   * core/operations (CryptoOpSpec::map_selection_error): Encrypt, Decrypt, Sign,
   * SignatureVerify, MAC and MACVerify find no usable key: none of that UID, or not in a state
   * the operation accepts, or a usage mask that does not allow it.
   */
  noValidKey: (operation: string, uid: string, detail?: string): KmipError =>
    new KmipError('Item_Not_Found', `${operation}: no valid key for id: ${uid}`, 422, detail),
  /** core/operations/export_get.rs: Get or Export of a destroyed object (KMIP vector BL-M-8-21's "DENIED"). */
  objectDestroyed: (detail?: string): KmipError => new KmipError('Object_Destroyed', 'DENIED', 422, detail),
  /** core/operations/destroy.rs: an Active object is revoked before it is destroyed. */
  activeNotDestroyable: (uid: string): KmipError =>
    new KmipError('Wrong_Key_Lifecycle_State', `Object with unique identifier: ${uid} is active. It must be revoked first`),
  /** core/operations/encrypt.rs: Encrypt without Data is KmsError::InvalidRequest. */
  missingData: (operation: string, what: string): KmipError =>
    new KmipServerError(`Invalid Request: ${operation}: ${what} must be provided`),
} as const;

/** Cosmian's noValidKey text: a key the operation cannot use, as opposed to no object at all. */
export function isNoValidKey(e: KmipError): boolean {
  return e.reason === 'Item_Not_Found' && /^[A-Za-z]+: no valid key for id: /.test(e.message);
}

/** The ResultReasons a key lookup for a cryptographic operation folds into noValidKey, as Cosmian does. */
export const NO_VALID_KEY_REASONS: ReadonlySet<string> = new Set([
  'Object_Not_Found', 'Item_Not_Found', 'Object_Destroyed', 'Wrong_Key_Lifecycle_State', 'Incompatible_Cryptographic_Usage_Mask',
]);
