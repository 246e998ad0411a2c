import t from 'tap';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { symmetricKeyObject } from '../../src/kmip/requests';
import { reasonOf, serverAndClient } from '../support/client';

t.test('AES in every mode and key size, through the client', async (t) => {
  const { client } = await serverAndClient(t);
  const data = randomBytes(100);
  const aligned = randomBytes(64);
  for (const bits of [128, 192, 256]) {
    const uid = await client.create({ algorithm: 'AES', length: bits, usageMask: 0x4 | 0x8 });
    const raw = (await client.get(uid)).bytes as Buffer;
    t.equal(raw.length, bits / 8, `AES-${bits} key length`);

    const gcm = await client.encrypt(uid, data, { mode: 'GCM', aad: Buffer.from('header') });
    t.equal(gcm.iv?.length, 12, 'the server makes a 12-byte GCM nonce');
    t.equal(gcm.tag?.length, 16, 'a 16-byte tag by default');
    const ref = createCipheriv(`aes-${bits}-gcm` as 'aes-256-gcm', raw, gcm.iv as Buffer);
    ref.setAAD(Buffer.from('header'));
    t.same(gcm.data, Buffer.concat([ref.update(data), ref.final()]), `AES-${bits}-GCM matches node:crypto`);
    t.same(await client.decrypt(uid, gcm.data, { mode: 'GCM', iv: gcm.iv as Buffer, tag: gcm.tag as Buffer, aad: Buffer.from('header') }), data);
    t.equal(await reasonOf(client.decrypt(uid, gcm.data, { mode: 'GCM', iv: gcm.iv as Buffer, tag: Buffer.alloc(16), aad: Buffer.from('header') })), 'Cryptographic_Failure', 'a wrong tag is refused');

    for (const tagLength of [12, 13, 14, 15, 16]) {
      const short = await client.encrypt(uid, data, { mode: 'GCM', tagLength });
      t.equal(short.tag?.length, tagLength, `GCM tag of ${tagLength} bytes`);
      t.same(await client.decrypt(uid, short.data, { mode: 'GCM', tagLength, iv: short.iv as Buffer, tag: short.tag as Buffer }), data);
    }

    const iv = randomBytes(16);
    const cbc = await client.encrypt(uid, data, { mode: 'CBC', padding: 'PKCS5', iv });
    const refCbc = createCipheriv(`aes-${bits}-cbc`, raw, iv);
    t.same(cbc.data, Buffer.concat([refCbc.update(data), refCbc.final()]), `AES-${bits}-CBC PKCS#5 matches`);
    t.same(await client.decrypt(uid, cbc.data, { mode: 'CBC', padding: 'PKCS5', iv }), data);
    const cbcNone = await client.encrypt(uid, aligned, { mode: 'CBC', padding: 'None', iv });
    t.equal(cbcNone.data.length, aligned.length, 'CBC without padding keeps the length');
    t.same(await client.decrypt(uid, cbcNone.data, { mode: 'CBC', padding: 'None', iv }), aligned);
    t.not(await reasonOf(client.encrypt(uid, data, { mode: 'CBC', padding: 'None', iv })), 'no error', 'unaligned data without padding is refused');

    const ecb = await client.encrypt(uid, aligned, { mode: 'ECB', padding: 'None' });
    const refEcb = createCipheriv(`aes-${bits}-ecb`, raw, null).setAutoPadding(false);
    t.same(ecb.data, Buffer.concat([refEcb.update(aligned), refEcb.final()]), `AES-${bits}-ECB matches`);
    t.same(await client.decrypt(uid, ecb.data, { mode: 'ECB', padding: 'None' }), aligned);

    const ctr = await client.encrypt(uid, data, { mode: 'CTR', iv });
    t.same(await client.decrypt(uid, ctr.data, { mode: 'CTR', iv }), data, `AES-${bits}-CTR round trip`);

    const wrapped = await client.encrypt(uid, aligned.subarray(0, 32), { mode: 'NISTKeyWrap' });
    t.equal(wrapped.data.length, 40, 'RFC 3394 adds 8 bytes');
    t.same(await client.decrypt(uid, wrapped.data, { mode: 'NISTKeyWrap' }), aligned.subarray(0, 32));
    const padded = await client.encrypt(uid, data.subarray(0, 20), { mode: 'AESKeyWrapPadding' });
    t.same(await client.decrypt(uid, padded.data, { mode: 'AESKeyWrapPadding' }), data.subarray(0, 20), 'RFC 5649 round trip');
    t.equal(await reasonOf(client.decrypt(uid, Buffer.concat([wrapped.data.subarray(0, 39), Buffer.from([0])]), { mode: 'NISTKeyWrap' })), 'Cryptographic_Failure', 'a corrupted wrap is refused');

    if (bits !== 192) {
      const siv = await client.encrypt(uid, data, { mode: 'GCMSIV', iv: Buffer.alloc(12, 7) });
      t.same(await client.decrypt(uid, siv.data, { mode: 'GCMSIV', iv: Buffer.alloc(12, 7), tag: siv.tag as Buffer }), data, `AES-${bits}-GCM-SIV round trip`);
    }
  }
});

