import { TtlvCodecError } from './errors';
import { enumCode, normalizeEnum } from './enums';
import { bigIntegerBytes, bigIntegerFromBytes, checkDateTime } from './json-codec';
import { withDefaults, type DecodeLimits } from './limits';
import { hexTag, tagCode, tagName } from './tags';
import { TTLV_TYPE_CODES, type TtlvNode, type TtlvType } from './ttlv';

/**
 * Binary TTLV (KMIP 1.0–2.1): 3-byte tag, 1-byte type, 4-byte unpadded length, the value
 * padded to a multiple of 8. Tag numbers come from the 1.4 table for major version 1 and
 * the 2.1 table otherwise. A tag with no name is kept as "0x42XXXX" so it survives a round
 * trip; the endpoint, not the decoder, decides whether an unknown tag is acceptable.
 */

const TYPE_BY_CODE = new Map<number, TtlvType>(Object.entries(TTLV_TYPE_CODES).map(([name, code]) => [code, name as TtlvType]));

/** Value lengths fixed by the encoding. */
const FIXED_LENGTH: Partial<Record<TtlvType, number>> = {
  Integer: 4, Enumeration: 4, Interval: 4, LongInteger: 8, DateTime: 8, DateTimeExtended: 8, Boolean: 8,
};

function padded(n: number): number {
  return (n + 7) & ~7;
}

export function encodeBinary(node: TtlvNode, major = 2): Buffer {
  const parts: Buffer[] = [];
  write(node, major, parts);
  return Buffer.concat(parts);
}

function header(node: TtlvNode, major: number, length: number): Buffer {
  const code = tagCode(node.tag, major);
  if (code === undefined) throw new TtlvCodecError(`no binary tag number for ${node.tag} in KMIP ${major}.x`);
  const h = Buffer.alloc(8);
  h.writeUIntBE(code, 0, 3);
  h.writeUInt8(TTLV_TYPE_CODES[node.type], 3);
  h.writeUInt32BE(length, 4);
  return h;
}

