/**
 * AES-XTS with 512-bit keys: Cosmian creates them with `ckms sym keys create --number-of-bits 512`
 * (Create with CryptographicLength 512; create_symmetric_key_kmip_object in
 * Cosmian/kms crate/crypto/src/crypto/symmetric/symmetric_key.rs takes any length) and encrypts
 * with BlockCipherMode XTS, the IV being the 16-byte tweak. Compared with node:crypto aes-256-xts.
 */
import t from 'tap';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { serverAndClient } from '../support/client';
import { J, bytesOf, field, kmip21, ok21, textOf } from '../support/kmip-json';

const xts = J.struct('CryptographicParameters', [J.enm('CryptographicAlgorithm', 'AES'), J.enm('BlockCipherMode', 'XTS')]);

t.test('Create AES 512, then XTS Encrypt/Decrypt equal node:crypto aes-256-xts', async (t) => {
  const { server, client } = await serverAndClient(t);
  const created = await ok21(server, J.struct('Create', [
    J.enm('ObjectType', 'SymmetricKey'),
    J.struct('Attributes', [J.enm('CryptographicAlgorithm', 'AES'), J.int('CryptographicLength', 512), J.int('CryptographicUsageMask', 12)]),
  ]));
  const uid = textOf(created, 'UniqueIdentifier');
  await client.activate(uid); // created without an ActivationDate, the key is PreActive
  const key = (await client.get(uid)).bytes as Buffer;
  t.equal(key.length, 64, 'the key is 64 bytes');
  t.equal((await client.getAttributes(uid, ['CryptographicLength'])).attributes['CryptographicLength'], 512);

  const tweak = randomBytes(16);
  const sector = randomBytes(4096);
  const enc = await ok21(server, J.struct('Encrypt', [J.text('UniqueIdentifier', uid), xts, J.bytes('Data', sector), J.bytes('IVCounterNonce', tweak)]));
  const c = createCipheriv('aes-256-xts', key, tweak);
  t.same(bytesOf(enc, 'Data'), Buffer.concat([c.update(sector), c.final()]), 'the ciphertext is aes-256-xts');
  t.same(bytesOf(enc, 'IVCounterNonce'), tweak, 'the tweak is echoed');

  const odd = randomBytes(37); // ciphertext stealing: any length of at least one block
  const c2 = createCipheriv('aes-256-xts', key, tweak);
  const ct = Buffer.concat([c2.update(odd), c2.final()]);
  const dec = await ok21(server, J.struct('Decrypt', [J.text('UniqueIdentifier', uid), xts, J.bytes('Data', ct), J.bytes('IVCounterNonce', tweak)]));
  t.same(bytesOf(dec, 'Data'), odd, 'the KMS decrypts node:crypto aes-256-xts');
  const d = createDecipheriv('aes-256-xts', key, tweak);
  t.same(Buffer.concat([d.update(ct), d.final()]), odd);

  const noTweak = await ok21(server, J.struct('Encrypt', [J.text('UniqueIdentifier', uid), xts, J.bytes('Data', sector)]));
  t.equal(bytesOf(noTweak, 'IVCounterNonce').length, 16, 'without a tweak one is generated and returned');
  t.notOk(field(noTweak, 'AuthenticatedEncryptionTag'), 'XTS has no tag');

  const gcm = await kmip21(server, J.struct('Encrypt', [J.text('UniqueIdentifier', uid), J.bytes('Data', sector)]));
  t.equal(gcm.status, 422, 'a 512-bit key is not an AES-GCM key');
  const short = await kmip21(server, J.struct('Encrypt', [J.text('UniqueIdentifier', uid), xts, J.bytes('Data', randomBytes(15)), J.bytes('IVCounterNonce', tweak)]));
  t.equal(short.status, 422, 'XTS needs at least one block');
  t.match(short.text, /^Invalid_Field: /);
});

t.test('AES lengths other than 128, 192, 256 and 512 are still refused', async (t) => {
  const { server } = await serverAndClient(t);
  const r = await kmip21(server, J.struct('Create', [J.enm('ObjectType', 'SymmetricKey'), J.struct('Attributes', [J.enm('CryptographicAlgorithm', 'AES'), J.int('CryptographicLength', 384)])]));
  t.equal(r.status, 422);
  t.match(r.text, /^Invalid_Attribute_Value: /);
});
