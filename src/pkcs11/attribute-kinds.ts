/**
 * The one table of PKCS#11 attribute value kinds, and the codec between an attribute's raw
 * host bytes (as the C shim copies them out of CK_ATTRIBUTE.pValue) and a typed value.
 *
 * The shim does not interpret values: it sends ulValueLen bytes exactly as the application
 * laid them out, so a CK_ULONG arrives in host byte order and host width. On x86_64 Linux
 * that is 8 bytes little-endian; ulongSize (4 or 8) and the byte order are parameters so the
 * same code serves 32-bit and big-endian hosts and the tests can cover both widths.
 *
 * Nested templates (CKA_WRAP_TEMPLATE & co.) hold pointers in C, so the frame decoder splits
 * them into nested Attribute lists; this codec never sees their bytes.
 */

import { CKA, CK_UNAVAILABLE, attributeName } from './constants';

export type AttributeKind = 'ulong' | 'bool' | 'string' | 'bytes' | 'date' | 'mechanisms' | 'template';

export type AttributeValue =
  /** A CK_ULONG. -1 is CK_UNAVAILABLE_INFORMATION (all ones at the host width). */
  | { kind: 'ulong'; value: number }
  /** A CK_BBOOL. */
  | { kind: 'bool'; value: boolean }
  /** CK_UTF8CHAR[], no NUL terminator. */
  | { kind: 'string'; value: string }
  | { kind: 'bytes'; value: Uint8Array }
  /** CK_DATE as 'YYYYMMDD', or '' for the empty date (ulValueLen 0). */
  | { kind: 'date'; value: string }
  /** CK_MECHANISM_TYPE[]. */
  | { kind: 'mechanisms'; value: number[] }
  | { kind: 'template'; value: Attribute[] };

export interface Attribute {
  type: number;
  value: AttributeValue;
}

/** A value whose bytes cannot be what its attribute type says; maps to CKR_ATTRIBUTE_VALUE_INVALID. */
export class TemplateValueError extends Error {
  readonly attributeType: number;

  constructor(attributeType: number, message: string) {
    super(`${attributeName(attributeType)}: ${message}`);
    this.name = 'TemplateValueError';
    this.attributeType = attributeType;
  }
}

