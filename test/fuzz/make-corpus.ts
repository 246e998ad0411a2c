import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBinary } from '../../src/kmip/binary-codec';
import { decodeJsonText, encodeJsonText } from '../../src/kmip/json-codec';
import { wrapBareOperation } from '../../src/kmip/messages';
import { T, type TtlvNode, type TtlvStructure } from '../../src/kmip/ttlv';
import { loadCallTable } from '../../src/runtime/call-table';
import { encodeHeader, FrameKind } from '../../src/runtime/frame';
import { REPO_ROOT } from '../support/server';

/**
 * Writes the seed corpora in test/fuzz/corpus/<target>/ (run once, the output is committed):
 * for each KMIP operation in test/vectors/kmip-vectors its smallest request, the hand-made
 * messages of test/server/fuzz.test.ts (every TTLV type), and one valid frame per PKCS#11 call.
 * Usage: node dist/test/fuzz/make-corpus.js
 */

const CORPUS = join(REPO_ROOT, 'test', 'fuzz', 'corpus');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? jsonFiles(path) : name.endsWith('.json') ? [path] : [];
  });
}

/** The smallest vector per operation keeps the corpus small and libFuzzer's max_len low. */
function vectorRequests(): TtlvStructure[] {
  const byOp = new Map<string, { size: number; node: TtlvStructure }>();
  for (const file of jsonFiles(join(REPO_ROOT, 'test', 'vectors', 'kmip-vectors'))) {
    let node: TtlvNode;
    try {
      node = decodeJsonText(readFileSync(file, 'utf8'));
    } catch {
      continue; // expected responses and manifests in JSON that are not TTLV
    }
    if (node.type !== 'Structure') continue;
    const size = encodeJsonText(node).length;
    const best = byOp.get(node.tag);
    if (!best || size < best.size) byOp.set(node.tag, { size, node });
  }
  return [...byOp.values()].map((v) => v.node);
}

/** The hand-made messages of test/server/fuzz.test.ts: every TTLV type appears. */
function handMade(): TtlvStructure[] {
  return [
    T.struct('Create', [T.enum('ObjectType', 'SymmetricKey'), T.struct('Attributes', [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256), T.date('ActivationDate', 1704067200)])]),
    T.struct('Encrypt', [T.text('UniqueIdentifier', 'abc'), T.bytes('Data', Buffer.from('00112233', 'hex')), T.bool('FinalIndicator', true)]),
    T.struct('Locate', [T.long('ProtectionPeriod', -42n), T.big('Modulus', 123456789012345678901234567890n), T.interval('LeaseTime', 5), T.dateExt('TimeStamp', 1700000000000000n), T.struct('Attributes', [])]),
  ];
}

const u8 = (tag: number, v: number): Buffer => Buffer.from([tag, v]);
function u64(v: number, tag?: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return tag === undefined ? b : Buffer.concat([Buffer.from([tag]), b]);
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}
const bytes = (b: Buffer): Buffer => Buffer.concat([Buffer.from([3, 1]), u32(b.length), b]);

/** A plausible value for each request signature letter (the layout read by src/runtime/frame.ts). */
function argument(item: string): Buffer {
  switch (item[0]) {
    case 'u': return u64(1, 2);
    case 'y': return u8(1, 1);
    case 'a': return bytes(Buffer.from('1234'));
    case 's': { const n = Number(item.slice(1)); return Buffer.concat([Buffer.from([4]), Buffer.from([n & 0xff, n >> 8]), Buffer.alloc(n, 0x20)]); }
    case 'f': return Buffer.concat([Buffer.from([5, 1]), u64(256)]);
    case 'l': return Buffer.concat([Buffer.from([7, 1]), u64(16)]);
    // CKA_CLASS = CKO_SECRET_KEY, CKA_VALUE_LEN = 32, and a nested CKA_WRAP_TEMPLATE.
    case 't': return Buffer.concat([Buffer.from([9]), u32(3), u64(0), bytes(u64(4)), u64(0x161), bytes(u64(32)), u64(0x40000211), Buffer.from([9]), u32(1), u64(0x104), bytes(Buffer.from([1]))]);
    case 'q': return Buffer.concat([Buffer.from([10]), u32(2), u64(0), Buffer.from([1]), u64(8), u64(0x11), Buffer.from([0]), u64(0)]);
    // CKM_AES_GCM with IV, IV bits, AAD, tag bits and the hasIvBits flag.
    case 'm': return Buffer.concat([Buffer.from([12, 1]), u64(0x1087), Buffer.from([2, 0]), bytes(Buffer.alloc(12)), u64(96, 2), bytes(Buffer.from('aad')), u64(128, 2), u8(1, 1)]);
    default: throw new Error(`no seed for signature letter ${item}`);
  }
}

function frames(): Buffer[] {
  const table = loadCallTable();
  return table.calls.map((call) => {
    const items = call.req.match(/s\d+|./g) ?? [];
    const body = Buffer.concat(items.map(argument));
    const header = encodeHeader({ kind: FrameKind.Request, flags: 0, functionId: call.id, requestId: 1, bodyLength: body.length }, table.protocol.major, table.protocol.minor);
    return Buffer.concat([header, body]);
  });
}

function write(target: string, inputs: Buffer[]): void {
  const dir = join(CORPUS, target);
  mkdirSync(dir, { recursive: true });
  // Named by content, as libFuzzer names what it adds, so re-running changes nothing.
  for (const input of inputs) writeFileSync(join(dir, createHash('sha1').update(input).digest('hex')), input);
  process.stdout.write(`${target}: ${inputs.length} seeds\n`);
}

const ops = [...vectorRequests(), ...handMade()];
const messages = ops.map((op) => wrapBareOperation(op));
const json = [...ops, ...messages].map((n) => Buffer.from(encodeJsonText(n)));
// Some vectors use Cosmian-only tags, which have no binary tag number.
const binary = messages.flatMap((n) => {
  try {
    return [encodeBinary(n)];
  } catch {
    return [];
  }
});
write('json-ttlv', json);
write('binary-ttlv', binary);
write('frame', frames());
// The http target's first byte picks the route: 0 bare JSON on /kmip/2_1, 1 JSON message on /kmip, 2 binary on /kmip.
write('http', [...ops.map((n) => Buffer.concat([Buffer.from([0]), Buffer.from(encodeJsonText(n))])), ...messages.map((n) => Buffer.concat([Buffer.from([1]), Buffer.from(encodeJsonText(n))])), ...binary.map((b) => Buffer.concat([Buffer.from([2]), b]))]);
