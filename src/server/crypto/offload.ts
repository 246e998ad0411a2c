import { Worker } from 'node:worker_threads';
import { availableParallelism, cpus } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';

/**
 * RSA private-key primitives that node:crypto only offers synchronously (privateDecrypt,
 * privateEncrypt) run on worker threads, so a 4096-bit operation never stalls the event
 * loop that serves every other request. KeyObjects are cloneable into workers.
 */

type RawOp = 'privateDecrypt' | 'privateEncrypt';

/** OAEP parameters travel with the job: node's OAEP decoder runs in the worker too. */
export interface RsaOptions {
  padding: number;
  oaepHash?: string;
  oaepLabel?: Buffer;
}

interface Job {
  id: number;
  op: RawOp;
  key: KeyObject;
  data: Buffer;
  options: RsaOptions;
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
parentPort.on('message', (job) => {
  try {
    const o = job.options;
    const out = crypto[job.op]({ key: job.key, padding: o.padding, oaepHash: o.oaepHash, oaepLabel: o.oaepLabel && Buffer.from(o.oaepLabel) }, Buffer.from(job.data));
    parentPort.postMessage({ id: job.id, ok: true, data: out });
  } catch (e) {
    parentPort.postMessage({ id: job.id, ok: false, error: String(e && e.message || e) });
  }
});
`;

type Reply = { id: number; ok: true; data: Uint8Array } | { id: number; ok: false; error: string };

class RsaPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: unknown) => void }>();
  private nextId = 1;
  private nextWorker = 0;

  private ensure(): void {
    if (this.workers.length > 0) return;
    const size = Math.max(1, Math.min(4, typeof availableParallelism === 'function' ? availableParallelism() : cpus().length));
    for (let i = 0; i < size; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', (reply: Reply) => {
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        this.refWhileBusy();
        if (reply.ok) p.resolve(Buffer.from(reply.data));
        else p.reject(new KmipError('Cryptographic_Failure', 'RSA operation failed'));
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
      p.reject(new KmipError('General_Failure', 'the RSA worker stopped'));
    }
    this.refWhileBusy();
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }

  run(op: RawOp, key: KeyObject, data: Buffer, options: RsaOptions): Promise<Buffer> {
    this.ensure();
    const id = this.nextId++;
    const job: Job = { id, op, key, data, options };
    const worker = this.workers[this.nextWorker++ % this.workers.length] as Worker;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.refWhileBusy();
      worker.postMessage(job);
    });
  }
}

const pool = new RsaPool();

export function rsaPrivateRaw(op: RawOp, key: KeyObject, data: Buffer, padding: number | RsaOptions): Promise<Buffer> {
  return pool.run(op, key, data, typeof padding === 'number' ? { padding } : padding);
}
