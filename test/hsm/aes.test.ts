import t from 'tap';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import * as crypto from '../../src/hsm/crypto';
import { decrypt, encrypt } from '../../src/hsm/crypto';
import { HsmError, hsmErrorReason } from '../../src/hsm/errors';
import * as keys from '../../src/hsm/keys';
import { createAesKey, destroyKey, getKeyInfo, listKeys } from '../../src/hsm/keys';
import type { HsmSlot } from '../../src/hsm/slot';
import { makeTokens } from './softhsm';

const tokens = makeTokens(t, 1, 'aes');
// A batch of 2 makes listing five keys take three C_FindObjects calls.
const hsm = tokens.open(t, { findBatchSize: 2 });
const slot = hsm.slot(tokens.slots[0]!);

function hsmError(t: Tap, fn: () => unknown): HsmError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HsmError) return e;
    throw e;
  }
  t.fail('expected an HsmError');
  return new HsmError('CONFIG', { operation: 'unreachable' });
}
type Tap = { fail(message: string): void };

/**
 * An extractable session-object copy of an AES key under a label, so node:crypto can check
 * the layout of what encrypt() produced. Token keys made by createAesKey never allow this.
 */
function extractableSessionKey(s: HsmSlot, label: string, value: Buffer): void {
  s.withSession({ operation: 'test key' }, (session, p11) => p11.C_CreateObject(session, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
    { type: pkcs11.CKA_TOKEN, value: false },
    { type: pkcs11.CKA_LABEL, value: label },
    { type: pkcs11.CKA_VALUE, value },
    { type: pkcs11.CKA_ENCRYPT, value: true },
    { type: pkcs11.CKA_DECRYPT, value: true },
    { type: pkcs11.CKA_SENSITIVE, value: false },
    { type: pkcs11.CKA_EXTRACTABLE, value: true },
  ]));
}

t.test('AES-128 and AES-256 keys: created on the token, sensitive, not extractable', async (t) => {
  for (const bits of [128, 256] as const) {
    const info = createAesKey(slot, `aes-${bits}`, bits);
    t.same(info, { slot: slot.id, label: `aes-${bits}`, keyClass: 'secret', keyType: 'AES', bits, sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true });
    t.same(getKeyInfo(slot, `aes-${bits}`, 'secret'), info, 'read back from the token');
  }
  t.equal(hsmError(t, () => createAesKey(slot, 'aes-128', 128)).code, 'ALREADY_EXISTS', 'a label is used once');
  t.equal(hsmError(t, () => createAesKey(slot, 'aes-192', 192 as 128)).code, 'INVALID_ARGUMENT');
  t.equal(hsmError(t, () => createAesKey(slot, '', 128)).code, 'INVALID_ARGUMENT');
  t.same(listKeys(slot).map((k) => k.label).sort(), ['aes-128', 'aes-256']);
});

t.test('a sensitive key has no export path', async (t) => {
  createAesKey(slot, 'secret-kek', 256);
  const e = hsmError(t, () => slot.withSession({ operation: 'read value' }, (session, p11) => {
    const [h] = keys.findHandles(slot, session, p11, [{ type: pkcs11.CKA_LABEL, value: 'secret-kek' }]);
    return p11.C_GetAttributeValue(session, h!, [{ type: pkcs11.CKA_VALUE }]);
  }));
  t.equal(e.code, 'CKR_ATTRIBUTE_SENSITIVE', 'the token refuses to read CKA_VALUE');
  t.equal(hsmErrorReason(e), 'Sensitive');

  // Nor can it be wrapped out under a key we control.
  const wrapErr = hsmError(t, () => slot.withSession({ operation: 'wrap out' }, (session, p11) => {
    const wrapper = p11.C_GenerateKey(session, { mechanism: pkcs11.CKM_AES_KEY_GEN }, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY }, { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
      { type: pkcs11.CKA_VALUE_LEN, value: 32 }, { type: pkcs11.CKA_TOKEN, value: false }, { type: pkcs11.CKA_WRAP, value: true },
    ]);
    const [target] = keys.findHandles(slot, session, p11, [{ type: pkcs11.CKA_LABEL, value: 'secret-kek' }]);
    return p11.C_WrapKey(session, { mechanism: pkcs11.CKM_AES_KEY_WRAP }, wrapper, target!, Buffer.alloc(64));
  }));
  t.equal(wrapErr.code, 'CKR_KEY_UNEXTRACTABLE', 'C_WrapKey refuses a non-extractable key');

  // And the module's API has no function that could return key bytes.
  const exported = [...Object.keys(keys), ...Object.keys(crypto)];
  t.same(exported.filter((name) => /export|value|raw|extract/i.test(name)), []);
  t.notOk('value' in getKeyInfo(slot, 'secret-kek', 'secret'));
});

