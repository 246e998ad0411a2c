import t from 'tap';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { createSymmetricKeyRequest, symmetricKeyObject } from '../../src/kmip/requests';
import { T, child, type TtlvStructure } from '../../src/kmip/ttlv';
import { startServer, type ServerOptions } from '../../src/server/main';
import { reasonOf } from '../support/client';
import { createWrapped, flatHsm, sealedRow, serverOn as serverWith, storedRow, tempDb, type KmsOnDb } from '../support/hsm-kms';
import { scanForKey } from '../support/db-scan';
import { cli } from '../cli/harness';
import { PIN, makeTokens } from '../hsm/softhsm';

// One SoftHSM2 token for the whole file (SOFTHSM2_CONF is read once per process).
const tokens = makeTokens(t, 1, 'kmswrap');
const slot = tokens.slots[0] as number;
process.env['SOFTHSM2_CONF'] = tokens.conf;
const uid = (label: string): string => `hsm::${slot}::${label}`;
const hsm = flatHsm(slot);
const serverOn = (dbPath: string, opts: ServerOptions = {}): Promise<KmsOnDb> => serverWith(dbPath, { hsm, ...opts });

function gcmDecryptLocally(key: Buffer, r: { data: Buffer; iv?: Buffer; tag?: Buffer }): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, r.iv!);
  d.setAuthTag(r.tag!);
  return Buffer.concat([d.update(r.data), d.final()]);
}

t.test('a key created with wrapping_key_id is stored wrapped, used through the cache, and survives a restart', async (t) => {
  const { dir, dbPath, walFrom } = await tempDb(t);
  const kek = uid('kek1');
  let s = await serverOn(dbPath);
  t.teardown(() => s.stop());
  t.equal(await s.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: kek }), kek, 'the KEK lives on the HSM');
  const id = await createWrapped(s.client, kek);
  t.notOk(id.startsWith('hsm::'), 'the wrapped key is a database key');

  // Get answers as stored by default (Cosmian's default): iv‖ct‖tag with KeyWrappingData naming the KEK.
  const asStored = await s.client.get(id);
  t.equal(asStored.bytes?.length, 60, '12-byte IV + 32-byte ciphertext + 16-byte tag');
  const block = child(asStored.object, 'KeyBlock');
  t.equal(child(child(child(block, 'KeyWrappingData'), 'EncryptionKeyInformation'), 'UniqueIdentifier')?.value, kek);
  t.same(asStored.bytes, (await storedRow(dbPath, id)).material, 'the wrapped form is what the row holds');
  t.match((await storedRow(dbPath, id)).attributes, /WrappingKeyLink/);
  t.notMatch((await storedRow(dbPath, id)).attributes, /wrapping_key_id/, 'the request attribute became a link');

  // KeyWrapType NotWrapped unwraps: this is how the test learns the key bytes.
  const clear = await s.client.get(id, { keyWrapType: 'NotWrapped' });
  const key = clear.bytes as Buffer;
  t.equal(key.length, 32);
  t.notSame(key, asStored.bytes);
  const plain = Buffer.from('wrapped at rest, clear only in memory');
  const enc = await s.client.encrypt(id, plain);
  t.same(gcmDecryptLocally(key, enc), plain, 'the unwrapped bytes are the key Encrypt used');
  t.same(await s.client.decrypt(id, enc.data, { iv: enc.iv!, tag: enc.tag! }), plain);

  // Restart on the same database and token: a fresh cache, and the key still works.
  await s.stop();
  t.same(await scanForKey(dir, dbPath, key, walFrom), [], 'the key bytes are nowhere in the database files, the WAL or any column');
  s = await serverOn(dbPath);
  t.same(s.server.keyWrapStats(), { hsmCalls: 0, cache: { hits: 0, misses: 0, evictions: 0, expirations: 0, invalidations: 0, size: 0 } });
  t.same(await s.client.decrypt(id, enc.data, { iv: enc.iv!, tag: enc.tag! }), plain, 'decrypts after the restart');
  t.match(s.server.keyWrapStats(), { hsmCalls: 1, cache: { misses: 1, hits: 0, size: 1 } }, 'the first use unwraps on the HSM');
  const again = await s.client.encrypt(id, plain);
  t.same(gcmDecryptLocally(key, again), plain);
  t.match(s.server.keyWrapStats(), { hsmCalls: 1, cache: { hits: 1, misses: 1, size: 1 } }, 'the second use makes no HSM call');

  // Destroy zeroes and drops the cached key.
  await s.client.revoke(id, 'CessationOfOperation');
  await s.client.destroy(id);
  t.match(s.server.keyWrapStats(), { cache: { size: 0, invalidations: 1 } });
  await s.stop();
  t.same(await scanForKey(dir, dbPath, key, walFrom), []);
});

