import t from 'tap';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CryptographicAlgorithm, KMIPOperations, KmsClient, SymmetricKeyAlgorithm, type KmsObject, type SymmetricKey } from 'cloudproof_js';
import { KmipClient } from '../../src/kmip/client';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Cosmian's JavaScript client of the KMS 4.x era, cloudproof_js 9.4.1 (the last 9.x whose
 * `KmsClient` is plain JavaScript: 9.5 moved it to cloudproof_kms_js and 9.6 dropped it; no
 * wasm init is needed for KMS calls), unmodified from npm, against a real p11kms server.
 *
 * That client writes "type":"Structure" on every Structure and reads answers with a strict
 * `fromTTLV` (node_modules/cloudproof_js/dist/node/index.cjs): it throws on a Structure
 * without type, on any attribute outside the ten of 4.x's `Attributes`, on DateTime and Boolean
 * values, and wants the object of a Get tagged `Object` and Locate's identifiers wrapped in one
 * `UniqueIdentifier` Structure, as Cosmian KMS 4.x wrote them (Cosmian/kms
 * crate/kmip/src/kmip/ttlv/serializer.rs and ttlv/mod.rs of that era). The server answers it in
 * those shapes (src/server/kms4-shapes.ts). It posts to /kmip/2_1 with `Authorization: Bearer`
 * and the grants API with the 4.x `operation_type` field.
 *
 * What the client does not offer is not tested here: no symmetric Encrypt/Decrypt and no key
 * pairs but CoverCrypt ones, which p11kms does not implement (the last test records it).
 */

