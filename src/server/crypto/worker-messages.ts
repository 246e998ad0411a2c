import { parentPort, type TransferListItem } from 'node:worker_threads';
import { KmipError, TtlvCodecError } from '../../kmip/errors';

/** How jobs and their results cross to and from worker threads (offload.ts, src/server/codec-offload.ts). */

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; reason?: string; message: string; codec?: boolean };

/**
 * ArrayBuffers that came back from a worker whole (a decoded request's data, a ciphertext):
 * nothing else holds them, so they may move on to the next worker without a copy. Anything
 * else (key material from the store or a cache, a view into a request body) is copied, since
 * moving it would empty it for its other holders.
 */
const MOVABLE = new WeakSet<ArrayBufferLike>();

const ownsItsBuffer = (b: Uint8Array): boolean => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;

/**
 * Buffers cross as exact copies (a view would drag its whole ArrayBuffer along, such as a
 * request body), transferred rather than copied a second time, or moved outright when they
 * are MOVABLE. Only plain objects and arrays are walked: KeyObjects and the like are
 * structured-cloned as they are.
 */
export function packForWorker(value: unknown, transfer: TransferListItem[]): unknown {
  if (value instanceof Uint8Array) {
    if (ownsItsBuffer(value) && MOVABLE.has(value.buffer) && !transfer.includes(value.buffer as ArrayBuffer)) {
      MOVABLE.delete(value.buffer);
      transfer.push(value.buffer as ArrayBuffer);
      return value;
    }
    const copy = new Uint8Array(value);
    transfer.push(copy.buffer);
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => packForWorker(v, transfer));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = packForWorker(v, transfer);
    return out;
  }
  return value;
}

/**
 * Structured clone turns Buffers into plain Uint8Arrays: make them Buffers again, in place.
 * One that arrived owning its whole (transferred) ArrayBuffer is nobody else's: MOVABLE.
 */
export function reviveBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    if (ownsItsBuffer(value) && value.byteLength >= 4096) MOVABLE.add(value.buffer);
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveBuffers(value[i]);
    return value;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    for (const k of Object.keys(record)) record[k] = reviveBuffers(record[k]);
  }
  return value;
}

export type Op = (...args: never[]) => unknown;

export interface OffloadJob {
  id: number;
  op: string;
  args: unknown[];
}

/** Answers one pool's jobs with `ops`; shared with the JSON codec's worker (src/server/codec-worker.ts). */
export function serveJobs(ops: Readonly<Record<string, Op>>): void {
  parentPort?.on('message', (job: OffloadJob) => {
    try {
      const op = ops[job.op];
      if (!op) throw new Error(`unknown job ${job.op}`);
      const value = op(...(reviveBuffers(job.args) as never[]));
      const transfer: TransferListItem[] = [];
      parentPort?.postMessage({ id: job.id, ok: true, value: ownedForTransfer(value, transfer) }, transfer);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof TtlvCodecError) parentPort?.postMessage({ id: job.id, ok: false, codec: true, message });
      else if (e instanceof KmipError) parentPort?.postMessage({ id: job.id, ok: false, reason: e.reason, message });
      else parentPort?.postMessage({ id: job.id, ok: false, message: 'the operation failed' });
    }
  });
}

/**
 * Results go back without a copy when a Buffer owns its whole ArrayBuffer (every large one
 * does); the rest (small Buffers share node's pool, which cannot be transferred) are cloned.
 */
function ownedForTransfer(value: unknown, transfer: TransferListItem[]): unknown {
  if (value instanceof Uint8Array) {
    if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.byteLength >= 4096 && !transfer.includes(value.buffer as ArrayBuffer)) {
      transfer.push(value.buffer as ArrayBuffer);
      return value;
    }
    return new Uint8Array(value);
  }
  if (Array.isArray(value)) return value.map((v) => ownedForTransfer(v, transfer));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = ownedForTransfer(v, transfer);
    return out;
  }
  return value;
}
