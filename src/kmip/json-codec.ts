import { randomBytes } from 'node:crypto';
import { TtlvCodecError } from './errors';
import { canonicalEnumName, enumCode, isKnownEnumTag, normalizeEnum } from './enums';
import { withDefaults, type DecodeLimits } from './limits';
import { canonicalTagName } from './tags';
import type { TtlvNode, TtlvType } from './ttlv';

/**
 * JSON TTLV exactly as Cosmian writes it: {"tag","type","value"} in that key order, no
 * "type" on Structures, LongInteger and BigInteger as "0x" + uppercase hex, ByteString as
 * uppercase hex without "0x", DateTime as RFC 3339 UTC seconds. On input it also takes
 * every form Cosmian accepts: numbers or hex for integers and enumerations, either case
 * of hex, ISO 8601 dates with offsets, and the OASIS enumeration spellings.
 */

export interface JsonTtlv {
  tag: string;
  type?: string;
  value: unknown;
}

/**
 * How a client writes Structures. Cosmian's current clients and server leave "type" off
 * them; clients of the KMS 4.x era (cloudproof_js 9.x, the 4.x Rust client) write
 * "type":"Structure" on every one, as the 4.x server did (Cosmian/kms
 * crate/kmip/src/kmip/ttlv/mod.rs of that era, `TTLValue::Structure` serialised with its
 * type), and read nothing else. The decoder records which one a request used so the answer
 * can be written the same way.
 */
export type StructureStyle = 'untyped' | 'typed';

export interface DecodedJson {
  node: TtlvNode;
  style: StructureStyle;
}

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

function hexOf(n: bigint, bytes: number): string {
  const mask = (1n << BigInt(bytes * 8)) - 1n;
  return (n & mask).toString(16).toUpperCase().padStart(bytes * 2, '0');
}

/** Two's complement, sign-extended to a whole number of 8-byte groups (Cosmian's BigInteger form). */
export function bigIntegerBytes(n: bigint): Buffer {
  let bytes = 8;
  while (n >= 1n << BigInt(bytes * 8 - 1) || n < -(1n << BigInt(bytes * 8 - 1))) bytes += 8;
  return Buffer.from(hexOf(n, bytes), 'hex');
}

export function bigIntegerFromBytes(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  const unsigned = BigInt('0x' + Buffer.from(b).toString('hex'));
  return (b[0] as number) & 0x80 ? unsigned - (1n << BigInt(b.length * 8)) : unsigned;
}

/** The largest |seconds| a JavaScript Date holds (±8.64e15 ms); beyond it toISOString throws. */
export const MAX_DATETIME_SECONDS = 8_640_000_000_000;

/** A decoded DateTime, refused here if no Date can hold it, since the server turns every DateTime into one. */
export function checkDateTime(seconds: number | bigint, where: string): number {
  if (seconds > MAX_DATETIME_SECONDS || seconds < -MAX_DATETIME_SECONDS) throw new TtlvCodecError(`${where}: DateTime out of range`);
  return Number(seconds);
}

function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function ttlvToJson(node: TtlvNode, style: StructureStyle = 'untyped'): JsonTtlv {
  switch (node.type) {
    case 'Structure':
      return style === 'typed'
        ? { tag: node.tag, type: node.type, value: node.value.map((c) => ttlvToJson(c, style)) }
        : { tag: node.tag, value: node.value.map((c) => ttlvToJson(c, style)) };
    case 'Integer':
    case 'Interval':
    case 'Boolean':
    case 'TextString':
      return { tag: node.tag, type: node.type, value: node.value };
    case 'LongInteger':
    case 'DateTimeExtended':
      return { tag: node.tag, type: node.type, value: '0x' + hexOf(node.value, 8) };
    case 'BigInteger':
      return { tag: node.tag, type: node.type, value: '0x' + bigIntegerBytes(node.value).toString('hex').toUpperCase() };
    case 'Enumeration':
      return { tag: node.tag, type: node.type, value: typeof node.value === 'number' ? '0x' + node.value.toString(16).toUpperCase().padStart(8, '0') : node.value };
    case 'ByteString':
      return { tag: node.tag, type: node.type, value: Buffer.from(node.value).toString('hex').toUpperCase() };
    case 'DateTime':
      return { tag: node.tag, type: node.type, value: rfc3339(node.value) };
  }
}

