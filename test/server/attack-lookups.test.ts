/**
 * Issue 11, items 4 and 9 (Revoke with Cascade): one user cannot steer another's lookups.
 * Each test is an attack by bob on alice, against a real server with both users known by
 * API tokens; it passed for bob before the fix.
 */
import t from 'tap';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { T, child } from '../../src/kmip/ttlv';
import type { KmipClient } from '../../src/kmip/client';
import type { EncryptResult } from '../../src/kmip/responses';
import { symmetricKeyObject } from '../../src/kmip/requests';
import { grant, outcome, twoUsers } from '../support/two-users';

const PLAINTEXT = Buffer.from('alice pays bob 100');

/** Which of the candidate AES-256 keys produced an AES-GCM result, by authenticating it. */
function encryptedUnder(result: EncryptResult, keys: Record<string, Buffer>): string[] {
  return Object.entries(keys)
    .filter(([, key]) => {
      try {
        const d = createDecipheriv('aes-256-gcm', key, result.iv as Buffer);
        d.setAuthTag(result.tag as Buffer);
        return Buffer.concat([d.update(result.data), d.final()]).equals(PLAINTEXT);
      } catch {
        return false;
      }
    })
    .map(([name]) => name);
}

const uidText = (response: Awaited<ReturnType<KmipClient['call']>>): string => String(child(response, 'UniqueIdentifier')?.value);

t.test('a tag selector resolves among the caller\'s own objects: a shared key with the same tag neither breaks nor replaces it', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const aliceKey = randomBytes(32);
  const bobKey = randomBytes(32);
  const mine = await alice.register(symmetricKeyObject(aliceKey), { tags: ['payments'] });
  const bobs = await bob.register(symmetricKeyObject(bobKey), { tags: ['payments'] });
  await grant(bob, bobs, '*', ['encrypt', 'get']);

  // Before: "the tags match 2 objects". Now alice's own key, and only hers.
  const first = await alice.encrypt('["payments"]', PLAINTEXT);
  t.same(encryptedUnder(first, { alice: aliceKey, bob: bobKey }), ['alice'], 'alice encrypts under her own key');
  t.same(await alice.locate({ tags: ['payments'] }), [mine, bobs], 'Locate still lists both, hers first');

  // Once alice's key is destroyed, her lookup fails; it does not fall through to bob's.
  await alice.revoke(mine, 'Unspecified');
  await alice.destroy(mine);
  t.equal(await outcome(alice.encrypt('["payments"]', PLAINTEXT)), 'Item_Not_Found', 'destroyed: not found, never bob\'s key');
  t.equal(await outcome(alice.destroy(mine, { remove: true })), 'ok', 'her key is removed from the store');
  t.equal(await outcome(alice.encrypt('["payments"]', PLAINTEXT)), 'Item_Not_Found', 'removed: still not found');
  // Bob's key is still his to name by tag, and alice's by its UID.
  t.ok(await bob.encrypt('["payments"]', PLAINTEXT));
  t.same(encryptedUnder(await alice.encrypt(bobs, PLAINTEXT), { bob: bobKey }), ['bob'], 'a shared key is used by naming its UID');
});

