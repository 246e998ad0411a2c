/**
 * Key sets and rotation by name, as Cosmian KMS documents them
 * (Cosmian/kms documentation/docs/kmip_support/key_rotation/index.md, "Keysets"; resolution in
 * crate/server/src/core/uid_utils.rs and operations/key_ops/key_resolution.rs):
 * a key whose UID and RotateName are `k` starts set `k`; ReKey makes `k@1`, `k@2`…;
 * `k`/`k@latest` name the newest generation for Encrypt and Sign, `k@first`/`k@0`/`k@N` one
 * generation; Decrypt, SignatureVerify and MACVerify with the bare `k` try each generation,
 * newest first. Sets are per owner (find_by_rotate_name filters on the owner).
 */
import t from 'tap';
import { createSymmetricKeyRequest } from '../../src/kmip/requests';
import { T, child, type TtlvNode, type TtlvStructure } from '../../src/kmip/ttlv';
import type { KmipClient } from '../../src/kmip/client';
import { failureOf as failure, serverAndClient } from '../support/client';
import { grant, twoUsers } from '../support/two-users';

const DATA = Buffer.from('protected before and after the rotation');

function text(node: TtlvNode | undefined): string {
  return String(node?.value);
}

/** Create an AES key in set `name` (UID = RotateName = name), as Cosmian's docs create one. */
async function createInSet(client: KmipClient, name: string, extra: TtlvNode[] = []): Promise<string> {
  const req = createSymmetricKeyRequest({ algorithm: 'AES', length: 256, uniqueIdentifier: name });
  const attrs = child(req, 'Attributes') as TtlvStructure;
  const res = await client.call(T.struct('Create', [child(req, 'ObjectType'), T.struct('Attributes', [...attrs.value, T.text('RotateName', name), ...extra])]));
  return text(child(res, 'UniqueIdentifier'));
}

async function reKey(client: KmipClient, uid: string): Promise<string> {
  return text(child(await client.call(T.struct('ReKey', [T.text('UniqueIdentifier', uid)])), 'UniqueIdentifier'));
}

async function encryptWith(client: KmipClient, uid: string): Promise<{ uid: string; data: Buffer; iv: Buffer; tag: Buffer }> {
  const res = await client.call(T.struct('Encrypt', [T.text('UniqueIdentifier', uid), T.bytes('Data', DATA)]));
  return {
    uid: text(child(res, 'UniqueIdentifier')),
    data: child(res, 'Data')?.value as Buffer,
    iv: child(res, 'IVCounterNonce')?.value as Buffer,
    tag: child(res, 'AuthenticatedEncryptionTag')?.value as Buffer,
  };
}

function decryptWith(client: KmipClient, uid: string, ct: { data: Buffer; iv: Buffer; tag: Buffer }): Promise<TtlvStructure> {
  return client.call(T.struct('Decrypt', [T.text('UniqueIdentifier', uid), T.bytes('Data', ct.data), T.bytes('IVCounterNonce', ct.iv), T.bytes('AuthenticatedEncryptionTag', ct.tag)]));
}

t.test('name@latest and the bare name encrypt under the newest generation; Decrypt tries each, @N names one', async (t) => {
  const { client } = await serverAndClient(t);
  const k = await createInSet(client, 'payments');
  t.equal(k, 'payments');
  const gen0 = await encryptWith(client, 'payments');
  t.equal(gen0.uid, 'payments', 'before any ReKey the set is its generation 0');

  t.equal(await reKey(client, 'payments'), 'payments@1', 'ReKey names generation 1 k@1');
  const attrs = (await client.getAttributes('payments@1', ['RotateName', 'RotateGeneration', 'RotateLatest'])).attributes;
  t.same([attrs['RotateName'], attrs['RotateGeneration'], attrs['RotateLatest']], ['payments', 1, true], 'the replacement is the newest generation of the same set');
  t.equal((await client.getAttributes('payments@0', ['RotateLatest'])).attributes['RotateLatest'], false, 'generation 0 is no longer the newest');

  for (const name of ['payments', 'payments@latest']) {
    t.equal((await encryptWith(client, name)).uid, 'payments@1', `Encrypt with ${name} uses the newest generation`);
  }
  const gen1 = await encryptWith(client, 'payments');
  t.same(child(await decryptWith(client, 'payments', gen0), 'Data')?.value, DATA, 'Decrypt with the bare name opens data of generation 0');
  t.equal(text(child(await decryptWith(client, 'payments', gen0), 'UniqueIdentifier')), 'payments', 'and answers with the generation that did');
  t.same(child(await decryptWith(client, 'payments', gen1), 'Data')?.value, DATA, 'and data of generation 1');
  for (const name of ['payments@0', 'payments@first']) {
    t.same(child(await decryptWith(client, name, gen0), 'Data')?.value, DATA, `${name} names generation 0`);
  }
  t.equal((await failure(decryptWith(client, 'payments@1', gen0))).reason, 'Cryptographic_Failure', '@1 names generation 1 only: it does not open generation 0 data');
  t.equal((await failure(encryptWith(client, 'payments@7'))).reason, 'Item_Not_Found', 'a generation the set does not have is not found');

  t.equal(await reKey(client, 'payments'), 'payments@2', 'ReKey with the bare name renews the newest generation');
  t.same(child(await decryptWith(client, 'payments', gen0), 'Data')?.value, DATA, 'two rotations later generation 0 data still opens by name');
});