function write(node: TtlvNode, major: number, out: Buffer[]): void {
  let value: Buffer;
  let length: number;
  switch (node.type) {
    case 'Structure': {
      const inner: Buffer[] = [];
      for (const c of node.value) write(c, major, inner);
      value = Buffer.concat(inner);
      length = value.length;
      break;
    }
    case 'Integer':
      value = Buffer.alloc(8);
      value.writeInt32BE(node.value, 0);
      length = 4;
      break;
    case 'Interval':
      value = Buffer.alloc(8);
      value.writeUInt32BE(node.value, 0);
      length = 4;
      break;
    case 'Enumeration': {
      const code = enumCode(node.tag, node.value);
      if (code === undefined) throw new TtlvCodecError(`no code for enumeration ${node.tag}=${String(node.value)}`);
      value = Buffer.alloc(8);
      value.writeUInt32BE(code, 0);
      length = 4;
      break;
    }
    case 'LongInteger':
    case 'DateTimeExtended':
      value = Buffer.alloc(8);
      value.writeBigInt64BE(node.value, 0);
      length = 8;
      break;
    case 'DateTime':
      value = Buffer.alloc(8);
      value.writeBigInt64BE(BigInt(node.value), 0);
      length = 8;
      break;
    case 'Boolean':
      value = Buffer.alloc(8);
      value[7] = node.value ? 1 : 0;
      length = 8;
      break;
    case 'BigInteger':
      value = bigIntegerBytes(node.value);
      length = value.length;
      break;
    case 'TextString':
    case 'ByteString': {
      const raw = node.type === 'TextString' ? Buffer.from(node.value, 'utf8') : Buffer.from(node.value);
      length = raw.length;
      value = Buffer.concat([raw, Buffer.alloc(padded(raw.length) - raw.length)]);
      break;
    }
  }
  out.push(header(node, major, length), value);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

class BinaryDecoder {
  private nodes = 0;
  constructor(private readonly buf: Buffer, private readonly major: number, private readonly limits: DecodeLimits) {}

  /** Decodes the item at `offset` that must end by `end`; returns the node and where the next item starts. */
  item(offset: number, end: number, depth: number): [TtlvNode, number] {
    if (++this.nodes > this.limits.maxNodes) throw new TtlvCodecError(`more than ${this.limits.maxNodes} TTLV nodes`);
    if (depth > this.limits.maxDepth) throw new TtlvCodecError(`nesting deeper than ${this.limits.maxDepth}`);
    if (end - offset < 8) throw new TtlvCodecError(`truncated item header at byte ${offset}`);
    const code = this.buf.readUIntBE(offset, 3);
    const typeCode = this.buf.readUInt8(offset + 3);
    const length = this.buf.readUInt32BE(offset + 4);
    const type = TYPE_BY_CODE.get(typeCode);
    const tag = tagName(code, this.major) ?? hexTag(code);
    const at = `${tag} at byte ${offset}`;
    if (!type) throw new TtlvCodecError(`${at}: unknown item type 0x${typeCode.toString(16)}`);
    if (length > this.limits.maxFieldBytes) throw new TtlvCodecError(`${at}: length ${length} exceeds the field limit`);
    const fixed = FIXED_LENGTH[type];
    if (fixed !== undefined && length !== fixed) throw new TtlvCodecError(`${at}: a ${type} is ${fixed} bytes, not ${length}`);
    const start = offset + 8;
    const next = type === 'Structure' ? start + length : start + padded(length);
    if (next > end) throw new TtlvCodecError(`${at}: length ${length} runs past the end of its parent`);
    if (type === 'Structure' && length % 8 !== 0) throw new TtlvCodecError(`${at}: a Structure length must be a multiple of 8`);
    return [this.value(tag, type, start, length, depth), next];
  }

  private value(tag: string, type: TtlvType, start: number, length: number, depth: number): TtlvNode {
    const b = this.buf;
    switch (type) {
      case 'Structure': {
        const value: TtlvNode[] = [];
        let cursor = start;
        while (cursor < start + length) {
          const [child, next] = this.item(cursor, start + length, depth + 1);
          value.push(child);
          cursor = next;
        }
        return { tag, type, value };
      }
      case 'Integer':
        return { tag, type, value: b.readInt32BE(start) };
      case 'Interval':
        return { tag, type, value: b.readUInt32BE(start) };
      case 'Enumeration':
        return { tag, type, value: normalizeEnum(tag, b.readUInt32BE(start)) };
      case 'LongInteger':
      case 'DateTimeExtended':
        return { tag, type, value: b.readBigInt64BE(start) };
      case 'DateTime':
        return { tag, type, value: checkDateTime(b.readBigInt64BE(start), tag) };
      case 'Boolean':
        return { tag, type, value: b.subarray(start, start + 8).some((x) => x !== 0) };
      case 'BigInteger':
        return { tag, type, value: bigIntegerFromBytes(b.subarray(start, start + length)) };
      case 'TextString':
        try {
          return { tag, type, value: UTF8.decode(b.subarray(start, start + length)) };
        } catch {
          throw new TtlvCodecError(`${tag}: TextString is not valid UTF-8`);
        }
      case 'ByteString':
        return { tag, type, value: Buffer.from(b.subarray(start, start + length)) };
    }
  }
}

/** The protocol major version of a binary message: the first ProtocolVersionMajor found on an 8-byte boundary. */
export function findProtocolMajor(buf: Uint8Array): number | undefined {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i + 16 <= b.length; i += 8) {
    if (b.readUInt32BE(i) === 0x42006a02 && b.readUInt32BE(i + 4) === 4) return b.readInt32BE(i + 8);
  }
  return undefined;
}

export function decodeBinary(buf: Uint8Array, limits?: Partial<DecodeLimits>, major?: number): TtlvNode {
  const l = withDefaults(limits);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length > l.maxTotalBytes) throw new TtlvCodecError(`message larger than ${l.maxTotalBytes} bytes`);
  const version = major ?? findProtocolMajor(b) ?? 2;
  const [node, next] = new BinaryDecoder(b, version, l).item(0, b.length, 0);
  if (next !== b.length) throw new TtlvCodecError(`${b.length - next} trailing bytes after the message`);
  return node;
}

/** Total frame size from the first 8 bytes of a TTLV message (for stream framing). */
export function readFrameLength(header8: Uint8Array): number {
  if (header8.length < 8) throw new TtlvCodecError('a TTLV header is 8 bytes');
  return Buffer.from(header8.buffer, header8.byteOffset, 8).readUInt32BE(4) + 8;
}
