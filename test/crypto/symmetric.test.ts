import t from 'tap';
import { randomBytes } from 'node:crypto';
import { symmetricDecrypt, symmetricEncrypt, type SymmetricParams } from '../../src/server/crypto/symmetric';
import { messageOf, reasonOf } from './assert-kmip';

const AES_KEYS = [16, 24, 32];
const MESSAGES = [Buffer.alloc(0), Buffer.from('a'), randomBytes(16), randomBytes(33), randomBytes(1000)];

function roundTrip(t: tap.Test, p: SymmetricParams, what: string): void {
  const out = symmetricEncrypt(p);
  const back = symmetricDecrypt({ ...p, data: out.data, ...(out.iv ? { iv: out.iv } : {}), ...(out.tag ? { tag: out.tag } : {}) });
  t.same(back, p.data, what);
}

t.test('AES modes round trip for every key size', async (t) => {
  for (const n of AES_KEYS) {
    const key = randomBytes(n);
    for (const data of MESSAGES) {
      const label = `AES-${n * 8} ${data.length} bytes`;
      roundTrip(t, { algorithm: 'AES', mode: 'GCM', key, data }, `${label} GCM`);
      roundTrip(t, { algorithm: 'AES', mode: 'GCM', key, data, aad: Buffer.from('header'), tagLength: 12 }, `${label} GCM aad tag 12`);
      roundTrip(t, { algorithm: 'AES', mode: 'GCM', key, data, iv: randomBytes(1) }, `${label} GCM 1-byte IV`);
      roundTrip(t, { algorithm: 'AES', mode: 'GCM', key, data, iv: randomBytes(60) }, `${label} GCM 60-byte IV`);
      roundTrip(t, { algorithm: 'AES', mode: 'CBC', key, data }, `${label} CBC PKCS5`);
      roundTrip(t, { algorithm: 'AES', mode: 'ECB', key, data }, `${label} ECB PKCS5`);
      roundTrip(t, { algorithm: 'AES', mode: 'CTR', key, data }, `${label} CTR`);
      if (data.length >= 16 && data.length % 8 === 0) roundTrip(t, { algorithm: 'AES', mode: 'NISTKeyWrap', key, data }, `${label} RFC 3394`);
      if (data.length > 0) roundTrip(t, { algorithm: 'AES', mode: 'AESKeyWrapPadding', key, data }, `${label} RFC 5649`);
      if (n !== 24) roundTrip(t, { algorithm: 'AES', mode: 'GCMSIV', key, data, aad: Buffer.from('aad') }, `${label} GCM-SIV`);
    }
    roundTrip(t, { algorithm: 'AES', mode: 'CBC', padding: 'None', key, data: randomBytes(48) }, `AES-${n * 8} CBC no padding`);
    roundTrip(t, { algorithm: 'AES', mode: 'ECB', padding: 'None', key, data: randomBytes(32) }, `AES-${n * 8} ECB no padding`);
  }
});

t.test('defaults', async (t) => {
  const key = randomBytes(32);
  const gcm = symmetricEncrypt({ algorithm: 'AES', key, data: Buffer.from('x') });
  t.equal(gcm.iv?.length, 12, 'GCM is the default mode, with a 12-byte IV');
  t.equal(gcm.tag?.length, 16, 'and a 16-byte tag');
  const cbc = symmetricEncrypt({ algorithm: 'AES', mode: 'CBC', key, data: Buffer.alloc(16) });
  t.equal(cbc.iv?.length, 16, 'CBC generates a 16-byte IV');
  t.equal(cbc.data.length, 32, 'and pads with PKCS#5 by default (a full block on aligned data)');
  t.equal(symmetricEncrypt({ algorithm: 'AES', mode: 'ECB', key, data: Buffer.alloc(16) }).iv, undefined, 'ECB has no IV');
  t.equal(symmetricEncrypt({ algorithm: 'AES', mode: 'GCM', key, data: Buffer.alloc(1), tagLength: 13 }).tag?.length, 13, 'tag length honoured');
  const wrap = symmetricEncrypt({ algorithm: 'AES', mode: 'NISTKeyWrap', key, data: Buffer.alloc(32) });
  t.equal(wrap.data.length, 40, 'RFC 3394 adds 8 bytes');
  t.equal(wrap.iv, undefined, 'key wrap returns no IV (the default ICV is used)');
});

