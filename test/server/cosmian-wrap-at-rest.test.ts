/**
 * Wrapping at rest under another KMS key, as Cosmian KMS does it: Cosmian's vendor attribute
 * `wrapping_key_id` (what `ckms sym keys create --wrapping-key-id <uid>` sends) naming a database
 * AES key; the key is wrapped with RFC 5649 (AESKeyWrapPadding) as Cosmian wraps with a symmetric
 * key (crate/server/src/core/wrapping/wrap.rs), and operations unwrap it transparently
 * (wrapping/unwrap.rs; no right is needed on the wrapping key to use the wrapped one).
 * ReKey rules (Cosmian documentation/docs/kmip_support/key_rotation/index.md, "Wrapping key",
 * "Wrapped key"; rekey/common.rs rewrap_dependants): the replacement of a wrapped key is wrapped
 * by the same key; re-keying a wrapping key re-wraps the keys it wraps that belong to its owner,
 * and leaves other owners' keys wrapped by the old key, which still unwraps them.
 */
import t from 'tap';
import { createDecipheriv } from 'node:crypto';
import { T, child } from '../../src/kmip/ttlv';
import type { KmipClient } from '../../src/kmip/client';
import { reasonOf } from '../support/client';
import { openedRow, scanForKey } from '../support/db-scan';
import { createWrappedRequest } from '../support/hsm-kms';
import { symmetricKeyObject } from '../../src/kmip/requests';
import { grant, twoUsers } from '../support/two-users';

const DATA = Buffer.from('wrapped at rest, used in clear');


async function createWrapped(client: KmipClient, wrappingKey: string): Promise<string> {
  return String(child(await client.call(createWrappedRequest(wrappingKey)), 'UniqueIdentifier')?.value);
}

function rfc5649Unwrap(kek: Buffer, wrapped: Buffer): Buffer {
  const d = createDecipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([d.update(wrapped), d.final()]);
}

async function roundTrip(client: KmipClient, uid: string): Promise<Buffer> {
  const enc = await client.call(T.struct('Encrypt', [T.text('UniqueIdentifier', uid), T.bytes('Data', DATA)]));
  const dec = await client.call(T.struct('Decrypt', [T.text('UniqueIdentifier', uid), T.bytes('Data', child(enc, 'Data')?.value as Buffer),
    T.bytes('IVCounterNonce', child(enc, 'IVCounterNonce')?.value as Buffer), T.bytes('AuthenticatedEncryptionTag', child(enc, 'AuthenticatedEncryptionTag')?.value as Buffer)]));
  return child(dec, 'Data')?.value as Buffer;
}

function linkTo(attributes: string, type: string): string | undefined {
  const links = (JSON.parse(attributes) as { value: Array<{ tag: string; value: Array<{ tag: string; value: string }> }> }).value.filter((n) => n.tag === 'Link');
  return links.find((l) => l.value.some((v) => v.value === type))?.value.find((v) => v.tag === 'LinkedObjectIdentifier')?.value;
}

t.test('a key wrapped by a KMS AES key: stored wrapped, used in clear, Get returns it as stored', async (t) => {
  const { alice, dir, dbPath, masterKeyFile } = await twoUsers(t);
  const kek = await alice.create({ algorithm: 'AES', length: 256 });
  const kekBytes = (await alice.get(kek)).bytes as Buffer;
  const uid = await createWrapped(alice, kek);
  const key = (await alice.get(uid, { keyWrapType: 'NotWrapped' })).bytes as Buffer;
  t.equal(key.length, 32, 'KeyWrapType NotWrapped gives the owner the key in clear');

  const row = await openedRow(dbPath, uid, masterKeyFile);
  t.equal(row.material.length, 40, 'the row holds the RFC 5649 form (32 + 8 bytes)');
  t.same(rfc5649Unwrap(kekBytes, row.material), key, 'which the wrapping key opens');
  t.equal(linkTo(row.attributes, 'WrappingKeyLink'), kek, 'and a WrappingKeyLink to the wrapping key');
  t.notMatch(row.attributes, /wrapping_key_id/, 'the request attribute became the link');
  t.same(await scanForKey(dir, dbPath, key, ''), [], 'the key bytes are nowhere in the database');

  const asStored = await alice.call(T.struct('Get', [T.text('UniqueIdentifier', uid)]));
  const block = child(child(asStored, 'SymmetricKey'), 'KeyBlock');
  const info = child(child(block, 'KeyWrappingData'), 'EncryptionKeyInformation');
  t.equal(child(info, 'UniqueIdentifier')?.value, kek, 'a plain Get returns it wrapped, KeyWrappingData naming the wrapping key');
  t.equal(child(child(info, 'CryptographicParameters'), 'BlockCipherMode')?.value, 'AESKeyWrapPadding');
  t.same(rfc5649Unwrap(kekBytes, child(block, 'KeyValue')?.value as Buffer), key, 'and the client can unwrap it with the wrapping key');

  t.same(await roundTrip(alice, uid), DATA, 'Encrypt and Decrypt unwrap transparently');
});

