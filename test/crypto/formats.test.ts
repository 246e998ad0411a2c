import t from 'tap';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  describeKey, exportPrivateKey, exportPublicKey, importPrivateKey, importPublicKey, publicFromPrivate,
  type PrivateKeyFormat, type PublicKeyFormat,
} from '../../src/server/crypto/formats';
import { curveFromOid, curveOid, type OkpKind } from '../../src/server/crypto/curves';
import { messageOf, reasonOf } from './assert-kmip';

type Pair = { privateKey: KeyObject; publicKey: KeyObject };

/** JWK, not DER: a key imported from a bare scalar is the same key but encodes without its point. */
const pkcs8 = (k: KeyObject): string => JSON.stringify(k.export({ format: 'jwk' }));
const spki = (k: KeyObject): string => k.export({ format: 'der', type: 'spki' }).toString('hex');

const KEYS: { name: string; pair: Pair; priv: PrivateKeyFormat[]; pub: PublicKeyFormat[]; okp?: OkpKind; describe: ReturnType<typeof describeKey> }[] = [
  { name: 'RSA-2048', pair: generateKeyPairSync('rsa', { modulusLength: 2048 }), priv: ['PKCS8', 'PKCS1', 'TransparentRSAPrivateKey'], pub: ['SPKI', 'PKCS1', 'TransparentRSAPublicKey'], describe: { algorithm: 'RSA', bits: 2048 } },
  { name: 'P-256', pair: generateKeyPairSync('ec', { namedCurve: 'P-256' }), priv: ['PKCS8', 'ECPrivateKey', 'TransparentECPrivateKey'], pub: ['SPKI', 'TransparentECPublicKey'], describe: { algorithm: 'EC', bits: 256, curve: 'P256' } },
  { name: 'P-384', pair: generateKeyPairSync('ec', { namedCurve: 'P-384' }), priv: ['PKCS8', 'ECPrivateKey', 'TransparentECPrivateKey'], pub: ['SPKI', 'TransparentECPublicKey'], describe: { algorithm: 'EC', bits: 384, curve: 'P384' } },
  { name: 'P-521', pair: generateKeyPairSync('ec', { namedCurve: 'P-521' }), priv: ['PKCS8', 'ECPrivateKey', 'TransparentECPrivateKey'], pub: ['SPKI', 'TransparentECPublicKey'], describe: { algorithm: 'EC', bits: 521, curve: 'P521' } },
  { name: 'secp256k1', pair: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), priv: ['PKCS8', 'ECPrivateKey', 'TransparentECPrivateKey'], pub: ['SPKI', 'TransparentECPublicKey'], describe: { algorithm: 'EC', bits: 256, curve: 'SECP256K1' } },
  { name: 'Ed25519', pair: generateKeyPairSync('ed25519'), priv: ['PKCS8', 'Raw'], pub: ['SPKI', 'Raw', 'TransparentECPublicKey'], okp: 'Ed25519', describe: { algorithm: 'Ed25519', bits: 256 } },
  { name: 'Ed448', pair: generateKeyPairSync('ed448'), priv: ['PKCS8', 'Raw'], pub: ['SPKI', 'Raw', 'TransparentECPublicKey'], okp: 'Ed448', describe: { algorithm: 'Ed448', bits: 448 } },
  { name: 'X25519', pair: generateKeyPairSync('x25519'), priv: ['PKCS8', 'Raw'], pub: ['SPKI', 'Raw', 'TransparentECPublicKey'], okp: 'X25519', describe: { algorithm: 'X25519', bits: 256 } },
  { name: 'X448', pair: generateKeyPairSync('x448'), priv: ['PKCS8', 'Raw'], pub: ['SPKI', 'Raw', 'TransparentECPublicKey'], okp: 'X448', describe: { algorithm: 'X448', bits: 448 } },
];