t.test('XTS, ChaCha20, ChaCha20-Poly1305 round trips', async (t) => {
  for (const n of [32, 64]) {
    for (const len of [16, 17, 100]) roundTrip(t, { algorithm: 'AES', mode: 'XTS', key: randomBytes(n), data: randomBytes(len) }, `XTS ${n}-byte key ${len} bytes`);
  }
  const key = randomBytes(32);
  for (const data of MESSAGES) {
    roundTrip(t, { algorithm: 'ChaCha20Poly1305', key, data, aad: Buffer.from('aad') }, `ChaCha20-Poly1305 ${data.length}`);
    roundTrip(t, { algorithm: 'ChaCha20', key, data }, `ChaCha20 ${data.length}`);
    for (const ivLen of [8, 12, 16]) roundTrip(t, { algorithm: 'ChaCha20', key, data, iv: randomBytes(ivLen) }, `ChaCha20 ${ivLen}-byte nonce`);
  }
  const c = symmetricEncrypt({ algorithm: 'ChaCha20Poly1305', key, data: Buffer.from('x') });
  t.equal(c.iv?.length, 12);
  t.equal(c.tag?.length, 16);
});

t.test('RFC 8439 ChaCha20 test vector 2.4.2 (counter 1 in the 16-byte block)', async (t) => {
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
  const iv = Buffer.from('01000000000000000000004a00000000', 'hex');
  const plain = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const out = symmetricEncrypt({ algorithm: 'ChaCha20', key, data: plain, iv });
  t.equal(out.data.subarray(0, 16).toString('hex'), '6e2e359a2568f98041ba0728dd0d6981');
});

t.test('authentication failures are Cryptographic_Failure', async (t) => {
  const key = randomBytes(32);
  const data = Buffer.from('attack at dawn');
  for (const p of [
    { algorithm: 'AES', mode: 'GCM', key, data, aad: Buffer.from('a') },
    { algorithm: 'AES', mode: 'GCMSIV', key, data },
    { algorithm: 'ChaCha20Poly1305', key, data },
  ] as SymmetricParams[]) {
    const out = symmetricEncrypt(p);
    const tag = Buffer.from(out.tag as Buffer);
    tag[0] = (tag[0] as number) ^ 1;
    const name = `${p.algorithm} ${p.mode ?? ''}`;
    t.equal(reasonOf(() => symmetricDecrypt({ ...p, data: out.data, iv: out.iv as Buffer, tag })), 'Cryptographic_Failure', `${name}: bad tag`);
    const ct = Buffer.from(out.data);
    ct[0] = (ct[0] as number) ^ 1;
    t.equal(reasonOf(() => symmetricDecrypt({ ...p, data: ct, iv: out.iv as Buffer, tag: out.tag as Buffer })), 'Cryptographic_Failure', `${name}: bad ciphertext`);
    t.equal(reasonOf(() => symmetricDecrypt({ ...p, data: out.data, iv: out.iv as Buffer, tag: out.tag as Buffer, aad: Buffer.from('other') })), 'Cryptographic_Failure', `${name}: other AAD`);
    t.equal(messageOf(() => symmetricDecrypt({ ...p, data: out.data, iv: out.iv as Buffer, tag })).includes(data.toString('hex')), false, 'no plaintext in the message');
  }
  const wrap = symmetricEncrypt({ algorithm: 'AES', mode: 'NISTKeyWrap', key, data: randomBytes(32) }).data;
  wrap[3] = (wrap[3] as number) ^ 1;
  t.equal(reasonOf(() => symmetricDecrypt({ algorithm: 'AES', mode: 'NISTKeyWrap', key, data: wrap })), 'Cryptographic_Failure', 'bad RFC 3394 integrity');
  const wrapPad = symmetricEncrypt({ algorithm: 'AES', mode: 'AESKeyWrapPadding', key, data: randomBytes(20) }).data;
  t.equal(reasonOf(() => symmetricDecrypt({ algorithm: 'AES', mode: 'AESKeyWrapPadding', key: randomBytes(32), data: wrapPad })), 'Cryptographic_Failure', 'RFC 5649 with the wrong key');
  const cbc = symmetricEncrypt({ algorithm: 'AES', mode: 'CBC', key, data: Buffer.from('x') });
  t.equal(reasonOf(() => symmetricDecrypt({ algorithm: 'AES', mode: 'CBC', key: randomBytes(32), data: cbc.data, iv: cbc.iv as Buffer })), 'Cryptographic_Failure', 'bad PKCS#5 padding');
});