const KIND_LIST: ReadonlyArray<readonly [AttributeKind, readonly number[]]> = [
  [
    'ulong',
    [
      CKA.CLASS,
      CKA.CERTIFICATE_TYPE,
      CKA.CERTIFICATE_CATEGORY,
      CKA.JAVA_MIDP_SECURITY_DOMAIN,
      CKA.NAME_HASH_ALGORITHM,
      CKA.KEY_TYPE,
      CKA.MODULUS_BITS,
      CKA.PRIME_BITS,
      CKA.SUBPRIME_BITS,
      CKA.VALUE_BITS,
      CKA.VALUE_LEN,
      CKA.KEY_GEN_MECHANISM,
      CKA.AUTH_PIN_FLAGS,
      CKA.OTP_FORMAT,
      CKA.OTP_LENGTH,
      CKA.OTP_TIME_INTERVAL,
      CKA.OTP_CHALLENGE_REQUIREMENT,
      CKA.OTP_TIME_REQUIREMENT,
      CKA.OTP_COUNTER_REQUIREMENT,
      CKA.OTP_PIN_REQUIREMENT,
      CKA.HW_FEATURE_TYPE,
      CKA.PIXEL_X,
      CKA.PIXEL_Y,
      CKA.RESOLUTION,
      CKA.CHAR_ROWS,
      CKA.CHAR_COLUMNS,
      CKA.BITS_PER_PIXEL,
      CKA.MECHANISM_TYPE,
      CKA.PROFILE_ID,
    ],
  ],
  [
    'bool',
    [
      CKA.TOKEN,
      CKA.PRIVATE,
      CKA.TRUSTED,
      CKA.SENSITIVE,
      CKA.ENCRYPT,
      CKA.DECRYPT,
      CKA.WRAP,
      CKA.UNWRAP,
      CKA.SIGN,
      CKA.SIGN_RECOVER,
      CKA.VERIFY,
      CKA.VERIFY_RECOVER,
      CKA.DERIVE,
      CKA.EXTRACTABLE,
      CKA.LOCAL,
      CKA.NEVER_EXTRACTABLE,
      CKA.ALWAYS_SENSITIVE,
      CKA.MODIFIABLE,
      CKA.COPYABLE,
      CKA.DESTROYABLE,
      CKA.SECONDARY_AUTH,
      CKA.ALWAYS_AUTHENTICATE,
      CKA.WRAP_WITH_TRUSTED,
      CKA.OTP_USER_FRIENDLY_MODE,
      CKA.RESET_ON_INIT,
      CKA.HAS_RESET,
      CKA.COLOR,
    ],
  ],
  [
    'string',
    [
      CKA.LABEL,
      CKA.UNIQUE_ID,
      CKA.APPLICATION,
      CKA.URL,
      CKA.OTP_USER_IDENTIFIER,
      CKA.OTP_SERVICE_IDENTIFIER,
      CKA.OTP_SERVICE_LOGO_TYPE,
      CKA.CHAR_SETS,
      CKA.ENCODING_METHODS,
      CKA.MIME_TYPES,
    ],
  ],
  [
    'bytes',
    [
      CKA.VALUE,
      CKA.OBJECT_ID,
      CKA.ISSUER,
      CKA.SERIAL_NUMBER,
      CKA.AC_ISSUER,
      CKA.OWNER,
      CKA.ATTR_TYPES,
      CKA.HASH_OF_SUBJECT_PUBLIC_KEY,
      CKA.HASH_OF_ISSUER_PUBLIC_KEY,
      CKA.CHECK_VALUE,
      CKA.SUBJECT,
      CKA.ID,
      CKA.MODULUS,
      CKA.PUBLIC_EXPONENT,
      CKA.PRIVATE_EXPONENT,
      CKA.PRIME_1,
      CKA.PRIME_2,
      CKA.EXPONENT_1,
      CKA.EXPONENT_2,
      CKA.COEFFICIENT,
      CKA.PUBLIC_KEY_INFO,
      CKA.PRIME,
      CKA.SUBPRIME,
      CKA.BASE,
      CKA.EC_PARAMS,
      CKA.EC_POINT,
      CKA.OTP_COUNTER,
      CKA.OTP_TIME,
      CKA.OTP_SERVICE_LOGO,
      CKA.GOSTR3410_PARAMS,
      CKA.GOSTR3411_PARAMS,
      CKA.GOST28147_PARAMS,
      CKA.REQUIRED_CMS_ATTRIBUTES,
      CKA.DEFAULT_CMS_ATTRIBUTES,
      CKA.SUPPORTED_CMS_ATTRIBUTES,
    ],
  ],
  ['date', [CKA.START_DATE, CKA.END_DATE]],
  ['mechanisms', [CKA.ALLOWED_MECHANISMS]],
  ['template', [CKA.WRAP_TEMPLATE, CKA.UNWRAP_TEMPLATE, CKA.DERIVE_TEMPLATE]],
];

/** Attribute type -> kind. Types not listed (vendor-defined included) are 'bytes'. */
export const ATTRIBUTE_KINDS: ReadonlyMap<number, AttributeKind> = (() => {
  const kinds = new Map<number, AttributeKind>();
  for (const [kind, types] of KIND_LIST) {
    for (const type of types) {
      const previous = kinds.get(type);
      if (previous !== undefined && previous !== kind) {
        throw new Error(`attribute-kinds: ${attributeName(type)} listed as both ${previous} and ${kind}`);
      }
      kinds.set(type, kind);
    }
  }
  return kinds;
})();

export function attributeKind(type: number): AttributeKind {
  return ATTRIBUTE_KINDS.get(type) ?? 'bytes';
}

function checkUlongSize(ulongSize: number): void {
  if (ulongSize !== 4 && ulongSize !== 8) throw new RangeError(`ulongSize must be 4 or 8, got ${ulongSize}`);
}

/**
 * One CK_ULONG. All ones (CK_UNAVAILABLE_INFORMATION) becomes -1. Any other value above
 * Number.MAX_SAFE_INTEGER cannot be held exactly in a number and no PKCS#11 attribute defines
 * one, so it is rejected rather than rounded.
 */
function readUlong(type: number, view: DataView, offset: number, ulongSize: number, littleEndian: boolean): number {
  if (ulongSize === 4) {
    const v = view.getUint32(offset, littleEndian);
    return v === 0xffffffff ? CK_UNAVAILABLE : v;
  }
  const v = view.getBigUint64(offset, littleEndian);
  if (v === 0xffffffffffffffffn) return CK_UNAVAILABLE;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TemplateValueError(type, `CK_ULONG 0x${v.toString(16)} is above 2^53-1`);
  }
  return Number(v);
}

