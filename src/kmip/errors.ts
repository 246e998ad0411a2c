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
  ) {
    super(message);
  }

  /** Cosmian's text form of a failed bare operation: "Reason: message". */
  toText(): string {
    return `${this.reason}: ${this.message}`;
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
  notFound: (id: string): KmipError => new KmipError('Item_Not_Found', `object not found for identifier ${id}`),
  invalidField: (msg: string): KmipError => new KmipError('Invalid_Field', msg),
  missing: (what: string): KmipError => new KmipError('Missing_Data', `missing ${what}`),
  notSupported: (msg: string): KmipError => new KmipError('Operation_Not_Supported', msg),
  crypto: (msg: string): KmipError => new KmipError('Cryptographic_Failure', msg),
  badParams: (msg: string): KmipError => new KmipError('Bad_Cryptographic_Parameters', msg),
  state: (msg: string): KmipError => new KmipError('Wrong_Key_Lifecycle_State', msg),
  denied: (msg: string): KmipError => new KmipError('Permission_Denied', msg),
};
