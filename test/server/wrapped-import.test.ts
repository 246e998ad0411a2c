/**
 * Keys that arrive wrapped (a KeyBlock carrying KeyWrappingData) by a KMS key, as Cosmian KMS
 * takes them on Import (Cosmian/kms crate/server/src/core/operations/import.rs): with KeyWrapType
 * NotWrapped the key is unwrapped before it is stored; otherwise it is stored wrapped as it came
 * and unwrapped on use (encrypt.rs get_key unwraps a wrapped key before using it). Unwrapping
 * needs the wrapping key Active, allowing UnwrapKey, and `decrypt` or `get` on it for a caller who
 * does not own it (crate/server/src/core/wrapping/unwrap.rs). Get returns a key stored wrapped as
 * stored, and in clear on KeyWrapType NotWrapped (export_get.rs).
 * PyKMIP's registered-wrapped scenario (test/interop/pykmip_diff/scenarios_objects.py) covers the
 * NIST key wrap Register through PyKMIP's own client.
 */
import t from 'tap';
import { constants, createCipheriv, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, verify } from 'node:crypto';
import { T, child, type TtlvNode, type TtlvStructure } from '../../src/kmip/ttlv';
import type { KmipClient } from '../../src/kmip/client';
import { KmipError } from '../../src/kmip/errors';
import { symmetricKeyObject } from '../../src/kmip/requests';
import { openedRow } from '../support/db-scan';
import { grant, outcome, twoUsers } from '../support/two-users';

const RFC5649_IV = Buffer.from('A65959A6', 'hex');
const RFC3394_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

function rfc5649Wrap(kek: Buffer, plain: Buffer): Buffer {
  const c = createCipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, RFC5649_IV);
  return Buffer.concat([c.update(plain), c.final()]);
}

function rfc3394Wrap(kek: Buffer, plain: Buffer): Buffer {
  const c = createCipheriv(`id-aes${kek.length * 8}-wrap`, kek, RFC3394_IV);
  return Buffer.concat([c.update(plain), c.final()]);
}

type Mode = 'AESKeyWrapPadding' | 'NISTKeyWrap';

function wrappingData(kek: string, mode: Mode, noEncoding: boolean): TtlvStructure {
  return T.struct('KeyWrappingData', [
    T.enum('WrappingMethod', 'Encrypt'),
    T.struct('EncryptionKeyInformation', [T.text('UniqueIdentifier', kek), T.struct('CryptographicParameters', [T.enum('BlockCipherMode', mode)])]),
    noEncoding ? T.enum('EncodingOption', 'NoEncoding') : undefined,
  ]);
}

/** A wrapped AES key as Cosmian's Get writes it (the KeyValue a byte string) or PyKMIP's (NoEncoding: KeyMaterial inside a KeyValue). */
function wrappedAesKey(kek: string, wrapped: Buffer, bits: number, mode: Mode = 'AESKeyWrapPadding', noEncoding = false): TtlvStructure {
  return T.struct('SymmetricKey', [T.struct('KeyBlock', [
    T.enum('KeyFormatType', 'Raw'),
    noEncoding ? T.struct('KeyValue', [T.bytes('KeyMaterial', wrapped)]) : T.bytes('KeyValue', wrapped),
    T.enum('CryptographicAlgorithm', 'AES'),
    T.int('CryptographicLength', bits),
    wrappingData(kek, mode, noEncoding),
  ])]);
}

/** Registered keys are Pre-Active without an ActivationDate (KMIP); these are used at once. */
function activeNow(): TtlvNode {
  return T.date('ActivationDate', Math.floor(Date.now() / 1000) - 60);
}

function importWrapped(uid: string, object: TtlvStructure, unwrap: boolean): TtlvStructure {
  return T.struct('Import', [
    T.text('UniqueIdentifier', uid),
    T.enum('ObjectType', object.tag),
    T.bool('ReplaceExisting', false),
    T.enum('KeyWrapType', unwrap ? 'NotWrapped' : 'AsRegistered'),
    T.struct('Attributes', [T.int('CryptographicUsageMask', 0x0c | 0x01), activeNow()]),
    object,
  ]);
}

function registerWrapped(object: TtlvStructure): TtlvStructure {
  return T.struct('Register', [T.enum('ObjectType', object.tag), T.struct('Attributes', [activeNow()]), object]);
}

