import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KmipClient } from '../../src/kmip/client';
import { T, child } from '../../src/kmip/ttlv';
import { reasonOf } from '../support/client';
import { createWrapped, flatHsm, serverOn, storedRow, tempDb } from '../support/hsm-kms';
import { makeTokens } from '../hsm/softhsm';

// One SoftHSM2 token for the whole file (SOFTHSM2_CONF is read once per process).
const tokens = makeTokens(t, 1, 'kmsrekey');
const slot = tokens.slots[0] as number;
process.env['SOFTHSM2_CONF'] = tokens.conf;
const uid = (label: string): string => `hsm::${slot}::${label}`;
const hsm = flatHsm(slot);

async function reKey(client: KmipClient, id: string): Promise<string> {
  return String(child(await client.call(T.struct('ReKey', [T.text('UniqueIdentifier', id)])), 'UniqueIdentifier')?.value);
}

t.test('re-keying the KEK re-wraps the keys that depend on it', async (t) => {
  const { dbPath } = await tempDb(t);
  const kek = uid('kek');
  let s = await serverOn(dbPath, { hsm });
  t.teardown(() => s.stop());
  await s.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: kek });
  const deks = [await createWrapped(s.client, kek), await createWrapped(s.client, kek)];
  const plain = Buffer.from('encrypted before the re-key');
  const before = await Promise.all(deks.map((id) => s.client.encrypt(id, plain)));
  const rowsBefore = await Promise.all(deks.map((id) => storedRow(dbPath, id)));
  const keysBefore = await Promise.all(deks.map(async (id) => (await s.client.get(id, { keyWrapType: 'NotWrapped' })).bytes as Buffer));
  t.same(rowsBefore.map((r) => r.wrapping_key), [kek, kek], 'the index names the KEK');
  const cached = s.server.keyWrapStats()?.cache.size ?? 0;
  t.ok(cached >= 2, 'both keys are in the unwrapped cache');

  const next = await reKey(s.client, kek);
  t.equal(next, uid('kek@1'), 'the new generation is <base>@1');
  for (const [i, id] of deks.entries()) {
    const row = await storedRow(dbPath, id);
    t.equal(row.wrapping_key, next, `${id} is now wrapped by ${next}`);
    t.match(row.attributes, /kek@1/);
    t.not(row.material.toString('hex'), rowsBefore[i]!.material.toString('hex'), 'new ciphertext at rest');
    t.equal(row.material.length, 60);
    t.same((await s.client.get(id, { keyWrapType: 'NotWrapped' })).bytes, keysBefore[i], 'the same key inside');
    t.same(await s.client.decrypt(id, before[i]!.data, { iv: before[i]!.iv!, tag: before[i]!.tag! }), plain, 'old ciphertexts still decrypt');
  }
  t.match(s.server.keyWrapStats()?.cache, { invalidations: 2 }, 'the re-wrapped keys left the cache');
  t.match((await s.client.getAttributes(kek)).attributes, { CryptographicLength: 256 }, 'generation 0 stays on the HSM');

  // A new key wrapped "by the KEK" is wrapped by its newest generation; a restart changes nothing.
  const later = await createWrapped(s.client, kek);
  t.equal((await storedRow(dbPath, later)).wrapping_key, next);
  await s.stop();
  s = await serverOn(dbPath, { hsm });
  for (const [i, id] of deks.entries()) {
    t.same(await s.client.decrypt(id, before[i]!.data, { iv: before[i]!.iv!, tag: before[i]!.tag! }), plain, 'after a restart');
  }

  t.equal(await reKey(s.client, kek), uid('kek@2'), 'the base UID re-keys the newest generation');
  t.equal((await storedRow(dbPath, later)).wrapping_key, uid('kek@2'), 'keys under any older generation move to the newest');
  t.equal(await reasonOf(reKey(s.client, uid('kek@1'))), 'Invalid_Field', 'only the newest generation can be re-keyed');
  t.equal(await reKey(s.client, uid('kek@2')), uid('kek@3'), 'naming the newest generation explicitly works');
  const afterThree = await s.client.encrypt(later, plain);
  t.same(await s.client.decrypt(later, afterThree.data, { iv: afterThree.iv!, tag: afterThree.tag! }), plain, 'still usable after three re-keys');
});

