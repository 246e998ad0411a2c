import t from 'tap';
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { rsaDecrypt, rsaEncrypt, type RsaEncryption } from '../../src/server/crypto/rsa';
import type { HashAlgorithm } from '../../src/server/crypto/digest';
import { asyncReasonOf, reasonOf } from './assert-kmip';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const HASHES: HashAlgorithm[] = ['SHA1', 'SHA224', 'SHA256', 'SHA384', 'SHA512', 'SHA3_256', 'SHA512_256'];

t.test('Node 20 refuses PKCS#1 v1.5 privateDecrypt (CVE-2023-46809); the engine decodes it itself', async (t) => {
  const ct = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from('hi'));
  let direct: string;
  try {
    privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, ct);
    direct = 'allowed';
  } catch (e) {
    direct = (e as Error).message;
  }
  t.comment(`direct privateDecrypt(RSA_PKCS1_PADDING) on ${process.version}: ${direct}`);
  t.same(await rsaDecrypt(privateKey, ct, { padding: 'PKCS1v15' }), Buffer.from('hi'), 'engine decrypts what node encrypted');
});

t.test('PKCS#1 v1.5 round trips, every length up to k − 11', async (t) => {
  for (const len of [0, 1, 32, 245]) {
    const m = randomBytes(len);
    t.same(await rsaDecrypt(privateKey, rsaEncrypt(publicKey, m, { padding: 'PKCS1v15' }), { padding: 'PKCS1v15' }), m, `${len} bytes`);
  }
  t.equal(reasonOf(() => rsaEncrypt(publicKey, randomBytes(246), { padding: 'PKCS1v15' })), 'Invalid_Field', '246 bytes is too long');
});

t.test('OAEP with every hash, with and without a label', async (t) => {
  for (const oaepHash of HASHES) {
    for (const label of [undefined, Buffer.from('context label')]) {
      const p: RsaEncryption = { padding: 'OAEP', oaepHash, ...(label ? { label } : {}) };
      const m = randomBytes(20);
      const ct = rsaEncrypt(publicKey, m, p);
      t.same(await rsaDecrypt(privateKey, ct, p), m, `${oaepHash} label=${label ? 'yes' : 'no'}`);
      // Cross-check with node's own OAEP decoder.
      t.same(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash.toLowerCase().replace('_', '-'), ...(label ? { oaepLabel: label } : {}) }, ct), m, 'node agrees');
      if (label) t.equal(await asyncReasonOf(() => rsaDecrypt(privateKey, ct, { ...p, label: Buffer.from('other') })), 'Cryptographic_Failure', 'wrong label');
    }
  }
  t.same(await rsaDecrypt(privateKey, rsaEncrypt(publicKey, Buffer.from('x'), { padding: 'OAEP' }), { padding: 'OAEP', oaepHash: 'SHA256' }), Buffer.from('x'), 'default hash is SHA256');
  t.equal(reasonOf(() => rsaEncrypt(publicKey, randomBytes(256 - 2 * 32 - 1), { padding: 'OAEP' })), 'Invalid_Field', 'OAEP-SHA256 takes at most k − 66 bytes');
});

t.test('decryption failures', async (t) => {
  const oaep = rsaEncrypt(publicKey, Buffer.from('secret'), { padding: 'OAEP' });
  t.equal(await asyncReasonOf(() => rsaDecrypt(privateKey, oaep, { padding: 'PKCS1v15' })), 'Cryptographic_Failure', 'OAEP block read as v1.5');
  const v15 = rsaEncrypt(publicKey, Buffer.from('secret'), { padding: 'PKCS1v15' });
  t.equal(await asyncReasonOf(() => rsaDecrypt(privateKey, v15, { padding: 'OAEP' })), 'Cryptographic_Failure', 'v1.5 block read as OAEP');
  t.equal(await asyncReasonOf(() => rsaDecrypt(privateKey, oaep, { padding: 'OAEP', oaepHash: 'SHA1' })), 'Cryptographic_Failure', 'wrong OAEP hash');
  t.equal(await asyncReasonOf(() => rsaDecrypt(privateKey, oaep.subarray(1), { padding: 'OAEP' })), 'Invalid_Field', 'short ciphertext');
  t.equal(await asyncReasonOf(() => rsaDecrypt(privateKey, Buffer.alloc(256, 0xff), { padding: 'PKCS1v15' })), 'Cryptographic_Failure', 'ciphertext ≥ modulus');
  const ed = generateKeyPairSync('ed25519');
  t.equal(reasonOf(() => rsaEncrypt(ed.publicKey, Buffer.from('x'), { padding: 'OAEP' })), 'Bad_Cryptographic_Parameters', 'Ed25519 keys do not encrypt');
  t.equal(await asyncReasonOf(() => rsaDecrypt(publicKey, oaep, { padding: 'OAEP' })), 'Bad_Cryptographic_Parameters', 'the public key does not decrypt');
  t.equal(reasonOf(() => rsaEncrypt(publicKey, Buffer.from('x'), { padding: 'PKCS1v15', label: Buffer.from('l') })), 'Bad_Cryptographic_Parameters', 'label without OAEP');
});
