import t from 'tap';
import { generateKeyPair, generateSymmetricKey, type KeyPairGeneration } from '../../src/server/crypto/keygen';
import { describeKey } from '../../src/server/crypto/formats';
import { sign, verify } from '../../src/server/crypto/signature';
import { deriveSharedSecret } from '../../src/server/crypto/ecdh';
import { importPrivateKey, importPublicKey } from '../../src/server/crypto/formats';
import { asyncReasonOf, reasonOf } from './assert-kmip';

t.test('symmetric keys', async (t) => {
  for (const bits of [128, 192, 256, 512]) t.equal(generateSymmetricKey(bits).length, bits / 8);
  t.not(generateSymmetricKey(256).toString('hex'), generateSymmetricKey(256).toString('hex'), 'random');
  for (const bits of [0, 7, -8, 1.5]) t.equal(reasonOf(() => generateSymmetricKey(bits)), 'Invalid_Field', `${bits} bits`);
});

t.test('key pairs of every kind', async (t) => {
  const specs: [KeyPairGeneration, ReturnType<typeof describeKey>][] = [
    [{ kind: 'RSA', bits: 1024 }, { algorithm: 'RSA', bits: 1024 }],
    [{ kind: 'RSA', bits: 2048, publicExponent: 3 }, { algorithm: 'RSA', bits: 2048 }],
    [{ kind: 'EC', curve: 'P256' }, { algorithm: 'EC', bits: 256, curve: 'P256' }],
    [{ kind: 'EC', curve: 'P384' }, { algorithm: 'EC', bits: 384, curve: 'P384' }],
    [{ kind: 'EC', curve: 'P521' }, { algorithm: 'EC', bits: 521, curve: 'P521' }],
    [{ kind: 'EC', curve: 'SECP256K1' }, { algorithm: 'EC', bits: 256, curve: 'SECP256K1' }],
    [{ kind: 'Ed25519' }, { algorithm: 'Ed25519', bits: 256 }],
    [{ kind: 'Ed448' }, { algorithm: 'Ed448', bits: 448 }],
    [{ kind: 'X25519' }, { algorithm: 'X25519', bits: 256 }],
    [{ kind: 'X448' }, { algorithm: 'X448', bits: 448 }],
  ];
  for (const [spec, expected] of specs) {
    const pair = await generateKeyPair(spec);
    t.equal(pair.privateKey.type, 'private');
    t.equal(pair.publicKey.type, 'public');
    t.same(describeKey(pair.privateKey), expected, JSON.stringify(spec));
  }
  const rsa3 = await generateKeyPair({ kind: 'RSA', bits: 2048, publicExponent: 3 });
  t.equal(rsa3.publicKey.asymmetricKeyDetails?.publicExponent, 3n, 'public exponent honoured');
  const ed = await generateKeyPair({ kind: 'Ed25519' });
  t.ok(await verify(ed.publicKey, { data: Buffer.from('x') }, await sign(ed.privateKey, { data: Buffer.from('x') }, { scheme: 'EdDSA' }), { scheme: 'EdDSA' }), 'usable');
});

t.test('refused specifications', async (t) => {
  t.equal(await asyncReasonOf(() => generateKeyPair({ kind: 'RSA', bits: 512 })), 'Invalid_Field', 'RSA 512');
  t.equal(await asyncReasonOf(() => generateKeyPair({ kind: 'RSA', bits: 16384 })), 'Invalid_Field', 'RSA 16384');
  t.equal(await asyncReasonOf(() => generateKeyPair({ kind: 'RSA', bits: 2048, publicExponent: 65536 })), 'Invalid_Field', 'even exponent');
  t.equal(await asyncReasonOf(() => generateKeyPair({ kind: 'EC', curve: 'P192' as 'P256' })), 'Feature_Not_Supported', 'P-192');
  t.equal(await asyncReasonOf(() => generateKeyPair({ kind: 'DSA' as 'Ed25519' })), 'Feature_Not_Supported', 'DSA');
});

t.test('key agreement', async (t) => {
  for (const spec of [{ kind: 'EC', curve: 'P256' }, { kind: 'EC', curve: 'P521' }, { kind: 'EC', curve: 'SECP256K1' }, { kind: 'X25519' }, { kind: 'X448' }] as KeyPairGeneration[]) {
    const a = await generateKeyPair(spec);
    const b = await generateKeyPair(spec);
    const ab = deriveSharedSecret(a.privateKey, b.publicKey);
    t.same(ab, deriveSharedSecret(b.privateKey, a.publicKey), `${JSON.stringify(spec)} agrees`);
    t.ok(ab.length >= 32);
  }
  // RFC 7748 §6.1.
  const alice = importPrivateKey('Raw', Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'), 'X25519');
  const bob = importPublicKey('Raw', Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex'), 'X25519');
  t.equal(deriveSharedSecret(alice, bob).toString('hex'), '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742', 'RFC 7748 X25519');
  const p256 = await generateKeyPair({ kind: 'EC', curve: 'P256' });
  const p384 = await generateKeyPair({ kind: 'EC', curve: 'P384' });
  const ed = await generateKeyPair({ kind: 'Ed25519' });
  t.equal(reasonOf(() => deriveSharedSecret(p256.privateKey, p384.publicKey)), 'Invalid_Field', 'different curves');
  t.equal(reasonOf(() => deriveSharedSecret(ed.privateKey, ed.publicKey)), 'Bad_Cryptographic_Parameters', 'Ed25519 does not agree keys');
  t.equal(reasonOf(() => deriveSharedSecret(alice, importPublicKey('Raw', Buffer.alloc(32), 'X25519'))), 'Cryptographic_Failure', 'low-order point');
});
