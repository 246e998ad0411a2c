import t from 'tap';
import { constants, createHash, generateKeyPairSync, publicDecrypt, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { sign, verify, type SignParams } from '../../src/server/crypto/signature';
import { hash, type HashAlgorithm } from '../../src/server/crypto/digest';
import { DIGEST_INFO } from '../../src/server/crypto/rsa-padding';
import { asyncReasonOf } from './assert-kmip';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
// 2049 bits: emBits is a multiple of 8, the PSS corner case with a leading zero byte.
const rsaOdd = generateKeyPairSync('rsa', { modulusLength: 2056 + 1 });
const RSA_HASHES: HashAlgorithm[] = ['SHA1', 'SHA224', 'SHA256', 'SHA384', 'SHA512', 'SHA3_256', 'SHA3_384', 'SHA3_512'];
const data = Buffer.from('the message to sign');

async function both(t: tap.Test, priv: KeyObject, pub: KeyObject, p: SignParams, h: HashAlgorithm, what: string): Promise<void> {
  const d = hash(h, data);
  const overData = await sign(priv, { data }, p);
  const overDigest = await sign(priv, { digested: d }, p);
  t.ok(await verify(pub, { data }, overData, p), `${what}: data/data`);
  t.ok(await verify(pub, { digested: d }, overDigest, p), `${what}: digest/digest`);
  t.ok(await verify(pub, { data }, overDigest, p), `${what}: a digest signature verifies over the data`);
  t.ok(await verify(pub, { digested: d }, overData, p), `${what}: a data signature verifies over the digest`);
  const bad = Buffer.from(overData);
  bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
  t.notOk(await verify(pub, { data }, bad, p), `${what}: tampered signature`);
  t.notOk(await verify(pub, { data: Buffer.from('other') }, overData, p), `${what}: other data`);
}

t.test('RSA PKCS#1 v1.5: digest path gives the standard (deterministic) signature', async (t) => {
  for (const h of RSA_HASHES) {
    const p: SignParams = { scheme: 'RSA_PKCS1v15', hash: h };
    await both(t, rsa.privateKey, rsa.publicKey, p, h, `PKCS1v15 ${h}`);
    const overDigest = await sign(rsa.privateKey, { digested: hash(h, data) }, p);
    t.same(overDigest, nodeSign(h.toLowerCase().replace('_', '-'), data, rsa.privateKey), `${h}: identical to node's signature over the data`);
    // hash None: the caller sends the DigestInfo (PKCS#11 CKM_RSA_PKCS).
    const info = Buffer.concat([DIGEST_INFO[h], hash(h, data)]);
    t.same(await sign(rsa.privateKey, { digested: info }, { scheme: 'RSA_PKCS1v15', hash: 'None' }), overDigest, `${h}: hash None over the DigestInfo`);
    t.ok(await verify(rsa.publicKey, { digested: info }, overDigest, { scheme: 'RSA_PKCS1v15', hash: 'None' }), `${h}: verify with hash None`);
  }
  t.ok(await verify(rsa.publicKey, { data }, await sign(rsa.privateKey, { data }, { scheme: 'RSA_PKCS1v15' }), { scheme: 'RSA_PKCS1v15', hash: 'SHA256' }), 'default hash SHA256');
  const raw = Buffer.from('any raw block, as CKM_RSA_PKCS may send');
  const sig = await sign(rsa.privateKey, { digested: raw }, { scheme: 'RSA_PKCS1v15', hash: 'None' });
  t.same(publicDecrypt({ key: rsa.publicKey, padding: constants.RSA_PKCS1_PADDING }, sig), raw, 'type-1 padding around the given block');
  t.equal(await asyncReasonOf(() => sign(rsa.privateKey, { digested: Buffer.alloc(246) }, { scheme: 'RSA_PKCS1v15', hash: 'None' })), 'Invalid_Field', 'block longer than k − 11');
  t.equal(await asyncReasonOf(() => sign(rsa.privateKey, { digested: Buffer.alloc(31) }, { scheme: 'RSA_PKCS1v15', hash: 'SHA256' })), 'Invalid_Field', 'a 31-byte SHA256 digest');
});

t.test('RSA PSS over data and digest, every hash, salt lengths, odd modulus', async (t) => {
  for (const h of RSA_HASHES) await both(t, rsa.privateKey, rsa.publicKey, { scheme: 'RSA_PSS', hash: h }, h, `PSS ${h}`);
  for (const saltLength of [0, 20, 64]) await both(t, rsa.privateKey, rsa.publicKey, { scheme: 'RSA_PSS', hash: 'SHA256', saltLength }, 'SHA256', `PSS salt ${saltLength}`);
  await both(t, rsaOdd.privateKey, rsaOdd.publicKey, { scheme: 'RSA_PSS', hash: 'SHA512' }, 'SHA512', 'PSS 2057-bit key');
  const sig = await sign(rsa.privateKey, { digested: hash('SHA256', data) }, { scheme: 'RSA_PSS', hash: 'SHA256' });
  t.ok(nodeVerify('sha256', data, { key: rsa.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig), 'node verifies a digest-path PSS signature');
  t.notOk(await verify(rsa.publicKey, { digested: hash('SHA256', data) }, sig, { scheme: 'RSA_PSS', hash: 'SHA256', saltLength: 20 }), 'a stated salt length is enforced');
  t.equal(await asyncReasonOf(() => sign(rsa.privateKey, { data }, { scheme: 'RSA_PSS', hash: 'None' })), 'Bad_Cryptographic_Parameters', 'PSS needs a hash');
});

const CURVES: [string, string, HashAlgorithm][] = [
  ['P-256', 'prime256v1', 'SHA256'], ['P-384', 'secp384r1', 'SHA384'], ['P-521', 'secp521r1', 'SHA512'], ['secp256k1', 'secp256k1', 'SHA256'],
];

t.test('ECDSA on every curve, over data and digest, DER output', async (t) => {
  for (const [name, curve, h] of CURVES) {
    const k = generateKeyPairSync('ec', { namedCurve: curve });
    for (const hh of [h, 'SHA1', 'SHA3_256'] as HashAlgorithm[]) await both(t, k.privateKey, k.publicKey, { scheme: 'ECDSA', hash: hh }, hh, `${name} ${hh}`);
    const sig = await sign(k.privateKey, { data }, { scheme: 'ECDSA', hash: h });
    t.equal(sig[0], 0x30, `${name}: DER SEQUENCE`);
    t.ok(nodeVerify(h.toLowerCase(), data, { key: k.publicKey, dsaEncoding: 'der' }, sig), `${name}: node verifies`);
    const d = hash(h, data);
    const a = await sign(k.privateKey, { digested: d }, { scheme: 'ECDSA', hash: h });
    t.same(await sign(k.privateKey, { digested: d }, { scheme: 'ECDSA', hash: h }), a, `${name}: digest path is RFC 6979 deterministic`);
    t.ok(nodeVerify(h.toLowerCase(), data, { key: k.publicKey, dsaEncoding: 'der' }, a), `${name}: node verifies the deterministic signature`);
    // hash None with a digest: PKCS#11 CKM_ECDSA.
    const none = await sign(k.privateKey, { digested: d }, { scheme: 'ECDSA', hash: 'None' });
    t.same(none, a, `${name}: hash None over the digest is the same signature`);
    t.ok(await verify(k.publicKey, { digested: d }, none, { scheme: 'ECDSA', hash: 'None' }), `${name}: verify with hash None`);
    t.equal(await asyncReasonOf(() => sign(k.privateKey, { data }, { scheme: 'ECDSA' })), 'Bad_Cryptographic_Parameters', `${name}: data needs a hash`);
  }
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  t.same(await sign(k1.privateKey, { data }, { scheme: 'ECDSA', hash: 'SHA256' }), await sign(k1.privateKey, { data }, { scheme: 'ECDSA', hash: 'SHA256' }), 'secp256k1 over data is deterministic too');
});

t.test('EdDSA Ed25519 and Ed448', async (t) => {
  for (const type of ['ed25519', 'ed448'] as const) {
    const k = generateKeyPairSync(type as 'ed25519');
    const p: SignParams = { scheme: 'EdDSA' };
    for (const m of [Buffer.alloc(0), data, Buffer.alloc(10000, 1)]) {
      const sig = await sign(k.privateKey, { data: m }, p);
      t.equal(sig.length, type === 'ed25519' ? 64 : 114);
      t.ok(await verify(k.publicKey, { data: m }, sig, p), `${type} ${m.length}`);
      t.notOk(await verify(k.publicKey, { data: Buffer.concat([m, Buffer.from([0])]) }, sig, p));
    }
    t.notOk(await verify(k.publicKey, { data }, Buffer.alloc(3), p), 'garbage signature is false, not an error');
    t.equal(await asyncReasonOf(() => sign(k.privateKey, { digested: createHash('sha512').update(data).digest() }, p)), 'Bad_Cryptographic_Parameters', 'pure EdDSA takes no digest');
  }
});

t.test('key and scheme mismatches', async (t) => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  t.equal(await asyncReasonOf(() => sign(rsa.privateKey, { data }, { scheme: 'ECDSA', hash: 'SHA256' })), 'Bad_Cryptographic_Parameters');
  t.equal(await asyncReasonOf(() => sign(ec.privateKey, { data }, { scheme: 'RSA_PSS', hash: 'SHA256' })), 'Bad_Cryptographic_Parameters');
  t.equal(await asyncReasonOf(() => sign(ed.privateKey, { data }, { scheme: 'ECDSA', hash: 'SHA256' })), 'Bad_Cryptographic_Parameters');
  t.equal(await asyncReasonOf(() => sign(ec.privateKey, { data }, { scheme: 'EdDSA' })), 'Bad_Cryptographic_Parameters');
  t.equal(await asyncReasonOf(() => sign(rsa.publicKey, { data }, { scheme: 'RSA_PKCS1v15' })), 'Bad_Cryptographic_Parameters', 'a public key does not sign');
  t.equal(await asyncReasonOf(() => sign(rsa.privateKey, { data, digested: Buffer.alloc(32) }, { scheme: 'RSA_PKCS1v15' })), 'Invalid_Field', 'data and digest together');
  t.equal(await asyncReasonOf(() => sign(rsa.privateKey, { data }, { scheme: 'DSA' as 'EdDSA' })), 'Feature_Not_Supported', 'unknown scheme');
});
