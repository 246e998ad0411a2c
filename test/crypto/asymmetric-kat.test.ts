import t from 'tap';
import { rsaDecrypt, rsaEncrypt, sign, verify, type SignParams } from '../../src/server/crypto/asymmetric';
import { importPrivateKey, publicFromPrivate, type PrivateKeyFormat } from '../../src/server/crypto/formats';
import type { HashAlgorithm } from '../../src/server/crypto/digest';
import { hex, katVectors, type KatStep } from './kat';

/**
 * kat/asymmetric replayed on the engine: the private key is imported from the vector's own
 * KeyMaterial, then the Sign or Decrypt step must give exactly the expected bytes.
 */

/** DigitalSignatureAlgorithm (ECDSAWithSHA256 …) or the key's algorithm → engine parameters. */
function signParams(keyAlgorithm: string, step: KatStep): SignParams {
  const dsa = step.fields['DigitalSignatureAlgorithm'];
  if (dsa) {
    const m = /^ECDSAWith(SHA\d+)$/.exec(dsa);
    if (!m) throw new Error(`unexpected ${dsa}`);
    return { scheme: 'ECDSA', hash: m[1] as HashAlgorithm };
  }
  if (keyAlgorithm === 'Ed25519' || keyAlgorithm === 'Ed448') return { scheme: 'EdDSA' };
  throw new Error(`no signature parameters for ${keyAlgorithm}`);
}

const vectors = katVectors('asymmetric');
t.ok(vectors.length >= 4, `${vectors.length} asymmetric vectors`);

for (const v of vectors) {
  t.test(v.name, async (t) => {
    const [imp, ...ops] = v.steps;
    if (!imp) throw new Error('no import step');
    const format = imp.fields['KeyFormatType'] as PrivateKeyFormat;
    const keyAlgorithm = imp.fields['CryptographicAlgorithm'] ?? '';
    const privateKey = importPrivateKey(format, hex(imp.fields['KeyMaterial']));
    const publicKey = publicFromPrivate(privateKey);
    for (const step of ops) {
      if (step.operation === 'Sign') {
        const p = signParams(keyAlgorithm, step);
        const data = hex(step.fields['Data']);
        const sig = await sign(privateKey, { data }, p);
        t.equal(sig.toString('hex').toUpperCase(), step.expect['SignatureData'], 'the expected signature');
        t.ok(await verify(publicKey, { data }, sig, p), 'verifies');
        t.notOk(await verify(publicKey, { data: Buffer.concat([data, Buffer.from('x')]) }, sig, p), 'not over other data');
      } else if (step.operation === 'Decrypt') {
        t.equal(step.fields['PaddingMethod'], 'OAEP');
        const p = { padding: 'OAEP' as const, oaepHash: step.fields['HashingAlgorithm'] as HashAlgorithm };
        const plain = await rsaDecrypt(privateKey, hex(step.fields['Data']), p);
        t.equal(plain.toString('hex').toUpperCase(), step.expect['Data'], 'the expected plaintext');
        t.same(await rsaDecrypt(privateKey, rsaEncrypt(publicKey, plain, p), p), plain, 'round trip with the same key');
      } else {
        t.fail(`unexpected step ${step.operation}`);
      }
    }
  });
}