t.test('a client-chosen UID taken by another user first: the caller gets its own object under that UID', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const bobKey = randomBytes(32);
  const aliceKey = randomBytes(32);
  await bob.import('payments-master', symmetricKeyObject(bobKey));
  await grant(bob, 'payments-master', '*', ['encrypt', 'get', 'get_attributes']);

  t.equal(await alice.import('payments-master', symmetricKeyObject(aliceKey)), 'payments-master', 'alice\'s Import answers with the UID she chose');
  const result = await alice.encrypt('payments-master', PLAINTEXT);
  t.same(encryptedUnder(result, { alice: aliceKey, bob: bobKey }), ['alice'], 'alice encrypts under her key, not bob\'s');
  t.same((await alice.get('payments-master')).bytes, aliceKey);
  t.equal(uidText(await alice.call(T.struct('GetAttributes', [T.text('UniqueIdentifier', 'payments-master')]))), 'payments-master', 'GetAttributes names it as she did');
  t.ok((await alice.locate()).includes('payments-master'), 'Locate shows her object under her UID');
  t.same((await bob.get('payments-master')).bytes, bobKey, 'bob\'s key is untouched and still his under the same UID');
  t.same(encryptedUnder(await bob.encrypt('payments-master', PLAINTEXT), { alice: aliceKey, bob: bobKey }), ['bob']);

  // A second Import of hers is hers to replace; without ReplaceExisting it exists.
  t.equal(await outcome(alice.import('payments-master', symmetricKeyObject(aliceKey))), 'Object_Already_Exists');
  const replacement = randomBytes(32);
  await alice.import('payments-master', symmetricKeyObject(replacement), {}, { replaceExisting: true });
  t.same((await alice.get('payments-master')).bytes, replacement, 'ReplaceExisting replaces her object');
  t.same((await bob.get('payments-master')).bytes, bobKey, 'and never bob\'s');

  // Access rights by that UID act on her object.
  await alice.rest('POST', '/access/grant', { unique_identifier: 'payments-master', user_id: 'carol', operation_types: ['encrypt'] });
  const owned = (await alice.rest('GET', '/access/owned')) as { object_id: string }[];
  t.ok(owned.some((o) => o.object_id === 'payments-master'), '/access/owned shows her UID');
  const listed = (await alice.rest('GET', '/access/list/payments-master')) as { user_id: string }[];
  t.same(listed.map((u) => u.user_id), ['carol'], 'the grant went on her object');
  const bobsList = (await bob.rest('GET', '/access/list/payments-master')) as { user_id: string }[];
  t.same(bobsList.map((u) => u.user_id), ['*'], 'bob\'s grants are his own');
});

t.test('Create, CreateKeyPair and a batch placeholder with a UID another user holds', async (t) => {
  const { alice, bob } = await twoUsers(t);
  await bob.create({ algorithm: 'AES', length: 256, uniqueIdentifier: 'disk-key' });
  await bob.create({ algorithm: 'AES', length: 256, uniqueIdentifier: 'vault' });
  await grant(bob, 'vault', '*', ['encrypt']);
  await bob.createKeyPair({ algorithm: 'EC', curve: 'P256', uniqueIdentifier: 'tls-key' });

  t.equal(await alice.create({ algorithm: 'AES', length: 256, uniqueIdentifier: 'disk-key' }), 'disk-key');
  t.equal(await outcome(alice.create({ algorithm: 'AES', length: 256, uniqueIdentifier: 'disk-key' })), 'Object_Already_Exists', 'her own UID exists for her');
  const pair = await alice.createKeyPair({ algorithm: 'EC', curve: 'P256', uniqueIdentifier: 'tls-key' });
  t.same(pair, { privateKeyId: 'tls-key', publicKeyId: 'tls-key_pk' });
  const attrs = await alice.getAttributes('tls-key', ['Link']);
  t.match(JSON.stringify(attrs), /tls-key_pk/, 'her private key links to her public key');
  const signature = await alice.sign('tls-key', Buffer.from('hello'));
  t.equal(await alice.verify('tls-key_pk', Buffer.from('hello'), signature), true, 'her halves work together');
  t.equal(await bob.verify('tls-key_pk', Buffer.from('hello'), signature), false, 'bob\'s public key does not verify her signature');

  // A RequestMessage: Create with her UID, then Encrypt through the ID placeholder.
  const [created, encrypted] = await alice.batch([
    T.struct('Create', [T.enum('ObjectType', 'SymmetricKey'), T.struct('Attributes', [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256), T.text('UniqueIdentifier', 'vault'), T.date('ActivationDate', Math.floor(Date.now() / 1000) - 60)])]),
    T.struct('Encrypt', [T.bytes('Data', PLAINTEXT)]),
  ]);
  t.ok(created?.ok && encrypted?.ok, 'both items succeed');
  t.equal(created?.ok ? uidText(created.response) : '', 'vault');
  t.equal(encrypted?.ok ? uidText(encrypted.response) : '', 'vault');
});

