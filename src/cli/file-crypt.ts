import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { KmipError } from '../kmip/errors';
import type { KmipOperations } from '../kmip/client-operations';
import {
  FILE_ID_BYTES, MAX_CHUNK_SIZE, chunkAad, encodeChunk, encodeHeader, readChunk, readHeader,
  type ChunkRecord, type ContainerHeader, type ContainerMode,
} from './container';
import { LocalIoError, UsageError } from './errors';
import { FileByteSource } from './file-source';
import { partialPath } from './files';
import type { ProgressBar } from './progress';

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
export const DEFAULT_CONCURRENCY = 4;

export interface FileCryptOptions {
  input: string;
  output: string;
  concurrency?: number;
  progress?: (total: number | undefined) => ProgressBar;
}

/**
 * Runs chunk jobs a few at a time but writes their results strictly in order: the server
 * works on several chunks at once while memory stays bounded by the window.
 */
class OrderedWindow {
  private readonly pending: Array<Promise<Buffer>> = [];

  constructor(private readonly size: number, private readonly sink: (b: Buffer) => Promise<void>) {}

  async push(job: Promise<Buffer>): Promise<void> {
    // Marked handled now; the failure still surfaces when this job's turn to be written comes.
    job.catch(() => undefined);
    this.pending.push(job);
    if (this.pending.length >= this.size) await this.sink(await (this.pending.shift() as Promise<Buffer>));
  }

  async drain(): Promise<void> {
    while (this.pending.length > 0) await this.sink(await (this.pending.shift() as Promise<Buffer>));
  }
}

async function openInput(path: string): Promise<{ handle: FileHandle; size: number | undefined }> {
  try {
    const handle = await open(path, 'r');
    const stat = await handle.stat();
    return { handle, size: stat.isFile() ? stat.size : undefined };
  } catch (e) {
    throw new LocalIoError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

/** Writes to a hidden partial file and renames on success; nothing half-done is left at `output`. */
async function withOutput(output: string, body: (write: (b: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
  const temp = partialPath(output);
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx', 0o600);
  } catch (e) {
    throw new LocalIoError(`cannot write ${output}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  try {
    await body(async (b) => {
      await handle.write(b);
    });
    await handle.close();
    await rename(temp, output);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw e;
  }
}

function checkTuning(chunkSize: number, concurrency: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize <= 0 || chunkSize > MAX_CHUNK_SIZE) throw new UsageError(`the chunk size must be 1 to ${MAX_CHUNK_SIZE} bytes`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError('concurrency must be 1 to 64');
}

export async function encryptFile(
  client: KmipOperations,
  o: FileCryptOptions & { keyUid: string; mode?: ContainerMode; chunkSize?: number },
): Promise<{ chunks: number; bytes: number }> {
  const mode = o.mode ?? 'gcm';
  const chunkSize = o.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const concurrency = o.concurrency ?? DEFAULT_CONCURRENCY;
  checkTuning(chunkSize, concurrency);
  const header: ContainerHeader = { mode, chunkSize, fileId: randomBytes(FILE_ID_BYTES), keyUid: o.keyUid };
  const { handle, size } = await openInput(o.input);
  const bar = o.progress?.(size);
  let chunks = 0;
  let bytes = 0;
  try {
    await withOutput(o.output, async (write) => {
      await write(encodeHeader(header));
      const src = new FileByteSource(handle, chunkSize);
      const window = new OrderedWindow(concurrency, async (record) => {
        await write(record);
      });
      for (let index = 0; ; index++) {
        const plain = await src.read(chunkSize);
        const final = await src.atEnd();
        await window.push(encryptChunk(client, header, plain, index, final).then((record) => {
          bar?.advance(plain.length);
          return encodeChunk(record);
        }));
        chunks++;
        bytes += plain.length;
        if (final) break;
      }
      await window.drain();
    });
  } finally {
    await handle.close();
    bar?.finish();
  }
  return { chunks, bytes };
}

async function encryptChunk(client: KmipOperations, h: ContainerHeader, plain: Buffer, index: number, final: boolean): Promise<ChunkRecord> {
  if (h.mode === 'gcm') {
    const r = await client.encrypt(h.keyUid, plain, { mode: 'GCM', aad: chunkAad(h.fileId, index, final) });
    if (!r.iv || !r.tag) throw new KmipError('Invalid_Message', 'the server returned no IV or tag for an AES-GCM chunk');
    return { iv: r.iv, tag: r.tag, ciphertext: r.data };
  }
  const r = await client.encrypt(h.keyUid, plain, { mode: 'CBC', padding: 'PKCS5' });
  if (!r.iv) throw new KmipError('Invalid_Message', 'the server returned no IV for an AES-CBC chunk');
  return { iv: r.iv, tag: Buffer.alloc(0), ciphertext: r.data };
}

async function decryptChunk(client: KmipOperations, h: ContainerHeader, keyUid: string, c: ChunkRecord, index: number, final: boolean): Promise<Buffer> {
  try {
    if (h.mode === 'gcm') {
      return await client.decrypt(keyUid, c.ciphertext, { mode: 'GCM', iv: c.iv, tag: c.tag, aad: chunkAad(h.fileId, index, final) });
    }
    return await client.decrypt(keyUid, c.ciphertext, { mode: 'CBC', padding: 'PKCS5', iv: c.iv });
  } catch (e) {
    if (e instanceof KmipError && e.reason === 'Cryptographic_Failure') {
      throw new LocalIoError(`chunk ${index} failed authentication: the file is corrupt, truncated or reordered, or the key is not the one it was encrypted with (${e.message})`, e);
    }
    throw e;
  }
}

export async function decryptFile(client: KmipOperations, o: FileCryptOptions & { keyUid?: string }): Promise<{ chunks: number; bytes: number; keyUid: string }> {
  const concurrency = o.concurrency ?? DEFAULT_CONCURRENCY;
  checkTuning(1, concurrency);
  const { handle, size } = await openInput(o.input);
  const bar = o.progress?.(size);
  let chunks = 0;
  let bytes = 0;
  let keyUid = o.keyUid ?? '';
  try {
    const src = new FileByteSource(handle);
    const header = await readHeader(src);
    keyUid = o.keyUid ?? header.keyUid;
    await withOutput(o.output, async (write) => {
      let seen = src.bytesRead;
      const window = new OrderedWindow(concurrency, async (plain) => {
        bytes += plain.length;
        await write(plain);
      });
      for (let index = 0; ; index++) {
        const record = await readChunk(src, header);
        if (!record) {
          if (index === 0) throw new LocalIoError('not a valid P11KMS1 container: no chunks (truncated)');
          break;
        }
        const final = await src.atEnd();
        const consumed = src.bytesRead - seen;
        seen = src.bytesRead;
        await window.push(decryptChunk(client, header, keyUid, record, index, final).then((plain) => {
          bar?.advance(consumed);
          return plain;
        }));
        chunks++;
      }
      await window.drain();
    });
  } finally {
    await handle.close();
    bar?.finish();
  }
  return { chunks, bytes, keyUid };
}