function uidOf(response: TtlvStructure): string {
  return String(child(response, 'UniqueIdentifier')?.value);
}

async function failure(p: Promise<unknown>): Promise<{ reason: string; message: string }> {
  try {
    await p;
    return { reason: 'no error', message: '' };
  } catch (e) {
    if (e instanceof KmipError) return { reason: e.reason, message: e.message };
    throw e;
  }
}

async function aesKek(client: KmipClient): Promise<{ uid: string; bytes: Buffer }> {
  const uid = await client.create({ algorithm: 'AES', length: 256 });
  return { uid, bytes: (await client.get(uid)).bytes as Buffer };
}

/** Encrypts with one key and decrypts with another: true when both hold the same bytes. */
async function sameKey(client: KmipClient, a: string, b: string): Promise<boolean> {
  const data = Buffer.from('one key, two objects');
  const sealed = await client.encrypt(a, data);
  return (await client.decrypt(b, sealed.data, { iv: sealed.iv, tag: sealed.tag })).equals(data);
}

async function protection(client: KmipClient, uid: string): Promise<unknown[]> {
  const attrs = (await client.getAttributes(uid, ['AlwaysSensitive', 'NeverExtractable'])).attributes;
  return [attrs['AlwaysSensitive'], attrs['NeverExtractable']];
}

function blockOf(response: TtlvStructure, objectType = 'SymmetricKey'): TtlvNode | undefined {
  return child(child(response, objectType), 'KeyBlock');
}

t.test('Import with KeyWrapType NotWrapped: unwrapped with the KMS key, stored in clear', async (t) => {
  const { alice, dbPath, masterKeyFile } = await twoUsers(t);
  const kek = await aesKek(alice);
  const clear = randomBytes(32);
  const uid = uidOf(await alice.call(importWrapped('wi-clear', wrappedAesKey(kek.uid, rfc5649Wrap(kek.bytes, clear), 256), true)));
  t.equal(uid, 'wi-clear', 'Import answers the UID asked for');
  const got = await alice.call(T.struct('Get', [T.text('UniqueIdentifier', uid)]));
  t.notOk(child(blockOf(got), 'KeyWrappingData'), 'Get returns it without KeyWrappingData: it is stored in clear');
  t.same((await alice.get(uid)).bytes, clear, 'with the bytes that were wrapped');
  const row = await openedRow(dbPath, uid, masterKeyFile);
  t.same(row.material, clear, 'the row holds the clear key (sealed by the master key as every key)');
  t.notMatch(row.attributes, /WrappingKeyLink|KeyWrappingData/, 'no link to the wrapping key, no KeyWrappingData');
  t.same(await protection(alice, uid), [false, false], 'it came from outside: neither AlwaysSensitive nor NeverExtractable');
  const copy = await alice.import('wi-clear-copy', symmetricKeyObject(clear));
  t.ok(await sameKey(alice, uid, copy), 'it encrypts as the key that was wrapped');
});

