import { CKR } from '../constants';
import { fail } from '../errors';
import type { CallOutcome, OutBuffer } from '../types';

/**
 * The output-buffer rules of PKCS#11 (2.40 section 5.2): no buffer asks for the length;
 * a short buffer gets CKR_BUFFER_TOO_SMALL and the length. Only a delivery ends the
 * operation, which is why the caller learns whether the bytes went out.
 */
export function deliver(out: OutBuffer, data: Uint8Array): { outcome: CallOutcome; delivered: boolean } {
  if (!out.present) return { outcome: { rv: CKR.OK, outputs: [{ length: data.length }] }, delivered: false };
  if (out.capacity < data.length) return { outcome: { rv: CKR.BUFFER_TOO_SMALL, outputs: [{ length: data.length }] }, delivered: false };
  // A copy: ending the operation wipes the operation's own buffers before the reply is encoded.
  return { outcome: { rv: CKR.OK, outputs: [{ length: data.length, data: Buffer.from(data) }] }, delivered: true };
}

/**
 * Keeps the result of a remote operation across a length query, so the KMS does the work
 * once: the application's second call, with the same input and a big enough buffer, gets
 * the kept bytes.
 */
export class ResultCache {
  private input: Buffer | undefined;
  private output: Buffer | undefined;

  async get(input: Uint8Array, compute: () => Promise<Buffer>): Promise<Buffer> {
    if (this.output && this.input && this.input.equals(Buffer.from(input))) return this.output;
    const output = await compute();
    this.input = Buffer.from(input);
    this.output = output;
    return output;
  }

  clear(): void {
    this.input?.fill(0);
    this.output?.fill(0);
    this.input = undefined;
    this.output = undefined;
  }
}

/** Input collected across Update calls, with a bound so no application can exhaust the runtime. */
export class InputBuffer {
  static readonly LIMIT = 64 * 1024 * 1024;
  private parts: Buffer[] = [];
  private size = 0;

  add(data: Uint8Array): void {
    if (this.size + data.length > InputBuffer.LIMIT) fail(CKR.DATA_LEN_RANGE, `more than ${InputBuffer.LIMIT} bytes of input`);
    this.parts.push(Buffer.from(data));
    this.size += data.length;
  }

  take(): Buffer {
    const all = Buffer.concat(this.parts);
    this.clear();
    return all;
  }

  clear(): void {
    for (const p of this.parts) p.fill(0);
    this.parts = [];
    this.size = 0;
  }
}
