import { signatureItems, type CallSignature } from './call-table';
import {
  ResultStatus, type AttributeQuery, type AttributeResult, type ListResult, type Mechanism, type MechanismParameter,
  type OutBuffer, type OutResult, type RawAttribute, type ResponseValue,
} from '../pkcs11/types';


/**
 * The p11kms frame (see native/src/frame.h): a 20-byte little-endian header and a body of
 * tagged values, read and written here by the call's signature. Any deviation is a
 * FrameError, which the shim sees as CKR_DEVICE_ERROR.
 */
export const HEADER_SIZE = 20;
export const MAX_BODY = 64 * 1024 * 1024;
const MAX_TEMPLATE_DEPTH = 8;
const MAX_TEMPLATE_COUNT = 4096;

export const FrameKind = { Request: 3, Response: 4, ProtocolError: 5 } as const;
export const FrameFlag = { Sensitive: 1 } as const;

const Tag = {
  U8: 1, U64: 2, Bytes: 3, Fixed: 4, OutBuf: 5, OutRes: 6, UlOut: 7, UlRes: 8,
  Template: 9, TQuery: 10, TResult: 11, Mech: 12,
} as const;

export class FrameError extends Error {}

export interface FrameHeader {
  major: number;
  minor: number;
  kind: number;
  flags: number;
  functionId: number;
  requestId: number;
  bodyLength: number;
}

export function decodeHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < HEADER_SIZE) throw new FrameError('short frame header');
  if (bytes[0] !== 0x50 || bytes[1] !== 0x31 || bytes[2] !== 0x31 || bytes[3] !== 0x46) throw new FrameError('bad frame magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const header = {
    major: view.getUint8(4), minor: view.getUint8(5), kind: view.getUint8(6), flags: view.getUint8(7),
    functionId: view.getUint16(8, true), requestId: view.getUint32(12, true), bodyLength: view.getUint32(16, true),
  };
  if (header.bodyLength > MAX_BODY) throw new FrameError('frame body too large');
  return header;
}

export function encodeHeader(h: Omit<FrameHeader, 'major' | 'minor'>, major: number, minor: number): Buffer {
  const out = Buffer.alloc(HEADER_SIZE);
  out.write('P11F', 0, 'latin1');
  out.writeUInt8(major, 4);
  out.writeUInt8(minor, 5);
  out.writeUInt8(h.kind, 6);
  out.writeUInt8(h.flags, 7);
  out.writeUInt16LE(h.functionId, 8);
  out.writeUInt32LE(h.requestId, 12);
  out.writeUInt32LE(h.bodyLength, 16);
  return out;
}

// ---- Values ---------------------------------------------------------------------------------

export type FrameValue =
  | { kind: 'u'; value: number }
  | { kind: 'y'; value: number }
  | { kind: 'a'; value: Uint8Array | null }
  | { kind: 's'; value: Uint8Array }
  | { kind: 'f'; value: OutBuffer }
  | { kind: 'l'; value: OutBuffer }
  | { kind: 't'; value: RawAttribute[] }
  | { kind: 'q'; value: AttributeQuery[] }
  | { kind: 'm'; value: Mechanism | null };


// ---- Reading ----------------------------------------------------------------------------------

const ALL_ONES = 0xffffffffffffffffn;