t.test('every format, both ways, for every key type', async (t) => {
  for (const k of KEYS) {
    for (const f of k.priv) {
      const material = exportPrivateKey(k.pair.privateKey, f);
      const back = importPrivateKey(f, material, k.okp);
      t.equal(pkcs8(back), pkcs8(k.pair.privateKey), `${k.name} private ${f}`);
    }
    for (const f of k.pub) {
      const material = exportPublicKey(k.pair.publicKey, f);
      t.equal(spki(importPublicKey(f, material, k.okp)), spki(k.pair.publicKey), `${k.name} public ${f}`);
      t.same(exportPublicKey(k.pair.privateKey, f), material, `${k.name} public ${f} from the private key`);
    }
    t.equal(spki(publicFromPrivate(k.pair.privateKey)), spki(k.pair.publicKey), `${k.name} publicFromPrivate`);
    t.same(describeKey(k.pair.privateKey), k.describe, `${k.name} describeKey`);
    t.same(describeKey(k.pair.publicKey), k.describe, `${k.name} describeKey (public)`);
  }
});

t.test('transparent shapes', async (t) => {
  const [rsa, p256, , p521, , ed25519, ed448, x25519, x448] = KEYS.map((k) => k.pair);
  if (!rsa || !p256 || !p521 || !ed25519 || !ed448 || !x25519 || !x448) throw new Error('keys');
  const r = exportPrivateKey(rsa.privateKey, 'TransparentRSAPrivateKey');
  t.equal(r.p * r.q, r.modulus, 'P × Q = modulus');
  t.equal(r.publicExponent, 65537n);
  t.equal((r.crtCoefficient * r.q) % r.p, 1n, 'CRT coefficient = q⁻¹ mod p');
  const ec = exportPrivateKey(p521.privateKey, 'TransparentECPrivateKey');
  t.equal(ec.curve, 'P521');
  const q = exportPublicKey(p521.publicKey, 'TransparentECPublicKey');
  t.equal(q.q.length, 133, 'P-521 uncompressed point is 1 + 2 × 66 bytes');
  t.equal(q.q[0], 4);
  t.same(exportPublicKey(ed25519.publicKey, 'TransparentECPublicKey').curve, 'CURVEED25519');
  t.same(exportPublicKey(x448.publicKey, 'TransparentECPublicKey').curve, 'CURVE448');
  t.equal(exportPrivateKey(ed25519.privateKey, 'Raw').length, 32);
  t.equal(exportPrivateKey(ed448.privateKey, 'Raw').length, 57);
  t.equal(exportPrivateKey(x25519.privateKey, 'Raw').length, 32);
  t.equal(exportPrivateKey(x448.privateKey, 'Raw').length, 56);
  t.equal(exportPublicKey(ed448.publicKey, 'Raw').length, 57);
});

t.test('RSA private key from modulus and exponents only: the CRT values are recovered', async (t) => {
  for (const bits of [1024, 2048]) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: bits === 1024 ? 3 : 65537 });
    const full = exportPrivateKey(privateKey, 'TransparentRSAPrivateKey');
    const back = importPrivateKey('TransparentRSAPrivateKey', { modulus: full.modulus, publicExponent: full.publicExponent, privateExponent: full.privateExponent });
    t.same(exportPrivateKey(back, 'TransparentRSAPrivateKey'), full, `${bits} bits`);
  }
  const full = exportPrivateKey(KEYS[0]?.pair.privateKey as KeyObject, 'TransparentRSAPrivateKey');
  t.equal(reasonOf(() => importPrivateKey('TransparentRSAPrivateKey', { modulus: full.modulus, publicExponent: full.publicExponent, privateExponent: full.privateExponent + 2n })), 'Invalid_Field', 'inconsistent d');
  t.equal(reasonOf(() => importPrivateKey('TransparentRSAPrivateKey', { ...full, p: full.p + 2n })), 'Invalid_Field', 'P × Q ≠ modulus');
});