export function encodeJsonText(node: TtlvNode, style: StructureStyle = 'untyped'): string {
  return JSON.stringify(ttlvToJson(node, style));
}

const HEX_SLICE = 64 * 1024;
/** ByteStrings this large are written straight into the output instead of becoming strings first. */
const INLINE_HEX_MAX = 4096;

/**
 * encodeJsonText's output as UTF-8 bytes, built without turning large ByteStrings into hex
 * strings, upper-cased copies and a JSON copy of those: a ByteString of n bytes costs its 2n
 * bytes of output and nothing else.
 */
export function encodeJsonBytes(node: TtlvNode, style: StructureStyle = 'untyped'): Buffer {
  const marker = `\u0000bytes-${randomBytes(12).toString('hex')}\u0000`;
  const large: Uint8Array[] = [];
  const toJson = (n: TtlvNode): JsonTtlv => {
    if (n.type === 'Structure') return style === 'typed' ? { tag: n.tag, type: n.type, value: n.value.map(toJson) } : { tag: n.tag, value: n.value.map(toJson) };
    if (n.type === 'ByteString' && n.value.length > INLINE_HEX_MAX) {
      large.push(n.value);
      return { tag: n.tag, type: n.type, value: marker };
    }
    return ttlvToJson(n, style);
  };
  const text = JSON.stringify(toJson(node));
  if (large.length === 0) return Buffer.from(text, 'utf8');
  // JSON.stringify escapes U+0000, so the marker's escaped form cannot come from any other value.
  const parts = text.split(JSON.stringify(marker).slice(1, -1));
  let total = 0;
  for (const part of parts) total += Buffer.byteLength(part, 'utf8');
  for (const bytes of large) total += 2 * bytes.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  parts.forEach((part, i) => {
    at += out.write(part, at, 'utf8');
    const bytes = large[i];
    if (bytes === undefined) return;
    // Node's hex encoder in slices: native speed, and never more than a slice's string at once.
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let j = 0; j < view.length; j += HEX_SLICE) at += out.write(view.toString('hex', j, Math.min(view.length, j + HEX_SLICE)).toUpperCase(), at, 'latin1');
  });
  return out;
}

const TYPES = new Set<string>(['Structure', 'Integer', 'LongInteger', 'BigInteger', 'Enumeration', 'Boolean', 'TextString', 'ByteString', 'DateTime', 'Interval', 'DateTimeExtended']);

/** A large ByteString taken out of the text before parsing (decodeJsonBytes): its bytes, and its text should it be used as anything else. */
interface LiftedBytes {
  bytes: Buffer;
  text: () => string;
}

class JsonDecoder {
  private nodes = 0;
  constructor(private readonly limits: DecodeLimits, private readonly lifted: ReadonlyMap<string, LiftedBytes> = new Map()) {}

  node(json: unknown, path: string, depth: number): TtlvNode {
    if (++this.nodes > this.limits.maxNodes) throw new TtlvCodecError(`more than ${this.limits.maxNodes} TTLV nodes`);
    if (depth > this.limits.maxDepth) throw new TtlvCodecError(`nesting deeper than ${this.limits.maxDepth} at ${path}`);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TtlvCodecError(`${path}: a TTLV node must be a JSON object`);
    const obj = json as Record<string, unknown>;
    const rawTag = obj['tag'];
    if (typeof rawTag !== 'string' || rawTag.length === 0) throw new TtlvCodecError(`${path}: missing tag`);
    const tag = canonicalTagName(rawTag);
    const where = `${path}/${tag}`;
    const rawType = obj['type'] ?? 'Structure';
    if (typeof rawType !== 'string' || !TYPES.has(rawType)) throw new TtlvCodecError(`${where}: unknown type ${String(rawType)}`);
    const type = rawType as TtlvType;
    if (!('value' in obj)) throw new TtlvCodecError(`${where}: missing value`);
    return this.value(tag, type, obj['value'], where, depth);
  }

