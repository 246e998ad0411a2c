import t from 'tap';
import { randomBytes } from 'node:crypto';
import { HsmError, hsmErrorReason } from '../../src/hsm/errors';
import { HsmInstance } from '../../src/hsm/instance';
import { UnwrappedKeyCache } from '../../src/hsm/key-cache';
import { createAesKey, createRsaKeyPair, destroyKey } from '../../src/hsm/keys';
import { HsmKeyWrapper, type KekRef } from '../../src/hsm/wrapping';
import { makeTokens } from './softhsm';

const tokens = makeTokens(t, 2, 'wrap');
const [slotA, slotB] = tokens.slots as [number, number];
const hsm = tokens.open(t);
const kek: KekRef = { slot: slotA, label: 'kek-1' };
const newKek: KekRef = { slot: slotB, label: 'kek-2' };
createAesKey(hsm.slot(slotA), kek.label, 256);
createAesKey(hsm.slot(slotB), newKek.label, 256);

function errorOf(fn: () => unknown): HsmError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof HsmError) return e;
    throw e;
  }
  return undefined;
}

t.test('wrap/unwrap round trip; the wrapped form is iv‖ct‖tag and does not contain the key', async (t) => {
  const wrapper = new HsmKeyWrapper(hsm, new UnwrappedKeyCache());
  const dek = randomBytes(32);
  const wrapped = wrapper.wrap(kek, dek);
  t.equal(wrapped.length, 60, 'AES-256 under AES-GCM: 12 + 32 + 16, as Cosmian stores it');
  t.equal(wrapped.indexOf(dek.subarray(0, 8)), -1, 'no trace of the key bytes');
  t.same(wrapper.unwrap('dek-1', kek, wrapped), dek);
  t.notSame(wrapper.wrap(kek, dek), wrapped, 'a fresh IV each time');
});

t.test('a second unwrap makes no HSM call', async (t) => {
  // A separate instance on the same tokens, so it can be closed without ending the others.
  const own = HsmInstance.open(tokens.config({ slots: [{ id: slotA, pin: '12345678' }] }));
  t.teardown(() => own.close());
  const cache = new UnwrappedKeyCache();
  const wrapper = new HsmKeyWrapper(own, cache);
  const dek = randomBytes(32);
  const wrapped = wrapper.wrap(kek, dek);
  t.same(wrapper.unwrap('dek', kek, wrapped), dek);
  t.equal(wrapper.hsmCalls, 2, 'wrap + first unwrap');
  t.same(wrapper.unwrap('dek', kek, wrapped), dek);
  t.equal(wrapper.hsmCalls, 2, 'the second unwrap did not call the HSM');
  t.equal(cache.stats.hits, 1);
  t.equal(cache.stats.misses, 1);

  // Proof that does not rely on our own counter: with the HSM closed, only the cache can answer.
  own.close();
  t.same(wrapper.unwrap('dek', kek, wrapped), dek, 'served with the HSM closed');
  t.equal(errorOf(() => wrapper.unwrap('other', kek, wrapped))?.code, 'CLOSED', 'a miss (another UID) needs the HSM, which is closed');

  const out = wrapper.unwrap('dek', kek, wrapped);
  out.fill(0);
  t.same(wrapper.unwrap('dek', kek, wrapped), dek, 'the caller\'s copy is its own: zeroing it leaves the cache intact');
});