t.test('kept wrapped (Import AsRegistered, Register with NIST key wrap): usable, unwrapped on use', async (t) => {
  const { alice, dbPath, masterKeyFile } = await twoUsers(t);
  const kek = await aesKek(alice);
  const clear = randomBytes(32);
  const copy = await alice.import('wi-reference', symmetricKeyObject(clear));

  const wrapped = rfc5649Wrap(kek.bytes, clear);
  const uid = uidOf(await alice.call(importWrapped('wi-wrapped', wrappedAesKey(kek.uid, wrapped, 256), false)));
  const row = await openedRow(dbPath, uid, masterKeyFile);
  t.same(row.material, wrapped, 'the row holds the wrapped bytes as they came');
  t.match(row.attributes, /WrappingKeyLink/, 'with a WrappingKeyLink to the wrapping key (the at-rest mechanism)');
  t.ok(await sameKey(alice, uid, copy), 'Encrypt with the wrapped key, Decrypt with the clear copy: unwrapped on use');
  t.ok(await sameKey(alice, copy, uid), 'and Decrypt with it');
  t.same(await protection(alice, uid), [false, false], 'neither AlwaysSensitive nor NeverExtractable');

  const asStored = await alice.call(T.struct('Get', [T.text('UniqueIdentifier', uid)]));
  const info = child(child(blockOf(asStored), 'KeyWrappingData'), 'EncryptionKeyInformation');
  t.equal(child(info, 'UniqueIdentifier')?.value, kek.uid, 'a plain Get returns it as stored, KeyWrappingData naming the wrapping key');
  t.same(child(blockOf(asStored), 'KeyValue')?.value, wrapped, 'with the wrapped bytes it came with');
  t.same((await alice.get(uid, { keyWrapType: 'NotWrapped' })).bytes, clear, 'KeyWrapType NotWrapped returns it in clear');

  // PyKMIP's form: RFC 3394 and NoEncoding, by Register.
  const nist = randomBytes(16);
  const nistWrapped = rfc3394Wrap(kek.bytes, nist);
  const registered = uidOf(await alice.call(registerWrapped(wrappedAesKey(kek.uid, nistWrapped, 128, 'NISTKeyWrap', true))));
  const back = await alice.call(T.struct('Get', [T.text('UniqueIdentifier', registered)]));
  t.same(child(child(blockOf(back), 'KeyValue'), 'KeyMaterial')?.value, nistWrapped, 'Register with NIST key wrap: Get returns it as registered (NoEncoding kept)');
  const nistCopy = await alice.import('wi-nist-reference', symmetricKeyObject(nist));
  t.ok(await sameKey(alice, registered, nistCopy), 'and it encrypts as the 128-bit key that was wrapped');
  t.equal((await alice.getAttributes(registered, ['CryptographicLength'])).attributes['CryptographicLength'], 128, 'its length read from the unwrapped key');
});

t.test('ReKey of a key kept wrapped, and of its wrapping key', async (t) => {
  const { alice } = await twoUsers(t);
  const kek = await aesKek(alice);
  const clear = randomBytes(32);
  const copy = await alice.import('wi-rekey-reference', symmetricKeyObject(clear));
  const uid = uidOf(await alice.call(importWrapped('wi-rekey', wrappedAesKey(kek.uid, rfc5649Wrap(kek.bytes, clear), 256), false)));
  const rekey = async (target: string): Promise<string> => uidOf(await alice.call(T.struct('ReKey', [T.text('UniqueIdentifier', target)])));

  // Cosmian rekey/common.rs rewrap_dependants re-wraps what a re-keyed wrapping key wraps: a key that
  // arrived wrapped is re-wrapped with the mode it came with, its KeyWrappingData naming the new key.
  const newKek = await rekey(kek.uid);
  t.ok(await sameKey(alice, uid, copy), 'after ReKey of its wrapping key the imported key still works');
  const asStored = await alice.call(T.struct('Get', [T.text('UniqueIdentifier', uid)]));
  t.equal(child(child(child(blockOf(asStored), 'KeyWrappingData'), 'EncryptionKeyInformation'), 'UniqueIdentifier')?.value, newKek, 'Get returns it wrapped, naming the new wrapping key');
  const newKekBytes = (await alice.get(newKek)).bytes as Buffer;
  t.same(child(blockOf(asStored), 'KeyValue')?.value, rfc5649Wrap(newKekBytes, clear), 're-wrapped under it with RFC 5649, as it came');

  const replacement = await rekey(uid);
  t.ok(await sameKey(alice, replacement, replacement), 'ReKey of the imported key gives a usable replacement');
  t.notOk(await sameKey(alice, replacement, copy).catch(() => false), 'a new key, not the one that arrived');
  const fresh = await alice.call(T.struct('Get', [T.text('UniqueIdentifier', replacement)]));
  t.equal(child(child(child(child(blockOf(fresh), 'KeyWrappingData'), 'EncryptionKeyInformation'), 'CryptographicParameters'), 'BlockCipherMode')?.value, 'AESKeyWrapPadding', 'the replacement is wrapped at rest by the same key (RFC 5649), as a created wrapped key');
});