class Reader {
  private offset = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number): number {
    if (n > this.bytes.length - this.offset) throw new FrameError('truncated frame body');
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number { return this.view.getUint8(this.need(1)); }
  u16(): number { return this.view.getUint16(this.need(2), true); }
  u32(): number { return this.view.getUint32(this.need(4), true); }
  /** CK_ULONG: all-ones (CK_UNAVAILABLE_INFORMATION, or -1 cast) becomes -1; no real value is that large. */
  u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v === ALL_ONES) return -1;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) return -1;
    return Number(v);
  }
  raw(n: number): Uint8Array { const at = this.need(n); return this.bytes.subarray(at, at + n); }
  tag(expected: number): void {
    const t = this.u8();
    if (t !== expected) throw new FrameError(`expected tag ${expected}, found ${t}`);
  }
  done(): boolean { return this.offset === this.bytes.length; }

  taggedU64(): number { this.tag(Tag.U64); return this.u64(); }
  taggedU8(): number { this.tag(Tag.U8); return this.u8(); }
  taggedBytes(): Uint8Array | null {
    this.tag(Tag.Bytes);
    if (this.u8() === 0) return null;
    return this.raw(this.u32());
  }
  taggedFixed(width?: number): Uint8Array {
    this.tag(Tag.Fixed);
    const n = this.u16();
    if (width !== undefined && n !== width) throw new FrameError(`fixed field of ${n} bytes, expected ${width}`);
    return this.raw(n);
  }
  outBuffer(tag: number): OutBuffer {
    this.tag(tag);
    const present = this.u8() !== 0;
    const capacity = this.u64();
    return { present, capacity: capacity < 0 ? Number.MAX_SAFE_INTEGER : capacity };
  }
  template(depth: number): RawAttribute[] {
    if (depth > MAX_TEMPLATE_DEPTH) throw new FrameError('template nested too deep');
    this.tag(Tag.Template);
    const count = this.u32();
    if (count > MAX_TEMPLATE_COUNT) throw new FrameError('template too long');
    const out: RawAttribute[] = [];
    for (let i = 0; i < count; i++) {
      const type = this.u64();
      const next = this.bytes[this.offset];
      out.push({ type, value: next === Tag.Template ? this.template(depth + 1) : this.taggedBytes() });
    }
    return out;
  }
  query(): AttributeQuery[] {
    this.tag(Tag.TQuery);
    const count = this.u32();
    if (count > MAX_TEMPLATE_COUNT) throw new FrameError('query too long');
    const out: AttributeQuery[] = [];
    for (let i = 0; i < count; i++) {
      const type = this.u64();
      const present = this.u8() !== 0;
      const capacity = this.u64();
      out.push({ type, present, capacity: capacity < 0 ? Number.MAX_SAFE_INTEGER : capacity });
    }
    return out;
  }
  mechanism(kinds: Record<string, number>): Mechanism | null {
    this.tag(Tag.Mech);
    if (this.u8() === 0) return null;
    const type = this.u64();
    const kind = this.u16();
    return { type, parameter: this.parameter(kind, kinds) };
  }
  private parameter(kind: number, kinds: Record<string, number>): MechanismParameter {
    switch (kind) {
      case kinds['NONE']: return { kind: 'none' };
      case kinds['RAW']: return { kind: 'raw', bytes: this.taggedBytes() ?? new Uint8Array() };
      case kinds['GCM']: {
        const iv = this.taggedBytes() ?? new Uint8Array();
        const ivBits = this.taggedU64();
        const aad = this.taggedBytes() ?? new Uint8Array();
        const tagBits = this.taggedU64();
        return { kind: 'gcm', iv, ivBits, aad, tagBits, hasIvBits: this.taggedU8() === 1 };
      }
      case kinds['OAEP']:
        return { kind: 'oaep', hashAlg: this.taggedU64(), mgf: this.taggedU64(), source: this.taggedU64(), sourceData: this.taggedBytes() };
      case kinds['PSS']:
        return { kind: 'pss', hashAlg: this.taggedU64(), mgf: this.taggedU64(), saltLength: this.taggedU64() };
      case kinds['ECDH1']:
        return { kind: 'ecdh1', kdf: this.taggedU64(), sharedData: this.taggedBytes(), publicData: this.taggedBytes() ?? new Uint8Array() };
      case kinds['CTR']:
        return { kind: 'ctr', counterBits: this.taggedU64(), counterBlock: this.taggedFixed(16) };
      case kinds['HKDF']:
        return {
          kind: 'hkdf', extract: this.taggedU8() !== 0, expand: this.taggedU8() !== 0, prf: this.taggedU64(),
          saltType: this.taggedU64(), salt: this.taggedBytes(), saltKey: this.taggedU64(), info: this.taggedBytes(),
        };
      case kinds['EDDSA']:
        return { kind: 'eddsa', prehash: this.taggedU8() !== 0, context: this.taggedBytes() };
      default:
        throw new FrameError(`unknown mechanism parameter kind ${kind}`);
    }
  }
}

