import { join } from 'node:path';
import { decodeBinary, encodeBinary } from '../kmip/binary-codec';
import { decodeJsonTextStyled, encodeJsonBytes, type DecodedJson, type StructureStyle } from '../kmip/json-codec';
import type { TtlvNode } from '../kmip/ttlv';
import { OFFLOAD_MIN_BYTES, WorkerPool } from './crypto/offload';

/**
 * JSON and binary TTLV for large messages, on worker threads: parsing 48 MiB of JSON, checking and
 * decoding its hex, and writing the hex of a large response each take hundreds of
 * milliseconds, which on the event loop would be as long a pause for every other client.
 */

const pool = new WorkerPool(join(__dirname, 'codec-worker.js'), 'JSON codec');

/** Request bodies from this size on are decoded on a worker thread. */
export const DECODE_OFFLOAD_MIN_BYTES = 256 * 1024;

/**
 * The request's TTLV and the Structure style it was written in. The body is handed over to the
 * worker (its memory moves there, no copy), so the caller must not read it afterwards.
 */
export async function decodeJsonBody(body: Buffer): Promise<DecodedJson> {
  if (body.length < DECODE_OFFLOAD_MIN_BYTES) return decodeJsonTextStyled(body.toString('utf8'));
  return decodeOffThread<DecodedJson>('decodeJson', body);
}

/** A binary TTLV request, on the same terms as decodeJsonBody. */
export async function decodeBinaryBody(body: Buffer): Promise<TtlvNode> {
  if (body.length < DECODE_OFFLOAD_MIN_BYTES) return decodeBinary(body);
  return decodeOffThread<TtlvNode>('decodeBinary', body);
}

function decodeOffThread<T>(op: string, body: Buffer): Promise<T> {
  const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : Buffer.from(body);
  return pool.run<T>(op, [owned], [owned.buffer as ArrayBuffer]);
}

function byteStringBytes(node: TtlvNode): number {
  if (node.type === 'ByteString') return node.value.length;
  if (node.type !== 'Structure') return 0;
  let total = 0;
  for (const c of node.value) total += byteStringBytes(c);
  return total;
}

/** The response as JSON bytes in the request's Structure style, written on a worker thread when it carries much binary data. */
export async function encodeJsonBody(node: TtlvNode, style: StructureStyle = 'untyped'): Promise<Buffer> {
  if (byteStringBytes(node) < OFFLOAD_MIN_BYTES) return encodeJsonBytes(node, style);
  return pool.run<Buffer>('encodeJson', [node, style]);
}

/** The response as binary TTLV of KMIP `major`, written on a worker thread when it carries much binary data. */
export async function encodeBinaryBody(node: TtlvNode, major: number): Promise<Buffer> {
  if (byteStringBytes(node) < OFFLOAD_MIN_BYTES) return encodeBinary(node, major);
  return pool.run<Buffer>('encodeBinary', [node, major]);
}
