import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { KmipOperations, type BatchResult } from '../../src/kmip/client-operations';
import { KmipError } from '../../src/kmip/errors';
import type { DecryptOptions, EncryptOptions } from '../../src/kmip/requests';
import type { EncryptResult } from '../../src/kmip/responses';
import type { TtlvStructure } from '../../src/kmip/ttlv';
import { decryptFile, encryptFile } from '../../src/cli/file-crypt';
import { LocalIoError } from '../../src/cli/errors';

/** A stand-in KMS holding one AES key, answering Encrypt/Decrypt as the server does (fresh IV, GCM tag). */
class LocalAesKms extends KmipOperations {
  readonly key = randomBytes(32);
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;

  async call(_op: TtlvStructure): Promise<TtlvStructure> {
    throw new Error('not used');
  }
  async batch(): Promise<BatchResult[]> {
    throw new Error('not used');
  }
  async close(): Promise<void> {}

  private async track<T>(f: () => T): Promise<T> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 2));
    try {
      return f();
    } finally {
      this.inFlight--;
    }
  }

  override encrypt(uid: string, data: Uint8Array, o: EncryptOptions = {}): Promise<EncryptResult> {
    return this.track(() => {
      if (uid !== 'k1') throw new KmipError('Item_Not_Found', uid);
      if (o.mode === 'CBC') {
        const iv = randomBytes(16);
        const c = createCipheriv('aes-256-cbc', this.key, iv);
        return { data: Buffer.concat([c.update(data), c.final()]), iv };
      }
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', this.key, iv);
      if (o.aad) c.setAAD(o.aad);
      const out = Buffer.concat([c.update(data), c.final()]);
      return { data: out, iv, tag: c.getAuthTag() };
    });
  }

  override decrypt(uid: string, data: Uint8Array, o: DecryptOptions = {}): Promise<Buffer> {
    return this.track(() => {
      if (uid !== 'k1') throw new KmipError('Item_Not_Found', uid);
      try {
        if (o.mode === 'CBC') {
          const d = createDecipheriv('aes-256-cbc', this.key, o.iv as Uint8Array);
          return Buffer.concat([d.update(data), d.final()]);
        }
        const d = createDecipheriv('aes-256-gcm', this.key, o.iv as Uint8Array);
        if (o.aad) d.setAAD(o.aad);
        d.setAuthTag(o.tag as Uint8Array);
        return Buffer.concat([d.update(data), d.final()]);
      } catch (e) {
        throw new KmipError('Cryptographic_Failure', String(e));
      }
    });
  }
}

t.test('streamed container: round trips, bounded concurrency, ordered output', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-fc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kms = new LocalAesKms();
  for (const size of [0, 1, 999, 1000, 1001, 10_000 + 7]) {
    const plain = randomBytes(size);
    const input = join(dir, `in-${size}`);
    writeFileSync(input, plain);
    for (const mode of ['gcm', 'cbc'] as const) {
      const sealed = join(dir, `sealed-${size}-${mode}`);
      const r = await encryptFile(kms, { input, output: sealed, keyUid: 'k1', mode, chunkSize: 1000, concurrency: 3 });
      t.equal(r.chunks, Math.max(1, Math.ceil(size / 1000)), `${size} bytes → ${r.chunks} chunks`);
      const back = join(dir, `back-${size}-${mode}`);
      const d = await decryptFile(kms, { input: sealed, output: back, concurrency: 3 });
      t.equal(d.keyUid, 'k1', 'key UID read from the header');
      t.same(readFileSync(back), plain, `${mode} ${size} bytes round trip`);
    }
  }
  t.ok(kms.maxInFlight > 1 && kms.maxInFlight <= 3, `several chunks in flight, never more than asked (${kms.maxInFlight})`);
  t.same(readdirSync(dir).filter((f) => f.endsWith('.partial')), [], 'no partial files left');
});

t.test('a GCM container detects truncation at a chunk boundary and a wrong key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-fc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kms = new LocalAesKms();
  const input = join(dir, 'in');
  writeFileSync(input, randomBytes(2500));
  const sealed = join(dir, 'sealed');
  await encryptFile(kms, { input, output: sealed, keyUid: 'k1', chunkSize: 1000 });
  const bytes = readFileSync(sealed);
  // Each GCM record is 1 + 12 + 1 + 16 + 4 + ciphertext; the last chunk holds 500 bytes.
  const cut = join(dir, 'cut');
  writeFileSync(cut, bytes.subarray(0, bytes.length - (1 + 12 + 1 + 16 + 4 + 500)));
  await t.rejects(decryptFile(kms, { input: cut, output: join(dir, 'cut.out') }), LocalIoError);
  await t.rejects(decryptFile(kms, { input: sealed, output: join(dir, 'x.out'), keyUid: 'other' }), { name: 'KmipError', reason: 'Item_Not_Found' });
  await t.rejects(decryptFile(kms, { input, output: join(dir, 'y.out') }), /bad magic/);
  await t.rejects(encryptFile(kms, { input, output: join(dir, 'z'), keyUid: 'k1', chunkSize: 0 }), /chunk size/);
});