t.test('the base UID of a re-keyed HSM key encrypts with the newest generation and decrypts with any', async (t) => {
  const { dbPath } = await tempDb(t);
  const s = await serverOn(dbPath, { hsm });
  t.teardown(() => s.stop());
  const base = uid('direct');
  await s.client.create({ algorithm: 'AES', length: 128, uniqueIdentifier: base });
  const plain = Buffer.from('direct use of an HSM key');
  const old = await s.client.encrypt(base, plain);
  await reKey(s.client, base);
  const fresh = await s.client.encrypt(base, plain);
  t.same(await s.client.decrypt(uid('direct@1'), fresh.data, { iv: fresh.iv!, tag: fresh.tag! }), plain, 'Encrypt used generation 1');
  t.equal(await reasonOf(s.client.decrypt(uid('direct@0'), fresh.data, { iv: fresh.iv!, tag: fresh.tag! })), 'Cryptographic_Failure', '@0 names generation 0 exactly');
  t.same(await s.client.decrypt(base, old.data, { iv: old.iv!, tag: old.tag! }), plain, 'the base UID finds generation 0 for an old ciphertext');
  t.same(await s.client.decrypt(base, fresh.data, { iv: fresh.iv!, tag: fresh.tag! }), plain);
  const tampered = Buffer.from(fresh.tag!);
  tampered[0] ^= 1;
  t.equal(await reasonOf(s.client.decrypt(base, fresh.data, { iv: fresh.iv!, tag: tampered })), 'Cryptographic_Failure', 'no generation takes a forged tag');

  await s.client.createKeyPair({ algorithm: 'RSA', length: 2048, uniqueIdentifier: uid('rsa') });
  t.equal(await reasonOf(reKey(s.client, uid('rsa'))), 'Invalid_Object_Type', 'only AES HSM keys are re-keyed');
  const offset = T.struct('ReKey', [T.text('UniqueIdentifier', base), T.int('Offset', 60)]);
  t.equal(await reasonOf(s.client.call(offset)), 'Feature_Not_Supported');
});

t.test('a non-admin can neither re-key nor locate HSM keys', async (t) => {
  const { dbPath } = await tempDb(t);
  const admin = await serverOn(dbPath, { hsm });
  t.teardown(() => admin.stop());
  await admin.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: uid('guarded') });
  const other = await tempDb(t);
  const alice = await serverOn(other.dbPath, { hsm, defaultUser: 'alice' });
  t.teardown(() => alice.stop());
  t.equal(await reasonOf(reKey(alice.client, uid('guarded'))), 'Permission_Denied');
  t.same(await alice.client.locate({}), [], 'Locate shows alice no HSM key');
  t.same(await alice.client.locate({ name: 'guarded' }), [], 'not even by its name (Cosmian #935)');
  t.ok((await admin.client.locate({ name: 'guarded' })).includes(uid('guarded')), 'the admin finds it by name');
});

t.test('Locate filters on HSM keys', async (t) => {
  const { dbPath } = await tempDb(t);
  const s = await serverOn(dbPath, { hsm });
  t.teardown(() => s.stop());
  // Whatever earlier tests left on the token is counted too: compare with what listing finds.
  const hsmKeys = (await s.client.locate({})).filter((u) => u.startsWith('hsm::'));
  await s.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: uid('find_aes') });
  await s.client.createKeyPair({ algorithm: 'RSA', length: 2048, uniqueIdentifier: uid('find_rsa') });
  const dbKey = await s.client.create({ algorithm: 'AES', length: 256, tags: ['db'] });

  const all = await s.client.locate({});
  t.equal(all.length, hsmKeys.length + 4, 'one AES key, an RSA pair and the database key were added');
  t.ok(all.includes(dbKey) && all.includes(uid('find_aes')) && all.includes(uid('find_rsa')) && all.includes(uid('find_rsa_pk')));
  t.ok(all.indexOf(dbKey) < all.indexOf(uid('find_aes')), 'database keys come first');
  const rsa = await s.client.locate({ algorithm: 'RSA' });
  t.ok(rsa.includes(uid('find_rsa')) && rsa.includes(uid('find_rsa_pk')) && !rsa.includes(uid('find_aes')));
  t.same(await s.client.locate({ objectType: 'PrivateKey', name: 'find_rsa' }), [uid('find_rsa')]);
  t.same(await s.client.locate({ objectType: 'PublicKey', name: 'find_rsa_pk' }), [uid('find_rsa_pk')]);
  t.ok((await s.client.locate({ objectType: 'SymmetricKey', length: 256 })).includes(uid('find_aes')));
  t.notOk((await s.client.locate({ objectType: 'SymmetricKey', length: 128 })).includes(uid('find_aes')));
  t.same(await s.client.locate({ algorithm: 'DES' }), [], 'no DES key anywhere');
  t.same(await s.client.locate({ objectType: 'Certificate' }), []);
  t.same(await s.client.locate({ tags: ['db'] }), [dbKey], 'a tag filter never matches an HSM key');
  t.same(await s.client.locate({ state: 'Deactivated' }), [], 'HSM keys are Active');
  t.same(await s.client.locate({ name: 'find_aes', maximumItems: 1 }), [uid('find_aes')]);
});

t.test('unwrapped keys expire from the cache after their idle time', async (t) => {
  const { dbPath } = await tempDb(t);
  const s = await serverOn(dbPath, { hsm, unwrappedCacheMaxAgeMinutes: 0.003 }); // 180 ms
  t.teardown(() => s.stop());
  await s.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: uid('kek_idle') });
  const id = await createWrapped(s.client, uid('kek_idle'));
  const calls = (): number => s.server.keyWrapStats()?.hsmCalls ?? 0;
  await s.client.encrypt(id, Buffer.from('a'));
  const first = calls();
  await s.client.encrypt(id, Buffer.from('b'));
  t.equal(calls(), first, 'a hit while fresh');
  await sleep(400);
  await s.client.encrypt(id, Buffer.from('c'));
  t.equal(calls(), first + 1, 'unwrapped again on the HSM once the entry went idle');
  t.match(s.server.keyWrapStats()?.cache, { expirations: 1 });
});