  private value(tag: string, type: TtlvType, raw: unknown, where: string, depth: number): TtlvNode {
    const lifted = typeof raw === 'string' ? this.lifted.get(raw) : undefined;
    if (lifted && type === 'ByteString') {
      if (lifted.bytes.length > this.limits.maxFieldBytes) throw new TtlvCodecError(`${where}: field larger than ${this.limits.maxFieldBytes} bytes`);
      return { tag, type, value: lifted.bytes };
    }
    // Lifted as a ByteString, but a later duplicate "type" key says otherwise: the text it was.
    const v = lifted ? lifted.text() : raw;
    switch (type) {
      case 'Structure':
        if (!Array.isArray(v)) throw new TtlvCodecError(`${where}: a Structure value must be an array`);
        return { tag, type, value: v.map((c, i) => this.node(c, `${where}[${i}]`, depth + 1)) };
      case 'Integer': {
        const n = this.integer(v, where);
        if (n < BigInt(I32_MIN) || n > BigInt(I32_MAX)) throw new TtlvCodecError(`${where}: Integer out of the 32-bit range`);
        return { tag, type, value: Number(n) };
      }
      case 'Interval': {
        const n = this.integer(v, where);
        if (n < 0n || n > 0xffffffffn) throw new TtlvCodecError(`${where}: Interval out of range`);
        return { tag, type, value: Number(n) };
      }
      case 'LongInteger':
      case 'DateTimeExtended': {
        const n = this.integer(v, where);
        if (n < -(1n << 63n) || n >= 1n << 63n) throw new TtlvCodecError(`${where}: ${type} out of the 64-bit range`);
        return { tag, type, value: n };
      }
      case 'BigInteger':
        return { tag, type, value: this.bigInteger(v, where) };
      case 'Enumeration':
        return { tag, type, value: this.enumeration(tag, v, where) };
      case 'Boolean':
        if (typeof v !== 'boolean') throw new TtlvCodecError(`${where}: a Boolean value must be true or false`);
        return { tag, type, value: v };
      case 'TextString':
        if (typeof v !== 'string') throw new TtlvCodecError(`${where}: a TextString value must be a string`);
        if (Buffer.byteLength(v) > this.limits.maxFieldBytes) throw new TtlvCodecError(`${where}: field larger than ${this.limits.maxFieldBytes} bytes`);
        return { tag, type, value: v };
      case 'ByteString':
        return { tag, type, value: this.hexBytes(v, where) };
      case 'DateTime':
        return { tag, type, value: this.dateTime(v, where) };
    }
  }

