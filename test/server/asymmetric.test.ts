import t from 'tap';
import { constants, createHash, createPublicKey, generateKeyPairSync, publicEncrypt, verify, type KeyObject } from 'node:crypto';
import { T } from '../../src/kmip/ttlv';
import { privateKeyObject } from '../../src/kmip/requests';
import { reasonOf, serverAndClient } from '../support/client';

async function publicKeyOf(client: Awaited<ReturnType<typeof serverAndClient>>['client'], uid: string): Promise<KeyObject> {
  const got = await client.get(uid, { keyFormatType: 'X509' });
  return createPublicKey({ key: got.bytes as Buffer, format: 'der', type: 'spki' });
}

t.test('RSA 2048–4096: OAEP, PKCS#1 v1.5 and PSS', async (t) => {
  const { client } = await serverAndClient(t);
  for (const bits of [2048, 3072, 4096]) {
    const { privateKeyId, publicKeyId } = await client.createKeyPair({ algorithm: 'RSA', length: bits });
    t.equal(publicKeyId, `${privateKeyId}_pk`, 'the public key UID is the private UID + _pk');
    const pub = await publicKeyOf(client, publicKeyId);
    t.equal(pub.asymmetricKeyDetails?.modulusLength, bits);
    const secret = Buffer.from('32-byte table key for Oracle....');
    for (const hashing of ['SHA1', 'SHA256', 'SHA384', 'SHA512']) {
      const ct = await client.encrypt(publicKeyId, secret, { padding: 'OAEP', hashing });
      t.same(await client.decrypt(privateKeyId, ct.data, { padding: 'OAEP', hashing }), secret, `RSA-${bits} OAEP ${hashing}`);
    }
    const nodeOaep = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
    t.same(await client.decrypt(privateKeyId, nodeOaep, { padding: 'OAEP', hashing: 'SHA256' }), secret, 'decrypts what node:crypto encrypted');
    const v15 = await client.encrypt(publicKeyId, secret, { padding: 'PKCS1v15' });
    t.same(await client.decrypt(privateKeyId, v15.data, { padding: 'PKCS1v15' }), secret, `RSA-${bits} PKCS#1 v1.5 encryption`);

    const message = Buffer.from('to be signed');
    const pkcs1 = await client.sign(privateKeyId, message, { signatureAlgorithm: 'SHA256WithRSAEncryption' });
    t.ok(verify('sha256', message, pub, pkcs1), `RSA-${bits} PKCS#1 v1.5 SHA-256 verifies in node:crypto`);
    t.ok(await client.verify(publicKeyId, message, pkcs1, { signatureAlgorithm: 'SHA256WithRSAEncryption' }), 'and on the server');
    t.notOk(await client.verify(publicKeyId, Buffer.from('other'), pkcs1, { signatureAlgorithm: 'SHA256WithRSAEncryption' }), 'a wrong message is Invalid');
    const pss = await client.sign(privateKeyId, message, { signatureAlgorithm: 'RSASSAPSS', hashing: 'SHA384' });
    t.ok(verify('sha384', message, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, pss), `RSA-${bits} PSS SHA-384 verifies`);
    const digest = createHash('sha512').update(message).digest();
    const overDigest = await client.sign(privateKeyId, { digested: digest }, { signatureAlgorithm: 'SHA512WithRSAEncryption' });
    t.ok(verify('sha512', message, pub, overDigest), 'a signature over a digest equals one over the data');
  }
});

t.test('RSA PKCS#1 v1.5 over a DigestInfo, as PKCS#11 CKM_RSA_PKCS and OpenSSL send it', async (t) => {
  const { client } = await serverAndClient(t);
  const { privateKeyId, publicKeyId } = await client.createKeyPair({ algorithm: 'RSA', length: 2048 });
  const pub = await publicKeyOf(client, publicKeyId);
  const message = Buffer.from('hello');
  const digestInfoPrefix = Buffer.from('3031300d060960864801650304020105000420', 'hex');
  const digestInfo = Buffer.concat([digestInfoPrefix, createHash('sha256').update(message).digest()]);
  const sig = await client.sign(privateKeyId, { digested: digestInfo }, { padding: 'PKCS1v15' });
  t.ok(verify('sha256', message, pub, sig), 'the raw PKCS#1 signature of a DigestInfo is a standard SHA-256 signature');
});