t.test('Sign with the set name uses the newest pair; SignatureVerify with it tries each generation', async (t) => {
  const { client } = await serverAndClient(t);
  const pair = await client.createKeyPair({ algorithm: 'EC', curve: 'P256', uniqueIdentifier: 'signer' });
  await client.call(T.struct('SetAttribute', [T.text('UniqueIdentifier', pair.privateKeyId), T.struct('NewAttribute', [T.text('RotateName', 'signer')])]));
  const sign = async (uid: string): Promise<{ uid: string; signature: Buffer }> => {
    const res = await client.call(T.struct('Sign', [T.text('UniqueIdentifier', uid), T.bytes('Data', DATA)]));
    return { uid: text(child(res, 'UniqueIdentifier')), signature: child(res, 'SignatureData')?.value as Buffer };
  };
  const verify = async (uid: string, signature: Buffer): Promise<string> =>
    text(child(await client.call(T.struct('SignatureVerify', [T.text('UniqueIdentifier', uid), T.bytes('Data', DATA), T.bytes('SignatureData', signature)])), 'ValidityIndicator'));
  const old = await sign('signer');
  t.equal(old.uid, 'signer');
  const rk = await client.call(T.struct('ReKeyKeyPair', [T.text('PrivateKeyUniqueIdentifier', 'signer')]));
  t.equal(text(child(rk, 'PrivateKeyUniqueIdentifier')), 'signer@1');
  const fresh = await sign('signer');
  t.equal(fresh.uid, 'signer@1', 'Sign with the bare name uses the newest generation');
  t.equal((await sign('signer@latest')).uid, 'signer@1');
  t.equal(await verify('signer', old.signature), 'Valid', 'a signature of generation 0 verifies by name');
  t.equal(await verify('signer', fresh.signature), 'Valid', 'so does one of generation 1');
  t.equal(await verify('signer@1', old.signature), 'Invalid', '@1 alone does not verify generation 0 signatures');
  t.equal(await verify('signer', Buffer.alloc(old.signature.length, 1)), 'Invalid', 'a signature no generation made is Invalid');
});

t.test('Locate by Name after ReKey finds the replacement only: the Name moves to it', async (t) => {
  const { client } = await serverAndClient(t);
  const uid = await client.create({ algorithm: 'AES', length: 256, label: 'disk-key' });
  const fresh = await reKey(client, uid);
  t.same(await client.locate({ name: 'disk-key' }), [fresh], 'the replacement, not the replaced key');
  t.same((await client.getAttributes(uid)).attributes['Name'], undefined, 'the replaced key has no Name any more');
});

t.test('a set name resolves among the caller\'s own keys only', async (t) => {
  const { alice, bob } = await twoUsers(t);
  await createInSet(bob, 'team-key');
  t.equal(await reKey(bob, 'team-key'), 'team-key@1');
  for (const op of ['encrypt', 'decrypt', 'get', 'rekey']) await grant(bob, 'team-key', 'alice', [op]);
  for (const op of ['encrypt', 'decrypt', 'get']) await grant(bob, 'team-key@1', 'alice', [op]);
  t.equal((await failure(encryptWith(alice, 'team-key@latest'))).reason, 'Item_Not_Found', 'bob\'s set is not alice\'s, even with grants on every generation');
  t.equal((await encryptWith(alice, 'team-key@1')).uid, 'team-key@1', 'for alice a UID of bob\'s set is just the UID of a key bob shared');
  const bare = await failure(encryptWith(alice, 'team-key'));
  // Generation 0 was deactivated by the ReKey: Cosmian's "no valid key" for a key in a state Encrypt cannot use.
  t.same({ reason: bare.reason, message: bare.message }, { reason: 'Item_Not_Found', message: 'Encrypt: no valid key for id: team-key' },
    'and the bare name is bob\'s generation 0 (deactivated by the ReKey), never his newest');

  // Alice's own set of the same name lives in her namespace and is the one her names reach.
  t.equal(await createInSet(alice, 'team-key'), 'team-key');
  t.equal(await reKey(alice, 'team-key'), 'team-key@1');
  const mine = await encryptWith(alice, 'team-key');
  t.equal(mine.uid, 'team-key@1', 'alice\'s name resolves to her newest generation');
  t.equal((await failure(decryptWith(bob, 'team-key', mine))).reason, 'Cryptographic_Failure', 'bob\'s name reaches bob\'s keys, which cannot open alice\'s data');
});