  /** A JSON integer, or "0x" + 8 or 16 hex digits (two's complement). */
  private integer(v: unknown, where: string): bigint {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new TtlvCodecError(`${where}: not an integer`);
      return BigInt(v);
    }
    if (typeof v === 'string' && /^0x([0-9A-Fa-f]{8}|[0-9A-Fa-f]{16})$/.test(v)) {
      const hex = v.slice(2);
      return bigIntegerFromBytes(Buffer.from(hex, 'hex'));
    }
    throw new TtlvCodecError(`${where}: Invalid value for integer hex String`);
  }

  private bigInteger(v: unknown, where: string): bigint {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    if (typeof v !== 'string' || !/^0x[0-9A-Fa-f]+$/.test(v)) throw new TtlvCodecError(`${where}: a BigInteger must be "0x" followed by hex`);
    if (v.length / 2 > this.limits.maxFieldBytes) throw new TtlvCodecError(`${where}: field too large`);
    const hex = v.length % 2 === 0 ? v.slice(2) : '0' + v.slice(2);
    return bigIntegerFromBytes(Buffer.from(hex, 'hex'));
  }

  private enumeration(tag: string, v: unknown, where: string): string | number {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TtlvCodecError(`${where}: enumeration code out of range`);
      return normalizeEnum(tag, v);
    }
    if (typeof v !== 'string' || v.length === 0) throw new TtlvCodecError(`${where}: an Enumeration value must be a name or a code`);
    if (/^0x[0-9A-Fa-f]{8}$/.test(v)) return normalizeEnum(tag, v);
    // A code in decimal: what p11kms stored for extension values (0x8xxxxxxx) before it kept them
    // as numbers; a database written then must stay readable. No enumeration name is all digits.
    if (/^[0-9]{1,10}$/.test(v) && Number(v) <= 0xffffffff) return normalizeEnum(tag, Number(v));
    if (!isKnownEnumTag(tag)) return v;
    const name = canonicalEnumName(tag, v);
    if (name === undefined || enumCode(tag, name) === undefined) throw new TtlvCodecError(`${where}: unknown enumeration value ${v}`);
    return name;
  }

  private hexBytes(v: unknown, where: string): Buffer {
    const malformed = (): TtlvCodecError => new TtlvCodecError(`${where}: a ByteString must be an even number of hex digits`);
    if (typeof v !== 'string' || v.length % 2 !== 0) throw malformed();
    if (v.length / 2 > this.limits.maxFieldBytes) throw new TtlvCodecError(`${where}: field larger than ${this.limits.maxFieldBytes} bytes`);
    // Node's hex decoder stops at the first pair that is not hex: a short result is the check,
    // at a fraction of a regular expression's cost on megabytes.
    const bytes = Buffer.from(v, 'hex');
    if (bytes.length * 2 !== v.length) throw malformed();
    return bytes;
  }

  private dateTime(v: unknown, where: string): number {
    if (typeof v === 'string' && /^0x[0-9A-Fa-f]{16}$/.test(v)) return checkDateTime(bigIntegerFromBytes(Buffer.from(v.slice(2), 'hex')), where);
    if (typeof v === 'number' && Number.isInteger(v)) return checkDateTime(v, where);
    if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v)) {
      const ms = Date.parse(v);
      if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
    }
    throw new TtlvCodecError(`${where}: a DateTime must be an ISO 8601 string or "0x" + 16 hex digits`);
  }
}