t.test('wrapping_key_id: refusals', async (t) => {
  const { dir, dbPath, walFrom, another } = await tempDb(t);
  const s = await serverOn(dbPath);
  t.teardown(() => s.stop());
  t.equal(await reasonOf(createWrapped(s.client, uid('no_such_kek'))), 'Item_Not_Found');
  const dbKey = await s.client.create({ algorithm: 'AES', length: 256 });
  t.equal(await reasonOf(createWrapped(s.client, dbKey)), 'no error', 'a database key wraps at rest too (test/server/cosmian-wrap-at-rest.test.ts)');
  // The scan is not vacuous: an unwrapped key's bytes are found.
  const dbKeyBytes = (await s.client.get(dbKey)).bytes as Buffer;
  t.same((await storedRow(dbPath, dbKey)).material, dbKeyBytes, 'not wrapped by an HSM key: only sealed by the master key');
  t.same(await scanForKey(dir, dbPath, dbKeyBytes, walFrom), [], 'the master key seals it at rest');
  t.ok((await scanForKey(dir, dbPath, (await sealedRow(dbPath, dbKey)).material, walFrom)).includes('objects.material'), 'control: the scan finds bytes where they are stored');
  const kek = uid('kek_refusals');
  await s.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: kek });
  const alice = await serverOn(await another('alice'), { defaultUser: 'alice' });
  t.teardown(() => alice.stop());
  t.equal(await reasonOf(createWrapped(alice.client, kek)), 'Permission_Denied', 'an explicit HSM wrapping key needs an HSM admin');
  const nowrap = await serverOn(await another('nohsm'), { hsm: [] });
  t.teardown(() => nowrap.stop());
  t.equal(await reasonOf(createWrapped(nowrap.client, kek)), 'Item_Not_Found', 'no HSM, no wrapping');
});

t.test('the server-wide key-encryption key wraps every new symmetric key, for any user', async (t) => {
  const { dir, dbPath, walFrom, another } = await tempDb(t);
  const kek = uid('server_kek');
  const setup = await serverOn(await another('setup'));
  await setup.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: kek });
  await setup.stop();

  const s = await serverOn(dbPath, { keyEncryptionKey: kek, defaultUser: 'alice' });
  t.teardown(() => s.stop());
  const created = await s.client.create({ algorithm: 'AES', length: 256 });
  t.equal((await storedRow(dbPath, created)).material.length, 60, 'Create: stored wrapped');
  const imported = randomBytes(32);
  const registered = await s.client.register(symmetricKeyObject(imported));
  t.equal((await storedRow(dbPath, registered)).material.length, 60, 'Register: stored wrapped');
  t.same((await s.client.get(registered, { keyWrapType: 'NotWrapped' })).bytes, imported);
  const plain = Buffer.from('under the server KEK');
  const enc = await s.client.encrypt(registered, plain);
  t.same(gcmDecryptLocally(imported, enc), plain, 'the registered key works after wrapping');
  const createdKey = (await s.client.get(created, { keyWrapType: 'NotWrapped' })).bytes as Buffer;

  // Import, then Import with ReplaceExisting: the cached unwrapped key of the old wrapped form is never served.
  const first = randomBytes(32);
  const second = randomBytes(32);
  await s.client.import('imported-key', symmetricKeyObject(first));
  t.equal((await storedRow(dbPath, 'imported-key')).material.length, 60, 'Import: stored wrapped');
  t.same(gcmDecryptLocally(first, await s.client.encrypt('imported-key', plain)), plain);
  await s.client.import('imported-key', symmetricKeyObject(second), {}, { replaceExisting: true });
  t.same(gcmDecryptLocally(second, await s.client.encrypt('imported-key', plain)), plain, 'the replacement key is used, not the cached old one');
  await s.stop();
  t.same(await scanForKey(dir, dbPath, first, walFrom), []);
  t.same(await scanForKey(dir, dbPath, second, walFrom), []);
  t.same(await scanForKey(dir, dbPath, imported, walFrom), [], 'the registered bytes never reached the database');
  t.same(await scanForKey(dir, dbPath, createdKey, walFrom), [], 'nor the created ones');
});