/** Decodes a request body by the call's request signature. */
export function decodeArguments(body: Uint8Array, call: CallSignature, kinds: Record<string, number>): FrameValue[] {
  const r = new Reader(body);
  const out: FrameValue[] = [];
  for (const item of signatureItems(call.req)) {
    switch (item[0]) {
      case 'u': out.push({ kind: 'u', value: r.taggedU64() }); break;
      case 'y': out.push({ kind: 'y', value: r.taggedU8() }); break;
      case 'a': out.push({ kind: 'a', value: r.taggedBytes() }); break;
      case 's': out.push({ kind: 's', value: r.taggedFixed(Number(item.slice(1))) }); break;
      case 'f': out.push({ kind: 'f', value: r.outBuffer(Tag.OutBuf) }); break;
      case 'l': out.push({ kind: 'l', value: r.outBuffer(Tag.UlOut) }); break;
      case 't': out.push({ kind: 't', value: r.template(0) }); break;
      case 'q': out.push({ kind: 'q', value: r.query() }); break;
      case 'm': out.push({ kind: 'm', value: r.mechanism(kinds) }); break;
      default: throw new FrameError(`unknown signature letter ${item}`);
    }
  }
  if (!r.done()) throw new FrameError(`${call.name}: trailing bytes in request`);
  return out;
}

// ---- Writing ----------------------------------------------------------------------------------

class Writer {
  private readonly chunks: Buffer[] = [];
  u8(v: number): void { this.chunks.push(Buffer.from([v & 0xff])); }
  u16(v: number): void { const b = Buffer.alloc(2); b.writeUInt16LE(v); this.chunks.push(b); }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.chunks.push(b); }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v < 0 ? ALL_ONES : BigInt(v));
    this.chunks.push(b);
  }
  raw(bytes: Uint8Array): void { this.chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)); }
  finish(): Buffer { return Buffer.concat(this.chunks); }
}

/** Space-padded, as PKCS#11 info strings are; truncated on a character boundary. */
export function padded(text: string, width: number): Buffer {
  const out = Buffer.alloc(width, 0x20);
  let bytes = Buffer.from(text, 'utf8');
  while (bytes.length > width) {
    text = text.slice(0, -1);
    bytes = Buffer.from(text, 'utf8');
  }
  bytes.copy(out);
  return out;
}

function asNumber(v: ResponseValue | undefined, name: string): number {
  if (typeof v !== 'number') throw new FrameError(`${name}: expected a number in the response`);
  return v;
}

/** Encodes rv followed by the outputs, which are written only when `withOutputs` is true. */
export function encodeResponseBody(call: CallSignature, rv: number, outputs: ResponseValue[] | undefined): Buffer {
  const w = new Writer();
  w.u8(Tag.U64);
  w.u64(rv);
  if (!outputs) return w.finish();
  const items = signatureItems(call.res);
  if (outputs.length !== items.length) throw new FrameError(`${call.name}: ${outputs.length} outputs for signature ${call.res}`);
  items.forEach((item, i) => {
    const v = outputs[i];
    switch (item[0]) {
      case 'u': w.u8(Tag.U64); w.u64(asNumber(v, call.name)); break;
      case 'y': w.u8(Tag.U8); w.u8(asNumber(v, call.name)); break;
      case 's': {
        const width = Number(item.slice(1));
        if (typeof v !== 'string') throw new FrameError(`${call.name}: expected text`);
        w.u8(Tag.Fixed); w.u16(width); w.raw(padded(v, width));
        break;
      }
      case 'F': {
        const r = v as OutResult;
        w.u8(Tag.OutRes); w.u64(r.length);
        if (r.data) { w.u8(ResultStatus.Data); w.raw(r.data); } else w.u8(ResultStatus.LengthOnly);
        break;
      }
      case 'L': {
        const r = v as ListResult;
        w.u8(Tag.UlRes); w.u64(r.count);
        if (r.items) { w.u8(ResultStatus.Data); for (const x of r.items) w.u64(x); } else w.u8(ResultStatus.LengthOnly);
        break;
      }
      case 'Q': {
        const results = v as AttributeResult[];
        w.u8(Tag.TResult); w.u32(results.length);
        for (const r of results) {
          w.u64(r.type); w.u8(r.status); w.u64(r.length);
          if (r.status === ResultStatus.Data && r.value) w.raw(r.value);
        }
        break;
      }
      default: throw new FrameError(`unknown response letter ${item}`);
    }
  });
  return w.finish();
}