t.test('a private key kept wrapped signs', async (t) => {
  const { alice } = await twoUsers(t);
  const kek = await aesKek(alice);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const object = T.struct('PrivateKey', [T.struct('KeyBlock', [
    T.enum('KeyFormatType', 'PKCS8'),
    T.bytes('KeyValue', rfc5649Wrap(kek.bytes, pkcs8)),
    T.enum('CryptographicAlgorithm', 'ECDSA'),
    wrappingData(kek.uid, 'AESKeyWrapPadding', false),
  ])]);
  const uid = uidOf(await alice.call(T.struct('Register', [T.enum('ObjectType', 'PrivateKey'), T.struct('Attributes', [T.int('CryptographicUsageMask', 0x01), activeNow()]), object])));
  const message = Buffer.from('signed by a key that arrived wrapped');
  const signature = await alice.sign(uid, message, { signatureAlgorithm: 'ECDSAWithSHA256' });
  t.ok(verify('sha256', message, publicKey, signature), 'Sign unwraps it; the signature verifies with the public key');
  t.same((await alice.get(uid, { keyWrapType: 'NotWrapped', keyFormatType: 'PKCS8' })).bytes, pkcs8, 'KeyWrapType NotWrapped returns the PKCS#8 that was wrapped');
});

t.test('RSA-wrapped, unwrapped on import with the private key the named public key links to', async (t) => {
  const { alice } = await twoUsers(t);
  const pair = await alice.createKeyPair({ algorithm: 'RSA', length: 2048 });
  const spki = createPublicKey({ key: (await alice.get(pair.publicKeyId, { keyFormatType: 'X509' })).bytes as Buffer, format: 'der', type: 'spki' });
  const clear = randomBytes(32);
  const wrapped = publicEncrypt({ key: spki, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, clear);
  const object = (bytes: Buffer): TtlvStructure => T.struct('SymmetricKey', [T.struct('KeyBlock', [
    T.enum('KeyFormatType', 'Raw'), T.bytes('KeyValue', bytes), T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256),
    T.struct('KeyWrappingData', [T.enum('WrappingMethod', 'Encrypt'), T.struct('EncryptionKeyInformation', [T.text('UniqueIdentifier', pair.publicKeyId),
      T.struct('CryptographicParameters', [T.enum('PaddingMethod', 'OAEP'), T.enum('HashingAlgorithm', 'SHA256')])])]),
  ])]);
  const uid = uidOf(await alice.call(importWrapped('wi-rsa', object(wrapped), true)));
  t.same((await alice.get(uid)).bytes, clear, 'Import with NotWrapped stores the key RSA-OAEP unwrapped');
  const altered = Buffer.from(wrapped);
  altered[10] = (altered[10] as number) ^ 0x01;
  const refused = await failure(alice.call(importWrapped('wi-rsa-altered', object(altered), true)));
  t.equal(refused.reason, 'Cryptographic_Failure', 'altered RSA-wrapped bytes are refused');
  t.match(refused.message, /does not unwrap under .* \(RSA OAEP\)/, 'saying which unwrap failed');
  const kept = uidOf(await alice.call(importWrapped('wi-rsa-kept', object(wrapped), false)));
  t.equal((await failure(alice.encrypt(kept, Buffer.from('x')))).reason, 'Key_Value_Not_Present', 'kept RSA-wrapped it is stored as it came, not unwrapped on use (AES key wrap only)');
});

t.test('a wrong wrapping key or altered bytes: refused, saying why, nothing stored', async (t) => {
  const { alice } = await twoUsers(t);
  const kek = await aesKek(alice);
  const other = await aesKek(alice);
  const clear = randomBytes(32);
  for (const unwrap of [true, false]) {
    const how = unwrap ? 'NotWrapped' : 'AsRegistered';
    const wrongKey = await failure(alice.call(importWrapped(`wi-wrong-${how}`, wrappedAesKey(kek.uid, rfc5649Wrap(other.bytes, clear), 256), unwrap)));
    t.equal(wrongKey.reason, 'Cryptographic_Failure', `${how}: bytes wrapped by another key than the one named are refused`);
    t.match(wrongKey.message, new RegExp(`does not unwrap under ${kek.uid} \\(RFC 5649 integrity check failed\\): wrong wrapping key or altered bytes`), 'the message says what failed');
    const altered = rfc5649Wrap(kek.bytes, clear);
    altered[5] = (altered[5] as number) ^ 0x01;
    const tampered = await failure(alice.call(importWrapped(`wi-tampered-${how}`, wrappedAesKey(kek.uid, altered, 256), unwrap)));
    t.equal(tampered.reason, 'Cryptographic_Failure', `${how}: altered wrapped bytes are refused`);
    t.not(await outcome(alice.get(`wi-tampered-${how}`)), 'ok', 'and nothing was stored');
  }
  const rfc3394 = await failure(alice.call(importWrapped('wi-mode', wrappedAesKey(kek.uid, rfc5649Wrap(kek.bytes, clear), 256, 'NISTKeyWrap'), true)));
  t.match(rfc3394.message, /RFC 3394 integrity check failed/, 'RFC 5649 bytes declared as RFC 3394: the mode it tried is named');
});