t.test('HSM-resident keys are never wrapped by the server KEK', async (t) => {
  const { dbPath } = await tempDb(t);
  const kek = uid('kek_resident');
  const first = await serverOn(dbPath);
  await first.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: kek });
  await first.stop();
  const s = await serverOn(dbPath, { keyEncryptionKey: kek });
  t.teardown(() => s.stop());
  const resident = uid('resident');
  t.equal(await s.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: resident }), resident);
  const enc = await s.client.encrypt(resident, Buffer.from('x'));
  t.same(await s.client.decrypt(resident, enc.data, { iv: enc.iv!, tag: enc.tag! }), Buffer.from('x'));
  t.equal(s.server.keyWrapStats()?.hsmCalls, 0, 'nothing was wrapped');
});

t.test('a key-encryption key that is not an HSM key stops the start', async (t) => {
  const { dbPath } = await tempDb(t);
  await t.rejects(startServer({ port: 0, dbPath, logLevel: 'silent', keyEncryptionKey: uid('k') }), /needs an HSM/);
  await t.rejects(startServer({ port: 0, dbPath, logLevel: 'silent', hsm, keyEncryptionKey: 'some-db-key' }), /must be an hsm:: key/);
  const run = await cli(['serve', '--workers', '0', '--port', '0', '--db', dbPath, '--hsm-model', 'softhsm2', '--hsm-slot', String(slot),
    '--hsm-password', PIN, '--key-encryption-key', 'hsm::4242::nowhere']);
  t.not(run.code, 0, 'serve --key-encryption-key with a slot no HSM serves does not start');
  t.match(run.stderr, /4242/);
});

t.test('the unwrapped-key cache can be sized or disabled', async (t) => {
  const { dbPath } = await tempDb(t);
  const kek = uid('kek_nocache');
  const s = await serverOn(dbPath, { unwrappedCacheMaxSize: 0 });
  t.teardown(() => s.stop());
  await s.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: kek });
  const id = await createWrapped(s.client, kek);
  const before = s.server.keyWrapStats()?.hsmCalls ?? 0;
  await s.client.encrypt(id, Buffer.from('a'));
  await s.client.encrypt(id, Buffer.from('b'));
  t.equal((s.server.keyWrapStats()?.hsmCalls ?? 0) - before, 2, 'with the cache disabled, every use unwraps on the HSM');
});

t.test('ReKey keeps the HSM wrapping; the WrappingKeyLink cannot be edited or forged', async (t) => {
  const { dbPath } = await tempDb(t);
  const kek = uid('kek_rekey');
  const s = await serverOn(dbPath);
  t.teardown(() => s.stop());
  await s.client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: kek });
  const id = await createWrapped(s.client, kek);
  const fresh = String(child(await s.client.call(T.struct('ReKey', [T.text('UniqueIdentifier', id)])), 'UniqueIdentifier')?.value);
  t.not(fresh, id);
  t.equal((await storedRow(dbPath, fresh)).material.length, 60, 'the replacement is stored wrapped too');
  t.match((await storedRow(dbPath, fresh)).attributes, new RegExp(kek));
  const key = (await s.client.get(fresh, { keyWrapType: 'NotWrapped' })).bytes as Buffer;
  const enc = await s.client.encrypt(fresh, Buffer.from('rekeyed'));
  t.same(gcmDecryptLocally(key, enc), Buffer.from('rekeyed'));

  const deleteLinks = T.struct('DeleteAttribute', [T.text('UniqueIdentifier', fresh), T.enum('AttributeReference', 'Link')]);
  t.equal(await reasonOf(s.client.call(deleteLinks)), 'Attribute_Read_Only', 'deleting the links would leave ciphertext posing as a key');
  t.same(await s.client.decrypt(fresh, enc.data, { iv: enc.iv!, tag: enc.tag! }), Buffer.from('rekeyed'), 'still usable');

  // A client-supplied WrappingKeyLink is not a wrapping request: the key is stored as any other.
  const req = createSymmetricKeyRequest({ algorithm: 'AES', length: 256 });
  const attrs = child(req, 'Attributes') as TtlvStructure;
  const forged = T.struct('Create', [child(req, 'ObjectType'), T.struct('Attributes', [...attrs.value,
    T.struct('Link', [T.enum('LinkType', 'WrappingKeyLink'), T.text('LinkedObjectIdentifier', kek)])])]);
  const plainId = String(child(await s.client.call(forged), 'UniqueIdentifier')?.value);
  t.equal((await storedRow(dbPath, plainId)).material.length, 32);
  t.notMatch((await storedRow(dbPath, plainId)).attributes, /WrappingKeyLink/);
  const addLink = T.struct('AddAttribute', [T.text('UniqueIdentifier', plainId),
    T.struct('NewAttribute', [T.struct('Link', [T.enum('LinkType', 'WrappingKeyLink'), T.text('LinkedObjectIdentifier', kek)])])]);
  t.equal(await reasonOf(s.client.call(addLink)), 'Attribute_Read_Only');
});