t.test('RotateName rules: no @, equal to the UID; the generation bookkeeping is the server\'s', async (t) => {
  const { client } = await serverAndClient(t);
  const bad = await failure(createInSet(client, 'a@b'));
  t.equal(bad.reason, 'Invalid_Attribute_Value', 'a RotateName with @ is refused');
  const req = createSymmetricKeyRequest({ algorithm: 'AES', length: 256, uniqueIdentifier: 'uid-x' });
  const mismatch = await failure(client.call(T.struct('Create', [child(req, 'ObjectType'), T.struct('Attributes', [...(child(req, 'Attributes') as TtlvStructure).value, T.text('RotateName', 'other')])])));
  t.same(mismatch, { reason: 'Operation_Not_Supported', message: "Invalid Request: Create: rotate_name ('other') must equal the key's UID — create the key with the keyset name as its ID" }, 'Cosmian\'s refusal and message');
  const uid = await client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: 'later-set' });
  const set = (name: string): Promise<unknown> => client.call(T.struct('SetAttribute', [T.text('UniqueIdentifier', uid), T.struct('NewAttribute', [T.text('RotateName', name)])]));
  t.same(await failure(set('elsewhere')), { reason: 'Operation_Not_Supported', message: "Invalid Request: SetAttribute: rotate_name ('elsewhere') must equal the key's UID — create the key with the keyset name as its ID" });
  t.equal((await failure(set('later-set'))).reason, 'no error', 'SetAttribute RotateName = the UID makes a set');
  t.equal(await reKey(client, 'later-set'), 'later-set@1');
  const forge = client.call(T.struct('SetAttribute', [T.text('UniqueIdentifier', 'later-set@0'), T.struct('NewAttribute', [T.int('RotateGeneration', 9)])]));
  t.equal((await failure(forge)).reason, 'Attribute_Read_Only', 'RotateGeneration is written by ReKey only');
});

t.test('MAC with the set name uses the newest generation; MACVerify with it tries each', async (t) => {
  const { client } = await serverAndClient(t);
  await client.create({ algorithm: 'HMACSHA256', uniqueIdentifier: 'macs' });
  await client.call(T.struct('SetAttribute', [T.text('UniqueIdentifier', 'macs'), T.struct('NewAttribute', [T.text('RotateName', 'macs')])]));
  const mac = async (uid: string): Promise<{ uid: string; mac: Buffer }> => {
    const res = await client.call(T.struct('MAC', [T.text('UniqueIdentifier', uid), T.bytes('Data', DATA)]));
    return { uid: text(child(res, 'UniqueIdentifier')), mac: child(res, 'MACData')?.value as Buffer };
  };
  const verify = async (uid: string, m: Buffer): Promise<string> =>
    text(child(await client.call(T.struct('MACVerify', [T.text('UniqueIdentifier', uid), T.bytes('Data', DATA), T.bytes('MACData', m)])), 'ValidityIndicator'));
  const old = await mac('macs');
  t.equal(await reKey(client, 'macs'), 'macs@1');
  const fresh = await mac('macs');
  t.equal(fresh.uid, 'macs@1', 'MAC with the bare name uses the newest generation');
  t.notSame(fresh.mac, old.mac, 'a new key, a new MAC');
  t.equal(await verify('macs', old.mac), 'Valid', 'MACVerify by name accepts a MAC of generation 0');
  t.equal(await verify('macs@latest', old.mac), 'Invalid', '@latest names the newest generation only');
  t.equal(await verify('macs', Buffer.alloc(32)), 'Invalid', 'a MAC no generation made is Invalid');
});