t.test('EC private scalar validation', async (t) => {
  const n256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  t.equal(describeKey(importPrivateKey('TransparentECPrivateKey', { curve: 'P256', d: 1n })).curve, 'P256', 'd = 1 with leading zeros');
  t.equal(reasonOf(() => importPrivateKey('TransparentECPrivateKey', { curve: 'P256', d: 0n })), 'Invalid_Field', 'd = 0');
  t.equal(reasonOf(() => importPrivateKey('TransparentECPrivateKey', { curve: 'P256', d: n256 })), 'Invalid_Field', 'd = n');
  t.equal(reasonOf(() => importPrivateKey('TransparentECPrivateKey', { curve: 'P256', d: n256 + 1n })), 'Invalid_Field', 'd = n + 1');
  t.equal(describeKey(importPrivateKey('TransparentECPrivateKey', { curve: 'P256', d: n256 - 1n })).bits, 256, 'd = n − 1');
  t.equal(reasonOf(() => importPrivateKey('TransparentECPrivateKey', { curve: 'P256', d: 1n << 256n })), 'Invalid_Field', 'd too long');
  t.equal(reasonOf(() => importPrivateKey('TransparentECPrivateKey', { curve: 'BRAINPOOLP256R1', d: 5n })), 'Feature_Not_Supported', 'unknown curve');
  const k = importPrivateKey('TransparentECPrivateKey', { curve: 'SECP256K1', d: 0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721n });
  const kat = createPrivateKey({ key: Buffer.from('303E020100301006072A8648CE3D020106052B8104000A042730250201010420C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721', 'hex'), format: 'der', type: 'pkcs8' });
  t.equal(pkcs8(k), pkcs8(kat), 'the same key as the KAT PKCS#8');
  t.same(exportPublicKey(k, 'TransparentECPublicKey').q.length, 65, 'public point derived from d');
});

t.test('bad material is Invalid_Field without echoing it', async (t) => {
  const junk = Buffer.from('deadbeefcafebabe00112233', 'hex');
  for (const f of ['PKCS8', 'PKCS1', 'ECPrivateKey'] as const) {
    t.equal(reasonOf(() => importPrivateKey(f, junk)), 'Invalid_Field', `private ${f}`);
    t.notMatch(messageOf(() => importPrivateKey(f, junk)), /deadbeef/i);
  }
  for (const f of ['SPKI', 'PKCS1'] as const) t.equal(reasonOf(() => importPublicKey(f, junk)), 'Invalid_Field', `public ${f}`);
  t.equal(reasonOf(() => importPrivateKey('Raw', Buffer.alloc(31), 'Ed25519')), 'Invalid_Field', '31-byte Ed25519 seed');
  t.equal(reasonOf(() => importPrivateKey('Raw', Buffer.alloc(32))), 'Invalid_Field', 'Raw without its algorithm');
  t.equal(reasonOf(() => importPublicKey('Raw', Buffer.alloc(56), 'Ed448')), 'Invalid_Field', '56-byte Ed448 public key');
  t.equal(reasonOf(() => importPublicKey('TransparentECPublicKey', { curve: 'P256', q: Buffer.alloc(65, 4) })), 'Invalid_Field', 'point not on the curve');
  t.equal(reasonOf(() => importPublicKey('TransparentECPublicKey', { curve: 'P256', q: Buffer.alloc(33, 2) })), 'Invalid_Field', 'compressed point');
  const [rsa, p256] = KEYS.map((k) => k.pair);
  t.equal(reasonOf(() => exportPrivateKey(p256?.privateKey as KeyObject, 'PKCS1')), 'Key_Format_Type_Not_Supported', 'PKCS1 for EC');
  t.equal(reasonOf(() => exportPrivateKey(rsa?.privateKey as KeyObject, 'ECPrivateKey')), 'Key_Format_Type_Not_Supported', 'ECPrivateKey for RSA');
  t.equal(reasonOf(() => exportPublicKey(rsa?.publicKey as KeyObject, 'Raw')), 'Key_Format_Type_Not_Supported', 'Raw for RSA');
  t.equal(reasonOf(() => exportPrivateKey(rsa?.publicKey as KeyObject, 'PKCS8')), 'Invalid_Object_Type', 'public key as private');
});

t.test('curve names and OIDs', async (t) => {
  for (const [name, oid] of [['P256', '1.2.840.10045.3.1.7'], ['P384', '1.3.132.0.34'], ['P521', '1.3.132.0.35'], ['SECP256K1', '1.3.132.0.10'], ['CURVEED25519', '1.3.101.112'], ['CURVE448', '1.3.101.111']]) {
    t.equal(curveOid(name as string), oid, `${name} → ${oid}`);
    t.equal(curveFromOid(oid as string), name, `${oid} → ${name}`);
  }
  t.equal(curveOid('Ed448'), '1.3.101.113');
  t.equal(reasonOf(() => curveFromOid('1.2.3')), 'Feature_Not_Supported');
});
