import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { LocalIoError } from './errors';

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function readLocalFile(path: string): Promise<Buffer> {
  try {
    if (path === '-') {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
      return Buffer.concat(chunks);
    }
    return await fs.readFile(path);
  } catch (e) {
    throw new LocalIoError(`cannot read ${path}: ${describe(e)}`, e);
  }
}

/** A path next to `path` that other readers will not mistake for the finished file. */
export function partialPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.partial`);
}

/** Writes through a temporary file and renames, so a failure never leaves a half-written output. */
export async function writeLocalFile(path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const temp = partialPath(path);
  try {
    await fs.writeFile(temp, data, { mode });
    await fs.rename(temp, path);
  } catch (e) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw new LocalIoError(`cannot write ${path}: ${describe(e)}`, e);
  }
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** Every PEM block of the given label, as DER. */
export function fromPem(text: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'));
}