interface Users {
  server: TestServer;
  alice: KmsClient;
  bob: KmsClient;
  /** p11kms's own client as alice: it checks on the server what cloudproof_js did. */
  check: KmipClient;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function users(t: Teardown): Promise<Users> {
  const tokens = { alice: randomBytes(16).toString('hex'), bob: randomBytes(16).toString('hex') };
  const server = await startTestServer(t, { apiTokens: [`alice:${tokens.alice}`, `bob:${tokens.bob}`] });
  const check = new KmipClient({ url: server.url, accessToken: tokens.alice });
  t.teardown(() => check.close());
  return { server, alice: new KmsClient(server.url, tokens.alice), bob: new KmsClient(server.url, tokens.bob), check };
}

function symmetricKey(object: KmsObject): SymmetricKey {
  if (object.type !== 'SymmetricKey') throw new Error(`expected a SymmetricKey, got ${object.type}`);
  return object.value;
}

/** The user tags cloudproof_js reads back from a key's vendor attributes (4.x kept them as JSON bytes). */
function tagsIn(key: SymmetricKey): string[] {
  const kv = key.keyBlock.keyValue;
  if (kv === null || kv instanceof Uint8Array || kv.attributes === null) return [];
  const tag = kv.attributes.vendorAttributes.find((v) => v.attributeName === 'tag');
  return tag ? (JSON.parse(Buffer.from(tag.attributeValue).toString('utf8')) as string[]) : [];
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

t.test('cloudproof_js 9.x: create with tags, get, locate by tags, revoke, destroy, get after destroy', async (t) => {
  const { alice, check } = await users(t);
  t.equal(await alice.up(), true, 'the client sees the server up (GET /version)');
  const tags = [`cp-${randomBytes(4).toString('hex')}`, 'cp-second'];
  const uid = await alice.createSymmetricKey(SymmetricKeyAlgorithm.AES, 256, [], tags);
  t.match(uid, /^[0-9a-f-]{36}$/, 'Create answers a UUID the client reads');

  const key = await alice.retrieveSymmetricKey(uid);
  t.equal(key.bytes().length, 32, 'Get: 256 bits of key material');
  t.equal(key.keyBlock.cryptographicAlgorithm, CryptographicAlgorithm.AES, 'the KeyBlock says AES');
  t.same(tagsIn(key), tags, 'the tags come back as 4.x vendor attribute bytes');
  const onServer = await check.get(uid);
  t.same(Buffer.from(key.bytes()), onServer.bytes, 'the same key material the server holds');

  t.same(await alice.getUniqueIdentifiersByTags([tags[0] as string]), [uid], 'Locate by one tag finds it');
  t.same(await alice.getUniqueIdentifiersByTags(tags), [uid], 'Locate by both tags finds it');
  t.same(await alice.getUniqueIdentifiersByTags(['cp-no-such-tag']), [], 'Locate with no match: an empty list, not an error');
  const byTags = await alice.getObjectsByTags([tags[1] as string]);
  t.equal(byTags.length, 1, 'getObjectsByTags: Locate then Get');
  t.same(Buffer.from(symmetricKey(byTags[0] as KmsObject).bytes()), Buffer.from(key.bytes()));

  // 4.x stored every new object Active; a key this client creates must be usable at once.
  const sealed = await check.encrypt(uid, Buffer.from('four point x'));
  t.equal((await check.decrypt(uid, sealed.data, { iv: sealed.iv, tag: sealed.tag })).toString(), 'four point x', 'the key is Active and encrypts');

  await alice.revokeSymmetricKey(uid, 'rotated');
  t.equal((await check.getAttributes(uid, ['State'])).attributes['State'], 'Deactivated', 'Revoke with a text reason deactivates the key');
  await alice.destroySymmetricKey(uid);
  t.equal((await check.getAttributes(uid, ['State'])).attributes['State'], 'Destroyed', 'Destroy destroys it');
  t.match(await failure(alice.retrieveSymmetricKey(uid)), /^KMIP request failed \(Get\): Object_Destroyed: /, 'Get after Destroy: the client surfaces the server\'s "Reason: message"');
  t.match(await failure(alice.retrieveSymmetricKey('no-such-key')), /^KMIP request failed \(Get\): Object_Not_Found: object not found for identifier no-such-key$/, 'an unknown UID: Object_Not_Found, as today\'s Cosmian answers');
});

t.test('cloudproof_js 9.x: import a symmetric key and a ChaCha20 key', async (t) => {
  const { alice, check } = await users(t);
  const bytes = randomBytes(32);
  const uid = `cp-imported-${randomBytes(4).toString('hex')}`;
  t.equal(await alice.importSymmetricKey(uid, bytes), uid, 'Import answers the UID asked for');
  const key = await alice.retrieveSymmetricKey(uid);
  t.same(Buffer.from(key.bytes()), bytes, 'Get returns the imported bytes');
  const kv = key.keyBlock.keyValue;
  t.equal(kv !== null && !(kv instanceof Uint8Array) ? kv.attributes?.cryptographicUsageMask : undefined, 12, 'the usage mask it sent as an Enumeration (Encrypt|Decrypt) reads back as 12');
  const sealed = await check.encrypt(uid, Buffer.from('imported'));
  t.equal((await check.decrypt(uid, sealed.data, { iv: sealed.iv, tag: sealed.tag })).toString(), 'imported', 'the imported key encrypts: Active, and the mask allows it');
  t.match(await failure(alice.importSymmetricKey(uid, randomBytes(32))), /^KMIP request failed \(Import\): /, 'a second Import of the same UID without replaceExisting is refused');
  await alice.importSymmetricKey(uid, randomBytes(16), true);
  t.equal((await alice.retrieveSymmetricKey(uid)).bytes().length, 16, 'replaceExisting replaces it');

  const chacha = await alice.createSymmetricKey(SymmetricKeyAlgorithm.ChaCha20, 256);
  const c = await alice.retrieveSymmetricKey(chacha);
  t.equal(c.keyBlock.cryptographicAlgorithm, CryptographicAlgorithm.ChaCha20, 'a ChaCha20 key is created and read back');
});

t.test('cloudproof_js 9.x: import a PEM certificate with tags', async (t) => {
  const { server, alice } = await users(t);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'cp.key', '-out', 'cp.pem', '-days', '2', '-subj', '/CN=cloudproof test'], { cwd: server.dir, stdio: 'pipe' });
  const pem = readFileSync(join(server.dir, 'cp.pem'));
  const tag = `cp-cert-${randomBytes(4).toString('hex')}`;
  t.equal(await alice.importPem('cp-cert-1', pem, [tag]), 'cp-cert-1');
  const object = await alice.getObject('cp-cert-1');
  t.equal(object.type, 'Certificate', 'Get answers a Certificate object');
  if (object.type === 'Certificate') t.same(Buffer.from(object.value.certificateValue), pem, 'with the bytes the client sent (importPem sends the PEM itself)');
  t.same(await alice.getUniqueIdentifiersByTags([tag]), ['cp-cert-1'], 'Locate by its tag finds it');
});