/** Nesting is checked on the raw text first: JSON.parse itself would overflow the stack. */
function checkTextDepth(text: string, maxBracketDepth: number): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Strings (megabytes of hex, in a large request) are skipped with indexOf, not walked:
      // the closing quote is the first one not escaped by an odd number of backslashes.
      let close = text.indexOf('"', i + 1);
      while (close > 0) {
        let slashes = 0;
        while (text.charCodeAt(close - 1 - slashes) === 0x5c) slashes++;
        if (slashes % 2 === 0) break;
        close = text.indexOf('"', close + 1);
      }
      if (close < 0) return; // unterminated: JSON.parse says so
      i = close;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxBracketDepth) throw new TtlvCodecError(`JSON nested deeper than the TTLV depth limit`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

export function ttlvFromJson(json: unknown, limits?: Partial<DecodeLimits>): TtlvNode {
  return new JsonDecoder(withDefaults(limits)).node(json, '', 0);
}

export function decodeJsonText(text: string, limits?: Partial<DecodeLimits>): TtlvNode {
  return decodeJsonTextStyled(text, limits).node;
}

/** decodeJsonText, and the Structure style the message was written in. */
export function decodeJsonTextStyled(text: string, limits?: Partial<DecodeLimits>): DecodedJson {
  const l = withDefaults(limits);
  if (text.length > l.maxTotalBytes) throw new TtlvCodecError(`message larger than ${l.maxTotalBytes} bytes`);
  return parseChecked(text, l, new Map());
}

/**
 * A client of either era writes all its Structures one way, so the outermost one tells: an
 * explicit "type" on it (whatever its value; the decoder checks it) is the 4.x style.
 */
function styleOf(parsed: unknown): StructureStyle {
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && 'type' in parsed ? 'typed' : 'untyped';
}

function parseChecked(text: string, l: DecodeLimits, lifted: ReadonlyMap<string, LiftedBytes>): DecodedJson {
  // Each TTLV level is an object inside an array: two brackets per level.
  checkTextDepth(text, 2 * l.maxDepth + 2);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new TtlvCodecError(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { node: new JsonDecoder(l, lifted).node(parsed, '', 0), style: styleOf(parsed) };
}

/** Right before a ByteString's value, in the order every KMIP JSON writer uses (Cosmian's). */
const BYTESTRING_VALUE_BEFORE = /"type"\s*:\s*"ByteString"\s*,\s*"value"\s*:\s*$/;
const HEX_SLICE_CHARS = 2 * HEX_SLICE;

/** The hex of body[start, end) as bytes, decoded slice by slice; undefined if it is not all hex. */
function hexFromBody(body: Buffer, start: number, end: number): Buffer | undefined {
  if ((end - start) % 2 !== 0) return undefined;
  const out = Buffer.allocUnsafe((end - start) / 2);
  let at = 0;
  for (let i = start; i < end; i += HEX_SLICE_CHARS) {
    const sliceEnd = Math.min(end, i + HEX_SLICE_CHARS);
    const written = out.write(body.toString('latin1', i, sliceEnd), at, 'hex');
    if (written * 2 !== sliceEnd - i) return undefined;
    at += written;
  }
  return out;
}

/**
 * decodeJsonText over the UTF-8 bytes of a message, without ever holding large ByteStrings as
 * text: each one is decoded from the body straight into its Buffer and replaced by a marker
 * before JSON.parse, so a 32 MiB ByteString costs its 32 MiB and not three strings of 64 MB.
 * Any other message (other key orders, small values) decodes exactly as decodeJsonText does.
 */
export function decodeJsonBytes(body: Uint8Array, limits?: Partial<DecodeLimits>): TtlvNode {
  return decodeJsonBytesStyled(body, limits).node;
}

/** decodeJsonBytes, and the Structure style the message was written in. */
export function decodeJsonBytesStyled(body: Uint8Array, limits?: Partial<DecodeLimits>): DecodedJson {
  const l = withDefaults(limits);
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (b.length > l.maxTotalBytes) throw new TtlvCodecError(`message larger than ${l.maxTotalBytes} bytes`);
  const nonce = randomBytes(12).toString('hex');
  const lifted = new Map<string, LiftedBytes>();
  const parts: string[] = [];
  let copied = 0;
  for (let open = b.indexOf(0x22); open >= 0; ) {
    let close = b.indexOf(0x22, open + 1);
    while (close > 0) {
      let slashes = 0;
      while (b[close - 1 - slashes] === 0x5c) slashes++;
      if (slashes % 2 === 0) break;
      close = b.indexOf(0x22, close + 1);
    }
    if (close < 0) break; // unterminated: JSON.parse says so
    const start = open + 1;
    if (close - start > INLINE_HEX_MAX && BYTESTRING_VALUE_BEFORE.test(b.toString('latin1', Math.max(0, open - 64), open))) {
      const bytes = hexFromBody(b, start, close);
      if (bytes) {
        const marker = `\u0000${nonce}-${lifted.size}`;
        lifted.set(marker, { bytes, text: () => b.toString('latin1', start, close) });
        parts.push(b.toString('utf8', copied, start), JSON.stringify(marker).slice(1, -1));
        copied = close;
      }
    }
    open = b.indexOf(0x22, close + 1);
  }
  if (lifted.size === 0) return parseChecked(b.toString('utf8'), l, lifted);
  parts.push(b.toString('utf8', copied));
  return parseChecked(parts.join(''), l, lifted);
}
