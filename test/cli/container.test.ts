import t from 'tap';
import { chunkAad, encodeChunk, encodeHeader, readChunk, readHeader, type ByteSource } from '../../src/cli/container';

function source(bytes: Buffer): ByteSource {
  let at = 0;
  return {
    read: async (n) => {
      const out = bytes.subarray(at, at + n);
      at += out.length;
      return out;
    },
    atEnd: async () => at >= bytes.length,
  };
}

t.test('the P11KMS1 header and chunk records round-trip', async (t) => {
  const header = { mode: 'gcm' as const, chunkSize: 1024, fileId: Buffer.alloc(16, 9), keyUid: 'key-é' };
  const chunk = { iv: Buffer.alloc(12, 1), tag: Buffer.alloc(16, 2), ciphertext: Buffer.from('cipher') };
  const bytes = Buffer.concat([encodeHeader(header), encodeChunk(chunk)]);
  t.equal(bytes.subarray(0, 7).toString(), 'P11KMS1');
  const src = source(bytes);
  t.same(await readHeader(src), header);
  t.same(await readChunk(src, header), chunk);
  t.equal(await readChunk(src, header), undefined, 'clean end');
});

t.test('AAD binds file id, index and the final flag', async (t) => {
  const id = Buffer.alloc(16, 3);
  t.equal(chunkAad(id, 0, false).length, 25);
  t.notSame(chunkAad(id, 1, false), chunkAad(id, 2, false));
  t.notSame(chunkAad(id, 1, false), chunkAad(id, 1, true));
});

t.test('corrupt containers are rejected before any allocation', async (t) => {
  await t.rejects(readHeader(source(Buffer.from('NOTAFILE....................'))), /bad magic/);
  const header = { mode: 'gcm' as const, chunkSize: 16, fileId: Buffer.alloc(16), keyUid: 'k' };
  const h = encodeHeader(header);
  await t.rejects(readHeader(source(h.subarray(0, 20))), /truncated/);
  const huge = encodeChunk({ iv: Buffer.alloc(12), tag: Buffer.alloc(16), ciphertext: Buffer.alloc(100) });
  await t.rejects(readChunk(source(huge), header), /exceeds the chunk size/);
  const cut = encodeChunk({ iv: Buffer.alloc(12), tag: Buffer.alloc(16), ciphertext: Buffer.alloc(10) }).subarray(0, 30);
  await t.rejects(readChunk(source(cut), header), /truncated/);
});