t.test('rights and state of the wrapping key', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const kek = await aesKek(alice);
  const clear = randomBytes(32);
  const object = (): TtlvStructure => wrappedAesKey(kek.uid, rfc5649Wrap(kek.bytes, clear), 256);

  // Alice's key unseen by bob: as if it did not exist. Asked to unwrap, the import fails; kept wrapped, it is stored unusable.
  const unseen = await failure(bob.call(importWrapped('wi-bob-1', object(), true)));
  t.equal(unseen.reason, 'Item_Not_Found', 'NotWrapped with a wrapping key bob cannot see: not found');
  t.match(unseen.message, /cannot unwrap on import .*is not found/, 'saying the wrapping key is not found');
  const kept = uidOf(await bob.call(importWrapped('wi-bob-2', object(), false)));
  const unusable = await failure(bob.encrypt(kept, Buffer.from('x')));
  t.equal(unusable.reason, 'Key_Value_Not_Present', 'kept wrapped by a key bob cannot reach: stored, but Encrypt says it cannot be used');
  t.match(unusable.message, /cannot unwrap it on use .*; it is kept wrapped and cannot be used/);

  await grant(alice, kek.uid, 'bob', ['encrypt']);
  for (const unwrap of [true, false]) {
    const denied = await failure(bob.call(importWrapped(`wi-bob-denied-${String(unwrap)}`, object(), unwrap)));
    t.equal(denied.reason, 'Permission_Denied', `bob granted only encrypt on the wrapping key is refused (${unwrap ? 'NotWrapped' : 'AsRegistered'})`);
    t.match(denied.message, /bob may not unwrap with .*: unwrapping needs decrypt or get on the wrapping key/);
  }

  await grant(alice, kek.uid, 'bob', ['decrypt']);
  const bobs = uidOf(await bob.call(importWrapped('wi-bob-ok', object(), false)));
  const bobsCopy = await bob.import('wi-bob-reference', symmetricKeyObject(clear));
  t.ok(await sameKey(bob, bobs, bobsCopy), 'with decrypt on it, bob imports it kept wrapped and uses it');
  t.same((await bob.get(uidOf(await bob.call(importWrapped('wi-bob-clear', object(), true))))).bytes, clear, 'or unwraps it on import');

  await alice.revoke(kek.uid, 'CessationOfOperation');
  const inactive = await failure(alice.call(importWrapped('wi-inactive', object(), true)));
  t.equal(inactive.reason, 'Wrong_Key_Lifecycle_State', 'a Deactivated wrapping key does not unwrap on import');
  t.match(inactive.message, /unwrapping needs an Active key/);
});

t.test('a wrapping key this server cannot reach: kept as registered, unusable, a clear error', async (t) => {
  const { alice } = await twoUsers(t);
  const wrapped = randomBytes(40);
  const uid = uidOf(await alice.call(registerWrapped(wrappedAesKey('kek-held-elsewhere', wrapped, 256))));
  const back = await alice.call(T.struct('Get', [T.text('UniqueIdentifier', uid)]));
  t.same(child(blockOf(back), 'KeyValue')?.value, wrapped, 'Get returns it as registered');
  const used = await failure(alice.encrypt(uid, Buffer.from('x')));
  t.equal(used.reason, 'Key_Value_Not_Present', 'Encrypt refuses to use wrapped bytes');
  t.match(used.message, /was registered wrapped and this server cannot unwrap it on use/);
  t.equal((await failure(alice.get(uid, { keyWrapType: 'NotWrapped' }))).reason, 'Key_Wrap_Type_Not_Supported', 'and Get cannot unwrap it');
  const asked = await failure(alice.call(importWrapped('wi-elsewhere', wrappedAesKey('kek-held-elsewhere', wrapped, 256), true)));
  t.equal(asked.reason, 'Item_Not_Found', 'Import asking to unwrap it fails: the wrapping key is not found');
});
