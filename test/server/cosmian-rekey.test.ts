/**
 * ReKey and ReKeyKeyPair rules as Cosmian KMS has them
 * (Cosmian/kms documentation/docs/kmip_support/key_rotation/index.md, "State restrictions",
 * "Old key Deactivated after rotation"; crate/server/src/core/operations/rekey/common.rs:
 * retrieve_eligible_keys, validate_no_crypto_param_change, compute_replacement_dates,
 * RotationCandidate::public_key_uid). Cosmian raises these refusals as KmsError::InvalidRequest,
 * which crate/server/src/core/operations/message.rs answers with ResultReason
 * Operation_Not_Supported and the message "Invalid Request: …".
 * Note: Cosmian rotates Deactivated and Compromised keys (KMIP 2.1 §6.1.46 does not list
 * Wrong_Key_Lifecycle_State); only PreActive and destroyed keys are refused.
 */
import t from 'tap';
import { T, child, type TtlvNode } from '../../src/kmip/ttlv';
import type { KmipClient } from '../../src/kmip/client';
import { failureOf as failure, serverAndClient } from '../support/client';

function reKey(client: KmipClient, uid: string, extra: TtlvNode[] = []): Promise<string> {
  return client.call(T.struct('ReKey', [T.text('UniqueIdentifier', uid), ...extra])).then((r) => String(child(r, 'UniqueIdentifier')?.value));
}

function links(attrs: Record<string, unknown>): string {
  return JSON.stringify(attrs['Link'] ?? null);
}

t.test('a PreActive or destroyed key is refused with Cosmian\'s reason and message; Deactivated and Compromised keys are rotated', async (t) => {
  const { client } = await serverAndClient(t);
  const pre = await client.create({ algorithm: 'AES', length: 256, activationDate: null, uniqueIdentifier: 'pre' });
  t.same(await failure(reKey(client, pre)), {
    reason: 'Operation_Not_Supported',
    message: "Invalid Request: key 'pre' is in state 'PreActive' — only Active, Deactivated, or Compromised keys can be rotated",
  });
  const gone = await client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: 'gone' });
  await client.revoke(gone, 'CessationOfOperation');
  await client.destroy(gone);
  t.same(await failure(reKey(client, gone)), {
    reason: 'Operation_Not_Supported',
    message: "Invalid Request: key 'gone' is in state 'Destroyed' — only Active, Deactivated, or Compromised keys can be rotated",
  });

  const off = await client.create({ algorithm: 'AES', length: 256 });
  await client.revoke(off, 'CessationOfOperation');
  const offNext = await reKey(client, off);
  t.equal((await client.getAttributes(offNext, ['State'])).attributes['State'], 'Active', 'a Deactivated key gets an Active replacement');
  t.equal((await client.getAttributes(off, ['State'])).attributes['State'], 'Deactivated');
  const bad = await client.create({ algorithm: 'AES', length: 256 });
  await client.revoke(bad, 'KeyCompromise');
  const badNext = await reKey(client, bad);
  t.equal((await client.getAttributes(badNext, ['State'])).attributes['State'], 'Active', 'rotating a compromised key is the recommended response');
  t.equal((await client.getAttributes(bad, ['State'])).attributes['State'], 'Compromised', 'the compromised key stays Compromised');

  const pair = await client.createKeyPair({ algorithm: 'EC', curve: 'P256', activationDate: null, uniqueIdentifier: 'pre-pair' });
  t.same(await failure(client.call(T.struct('ReKeyKeyPair', [T.text('PrivateKeyUniqueIdentifier', pair.privateKeyId)]))), {
    reason: 'Operation_Not_Supported',
    message: "Invalid Request: key 'pre-pair' is in state 'PreActive' — only Active, Deactivated, or Compromised keys can be rotated",
  });
});

t.test('a key pair without its public link is refused', async (t) => {
  const { client } = await serverAndClient(t);
  const pair = await client.createKeyPair({ algorithm: 'EC', curve: 'P256' });
  await client.call(T.struct('DeleteAttribute', [T.text('UniqueIdentifier', pair.privateKeyId), T.enum('AttributeReference', 'Link')]));
  t.notMatch(links((await client.getAttributes(pair.privateKeyId)).attributes), /PublicKeyLink/, 'control: the link is gone');
  t.same(await failure(client.call(T.struct('ReKeyKeyPair', [T.text('PrivateKeyUniqueIdentifier', pair.privateKeyId)]))), {
    reason: 'Operation_Not_Supported',
    message: 'Invalid Request: ReKeyKeyPair: the private key has no PublicKeyLink. Cannot determine the paired public key.',
  });
});