t.test('a changed wrapped form is not served from the cache; rewrap moves a key to a new KEK', async (t) => {
  const cache = new UnwrappedKeyCache();
  const wrapper = new HsmKeyWrapper(hsm, cache);
  const dek = randomBytes(32);
  const old = wrapper.wrap(kek, dek);
  t.same(wrapper.unwrap('dek', kek, old), dek);

  const rewrapped = wrapper.rewrap(old, kek, newKek);
  t.equal(rewrapped.length, 60);
  t.notSame(rewrapped, old);
  const calls = wrapper.hsmCalls;
  t.same(wrapper.unwrap('dek', newKek, rewrapped), dek, 'the new wrapped form unwraps under the new KEK');
  t.equal(wrapper.hsmCalls, calls + 1, 'the new form was a miss: the HSM was asked');
  t.equal(cache.stats.invalidations, 1, 'the stale entry was dropped');

  const e = errorOf(() => wrapper.unwrap('dek-old', newKek, old));
  t.equal(e?.code, 'CKR_ENCRYPTED_DATA_INVALID', 'the old form does not open under the new KEK');
  t.equal(hsmErrorReason(e), 'Cryptographic_Failure');
  t.equal(errorOf(() => wrapper.unwrap('dek-x', kek, rewrapped))?.code, 'CKR_ENCRYPTED_DATA_INVALID', 'nor the new form under the old KEK');

  // With the UID, rewrap drops the cached entry at once.
  t.ok(cache.get('dek', rewrapped));
  const third = wrapper.rewrap(rewrapped, newKek, kek, 'dek');
  t.equal(cache.get('dek', rewrapped), undefined, 'invalidated by rewrap');
  t.same(wrapper.unwrap('dek', kek, third), dek);
});

t.test('with the cache disabled every unwrap asks the HSM', async (t) => {
  const cache = new UnwrappedKeyCache({ maxEntries: 0 });
  const wrapper = new HsmKeyWrapper(hsm, cache);
  const dek = randomBytes(16);
  const wrapped = wrapper.wrap(kek, dek);
  for (let i = 0; i < 3; i++) t.same(wrapper.unwrap('dek', kek, wrapped), dek);
  t.equal(wrapper.hsmCalls, 4, 'one wrap, three unwraps');
  t.equal(cache.stats.hits, 0);
});

t.test('an expired entry is unwrapped again', async (t) => {
  let now = 0;
  const cache = new UnwrappedKeyCache({ idleMs: 60_000, now: () => now });
  const wrapper = new HsmKeyWrapper(hsm, cache);
  const dek = randomBytes(32);
  const wrapped = wrapper.wrap(kek, dek);
  wrapper.unwrap('dek', kek, wrapped);
  wrapper.unwrap('dek', kek, wrapped);
  t.equal(wrapper.hsmCalls, 2);
  now += 60_000;
  t.same(wrapper.unwrap('dek', kek, wrapped), dek);
  t.equal(wrapper.hsmCalls, 3, 'after the idle time the HSM is asked again');
});

t.test('the KEK must be an AES key on the HSM', async (t) => {
  const wrapper = new HsmKeyWrapper(hsm, new UnwrappedKeyCache());
  createRsaKeyPair(hsm.slot(slotA), 'rsa-kek', 2048);
  t.equal(errorOf(() => wrapper.wrap({ slot: slotA, label: 'rsa-kek' }, randomBytes(32)))?.code, 'NOT_FOUND', 'no secret key with that label');
  t.equal(errorOf(() => wrapper.wrap({ slot: 4242, label: 'kek-1' }, randomBytes(32)))?.code, 'CKR_SLOT_ID_INVALID');
  t.equal(errorOf(() => wrapper.wrap({ slot: slotB, label: 'kek-1' }, randomBytes(32)))?.code, 'NOT_FOUND', 'kek-1 lives on slot A only');
});

t.test('destroying the KEK makes its wrapped keys unrecoverable', async (t) => {
  const cache = new UnwrappedKeyCache();
  const wrapper = new HsmKeyWrapper(hsm, cache);
  createAesKey(hsm.slot(slotB), 'short-lived-kek', 128);
  const ref = { slot: slotB, label: 'short-lived-kek' };
  const dek = randomBytes(32);
  const wrapped = wrapper.wrap(ref, dek);
  t.same(wrapper.unwrap('dek', ref, wrapped), dek);
  t.equal(destroyKey(hsm.slot(slotB), ref.label), 1);
  cache.clear(); // what the server does when a KEK is destroyed
  const e = errorOf(() => wrapper.unwrap('dek', ref, wrapped));
  t.equal(e?.code, 'NOT_FOUND');
  t.equal(hsmErrorReason(e), 'Item_Not_Found');
});