t.test('AES-GCM: round trip, iv‖ciphertext‖tag layout, tampering fails', async (t) => {
  const plain = Buffer.from('the KMS key material to protect');
  const out = encrypt(slot, 'aes-256', 'AES-GCM', plain);
  t.equal(out.length, 12 + plain.length + 16, '12-byte IV, ciphertext as long as the plaintext, 16-byte tag');
  t.same(decrypt(slot, 'aes-256', 'AES-GCM', out), plain);
  t.notSame(encrypt(slot, 'aes-256', 'AES-GCM', plain).subarray(0, 12), out.subarray(0, 12), 'a fresh IV each time');
  t.same(decrypt(slot, 'aes-256', 'AES-GCM', encrypt(slot, 'aes-256', 'AES-GCM', Buffer.alloc(0))), Buffer.alloc(0), 'empty plaintext');

  for (const [what, index] of [['tag', out.length - 1], ['IV', 0], ['ciphertext', 12]] as const) {
    const bad = Buffer.from(out);
    bad[index]! ^= 1;
    const e = hsmError(t, () => decrypt(slot, 'aes-256', 'AES-GCM', bad));
    t.equal(e.code, 'CKR_ENCRYPTED_DATA_INVALID', `a flipped ${what} bit is refused`);
    t.equal(hsmErrorReason(e), 'Cryptographic_Failure');
  }
  t.equal(hsmError(t, () => decrypt(slot, 'aes-256', 'AES-GCM', out.subarray(0, 27))).code, 'INVALID_ARGUMENT', 'shorter than iv‖tag');
  t.equal(hsmError(t, () => decrypt(slot, 'aes-128', 'AES-GCM', out)).code, 'CKR_ENCRYPTED_DATA_INVALID', 'another key fails');

  const aad = Buffer.from('header');
  const withAad = encrypt(slot, 'aes-128', 'AES-GCM', plain, { aad });
  t.same(decrypt(slot, 'aes-128', 'AES-GCM', withAad, { aad }), plain);
  t.equal(hsmError(t, () => decrypt(slot, 'aes-128', 'AES-GCM', withAad, { aad: Buffer.from('other') })).code, 'CKR_ENCRYPTED_DATA_INVALID');
  t.equal(hsmError(t, () => encrypt(slot, 'aes-128', 'AES-GCM', plain, { iv: Buffer.alloc(16) })).code, 'INVALID_ARGUMENT');
});

t.test('AES-GCM layout cross-checked with node:crypto on an extractable session key', async (t) => {
  const value = randomBytes(32);
  extractableSessionKey(slot, 'layout-check', value);
  const plain = randomBytes(45);
  const out = encrypt(slot, 'layout-check', 'AES-GCM', plain);
  const decipher = createDecipheriv('aes-256-gcm', value, out.subarray(0, 12));
  decipher.setAuthTag(out.subarray(out.length - 16));
  t.same(Buffer.concat([decipher.update(out.subarray(12, out.length - 16)), decipher.final()]), plain, 'node decrypts iv‖ct‖tag');

  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', value, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  t.same(decrypt(slot, 'layout-check', 'AES-GCM', Buffer.concat([iv, body, cipher.getAuthTag()])), plain, 'the HSM decrypts what node built');
});

t.test('AES-CBC: PKCS#7 round trips, iv‖ciphertext layout cross-checked with node:crypto', async (t) => {
  for (const n of [0, 1, 15, 16, 17, 1000]) {
    const plain = randomBytes(n);
    const out = encrypt(slot, 'aes-128', 'AES-CBC', plain);
    t.equal(out.length, 16 + (Math.floor(n / 16) + 1) * 16, `${n} bytes: IV plus padded blocks`);
    t.same(decrypt(slot, 'aes-128', 'AES-CBC', out), plain);
  }
  const value = randomBytes(16);
  extractableSessionKey(slot, 'cbc-check', value);
  const plain = Buffer.from('cipher block chaining');
  const out = encrypt(slot, 'cbc-check', 'AES-CBC', plain);
  const d = createDecipheriv('aes-128-cbc', value, out.subarray(0, 16));
  t.same(Buffer.concat([d.update(out.subarray(16)), d.final()]), plain, 'node decrypts it with standard PKCS#7 unpadding');
  const iv = randomBytes(16);
  const c = createCipheriv('aes-128-cbc', value, iv);
  t.same(decrypt(slot, 'cbc-check', 'AES-CBC', Buffer.concat([iv, c.update(plain), c.final()])), plain, 'the HSM decrypts what node built');

  // Bad padding (a ciphertext that decrypts to garbage) is refused, not returned.
  const garbage = Buffer.concat([iv, createCipheriv('aes-128-cbc', value, iv).setAutoPadding(false).update(Buffer.alloc(16, 0x41))]);
  t.equal(hsmError(t, () => decrypt(slot, 'cbc-check', 'AES-CBC', garbage)).code, 'CKR_ENCRYPTED_DATA_INVALID');
  t.equal(hsmError(t, () => decrypt(slot, 'aes-128', 'AES-CBC', out.subarray(0, 20))).code, 'INVALID_ARGUMENT');
});

t.test('listing pages through the profile batch size', async (t) => {
  const before = listKeys(slot).length;
  for (let i = 0; i < 5; i++) createAesKey(slot, `page-${i}`, 128);
  const listed = listKeys(slot);
  t.equal(slot.findBatchSize, 2);
  t.equal(listed.length, before + 5, 'every key found across several C_FindObjects batches');
  t.same(listed.filter((k) => k.label.startsWith('page-')).map((k) => k.label).sort(), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  t.notOk(listed.some((k) => k.label === 'layout-check'), 'session objects are not token keys');
});

t.test('destroy', async (t) => {
  createAesKey(slot, 'doomed', 256);
  const ct = encrypt(slot, 'doomed', 'AES-GCM', Buffer.from('x'));
  t.equal(destroyKey(slot, 'doomed'), 1);
  const e = hsmError(t, () => decrypt(slot, 'doomed', 'AES-GCM', ct));
  t.equal(e.code, 'NOT_FOUND');
  t.equal(hsmErrorReason(e), 'Item_Not_Found');
  t.equal(hsmError(t, () => destroyKey(slot, 'doomed')).code, 'NOT_FOUND', 'destroying twice is an error');
  t.notOk(listKeys(slot).some((k) => k.label === 'doomed'));
  createAesKey(slot, 'doomed', 128);
  t.equal(getKeyInfo(slot, 'doomed', 'secret').bits, 128, 'the label can be used again');
});
