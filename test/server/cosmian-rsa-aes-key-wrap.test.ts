/**
 * CKM_RSA_AES_KEY_WRAP as an RSA encryption mode, selected the way Cosmian's encrypt_with_rsa
 * does (Cosmian/kms crate/server/src/core/operations/encrypt.rs): CryptographicParameters
 * CryptographicAlgorithm AES with PaddingMethod OAEP (the default) and HashingAlgorithm (default
 * SHA256, also the MGF1 hash); the ciphertext is RSA-OAEP(ephemeral AES-256 key) ‖ RFC 5649 wrap
 * (crate/crypto/src/crypto/rsa/ckm_rsa_aes_key_wrap.rs). Checked against node:crypto built here.
 */
import t from 'tap';
import { constants, createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { serverAndClient } from '../support/client';
import { J, bytesOf, kmip21, ok21, type JsonTtlv } from '../support/kmip-json';

const KWP_IV = Buffer.from('A65959A6', 'hex');

function params(hashing?: string, padding?: string): JsonTtlv {
  return J.struct('CryptographicParameters', [
    J.enm('CryptographicAlgorithm', 'AES'),
    ...(padding ? [J.enm('PaddingMethod', padding)] : []),
    ...(hashing ? [J.enm('HashingAlgorithm', hashing)] : []),
  ]);
}

const op = (tag: 'Encrypt' | 'Decrypt', uid: string, data: Buffer, p: JsonTtlv): JsonTtlv =>
  J.struct(tag, [J.text('UniqueIdentifier', uid), p, J.bytes('Data', data)]);

for (const [hashing, nodeHash] of [[undefined, 'sha256'], ['SHA384', 'sha384'], ['SHA1', 'sha1']] as const) {
  t.test(`RSA AES key wrap with ${hashing ?? 'the default hash (SHA256)'}: both directions against node:crypto`, async (t) => {
    const { server, client } = await serverAndClient(t);
    const ids = await client.createKeyPair({ algorithm: 'RSA', length: 2048 });
    const priv = createPrivateKey({ key: (await client.get(ids.privateKeyId, { keyFormatType: 'PKCS8' })).bytes as Buffer, format: 'der', type: 'pkcs8' });
    const pub = createPublicKey(priv);
    const secret = randomBytes(45); // not a multiple of 8: RFC 5649 pads, RFC 3394 could not

    const ct = bytesOf(await ok21(server, op('Encrypt', ids.publicKeyId, secret, params(hashing, 'OAEP'))), 'Data');
    t.equal(ct.length, 256 + 56, '256 bytes of RSA-OAEP, then 45 bytes padded to 48 plus the 8-byte integrity block');
    const kek = privateDecrypt({ key: priv, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: nodeHash }, ct.subarray(0, 256));
    t.equal(kek.length, 32, 'the ephemeral key is AES-256, as Cosmian makes it');
    const d = createDecipheriv('id-aes256-wrap-pad', kek, KWP_IV);
    t.same(Buffer.concat([d.update(ct.subarray(256)), d.final()]), secret, 'node:crypto unwraps what the KMS wrapped');

    const myKek = randomBytes(32);
    const c = createCipheriv('id-aes256-wrap-pad', myKek, KWP_IV);
    const mine = Buffer.concat([
      publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: nodeHash }, myKek),
      c.update(secret), c.final(),
    ]);
    t.same(bytesOf(await ok21(server, op('Decrypt', ids.privateKeyId, mine, params(hashing))), 'Data'), secret, 'the KMS unwraps what node:crypto wrapped');

    const wrongHash = await kmip21(server, op('Decrypt', ids.privateKeyId, mine, params(hashing === 'SHA384' ? 'SHA256' : 'SHA384')));
    t.equal(wrongHash.status, 422, 'another OAEP hash does not open it');
    t.match(wrongHash.text, /^Cryptographic_Failure: /);
  });
}

t.test('RSA AES key wrap: an ephemeral AES-128 key (other PKCS#11 wrappers) unwraps too; malformed input is refused', async (t) => {
  const { server, client } = await serverAndClient(t);
  const ids = await client.createKeyPair({ algorithm: 'RSA', length: 2048 });
  const pub = createPublicKey({ key: (await client.get(ids.publicKeyId, { keyFormatType: 'X509' })).bytes as Buffer, format: 'der', type: 'spki' });
  const secret = randomBytes(32);
  const kek = randomBytes(16);
  const c = createCipheriv('id-aes128-wrap-pad', kek, KWP_IV);
  const wrapped = Buffer.concat([publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, kek), c.update(secret), c.final()]);
  t.same(bytesOf(await ok21(server, op('Decrypt', ids.privateKeyId, wrapped, params())), 'Data'), secret);

  const short = await kmip21(server, op('Decrypt', ids.privateKeyId, wrapped.subarray(0, 256), params()));
  t.equal(short.status, 422, 'the RSA part alone is not a wrapped key');
  t.match(short.text, /^Invalid_Field: /);
  const pkcs1 = await kmip21(server, op('Encrypt', ids.publicKeyId, secret, params(undefined, 'PKCS1v15')));
  t.equal(pkcs1.status, 422);
  t.match(pkcs1.text, /Unable to encrypt with RSA AES KEY WRAP: padding method not supported: PKCS1v15/, "Cosmian's message for a padding other than OAEP");
});

t.test('without CryptographicAlgorithm AES, RSA encryption stays plain OAEP', async (t) => {
  const { server, client } = await serverAndClient(t);
  const ids = await client.createKeyPair({ algorithm: 'RSA', length: 2048 });
  const ct = bytesOf(await ok21(server, J.struct('Encrypt', [J.text('UniqueIdentifier', ids.publicKeyId), J.bytes('Data', Buffer.from('plain'))])), 'Data');
  t.equal(ct.length, 256, 'one RSA block, no wrap appended');
});