t.test('malformed parameters', async (t) => {
  const key = randomBytes(16);
  const d = Buffer.alloc(16);
  const cases: [string, () => unknown, string][] = [
    ['AES key of 20 bytes', () => symmetricEncrypt({ algorithm: 'AES', mode: 'CBC', key: randomBytes(20), data: d }), 'Bad_Cryptographic_Parameters'],
    ['CBC IV of 8 bytes', () => symmetricEncrypt({ algorithm: 'AES', mode: 'CBC', key, data: d, iv: randomBytes(8) }), 'Invalid_Field'],
    ['CBC decrypt IV of 12 bytes', () => symmetricDecrypt({ algorithm: 'AES', mode: 'CBC', key, data: d, iv: randomBytes(12) }), 'Invalid_Field'],
    ['CTR IV of 12 bytes', () => symmetricEncrypt({ algorithm: 'AES', mode: 'CTR', key, data: d, iv: randomBytes(12) }), 'Invalid_Field'],
    ['GCM empty IV', () => symmetricEncrypt({ algorithm: 'AES', mode: 'GCM', key, data: d, iv: Buffer.alloc(0) }), 'Invalid_Field'],
    ['GCM tag length 8', () => symmetricEncrypt({ algorithm: 'AES', mode: 'GCM', key, data: d, tagLength: 8 }), 'Bad_Cryptographic_Parameters'],
    ['GCM decrypt with a 4-byte tag', () => symmetricDecrypt({ algorithm: 'AES', mode: 'GCM', key, data: d, iv: randomBytes(12), tag: randomBytes(4) }), 'Invalid_Field'],
    ['GCM decrypt tag/tagLength mismatch', () => symmetricDecrypt({ algorithm: 'AES', mode: 'GCM', key, data: d, iv: randomBytes(12), tag: randomBytes(16), tagLength: 12 }), 'Invalid_Field'],
    ['GCM decrypt without IV', () => symmetricDecrypt({ algorithm: 'AES', mode: 'GCM', key, data: d, tag: randomBytes(16) }), 'Missing_Initialization_Vector'],
    ['CBC without padding, 15 bytes', () => symmetricEncrypt({ algorithm: 'AES', mode: 'CBC', padding: 'None', key, data: Buffer.alloc(15) }), 'Invalid_Field'],
    ['ECB without padding, 17 bytes', () => symmetricEncrypt({ algorithm: 'AES', mode: 'ECB', padding: 'None', key, data: Buffer.alloc(17) }), 'Invalid_Field'],
    ['CBC ciphertext of 15 bytes', () => symmetricDecrypt({ algorithm: 'AES', mode: 'CBC', key, data: Buffer.alloc(15), iv: Buffer.alloc(16) }), 'Invalid_Field'],
    ['XTS 16-byte key', () => symmetricEncrypt({ algorithm: 'AES', mode: 'XTS', key, data: d }), 'Bad_Cryptographic_Parameters'],
    ['XTS equal halves', () => symmetricEncrypt({ algorithm: 'AES', mode: 'XTS', key: Buffer.alloc(32, 7), data: d }), 'Bad_Cryptographic_Parameters'],
    ['XTS 15 bytes', () => symmetricEncrypt({ algorithm: 'AES', mode: 'XTS', key: randomBytes(32), data: Buffer.alloc(15) }), 'Invalid_Field'],
    ['GCM-SIV AES-192', () => symmetricEncrypt({ algorithm: 'AES', mode: 'GCMSIV', key: randomBytes(24), data: d }), 'Bad_Cryptographic_Parameters'],
    ['GCM-SIV 16-byte nonce', () => symmetricEncrypt({ algorithm: 'AES', mode: 'GCMSIV', key, data: d, iv: randomBytes(16) }), 'Invalid_Field'],
    ['GCM-SIV 12-byte tag', () => symmetricDecrypt({ algorithm: 'AES', mode: 'GCMSIV', key, data: d, iv: randomBytes(12), tag: randomBytes(12) }), 'Invalid_Field'],
    ['RFC 3394 of 12 bytes', () => symmetricEncrypt({ algorithm: 'AES', mode: 'NISTKeyWrap', key, data: Buffer.alloc(12) }), 'Invalid_Field'],
    ['ChaCha20-Poly1305 16-byte key', () => symmetricEncrypt({ algorithm: 'ChaCha20Poly1305', key, data: d }), 'Bad_Cryptographic_Parameters'],
    ['ChaCha20-Poly1305 8-byte nonce', () => symmetricEncrypt({ algorithm: 'ChaCha20Poly1305', key: randomBytes(32), data: d, iv: randomBytes(8) }), 'Invalid_Field'],
    ['ChaCha20-Poly1305 15-byte tag', () => symmetricDecrypt({ algorithm: 'ChaCha20Poly1305', key: randomBytes(32), data: d, iv: randomBytes(12), tag: randomBytes(15) }), 'Invalid_Field'],
    ['ChaCha20 10-byte nonce', () => symmetricEncrypt({ algorithm: 'ChaCha20', key: randomBytes(32), data: d, iv: randomBytes(10) }), 'Invalid_Field'],
    ['unknown mode', () => symmetricEncrypt({ algorithm: 'AES', mode: 'OFB' as 'CBC', key, data: d }), 'Feature_Not_Supported'],
    ['unknown algorithm', () => symmetricEncrypt({ algorithm: 'DES3' as 'AES', key, data: d }), 'Feature_Not_Supported'],
  ];
  for (const [name, f, reason] of cases) t.equal(reasonOf(f), reason, name);
  t.notMatch(messageOf(() => symmetricEncrypt({ algorithm: 'AES', key: Buffer.alloc(20, 0xab), data: d })), /abab/, 'no key bytes in messages');
});
