import t from 'tap';
import { symmetricDecrypt, symmetricEncrypt, type SymmetricAlgorithm, type SymmetricMode, type SymmetricParams } from '../../src/server/crypto/symmetric';
import { hex, katVectors, opt, type KatStep } from './kat';

/** Every vector under kat/symmetric, replayed on the engine with the request's own bytes. */

function params(key: Buffer, keyAlgorithm: string, step: KatStep): SymmetricParams & { tag?: Buffer } {
  const f = step.fields;
  const algorithm = (f['CryptographicAlgorithm'] ?? keyAlgorithm) as SymmetricAlgorithm;
  const mode = f['BlockCipherMode'];
  const p: SymmetricParams & { tag?: Buffer } = { algorithm, key, data: hex(f['Data']) };
  // 'AEAD' is how Cosmian names ChaCha20-Poly1305's only mode: the algorithm implies it.
  if (mode !== undefined && mode !== 'AEAD') p.mode = mode as SymmetricMode;
  if (f['PaddingMethod'] !== undefined) p.padding = f['PaddingMethod'] as 'None' | 'PKCS5';
  const iv = opt(f['IVCounterNonce']);
  const aad = opt(f['AuthenticatedEncryptionAdditionalData']);
  const tag = opt(f['AuthenticatedEncryptionTag']);
  if (iv) p.iv = iv;
  if (aad) p.aad = aad;
  if (tag) p.tag = tag;
  return p;
}

const vectors = katVectors('symmetric');
t.ok(vectors.length >= 20, `${vectors.length} symmetric vectors`);

for (const v of vectors) {
  t.test(v.name, async (t) => {
    const [imp, ...ops] = v.steps;
    if (!imp) throw new Error('no import step');
    const key = hex(imp.fields['Key']);
    const keyAlgorithm = imp.fields['CryptographicAlgorithm'] ?? 'AES';
    t.ok(ops.length >= 2, 'encrypt and decrypt steps');
    for (const step of ops) {
      const p = params(key, keyAlgorithm, step);
      const expected = step.expect['Data'];
      if (step.operation === 'Encrypt') {
        const out = symmetricEncrypt(p);
        t.equal(out.data.toString('hex').toUpperCase(), expected, `${v.name} encrypt`);
        const tag = step.expect['AuthenticatedEncryptionTag'];
        if (tag !== undefined) t.equal(out.tag?.toString('hex').toUpperCase(), tag, `${v.name} tag`);
        if (p.iv) t.same(out.iv, p.iv, 'the given IV is echoed');
      } else {
        t.equal(step.operation, 'Decrypt');
        t.equal(symmetricDecrypt(p).toString('hex').toUpperCase(), expected, `${v.name} decrypt`);
      }
    }
  });
}