function writeUlong(view: DataView, offset: number, value: number, ulongSize: number, littleEndian: boolean): void {
  if (value === CK_UNAVAILABLE) {
    for (let i = 0; i < ulongSize; i++) view.setUint8(offset + i, 0xff);
    return;
  }
  const max = ulongSize === 4 ? 0xffffffff : Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${value} is not a ${ulongSize}-byte CK_ULONG (use -1 for CK_UNAVAILABLE_INFORMATION)`);
  }
  if (ulongSize === 4) view.setUint32(offset, value, littleEndian);
  else view.setBigUint64(offset, BigInt(value), littleEndian);
}

function viewOf(raw: Uint8Array): DataView {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

// fatal: a label that is not UTF-8 is refused (CKR_ATTRIBUTE_VALUE_INVALID) rather than
// silently turned into U+FFFD, which would then never match the bytes the application holds.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

const DATE_DIGITS = /^[0-9]{8}$/;

/**
 * Decode the raw value bytes of one attribute. Throws TemplateValueError when the length or
 * content cannot be right for the type: a CK_BBOOL is exactly 1 byte, a CK_ULONG exactly
 * ulongSize bytes, a CK_DATE 0 or 8 ASCII digits, a mechanism list a multiple of ulongSize.
 * The returned bytes are a copy, so the caller may reuse its receive buffer.
 */
export function decodeAttributeValue(type: number, raw: Uint8Array, ulongSize: number, littleEndian = true): AttributeValue {
  checkUlongSize(ulongSize);
  const kind = attributeKind(type);
  switch (kind) {
    case 'ulong':
      if (raw.length !== ulongSize) {
        throw new TemplateValueError(type, `a CK_ULONG is ${ulongSize} bytes, got ${raw.length}`);
      }
      return { kind, value: readUlong(type, viewOf(raw), 0, ulongSize, littleEndian) };
    case 'bool':
      if (raw.length !== 1) throw new TemplateValueError(type, `a CK_BBOOL is 1 byte, got ${raw.length}`);
      // C truth: any non-zero byte is CK_TRUE.
      return { kind, value: raw[0] !== 0 };
    case 'string': {
      // C callers often pass strlen()+1; the NUL terminator is not part of a PKCS#11 string.
      let end = raw.length;
      while (end > 0 && raw[end - 1] === 0) end--;
      try {
        return { kind, value: utf8Decoder.decode(raw.subarray(0, end)) };
      } catch {
        throw new TemplateValueError(type, 'not valid UTF-8');
      }
    }
    case 'bytes':
      return { kind, value: raw.slice() };
    case 'date': {
      if (raw.length === 0) return { kind, value: '' };
      const text = raw.length === 8 ? String.fromCharCode(...raw) : '';
      if (!DATE_DIGITS.test(text)) {
        throw new TemplateValueError(type, `a CK_DATE is empty or 8 ASCII digits YYYYMMDD, got ${raw.length} bytes`);
      }
      return { kind, value: text };
    }
    case 'mechanisms': {
      if (raw.length % ulongSize !== 0) {
        throw new TemplateValueError(type, `a mechanism list is a multiple of ${ulongSize} bytes, got ${raw.length}`);
      }
      const view = viewOf(raw);
      const value: number[] = [];
      for (let off = 0; off < raw.length; off += ulongSize) value.push(readUlong(type, view, off, ulongSize, littleEndian));
      return { kind, value };
    }
    case 'template':
      throw new TemplateValueError(type, 'a nested template arrives split by the frame decoder, never as raw bytes');
  }
}

/**
 * Encode a value back to the raw bytes an application expects in CK_ATTRIBUTE.pValue.
 * Throws RangeError for a value no decoder could have produced (that is a bug on our side,
 * not an application error), and for templates, which the frame encoder writes itself.
 */
export function encodeAttributeValue(value: AttributeValue, ulongSize: number, littleEndian = true): Uint8Array {
  checkUlongSize(ulongSize);
  switch (value.kind) {
    case 'ulong': {
      const out = new Uint8Array(ulongSize);
      writeUlong(viewOf(out), 0, value.value, ulongSize, littleEndian);
      return out;
    }
    case 'bool':
      return Uint8Array.of(value.value ? 1 : 0);
    case 'string':
      return utf8Encoder.encode(value.value);
    case 'bytes':
      return value.value.slice();
    case 'date':
      if (value.value !== '' && !DATE_DIGITS.test(value.value)) {
        throw new RangeError(`CK_DATE must be '' or YYYYMMDD, got ${JSON.stringify(value.value)}`);
      }
      return Uint8Array.from(value.value, (c) => c.charCodeAt(0));
    case 'mechanisms': {
      const out = new Uint8Array(value.value.length * ulongSize);
      const view = viewOf(out);
      value.value.forEach((m, i) => writeUlong(view, i * ulongSize, m, ulongSize, littleEndian));
      return out;
    }
    case 'template':
      throw new RangeError('a nested template is written by the frame encoder, not as raw bytes');
  }
}