t.test('AES-XTS with a double-length key', async (t) => {
  const { client } = await serverAndClient(t);
  for (const size of [32, 64]) {
    const key = randomBytes(size);
    const uid = await client.register(symmetricKeyObject(key), {});
    const tweak = randomBytes(16);
    const sector = randomBytes(512);
    const out = await client.encrypt(uid, sector, { mode: 'XTS', iv: tweak });
    const ref = createCipheriv(size === 32 ? 'aes-128-xts' : 'aes-256-xts', key, tweak);
    t.same(out.data, Buffer.concat([ref.update(sector), ref.final()]), `AES-${size * 4}-XTS matches node:crypto`);
    t.same(await client.decrypt(uid, out.data, { mode: 'XTS', iv: tweak }), sector);
  }
});

t.test('ChaCha20-Poly1305', async (t) => {
  const { client } = await serverAndClient(t);
  const uid = await client.create({ algorithm: 'ChaCha20Poly1305', length: 256 });
  const data = randomBytes(77);
  const out = await client.encrypt(uid, data, { aad: Buffer.from('aad') });
  t.equal(out.tag?.length, 16);
  t.same(await client.decrypt(uid, out.data, { iv: out.iv as Buffer, tag: out.tag as Buffer, aad: Buffer.from('aad') }), data);
  t.equal(await reasonOf(client.decrypt(uid, out.data, { iv: out.iv as Buffer, tag: out.tag as Buffer, aad: Buffer.from('other') })), 'Cryptographic_Failure');
});

t.test('HMAC with SHA-1, SHA-2 and SHA-3, and hashes', async (t) => {
  const { client } = await serverAndClient(t);
  const data = Buffer.from('message to authenticate');
  const table: Array<[string, string]> = [
    ['HMACSHA1', 'sha1'], ['HMACSHA224', 'sha224'], ['HMACSHA256', 'sha256'], ['HMACSHA384', 'sha384'], ['HMACSHA512', 'sha512'],
    ['HMACSHA3256', 'sha3-256'], ['HMACSHA3384', 'sha3-384'], ['HMACSHA3512', 'sha3-512'],
  ];
  for (const [algorithm, nodeName] of table) {
    const uid = await client.create({ algorithm });
    const key = (await client.get(uid)).bytes as Buffer;
    const mac = await client.mac(uid, data);
    t.same(mac, createHmac(nodeName, key).update(data).digest(), `${algorithm} matches node:crypto`);
  }
  const hashes: Array<[string, string]> = [['SHA1', 'sha1'], ['SHA224', 'sha224'], ['SHA256', 'sha256'], ['SHA384', 'sha384'], ['SHA512', 'sha512'], ['SHA3256', 'sha3-256'], ['SHA3384', 'sha3-384'], ['SHA3512', 'sha3-512']];
  for (const [name, nodeName] of hashes) {
    t.same(await client.hash(name, data), createHash(nodeName).update(data).digest(), `Hash ${name}`);
  }
  const random = await client.rng(64);
  t.equal(random.length, 64, 'RNGRetrieve returns what was asked');
  t.notSame(random, await client.rng(64), 'and different bytes each time');
});
