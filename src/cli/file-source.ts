import type { FileHandle } from 'node:fs/promises';
import type { ByteSource } from './container';

/**
 * A ByteSource over an open file (or pipe) that reads ahead by at most one buffer, so the
 * encryptor can tell the last chunk from the others before sending it.
 */
export class FileByteSource implements ByteSource {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  bytesRead = 0;

  constructor(private readonly handle: FileHandle, private readonly readSize = 1024 * 1024) {}

  private async fill(min: number): Promise<void> {
    while (this.buffer.length < min && !this.ended) {
      const want = Math.max(min - this.buffer.length, this.readSize);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.handle.read(chunk, 0, want, null);
      if (bytesRead === 0) this.ended = true;
      else this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    }
  }

  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(out.length);
    this.bytesRead += out.length;
    // Copy so callers may keep the chunk while the shared buffer moves on.
    return Buffer.from(out);
  }

  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.buffer.length === 0;
  }
}