t.test('a change of algorithm, length or curve is refused; the same values are accepted', async (t) => {
  const { client } = await serverAndClient(t);
  const aes = await client.create({ algorithm: 'AES', length: 256 });
  const withAttrs = (nodes: TtlvNode[]): TtlvNode[] => [T.struct('Attributes', nodes)];
  t.same(await failure(reKey(client, aes, withAttrs([T.enum('CryptographicAlgorithm', 'ChaCha20')]))), {
    reason: 'Operation_Not_Supported',
    message: 'Invalid Request: ReKey: changing the cryptographic algorithm is not allowed. Use Create/CreateKeyPair for a different algorithm.',
  });
  t.same(await failure(reKey(client, aes, withAttrs([T.int('CryptographicLength', 128)]))), {
    reason: 'Operation_Not_Supported',
    message: 'Invalid Request: ReKey: changing the cryptographic length is not allowed. Use Create/CreateKeyPair for a different key size.',
  });
  t.equal((await failure(reKey(client, aes, withAttrs([T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256)])))).reason, 'no error', 'restating the same algorithm and length is fine');

  const pair = await client.createKeyPair({ algorithm: 'EC', curve: 'P256' });
  const rekeyPair = (attrs: TtlvNode[]): Promise<unknown> => client.call(T.struct('ReKeyKeyPair', [T.text('PrivateKeyUniqueIdentifier', pair.privateKeyId), T.struct('PrivateKeyAttributes', attrs)]));
  t.same(await failure(rekeyPair([T.enum('CryptographicAlgorithm', 'RSA')])), {
    reason: 'Operation_Not_Supported',
    message: 'Invalid Request: ReKeyKeyPair: changing the cryptographic algorithm is not allowed. Use Create/CreateKeyPair for a different algorithm.',
  });
  t.same(await failure(rekeyPair([T.struct('CryptographicDomainParameters', [T.enum('RecommendedCurve', 'P384')])])), {
    reason: 'Operation_Not_Supported',
    message: 'Invalid Request: ReKeyKeyPair: changing the recommended curve is not allowed. Use Create/CreateKeyPair for a different curve.',
  });
});

t.test('Offset as an Interval: ActivationDate = now + Offset, the deactivation shifted as much', async (t) => {
  const { client } = await serverAndClient(t);
  const start = Math.floor(Date.now() / 1000);
  const uid = await client.create({ algorithm: 'AES', length: 256, activationDate: new Date((start - 100) * 1000) });
  await client.call(T.struct('SetAttribute', [T.text('UniqueIdentifier', uid), T.struct('NewAttribute', [T.date('DeactivationDate', start + 1000)])]));
  const fresh = await reKey(client, uid, [T.interval('Offset', 3600)]);
  const attrs = (await client.getAttributes(fresh, ['State', 'ActivationDate', 'DeactivationDate', 'InitialDate'])).attributes;
  const seconds = (v: unknown): number => Math.floor(new Date(v as string | Date).getTime() / 1000);
  t.equal(attrs['State'], 'PreActive', 'activation in an hour: PreActive until then');
  t.equal(seconds(attrs['ActivationDate']) - seconds(attrs['InitialDate']), 3600, 'ActivationDate = InitialDate + Offset');
  t.equal(seconds(attrs['DeactivationDate']) - seconds(attrs['ActivationDate']), 1100, 'the replacement lives as long as the original was to (DeactivationDate shifted)');
  t.equal((await client.getAttributes(uid, ['State'])).attributes['State'], 'Deactivated', 'the original is Deactivated at once (KMIP §4.57 transition 6)');
  t.equal((await failure(reKey(client, fresh))).reason, 'Operation_Not_Supported', 'the PreActive replacement cannot itself be rotated before it activates');
});

t.test('links and names as Cosmian keeps them, for ReKey and ReKeyKeyPair', async (t) => {
  const { client } = await serverAndClient(t);
  const uid = await client.create({ algorithm: 'AES', length: 256, label: 'named' });
  const fresh = await reKey(client, uid, [T.int('Offset', 0)]);
  const now = (await client.getAttributes(fresh)).attributes;
  t.match(links(now), new RegExp(`ReplacedObjectLink.*${uid}`), 'the replacement links to the key it replaces');
  t.notMatch(links(now), /ReplacementObjectLink/);
  t.match(links((await client.getAttributes(uid)).attributes), new RegExp(`ReplacementObjectLink.*${fresh}`), 'the old key links to its replacement');
  t.match(JSON.stringify(now['Name']), /named/, 'the Name moves to the replacement');
  t.equal(now['State'], 'Active', 'Offset 0 (an Integer here): active at once');
  const third = await reKey(client, fresh);
  const middle = links((await client.getAttributes(fresh)).attributes);
  t.match(middle, new RegExp(`ReplacedObjectLink.*${uid}`), 'a middle generation keeps its link back…');
  t.match(middle, new RegExp(`ReplacementObjectLink.*${third}`), '…and gains one forward');
  t.notMatch(links((await client.getAttributes(third)).attributes), new RegExp(uid), 'the newest links only to the one it replaced');

  const pair = await client.createKeyPair({ algorithm: 'EC', curve: 'P256', label: 'pair-name' });
  const rk = await client.call(T.struct('ReKeyKeyPair', [T.text('PrivateKeyUniqueIdentifier', pair.privateKeyId)]));
  const priv = String(child(rk, 'PrivateKeyUniqueIdentifier')?.value);
  const pub = String(child(rk, 'PublicKeyUniqueIdentifier')?.value);
  const privLinks = links((await client.getAttributes(priv)).attributes);
  t.match(privLinks, new RegExp(`PublicKeyLink.*${pub}`), 'the new private key links to the new public key');
  t.match(privLinks, new RegExp(`ReplacedObjectLink.*${pair.privateKeyId}`));
  t.match(links((await client.getAttributes(pub)).attributes), new RegExp(`ReplacedObjectLink.*${pair.publicKeyId}`));
  t.match(links((await client.getAttributes(pair.publicKeyId)).attributes), new RegExp(`ReplacementObjectLink.*${pub}`));
  for (const old of [pair.privateKeyId, pair.publicKeyId]) {
    t.equal((await client.getAttributes(old, ['State'])).attributes['State'], 'Deactivated', 'both old halves are Deactivated');
  }
  t.same((await client.locate({ name: 'pair-name' })).sort(), [priv, pub].sort(), 'Locate by the Name finds the new pair only');
});
