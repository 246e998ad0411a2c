/**
 * The TTLV tree: the one in-memory form every codec reads and writes.
 *
 * Tags are names (the KMIP spec name in PascalCase, as Cosmian spells it). A tag that has
 * no name in the tables is kept as its hex code, e.g. "0x540001", so nothing is lost on a
 * round trip. Enumerations carry the Cosmian variant name when the value is known for the
 * tag, and the numeric code otherwise.
 */

export type TtlvType =
  | 'Structure'
  | 'Integer'
  | 'LongInteger'
  | 'BigInteger'
  | 'Enumeration'
  | 'Boolean'
  | 'TextString'
  | 'ByteString'
  | 'DateTime'
  | 'Interval'
  | 'DateTimeExtended';

export const TTLV_TYPE_CODES: Readonly<Record<TtlvType, number>> = {
  Structure: 0x01,
  Integer: 0x02,
  LongInteger: 0x03,
  BigInteger: 0x04,
  Enumeration: 0x05,
  Boolean: 0x06,
  TextString: 0x07,
  ByteString: 0x08,
  DateTime: 0x09,
  Interval: 0x0a,
  DateTimeExtended: 0x0b,
};

export interface TtlvStructure { tag: string; type: 'Structure'; value: TtlvNode[] }
export interface TtlvInteger { tag: string; type: 'Integer'; value: number }
export interface TtlvLongInteger { tag: string; type: 'LongInteger'; value: bigint }
export interface TtlvBigInteger { tag: string; type: 'BigInteger'; value: bigint }
export interface TtlvEnumeration { tag: string; type: 'Enumeration'; value: string | number }
export interface TtlvBoolean { tag: string; type: 'Boolean'; value: boolean }
export interface TtlvTextString { tag: string; type: 'TextString'; value: string }
export interface TtlvByteString { tag: string; type: 'ByteString'; value: Uint8Array }
/** Seconds since the Unix epoch. */
export interface TtlvDateTime { tag: string; type: 'DateTime'; value: number }
export interface TtlvInterval { tag: string; type: 'Interval'; value: number }
/** Microseconds since the Unix epoch. */
export interface TtlvDateTimeExtended { tag: string; type: 'DateTimeExtended'; value: bigint }

export type TtlvNode =
  | TtlvStructure
  | TtlvInteger
  | TtlvLongInteger
  | TtlvBigInteger
  | TtlvEnumeration
  | TtlvBoolean
  | TtlvTextString
  | TtlvByteString
  | TtlvDateTime
  | TtlvInterval
  | TtlvDateTimeExtended;

/** Builders, so call sites read like the wire format. */
export const T = {
  struct: (tag: string, value: Array<TtlvNode | undefined>): TtlvStructure => ({
    tag,
    type: 'Structure',
    value: value.filter((n): n is TtlvNode => n !== undefined),
  }),
  int: (tag: string, value: number): TtlvInteger => ({ tag, type: 'Integer', value }),
  long: (tag: string, value: bigint): TtlvLongInteger => ({ tag, type: 'LongInteger', value }),
  big: (tag: string, value: bigint): TtlvBigInteger => ({ tag, type: 'BigInteger', value }),
  enum: (tag: string, value: string | number): TtlvEnumeration => ({ tag, type: 'Enumeration', value }),
  bool: (tag: string, value: boolean): TtlvBoolean => ({ tag, type: 'Boolean', value }),
  text: (tag: string, value: string): TtlvTextString => ({ tag, type: 'TextString', value }),
  bytes: (tag: string, value: Uint8Array): TtlvByteString => ({ tag, type: 'ByteString', value }),
  date: (tag: string, value: number): TtlvDateTime => ({ tag, type: 'DateTime', value }),
  interval: (tag: string, value: number): TtlvInterval => ({ tag, type: 'Interval', value }),
  dateExt: (tag: string, value: bigint): TtlvDateTimeExtended => ({ tag, type: 'DateTimeExtended', value }),
};

export function isStructure(node: TtlvNode | undefined): node is TtlvStructure {
  return node !== undefined && node.type === 'Structure';
}

export function children(node: TtlvNode | undefined): TtlvNode[] {
  return isStructure(node) ? node.value : [];
}

export function child(node: TtlvNode | undefined, tag: string): TtlvNode | undefined {
  return children(node).find((c) => c.tag === tag);
}

export function childrenByTag(node: TtlvNode | undefined, tag: string): TtlvNode[] {
  return children(node).filter((c) => c.tag === tag);
}

/** Deep structural equality; used by round-trip tests and the tag-selector cache. */
export function ttlvEqual(a: TtlvNode, b: TtlvNode): boolean {
  if (a.tag !== b.tag || a.type !== b.type) return false;
  if (a.type === 'Structure') {
    const bv = (b as TtlvStructure).value;
    return a.value.length === bv.length && a.value.every((c, i) => ttlvEqual(c, bv[i] as TtlvNode));
  }
  if (a.type === 'ByteString') {
    const bv = (b as TtlvByteString).value;
    return Buffer.from(a.value).equals(Buffer.from(bv));
  }
  return a.value === b.value;
}