t.test('cloudproof_js 9.x: a key wrapped by another on Get, imported back wrapped', async (t) => {
  const { alice, check } = await users(t);
  const kek = await alice.createSymmetricKey(SymmetricKeyAlgorithm.AES, 256);
  const uid = await alice.createSymmetricKey(SymmetricKeyAlgorithm.AES, 128);
  const wrapped = await alice.getWrappedKey(uid, kek);
  const block = symmetricKey(wrapped).keyBlock;
  t.ok(block.keyWrappingData, 'the KeyBlock carries its KeyWrappingData');
  t.equal(block.keyWrappingData?.encryptionKeyInformation?.uniqueIdentifier, kek, 'naming the wrapping key');
  const kv = block.keyValue;
  t.ok(kv !== null && !(kv instanceof Uint8Array) && kv.attributes !== null, 'the wrapped KeyValue keeps its Attributes, as 4.x wrote it (importKey needs them)');
  // RFC 5649 (AES key wrap with padding), Cosmian's default for symmetric wrapping keys.
  const kekBytes = (await alice.retrieveSymmetricKey(kek)).bytes();
  const unwrap = createDecipheriv('id-aes256-wrap-pad', kekBytes, Buffer.from('A65959A6', 'hex'));
  const clear = Buffer.concat([unwrap.update(block.bytes()), unwrap.final()]);
  t.same(clear, Buffer.from((await alice.retrieveSymmetricKey(uid)).bytes()), 'the wrapped bytes unwrap (RFC 5649) to the key');

  // importKey sends Import with KeyWrapType NotWrapped (unwrap) or AsRegistered (keep wrapped), the
  // KeyBlock as Get gave it. Cosmian unwraps before storing on NotWrapped and otherwise stores it
  // wrapped, unwrapping on use (crate/server/src/core/operations/import.rs, encrypt.rs get_key).
  const clearKey = Buffer.from((await alice.retrieveSymmetricKey(uid)).bytes());
  await t.test('importKey: unwrap on import', async (t) => {
    t.equal(await alice.importKey('cp-unwrapped', wrapped, true), 'cp-unwrapped', 'Import answers the UID asked for');
    const key = await alice.retrieveSymmetricKey('cp-unwrapped');
    t.notOk(key.keyBlock.keyWrappingData, 'stored in clear: Get returns it without KeyWrappingData');
    t.same(Buffer.from(key.bytes()), clearKey, 'with the bytes of the key that was wrapped');
    const sealed = await check.encrypt('cp-unwrapped', Buffer.from('unwrapped on import'));
    t.equal((await check.decrypt(uid, sealed.data, { iv: sealed.iv, tag: sealed.tag })).toString(), 'unwrapped on import', 'it is the same key: the original decrypts what it encrypts');
  });
  await t.test('importKey: keep it wrapped', async (t) => {
    t.equal(await alice.importKey('cp-still-wrapped', wrapped, false), 'cp-still-wrapped', 'Import answers the UID asked for');
    const back = symmetricKey(await alice.getObject('cp-still-wrapped')).keyBlock;
    t.equal(back.keyWrappingData?.encryptionKeyInformation?.uniqueIdentifier, kek, 'Get returns it wrapped, as stored, naming the wrapping key');
    t.same(Buffer.from(back.bytes()), Buffer.from(block.bytes()), 'with the wrapped bytes it came with');
    const sealed = await check.encrypt('cp-still-wrapped', Buffer.from('kept wrapped'));
    t.equal((await check.decrypt(uid, sealed.data, { iv: sealed.iv, tag: sealed.tag })).toString(), 'kept wrapped', 'yet it encrypts: unwrapped on use, with the same key');
  });
});

t.test('cloudproof_js 9.x: grants with its 4.x access calls, and the Bearer token', async (t) => {
  const { server, alice, bob } = await users(t);
  const uid = await alice.createSymmetricKey(SymmetricKeyAlgorithm.AES, 256);
  t.match(await failure(bob.retrieveSymmetricKey(uid)), /^KMIP request failed \(Get\): Object_Not_Found: /, 'bob cannot see alice\'s key');
  t.equal((await alice.grantAccess(uid, 'bob', KMIPOperations.get)).status, 200, 'grantAccess (one operation_type) is accepted');
  t.same(JSON.parse(await (await alice.listAccess(uid)).text()), [{ user_id: 'bob', operations: ['get'] }], 'listAccess shows it');
  t.same(Buffer.from((await bob.retrieveSymmetricKey(uid)).bytes()), Buffer.from((await alice.retrieveSymmetricKey(uid)).bytes()), 'bob gets the key');
  const obtained = JSON.parse(await (await bob.listObtainedObjects()).text()) as Array<{ object_id: string }>;
  t.same(obtained.map((o) => o.object_id), [uid], 'listObtainedObjects');
  const owned = JSON.parse(await (await alice.listOwnedObjects()).text()) as Array<{ object_id: string }>;
  t.same(owned.map((o) => o.object_id), [uid], 'listOwnedObjects');
  t.equal((await alice.revokeAccess(uid, 'bob', KMIPOperations.get)).status, 200, 'revokeAccess');
  t.match(await failure(bob.retrieveSymmetricKey(uid)), /^KMIP request failed \(Get\): Object_Not_Found: /, 'bob has lost it');
  const stranger = new KmsClient(server.url, 'not-a-token');
  t.match(await failure(stranger.retrieveSymmetricKey(uid)), /^KMIP request failed \(Get\): /, 'a wrong token is refused');
});

t.test('cloudproof_js 9.x: CoverCrypt is not implemented by p11kms', async (t) => {
  const { alice } = await users(t);
  // The client builds a CoverCrypt policy with its wasm module, which must be loaded first.
  const { CoverCrypt, Policy, PolicyAxis } = await import('cloudproof_js');
  await CoverCrypt();
  const policy = new Policy([new PolicyAxis('Security', [{ name: 'Low', isHybridized: false }], true)], 10);
  t.match(await failure(alice.createCoverCryptMasterKeyPair(policy)), /^KMIP request failed \(CreateKeyPair\): /, 'CreateKeyPair of a CoverCrypt pair: a KMIP error');
});
