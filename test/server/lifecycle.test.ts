import t from 'tap';
import { reasonOf, serverAndClient } from '../support/client';

// A key a cryptographic operation cannot use (missing, in the wrong state, or with a usage mask
// that forbids it) is Cosmian's "<Op>: no valid key for id", ResultReason Item_Not_Found
// (test/server/cosmian-errors.test.ts); lifecycle operations keep Wrong_Key_Lifecycle_State.

t.test('lifecycle states are enforced on every operation', async (t) => {
  const { client } = await serverAndClient(t);
  const data = Buffer.from('data');
  const uid = await client.create({ algorithm: 'AES', length: 256, activationDate: null });
  t.equal((await client.getAttributes(uid, ['State'])).attributes['State'], 'PreActive', 'no ActivationDate: PreActive');
  t.equal(await reasonOf(client.encrypt(uid, data)), 'Item_Not_Found', 'a PreActive key does not encrypt');

  await client.activate(uid);
  t.equal((await client.getAttributes(uid, ['State'])).attributes['State'], 'Active');
  t.equal(await reasonOf(client.activate(uid)), 'Wrong_Key_Lifecycle_State', 'an Active key cannot be activated again');
  const ct = await client.encrypt(uid, data);
  t.equal(await reasonOf(client.destroy(uid)), 'Wrong_Key_Lifecycle_State', 'an Active key cannot be destroyed');

  await client.revoke(uid, 'CessationOfOperation');
  t.equal((await client.getAttributes(uid, ['State'])).attributes['State'], 'Deactivated');
  t.equal(await reasonOf(client.encrypt(uid, data)), 'Item_Not_Found', 'a Deactivated key does not encrypt');
  t.same(await client.decrypt(uid, ct.data, { iv: ct.iv as Buffer, tag: ct.tag as Buffer }), data, 'but still decrypts');

  await client.destroy(uid);
  t.equal((await client.getAttributes(uid, ['State'])).attributes['State'], 'Destroyed');
  t.equal(await reasonOf(client.get(uid)), 'Object_Destroyed', 'Get of a destroyed key fails');
  t.equal(await reasonOf(client.decrypt(uid, ct.data, { iv: ct.iv as Buffer, tag: ct.tag as Buffer })), 'Item_Not_Found', 'nor decrypts');
  const exported = await client.export(uid);
  t.equal(exported.bytes, undefined, 'Export of a destroyed key returns attributes only');
  t.same(await client.locate({ tags: [] }).then((ids) => ids.includes(uid)), false, 'Locate skips destroyed objects');
  t.ok((await client.locate({ state: 'Destroyed' })).includes(uid), 'unless the state is asked for');
});

t.test('a compromised key', async (t) => {
  const { client } = await serverAndClient(t);
  const { privateKeyId, publicKeyId } = await client.createKeyPair({ algorithm: 'EC', curve: 'P256' });
  const sig = await client.sign(privateKeyId, Buffer.from('m'));
  await client.revoke(privateKeyId, 'KeyCompromise');
  t.equal((await client.getAttributes(privateKeyId, ['State'])).attributes['State'], 'Compromised');
  t.equal(await reasonOf(client.sign(privateKeyId, Buffer.from('m'))), 'Item_Not_Found', 'a compromised key does not sign');
  t.ok(await client.verify(publicKeyId, Buffer.from('m'), sig), 'the public half still verifies');
  await client.destroy(privateKeyId);
  t.equal((await client.getAttributes(privateKeyId, ['State'])).attributes['State'], 'Destroyed_Compromised');
});

t.test('an ActivationDate in the future keeps the key PreActive until then', async (t) => {
  const { client } = await serverAndClient(t);
  const uid = await client.create({ algorithm: 'AES', activationDate: new Date(Date.now() + 3600_000) });
  t.equal((await client.getAttributes(uid, ['State'])).attributes['State'], 'PreActive');
  const past = await client.create({ algorithm: 'AES', activationDate: new Date(Date.now() - 1000) });
  t.equal((await client.getAttributes(past, ['State'])).attributes['State'], 'Active');
});

t.test('the usage mask is enforced', async (t) => {
  const { client } = await serverAndClient(t);
  const uid = await client.create({ algorithm: 'AES', usageMask: 0x8 });
  t.equal(await reasonOf(client.encrypt(uid, Buffer.from('x'))), 'Item_Not_Found', 'a decrypt-only key does not encrypt');
});

t.test('ReKey and ReKeyKeyPair make linked replacements', async (t) => {
  const { client } = await serverAndClient(t);
  const uid = await client.create({ algorithm: 'AES', length: 128, label: 'rotating', tags: ['rot'] });
  const response = await client.call({ tag: 'ReKey', type: 'Structure', value: [{ tag: 'UniqueIdentifier', type: 'TextString', value: uid }] });
  const fresh = String(response.value.find((n) => n.tag === 'UniqueIdentifier')?.value);
  t.not(fresh, uid);
  const attrs = (await client.getAttributes(fresh)).attributes;
  t.equal(attrs['CryptographicLength'], 128, 'the replacement has the same length');
  t.equal(attrs['State'], 'Active');
  t.match(JSON.stringify(attrs['Link']), /ReplacedObjectLink/);
  t.match(JSON.stringify((await client.getAttributes(uid)).attributes['Link']), /ReplacementObjectLink/);
  t.ok((await client.locate({ tags: ['rot'] })).includes(fresh), 'the replacement keeps the tags');

  const pair = await client.createKeyPair({ algorithm: 'RSA', length: 2048 });
  const rk = await client.call({ tag: 'ReKeyKeyPair', type: 'Structure', value: [{ tag: 'PrivateKeyUniqueIdentifier', type: 'TextString', value: pair.privateKeyId }] });
  const newPriv = String(rk.value.find((n) => n.tag === 'PrivateKeyUniqueIdentifier')?.value);
  const newPub = String(rk.value.find((n) => n.tag === 'PublicKeyUniqueIdentifier')?.value);
  t.equal(newPub, `${newPriv}_pk`);
  const sig = await client.sign(newPriv, Buffer.from('m'));
  t.ok(await client.verify(newPub, Buffer.from('m'), sig), 'the new pair works');
});