t.test('who may wrap and who may use: encrypt on the wrapping key to wrap, nothing on it to use', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const kek = await alice.create({ algorithm: 'AES', length: 256 });
  t.equal(await reasonOf(createWrapped(bob, kek)), 'Object_Not_Found', 'bob cannot wrap with a key of alice\'s he cannot see');
  await grant(alice, kek, 'bob', ['get']);
  t.equal(await reasonOf(createWrapped(bob, kek)), 'Permission_Denied', 'nor with one he may only get');
  const wrapped = await createWrapped(alice, kek);
  await grant(alice, wrapped, 'bob', ['encrypt', 'decrypt']);
  t.same(await roundTrip(bob, wrapped), DATA, 'bob uses alice\'s wrapped key with no right on its wrapping key');

  const rsa = await alice.createKeyPair({ algorithm: 'RSA', length: 2048 });
  t.equal(await reasonOf(createWrapped(alice, rsa.publicKeyId)), 'Feature_Not_Supported', 'only an AES key (or an hsm:: key) wraps at rest here');
  const off = await alice.create({ algorithm: 'AES', length: 256 });
  await alice.revoke(off, 'CessationOfOperation');
  t.equal(await reasonOf(createWrapped(alice, off)), 'Wrong_Key_Lifecycle_State', 'a deactivated key no longer wraps');
  const editLink = T.struct('DeleteAttribute', [T.text('UniqueIdentifier', wrapped), T.enum('AttributeReference', 'Link')]);
  t.equal(await reasonOf(alice.call(editLink)), 'Attribute_Read_Only', 'the WrappingKeyLink says how to read the bytes: not editable');
});

t.test('ReKey of a wrapped key wraps the replacement by the same key', async (t) => {
  const { alice, dbPath, masterKeyFile } = await twoUsers(t);
  const kek = await alice.create({ algorithm: 'AES', length: 256 });
  const uid = await createWrapped(alice, kek);
  const fresh = String(child(await alice.call(T.struct('ReKey', [T.text('UniqueIdentifier', uid)])), 'UniqueIdentifier')?.value);
  const row = await openedRow(dbPath, fresh, masterKeyFile);
  t.equal(linkTo(row.attributes, 'WrappingKeyLink'), kek, 'the replacement is wrapped by the same key');
  t.same(rfc5649Unwrap((await alice.get(kek)).bytes as Buffer, row.material), (await alice.get(fresh, { keyWrapType: 'NotWrapped' })).bytes, 'really wrapped by it');
  t.same(await roundTrip(alice, fresh), DATA);
});

t.test('ReKey of a wrapping key re-wraps its owner\'s keys under the replacement, and leaves other owners\' keys to the old one', async (t) => {
  const { alice, bob, dbPath, masterKeyFile } = await twoUsers(t);
  const kek = await alice.create({ algorithm: 'AES', length: 256 });
  const mine = await createWrapped(alice, kek);
  const before = (await alice.get(mine, { keyWrapType: 'NotWrapped' })).bytes as Buffer;
  const enc = await alice.call(T.struct('Encrypt', [T.text('UniqueIdentifier', mine), T.bytes('Data', DATA)]));
  await grant(alice, kek, 'bob', ['encrypt']);
  const bobs = await createWrapped(bob, kek);

  const newKek = String(child(await alice.call(T.struct('ReKey', [T.text('UniqueIdentifier', kek)])), 'UniqueIdentifier')?.value);
  const row = await openedRow(dbPath, mine, masterKeyFile);
  t.equal(linkTo(row.attributes, 'WrappingKeyLink'), newKek, 'alice\'s key now links to the new wrapping key');
  t.same(rfc5649Unwrap((await alice.get(newKek)).bytes as Buffer, row.material), before, 'and is wrapped by it, the same key bytes');
  const dec = await alice.call(T.struct('Decrypt', [T.text('UniqueIdentifier', mine), T.bytes('Data', child(enc, 'Data')?.value as Buffer),
    T.bytes('IVCounterNonce', child(enc, 'IVCounterNonce')?.value as Buffer), T.bytes('AuthenticatedEncryptionTag', child(enc, 'AuthenticatedEncryptionTag')?.value as Buffer)]));
  t.same(child(dec, 'Data')?.value, DATA, 'data encrypted before the re-wrap still decrypts');

  t.equal(linkTo((await openedRow(dbPath, bobs, masterKeyFile)).attributes, 'WrappingKeyLink'), kek, 'bob\'s key stays wrapped by the old key (Cosmian re-wraps the owner\'s keys only)');
  t.same(await roundTrip(bob, bobs), DATA, 'and still works: the old, now Deactivated, key unwraps it');
  t.equal((await alice.getAttributes(kek, ['State'])).attributes['State'], 'Deactivated');
});

t.test('Import with wrapping_key_id over an existing key stores the new bytes wrapped', async (t) => {
  const { alice, dbPath, masterKeyFile } = await twoUsers(t);
  const kek = await alice.create({ algorithm: 'AES', length: 256 });
  const target = await alice.create({ algorithm: 'AES', length: 256, uniqueIdentifier: 'replaced-by-import' });
  const bytes = Buffer.alloc(32, 7);
  const req = T.struct('Import', [T.text('UniqueIdentifier', target), T.enum('ObjectType', 'SymmetricKey'), T.bool('ReplaceExisting', true),
    T.struct('Attributes', [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256), T.int('CryptographicUsageMask', 12),
      T.struct('Attribute', [T.text('VendorIdentification', 'cosmian'), T.text('AttributeName', 'wrapping_key_id'), T.text('AttributeValue', kek)])]),
    symmetricKeyObject(bytes).node]);
  t.equal(await reasonOf(alice.call(req)), 'no error');
  const row = await openedRow(dbPath, target, masterKeyFile);
  t.equal(linkTo(row.attributes, 'WrappingKeyLink'), kek);
  t.same(rfc5649Unwrap((await alice.get(kek)).bytes as Buffer, row.material), bytes, 'the imported bytes, wrapped by the wrapping key');
  t.same((await alice.get(target, { keyWrapType: 'NotWrapped' })).bytes, bytes);
});