t.test('ECDSA on P-256, P-384, P-521 and secp256k1; EdDSA on Ed25519 and Ed448', async (t) => {
  const { client } = await serverAndClient(t);
  const message = Buffer.from('sign me');
  for (const [curve, hash] of [['P256', 'sha256'], ['P384', 'sha384'], ['P521', 'sha512'], ['SECP256K1', 'sha256']] as const) {
    const { privateKeyId, publicKeyId } = await client.createKeyPair({ algorithm: 'EC', curve });
    const pub = await publicKeyOf(client, publicKeyId);
    const sig = await client.sign(privateKeyId, message);
    t.ok(verify(hash, message, pub, sig), `ECDSA ${curve} with ${hash} by default verifies in node:crypto`);
    t.ok(await client.verify(publicKeyId, message, sig), `and on the server`);
    const digest = createHash(hash).update(message).digest();
    const overDigest = await client.sign(privateKeyId, { digested: digest });
    t.ok(verify(hash, message, pub, overDigest), `ECDSA ${curve} over a digest`);
    const sha1 = await client.sign(privateKeyId, message, { signatureAlgorithm: 'ECDSAWithSHA1' });
    t.ok(verify('sha1', message, pub, sha1), `ECDSA ${curve} with SHA-1 when asked`);
  }
  for (const algorithm of ['Ed25519', 'Ed448']) {
    const { privateKeyId, publicKeyId } = await client.createKeyPair({ algorithm });
    const pub = await publicKeyOf(client, publicKeyId);
    const sig = await client.sign(privateKeyId, message);
    t.ok(verify(null, message, pub, sig), `${algorithm} verifies in node:crypto`);
    t.ok(await client.verify(publicKeyId, message, sig));
  }
  const { privateKeyId } = await client.createKeyPair({ algorithm: 'Ed25519' });
  t.equal(await reasonOf(client.encrypt(privateKeyId, message)), 'Bad_Cryptographic_Parameters', 'Ed25519 keys do not encrypt');
});

t.test('an imported private key signs like the original', async (t) => {
  const { client } = await serverAndClient(t);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const uid = await client.register(privateKeyObject(privateKey.export({ format: 'der', type: 'pkcs1' }), 'PKCS1'), { label: 'imported' });
  const sig = await client.sign(uid, Buffer.from('x'), { signatureAlgorithm: 'SHA256WithRSAEncryption' });
  t.ok(verify('sha256', Buffer.from('x'), publicKey, sig));
  const ct = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('secret'));
  t.same(await client.decrypt(uid, ct, { padding: 'OAEP', hashing: 'SHA256' }), Buffer.from('secret'));
});

t.test('ECDH and X25519 key agreement through DeriveKey', async (t) => {
  const { client } = await serverAndClient(t);
  for (const spec of [{ algorithm: 'ECDH', curve: 'P256' }, { algorithm: 'ECDH', curve: 'CURVE25519' }]) {
    const a = await client.createKeyPair(spec);
    const b = await client.createKeyPair(spec);
    const derive = async (own: string, peerPublic: string): Promise<Buffer> => {
      const peer = (await client.get(peerPublic, { keyFormatType: 'X509' })).bytes as Buffer;
      const response = await client.call(T.struct('DeriveKey', [
        T.enum('ObjectType', 'SymmetricKey'),
        T.text('ObjectUniqueIdentifier', own),
        T.enum('DerivationMethod', 'AsymmetricKey'),
        T.struct('DerivationParameters', [T.bytes('DerivationData', peer)]),
        T.struct('Attributes', [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256), T.date('ActivationDate', 1704067200)]),
      ]));
      const uid = response.value.find((n) => n.tag === 'UniqueIdentifier')?.value as string;
      return (await client.get(uid)).bytes as Buffer;
    };
    const ab = await derive(a.privateKeyId, b.publicKeyId);
    const ba = await derive(b.privateKeyId, a.publicKeyId);
    t.equal(ab.length, 32);
    t.same(ab, ba, `${spec.curve}: both sides derive the same key`);
  }
});
