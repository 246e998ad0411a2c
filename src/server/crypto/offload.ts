import { Worker, type TransferListItem } from 'node:worker_threads';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { KmipError, TtlvCodecError } from '../../kmip/errors';
import { packForWorker, reviveBuffers, type Reply } from './worker-messages';
import { hash, hmac, hmacVerify, type HashAlgorithm } from './digest';
import { symmetricDecrypt, symmetricEncrypt } from './symmetric';
import type { SymmetricParams, SymmetricResult } from './symmetric-common';

/**
 * Work that would hold the event loop — RSA private-key primitives, which node:crypto only
 * offers synchronously, and any cipher, hash or MAC over a large input — runs on worker
 * threads, so one request never stalls the others (or /health). Small inputs run inline: a
 * worker round trip costs more than an AES block.
 */

/** Below this many bytes of data, the work is done on the event loop (well under a millisecond). */
export const OFFLOAD_MIN_BYTES = 64 * 1024;

/** A fixed set of threads running one script that answers {id, op, args} with {id, ok, value}. */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private nextId = 1;
  private nextWorker = 0;

  constructor(private readonly script: string, private readonly what: string) {}

  private ensure(): void {
    if (this.workers.length > 0) return;
    const size = Math.max(1, Math.min(4, typeof availableParallelism === 'function' ? availableParallelism() : cpus().length));
    for (let i = 0; i < size; i++) {
      const w = new Worker(this.script);
      w.on('message', (reply: Reply) => {
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        this.refWhileBusy();
        if (reply.ok) p.resolve(reviveBuffers(reply.value));
        else if (reply.codec) p.reject(new TtlvCodecError(reply.message));
        else p.reject(new KmipError((reply.reason ?? 'General_Failure') as KmipError['reason'], reply.message));
      });
      w.on('error', () => this.failAll());
      this.workers.push(w);
    }
    this.refWhileBusy();
  }

  /** Idle workers must not keep a process alive; busy ones must, or replies would be lost. */
  private refWhileBusy(): void {
    for (const w of this.workers) {
      if (this.pending.size > 0) w.ref();
      else w.unref();
    }
  }

  private failAll(): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new KmipError('General_Failure', `the ${this.what} worker stopped`));
    }
    this.refWhileBusy();
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }

  /** `args` are packed (packForWorker) unless `transfer` is given, in which case they go as they are. */
  run<T>(op: string, args: unknown[], transfer?: TransferListItem[]): Promise<T> {
    this.ensure();
    const id = this.nextId++;
    const list: TransferListItem[] = transfer ?? [];
    const packed = transfer ? args : packForWorker(args, list);
    const worker = this.workers[this.nextWorker++ % this.workers.length] as Worker;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.size === 1) this.refWhileBusy();
      worker.postMessage({ id, op, args: packed }, list);
    });
  }
}

const pool = new WorkerPool(join(__dirname, 'offload-worker.js'), 'crypto');

type RawOp = 'privateDecrypt' | 'privateEncrypt';

/** OAEP parameters travel with the job: node's OAEP decoder runs in the worker too. */
export interface RsaOptions {
  padding: number;
  oaepHash?: string;
  oaepLabel?: Buffer;
}

export function rsaPrivateRaw(op: RawOp, key: KeyObject, data: Buffer, padding: number | RsaOptions): Promise<Buffer> {
  const options = typeof padding === 'number' ? { padding } : padding;
  // Whatever OpenSSL said (a padding oracle's favourite detail) stays in the worker.
  return pool.run<Buffer>(op, [key, data, options]).catch(() => {
    throw new KmipError('Cryptographic_Failure', 'RSA operation failed');
  });
}

const large = (data: Buffer): boolean => data.length >= OFFLOAD_MIN_BYTES;

/** symmetricEncrypt, on a worker thread when the data is large. */
export function symmetricEncryptAsync(p: SymmetricParams): Promise<SymmetricResult> {
  return large(p.data) ? pool.run('symmetricEncrypt', [p]) : Promise.resolve().then(() => symmetricEncrypt(p));
}

/** symmetricDecrypt, on a worker thread when the data is large. */
export function symmetricDecryptAsync(p: SymmetricParams & { tag?: Buffer }): Promise<Buffer> {
  return large(p.data) ? pool.run('symmetricDecrypt', [p]) : Promise.resolve().then(() => symmetricDecrypt(p));
}

export function hashAsync(alg: HashAlgorithm, data: Buffer): Promise<Buffer> {
  return large(data) ? pool.run('hash', [alg, data]) : Promise.resolve().then(() => hash(alg, data));
}

export function hmacAsync(alg: HashAlgorithm, key: Buffer, data: Buffer): Promise<Buffer> {
  return large(data) ? pool.run('hmac', [alg, key, data]) : Promise.resolve().then(() => hmac(alg, key, data));
}

export function hmacVerifyAsync(alg: HashAlgorithm, key: Buffer, data: Buffer, expected: Buffer): Promise<boolean> {
  return large(data) ? pool.run('hmacVerify', [alg, key, data, expected]) : Promise.resolve().then(() => hmacVerify(alg, key, data, expected));
}
