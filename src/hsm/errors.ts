import * as pkcs11 from 'pkcs11js';

/**
 * Failures that do not come from the vendor library but from our own checks. They get
 * names of their own, not a made-up CK_RV, so a log never blames the HSM for our refusal.
 */
export type HsmLocalCode =
  | 'NOT_FOUND' // no object with that label
  | 'ALREADY_EXISTS' // a label is taken (labels are unique per slot and class)
  | 'NOT_SUPPORTED' // the token lacks the mechanism, or the probe found no usable variant
  | 'INVALID_ARGUMENT' // a key size, IV or ciphertext the caller got wrong
  | 'CONFIG' // library path, environment, or slot list
  | 'CLOSED'; // the instance was closed

/** A CK_RV name such as CKR_PIN_INCORRECT, or one of the local codes above. */
export type HsmErrorCode = HsmLocalCode | `CKR_${string}`;

const CKR_NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(pkcs11)) {
    if (name.startsWith('CKR_') && typeof value === 'number' && !names.has(value)) names.set(value, name);
  }
  return names;
})();

/** CKR_PIN_INCORRECT for 0xa0; vendor-defined values keep their hex. */
export function ckrName(rv: number): `CKR_${string}` {
  const name = CKR_NAMES.get(rv);
  return name ? (name as `CKR_${string}`) : `CKR_0x${rv.toString(16)}`;
}

export interface HsmErrorContext {
  /** The PKCS#11 function or our own step, e.g. C_Login, createAesKey. */
  operation: string;
  slot?: number;
  label?: string;
  /** The CK_RV when the vendor library returned one. */
  rv?: number;
}

/**
 * Every failure of the HSM layer. The message names the slot, the operation and the CK_RV,
 * because "CKR_PIN_INCORRECT" alone does not tell an operator which of three tokens to fix.
 */
export class HsmError extends Error {
  override readonly name = 'HsmError';
  readonly operation: string;
  readonly slot: number | undefined;
  readonly label: string | undefined;
  readonly rv: number | undefined;

  constructor(readonly code: HsmErrorCode, context: HsmErrorContext, detail?: string) {
    super(describe(code, context, detail));
    this.operation = context.operation;
    this.slot = context.slot;
    this.label = context.label;
    this.rv = context.rv;
  }
}

function describe(code: HsmErrorCode, c: HsmErrorContext, detail: string | undefined): string {
  const where = [c.slot !== undefined ? `HSM slot ${c.slot}` : 'HSM', c.label !== undefined ? `key "${c.label}"` : undefined]
    .filter((s) => s !== undefined)
    .join(', ');
  const rv = c.rv !== undefined ? ` (0x${c.rv.toString(16)})` : '';
  return `${where}: ${c.operation} failed: ${code}${rv}${detail ? ` — ${detail}` : ''}`;
}

/** pkcs11js throws Pkcs11Error (with a CK_RV) or NativeError (library load, bad arguments). */
function rvOf(e: unknown): number | undefined {
  if (e instanceof pkcs11.Pkcs11Error) return e.code;
  return undefined;
}

/** Wraps whatever a pkcs11js call threw into an HsmError that says where it happened. */
export function toHsmError(e: unknown, context: Omit<HsmErrorContext, 'rv'>): HsmError {
  if (e instanceof HsmError) return e;
  const rv = rvOf(e);
  if (rv !== undefined) return new HsmError(ckrName(rv), { ...context, rv });
  const message = e instanceof Error ? e.message : String(e);
  return new HsmError('CKR_GENERAL_ERROR', context, message);
}

/** The CK_RV of a pkcs11js failure, for the few places that tolerate a specific one. */
export function pkcs11Rv(e: unknown): number | undefined {
  return rvOf(e);
}

/** The KMIP ResultReason the server answers with; spelled as in src/kmip/enums.ts. */
export type HsmFailureReason =
  | 'Item_Not_Found'
  | 'Object_Already_Exists'
  | 'Permission_Denied'
  | 'Authentication_Not_Successful'
  | 'Sensitive'
  | 'Cryptographic_Failure'
  | 'Bad_Cryptographic_Parameters'
  | 'Invalid_Field'
  | 'Feature_Not_Supported'
  | 'Protection_Storage_Unavailable'
  | 'General_Failure';

const REASON_BY_CODE: Readonly<Record<string, HsmFailureReason>> = {
  NOT_FOUND: 'Item_Not_Found',
  ALREADY_EXISTS: 'Object_Already_Exists',
  NOT_SUPPORTED: 'Feature_Not_Supported',
  INVALID_ARGUMENT: 'Invalid_Field',
  CONFIG: 'Protection_Storage_Unavailable',
  CLOSED: 'Protection_Storage_Unavailable',
  CKR_OBJECT_HANDLE_INVALID: 'Item_Not_Found',
  CKR_KEY_HANDLE_INVALID: 'Item_Not_Found',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'Permission_Denied',
  CKR_ACTION_PROHIBITED: 'Permission_Denied',
  CKR_USER_NOT_LOGGED_IN: 'Permission_Denied',
  CKR_PIN_INCORRECT: 'Authentication_Not_Successful',
  CKR_PIN_LOCKED: 'Authentication_Not_Successful',
  CKR_PIN_EXPIRED: 'Authentication_Not_Successful',
  CKR_ATTRIBUTE_SENSITIVE: 'Sensitive',
  CKR_KEY_UNEXTRACTABLE: 'Sensitive',
  CKR_ENCRYPTED_DATA_INVALID: 'Cryptographic_Failure',
  CKR_ENCRYPTED_DATA_LEN_RANGE: 'Cryptographic_Failure',
  CKR_SIGNATURE_INVALID: 'Cryptographic_Failure',
  CKR_DATA_LEN_RANGE: 'Invalid_Field',
  CKR_DATA_INVALID: 'Invalid_Field',
  CKR_MECHANISM_INVALID: 'Bad_Cryptographic_Parameters',
  CKR_MECHANISM_PARAM_INVALID: 'Bad_Cryptographic_Parameters',
  CKR_ARGUMENTS_BAD: 'Bad_Cryptographic_Parameters',
  CKR_KEY_TYPE_INCONSISTENT: 'Bad_Cryptographic_Parameters',
  CKR_KEY_SIZE_RANGE: 'Bad_Cryptographic_Parameters',
  CKR_SLOT_ID_INVALID: 'Protection_Storage_Unavailable',
  CKR_TOKEN_NOT_PRESENT: 'Protection_Storage_Unavailable',
  CKR_DEVICE_ERROR: 'Protection_Storage_Unavailable',
  CKR_DEVICE_REMOVED: 'Protection_Storage_Unavailable',
  CKR_SESSION_HANDLE_INVALID: 'Protection_Storage_Unavailable',
  CKR_CRYPTOKI_NOT_INITIALIZED: 'Protection_Storage_Unavailable',
};

/**
 * The KMIP ResultReason for an HSM failure. A failed GCM tag check is a
 * Cryptographic_Failure whatever the vendor calls it: SoftHSM2 2.6.1 reports a bad tag
 * as CKR_GENERAL_ERROR, so decrypt() maps that case itself before it reaches here.
 */
export function hsmErrorReason(e: unknown): HsmFailureReason {
  if (!(e instanceof HsmError)) return 'General_Failure';
  return REASON_BY_CODE[e.code] ?? 'General_Failure';
}