t.test('Create or Import with another user\'s UID answers exactly as with a free one', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const secret = await bob.create({ algorithm: 'AES', length: 256 });
  await bob.create({ algorithm: 'AES', length: 256, uniqueIdentifier: 'bobs-named-key' });
  for (const uid of [secret, 'bobs-named-key']) {
    t.equal(await alice.create({ algorithm: 'AES', length: 256, uniqueIdentifier: uid }), uid, `Create ${uid}: as if free`);
    t.equal(await alice.import(`${uid}-imported`, symmetricKeyObject(randomBytes(32))), `${uid}-imported`);
  }
  t.equal(await alice.import(secret + '-2', symmetricKeyObject(randomBytes(32))), secret + '-2');
  t.equal(await outcome(alice.get('free-uid-never-used')), 'Object_Not_Found');
  // A client cannot name another user's namespace: the separator is refused.
  t.equal(await outcome(alice.create({ algorithm: 'AES', length: 256, uniqueIdentifier: 'x\u001fabc' })), 'Invalid_Attribute_Value');
  // Bob's objects are untouched.
  t.equal((await bob.get(secret)).uid, secret);
  t.equal((await bob.get('bobs-named-key')).uid, 'bobs-named-key');
});

t.test('Revoke with Cascade through a Link cannot tell whether another user\'s UID exists', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const bobs = await bob.create({ algorithm: 'AES', length: 256 });
  const linkTo = async (target: string): Promise<string> => {
    const uid = await alice.create({ algorithm: 'AES', length: 256 });
    await alice.call(T.struct('AddAttribute', [T.text('UniqueIdentifier', uid), T.struct('NewAttribute', [T.struct('Link', [T.enum('LinkType', 'PublicKeyLink'), T.text('LinkedObjectIdentifier', target)])])]));
    return uid;
  };
  const revokeCascade = (uid: string) => alice.call(T.struct('Revoke', [T.text('UniqueIdentifier', uid), T.struct('RevocationReason', [T.enum('RevocationReasonCode', 'Unspecified')]), T.bool('Cascade', true)]));
  const throughExisting = await outcome(revokeCascade(await linkTo(bobs)));
  const throughMissing = await outcome(revokeCascade(await linkTo('no-such-object')));
  t.equal(throughExisting, 'ok');
  t.equal(throughMissing, 'ok', 'the same answer either way');
  t.equal((await bob.getAttributes(bobs, ['State'])).attributes['State'], 'Active', 'bob\'s key is not revoked');
  // Destroy with Cascade follows the same rule.
  const destroyCascade = (uid: string) => alice.call(T.struct('Destroy', [T.text('UniqueIdentifier', uid), T.bool('Cascade', true)]));
  const d = await linkTo(bobs);
  await alice.revoke(d, 'Unspecified');
  t.equal(await outcome(destroyCascade(d)), 'ok');
  t.equal((await bob.getAttributes(bobs, ['State'])).attributes['State'], 'Active', 'bob\'s key is not destroyed');
});

t.test('a failed Revoke with Cascade changes nothing', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const pair = await bob.createKeyPair({ algorithm: 'EC', curve: 'P256' });
  // alice may revoke the private key and read the public one, but not revoke it.
  await grant(bob, pair.privateKeyId, 'alice', ['revoke']);
  await grant(bob, pair.publicKeyId, 'alice', ['get_attributes']);
  const cascade = alice.call(T.struct('Revoke', [T.text('UniqueIdentifier', pair.privateKeyId), T.struct('RevocationReason', [T.enum('RevocationReasonCode', 'Unspecified')]), T.bool('Cascade', true)]));
  t.equal(await outcome(cascade), 'Permission_Denied');
  t.equal((await bob.getAttributes(pair.privateKeyId, ['State'])).attributes['State'], 'Active', 'the private key was not revoked either');
  t.equal((await bob.getAttributes(pair.publicKeyId, ['State'])).attributes['State'], 'Active');
});

t.test('Locate by Name: a shared object of the same Name neither joins nor replaces the caller\'s own', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const bobs = await bob.register(symmetricKeyObject(randomBytes(32)), { label: 'disk' });
  await grant(bob, bobs, '*', ['encrypt', 'get']);
  t.same(await alice.locate({ name: 'disk' }), [bobs], 'a user who owns no "disk" finds the one shared with her');
  const mine = await alice.register(symmetricKeyObject(randomBytes(32)), { label: 'disk' });
  t.same(await alice.locate({ name: 'disk' }), [mine], 'once she owns one, only hers');
  await alice.revoke(mine, 'Unspecified');
  await alice.destroy(mine);
  t.same(await alice.locate({ name: 'disk' }), [], 'destroyed: nothing, never bob\'s');
  t.same(await alice.locate({ name: 'disk', state: 'Destroyed' }), [mine], 'her destroyed key is still hers to find');
  t.same(await bob.locate({ name: 'disk' }), [bobs], 'bob finds his own');
});
