import t from 'tap';
import { T, type TtlvNode } from '../../src/kmip/ttlv';
import type { KmipClient } from '../../src/kmip/client';
import { encodeBinary, decodeBinary } from '../../src/kmip/binary-codec';
import { buildRequestMessage, parseResponseMessage } from '../../src/kmip/messages';
import { secretDataObject, symmetricKeyObject } from '../../src/kmip/requests';
import { grant, outcome, twoUsers } from '../support/two-users';

/**
 * Issue 11, items 1, 2 and 5, as an attacker tries them against a real server: Extractable and
 * Sensitive are one-way latches whichever edit flips them and whoever asks, a key derived from a
 * protected key is protected, and a grantee's ReKey leaves the key its owner's.
 */

const KEY = Buffer.alloc(32, 0x5a);
const GRANTEE_RIGHTS = ['get', 'export', 'get_attributes', 'set_attribute', 'modify_attribute', 'add_attribute', 'delete_attribute'];

const call = (c: KmipClient, op: string, uid: string, ...rest: TtlvNode[]) => c.call(T.struct(op, [T.text('UniqueIdentifier', uid), ...rest]));
const attrs = async (c: KmipClient, uid: string): Promise<Record<string, unknown>> => (await c.getAttributes(uid)).attributes;
const protection = async (c: KmipClient, uid: string) => {
  const a = await attrs(c, uid);
  return { Sensitive: a['Sensitive'] ?? false, Extractable: a['Extractable'] ?? true, AlwaysSensitive: a['AlwaysSensitive'], NeverExtractable: a['NeverExtractable'] };
};

interface Latch {
  tag: 'Sensitive' | 'Extractable';
  /** The protective value a key is registered with, and what Get of it answers. */
  locked: boolean;
  refusal: string;
}

const LATCHES: Latch[] = [
  { tag: 'Extractable', locked: false, refusal: 'Not_Extractable' },
  { tag: 'Sensitive', locked: true, refusal: 'Sensitive' },
];

/** Every KMIP 2.1 edit that could move the latch back to its permissive value. */
const ROUTES: Array<{ name: string; run: (c: KmipClient, uid: string, l: Latch) => Promise<unknown> }> = [
  { name: 'SetAttribute', run: (c, uid, l) => call(c, 'SetAttribute', uid, T.struct('NewAttribute', [T.bool(l.tag, !l.locked)])) },
  { name: 'ModifyAttribute', run: (c, uid, l) => call(c, 'ModifyAttribute', uid, T.struct('NewAttribute', [T.bool(l.tag, !l.locked)])) },
  {
    name: 'ModifyAttribute with CurrentAttribute',
    run: (c, uid, l) => call(c, 'ModifyAttribute', uid, T.struct('CurrentAttribute', [T.bool(l.tag, l.locked)]), T.struct('NewAttribute', [T.bool(l.tag, !l.locked)])),
  },
  { name: 'DeleteAttribute by reference (resets to the permissive default)', run: (c, uid, l) => call(c, 'DeleteAttribute', uid, T.enum('AttributeReference', l.tag)) },
  { name: 'DeleteAttribute by CurrentAttribute', run: (c, uid, l) => call(c, 'DeleteAttribute', uid, T.struct('CurrentAttribute', [T.bool(l.tag, l.locked)])) },
  { name: 'AddAttribute', run: (c, uid, l) => call(c, 'AddAttribute', uid, T.struct('NewAttribute', [T.bool(l.tag, !l.locked)])) },
];

t.test('flipping Extractable or Sensitive back, by every edit, as the owner and as a grantee with set_attribute and get, is Attribute_Read_Only', async (t) => {
  const { alice, bob } = await twoUsers(t);
  for (const latch of LATCHES) {
    for (const [who, client] of [['the owner', alice], ['a grantee', bob]] as const) {
      for (const route of ROUTES) {
        const uid = await alice.register(symmetricKeyObject(KEY), { [latch.tag.toLowerCase()]: latch.locked });
        if (client === bob) await grant(alice, uid, 'bob', GRANTEE_RIGHTS);
        const what = `${latch.tag}=${String(latch.locked)}, ${route.name} by ${who}`;
        t.equal(await outcome(route.run(client, uid, latch)), 'Attribute_Read_Only', `${what}: refused`);
        t.equal((await attrs(alice, uid))[latch.tag], latch.locked, `${what}: the attribute is unchanged`);
        t.equal(await outcome(client.get(uid)), latch.refusal, `${what}: Get still refuses the key's bytes (${latch.refusal})`);
        t.equal(await outcome(client.export(uid)), latch.refusal, `${what}: Export too`);
      }
    }
  }
});

t.test('the latch holds against KMIP 1.4 ModifyAttribute and DeleteAttribute (binary TTLV on /kmip)', async (t) => {
  const { alice, cli } = await twoUsers(t);
  const [, url, , token] = cli.alice as [string, string, string, string];
  const v1 = async (op: TtlvNode): Promise<string> => {
    const res = await fetch(`${url}/kmip`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', Authorization: `Bearer ${token}` },
      body: encodeBinary(buildRequestMessage([op as never], { major: 1, minor: 4 }), 1),
    });
    const item = parseResponseMessage(decodeBinary(Buffer.from(await res.arrayBuffer()))).items[0];
    return item?.status === 'Success' ? 'ok' : String(item?.reason);
  };
  const attribute = (name: string, value: TtlvNode): TtlvNode => T.struct('Attribute', [T.text('AttributeName', name), { ...value, tag: 'AttributeValue' } as TtlvNode]);
  // Attribute Read Only (0x22) only exists from KMIP 2.0: a 1.4 client is told Permission Denied (src/kmip/versions.ts).
  const READ_ONLY_1X = 'Permission_Denied';
  for (const latch of LATCHES) {
    const uid = await alice.register(symmetricKeyObject(KEY), { [latch.tag.toLowerCase()]: latch.locked });
    t.equal(await v1(T.struct('ModifyAttribute', [T.text('UniqueIdentifier', uid), attribute(latch.tag, T.bool('x', !latch.locked))])), READ_ONLY_1X, `1.4 ModifyAttribute ${latch.tag}=${String(!latch.locked)} is refused`);
    t.equal(await v1(T.struct('DeleteAttribute', [T.text('UniqueIdentifier', uid), T.text('AttributeName', latch.tag)])), READ_ONLY_1X, `1.4 DeleteAttribute ${latch.tag} is refused`);
    t.equal(await v1(T.struct('AddAttribute', [T.text('UniqueIdentifier', uid), attribute(latch.tag, T.bool('x', !latch.locked))])), READ_ONLY_1X, `1.4 AddAttribute ${latch.tag}=${String(!latch.locked)} is refused`);
    t.equal(await outcome(alice.get(uid)), latch.refusal, `${latch.tag}: Get still refuses the key's bytes`);
  }
});

t.test('a latch cannot be dodged by a non-Boolean or a duplicated value', async (t) => {
  const { alice } = await twoUsers(t);
  const uid = await alice.register(symmetricKeyObject(KEY), { extractable: false });
  t.equal(await outcome(call(alice, 'SetAttribute', uid, T.struct('NewAttribute', [T.text('Extractable', 'true')]))), 'Invalid_Attribute_Value', 'a TextString Extractable is refused (it would read as the default, true)');
  t.equal(await outcome(call(alice, 'SetAttribute', uid, T.struct('NewAttribute', [T.int('Extractable', 1)]))), 'Invalid_Attribute_Value', 'an Integer Extractable too');
  t.equal(await outcome(alice.get(uid)), 'Not_Extractable');
  const twice = T.struct('Register', [
    T.enum('ObjectType', 'SymmetricKey'),
    T.struct('Attributes', [T.bool('Extractable', false), T.bool('Extractable', true)]),
    symmetricKeyObject(KEY).node,
  ]);
  t.equal(await outcome(alice.call(twice)), 'Invalid_Attribute_Value', 'Register with Extractable twice is refused');
});

t.test('tightening is allowed, by the owner and by a grantee; the history attributes stay the server\'s', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const uid = await alice.create({ algorithm: 'AES', length: 256 });
  t.same(await protection(alice, uid), { Sensitive: false, Extractable: true, AlwaysSensitive: false, NeverExtractable: false }, 'a generated key created readable: neither history flag');
  await grant(alice, uid, 'bob', ['set_attribute', 'add_attribute']);
  t.equal(await outcome(call(bob, 'AddAttribute', uid, T.struct('NewAttribute', [T.bool('Sensitive', true)]))), 'ok', 'a grantee may add Sensitive=true');
  t.equal(await outcome(call(alice, 'SetAttribute', uid, T.struct('NewAttribute', [T.bool('Extractable', false)]))), 'ok', 'the owner may set Extractable=false');
  t.same(await protection(alice, uid), { Sensitive: true, Extractable: false, AlwaysSensitive: false, NeverExtractable: false }, 'now protected, but it was readable once: AlwaysSensitive and NeverExtractable stay false');
  t.equal(await outcome(alice.get(uid)), 'Not_Extractable');
  for (const tag of ['AlwaysSensitive', 'NeverExtractable']) {
    t.equal(await outcome(call(alice, 'SetAttribute', uid, T.struct('NewAttribute', [T.bool(tag, true)]))), 'Attribute_Read_Only', `SetAttribute ${tag} is refused: the server keeps it`);
    t.equal(await outcome(call(alice, 'DeleteAttribute', uid, T.enum('AttributeReference', tag))), 'Attribute_Read_Only', `DeleteAttribute ${tag} is refused`);
  }
});

t.test('AlwaysSensitive and NeverExtractable after Create, CreateKeyPair, Register and Import', async (t) => {
  const { alice } = await twoUsers(t);
  const generated = await alice.create({ algorithm: 'AES', length: 256, sensitive: true, extractable: false });
  t.same(await protection(alice, generated), { Sensitive: true, Extractable: false, AlwaysSensitive: true, NeverExtractable: true }, 'Create, sensitive and not extractable: both true');
  const sensitiveOnly = await alice.create({ algorithm: 'AES', length: 256, sensitive: true });
  t.same(await protection(alice, sensitiveOnly), { Sensitive: true, Extractable: true, AlwaysSensitive: true, NeverExtractable: false }, 'Create, sensitive only');
  const claimed = await alice.call(T.struct('Create', [T.enum('ObjectType', 'SymmetricKey'), T.struct('Attributes', [
    T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 128), T.bool('AlwaysSensitive', true), T.bool('NeverExtractable', true),
  ])]));
  const claimedUid = String(claimed.value.find((n) => n.tag === 'UniqueIdentifier')?.value);
  t.same(await protection(alice, claimedUid), { Sensitive: false, Extractable: true, AlwaysSensitive: false, NeverExtractable: false }, 'a template claiming the history is ignored: the server computes it');

  const pair = await alice.createKeyPair({ algorithm: 'EC', curve: 'P256', sensitive: true, extractable: false });
  t.same(await protection(alice, pair.privateKeyId), { Sensitive: true, Extractable: false, AlwaysSensitive: true, NeverExtractable: true }, 'CreateKeyPair: the private key');
  const pub = await attrs(alice, pair.publicKeyId);
  t.same([pub['AlwaysSensitive'], pub['NeverExtractable']], [undefined, undefined], 'the public key carries no history');

  const registered = await alice.register(symmetricKeyObject(KEY), { sensitive: true, extractable: false });
  t.same(await protection(alice, registered), { Sensitive: true, Extractable: false, AlwaysSensitive: false, NeverExtractable: false }, 'Register: the bytes were known outside, so both false');
  await alice.import('imported-key', symmetricKeyObject(KEY), { sensitive: true, extractable: false });
  t.same(await protection(alice, 'imported-key'), { Sensitive: true, Extractable: false, AlwaysSensitive: false, NeverExtractable: false }, 'Import: both false');
});

t.test('a non-extractable key never leaves, not even wrapped; a sensitive one leaves only wrapped', async (t) => {
  const { alice } = await twoUsers(t);
  const wrapper = await alice.create({ algorithm: 'AES', length: 256 });
  const locked = await alice.create({ algorithm: 'AES', length: 256, extractable: false });
  const wrap = { wrap: { keyUid: wrapper } };
  t.equal(await outcome(alice.get(locked)), 'Not_Extractable', 'Get');
  t.equal(await outcome(alice.get(locked, wrap)), 'Not_Extractable', 'Get with a KeyWrappingSpecification');
  t.equal(await outcome(alice.export(locked)), 'Not_Extractable', 'Export');
  t.equal(await outcome(alice.export(locked, wrap)), 'Not_Extractable', 'Export wrapped');
  const pair = await alice.createKeyPair({ algorithm: 'EC', curve: 'P256', extractable: false });
  t.equal(await outcome(alice.get(pair.privateKeyId, wrap)), 'Not_Extractable', 'a non-extractable private key, wrapped');
  const sensitive = await alice.create({ algorithm: 'AES', length: 256, sensitive: true });
  t.equal(await outcome(alice.get(sensitive)), 'Sensitive', 'a sensitive key in clear: Sensitive');
  t.equal(await outcome(alice.get(sensitive, wrap)), 'ok', 'the same key wrapped leaves');
});

/** DeriveKey request: HKDF or PBKDF2 over a base, or ECDH with a peer's public key; the template asks for a readable key. */
function derive(base: string, method: 'HKDF' | 'PBKDF2' | 'AsymmetricKey', data?: Buffer): TtlvNode {
  const params = method === 'HKDF'
    ? [T.struct('CryptographicParameters', [T.enum('HashingAlgorithm', 'SHA256')]), T.bytes('Salt', Buffer.from('salt')), T.bytes('DerivationData', Buffer.from('info'))]
    : method === 'PBKDF2'
      ? [T.struct('CryptographicParameters', [T.enum('HashingAlgorithm', 'SHA256')]), T.bytes('Salt', Buffer.from('salt')), T.int('IterationCount', 1000)]
      : [T.bytes('DerivationData', data as Buffer)];
  return T.struct('DeriveKey', [
    T.enum('ObjectType', 'SymmetricKey'),
    T.text('ObjectUniqueIdentifier', base),
    T.enum('DerivationMethod', method),
    T.struct('DerivationParameters', params),
    T.struct('Attributes', [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256), T.bool('Sensitive', false), T.bool('Extractable', true)]),
  ]);
}

const derivedUid = async (c: KmipClient, request: TtlvNode): Promise<string> => String((await c.call(request as never)).value.find((n) => n.tag === 'UniqueIdentifier')?.value);

t.test('a key derived from a protected key is at least as protected, whatever the template says (HKDF, PBKDF2, ECDH)', async (t) => {
  const { alice, bob } = await twoUsers(t);

  const open = await alice.create({ algorithm: 'AES', length: 256 });
  const readable = await derivedUid(alice, derive(open, 'HKDF'));
  t.equal(await outcome(alice.get(readable)), 'ok', 'control: from an unprotected base the template\'s readable key is readable');

  const hkdfBase = await alice.create({ algorithm: 'AES', length: 256, sensitive: true, extractable: false });
  await grant(alice, hkdfBase, 'bob', ['derive_key']);
  const bobs = await derivedUid(bob, derive(hkdfBase, 'HKDF'));
  t.equal(await outcome(bob.get(bobs)), 'Not_Extractable', 'HKDF by a grantee from a non-extractable, sensitive key: the grantee owns the result but cannot Get it');
  t.same(await protection(bob, bobs), { Sensitive: true, Extractable: false, AlwaysSensitive: true, NeverExtractable: true }, 'HKDF: inherits Sensitive and Extractable, and the base\'s history');

  const sensitiveBase = await alice.create({ algorithm: 'AES', length: 256, sensitive: true });
  const fromSensitive = await derivedUid(alice, derive(sensitiveBase, 'HKDF'));
  t.equal(await outcome(alice.get(fromSensitive)), 'Sensitive', 'HKDF from a sensitive (extractable) base: the result is sensitive');
  t.same(await protection(alice, fromSensitive), { Sensitive: true, Extractable: true, AlwaysSensitive: true, NeverExtractable: false }, 'and its history follows PKCS#11 C_DeriveKey');

  const registeredBase = await alice.register(symmetricKeyObject(KEY), { sensitive: true, extractable: false });
  const fromRegistered = await derivedUid(alice, derive(registeredBase, 'HKDF'));
  t.same(await protection(alice, fromRegistered), { Sensitive: true, Extractable: false, AlwaysSensitive: false, NeverExtractable: false }, 'from a registered base: protected, and no history the base does not have');

  const password = await alice.register(secretDataObject(Buffer.from('correct horse battery staple'), 'Password'), { sensitive: true, extractable: false });
  const fromPassword = await derivedUid(alice, derive(password, 'PBKDF2'));
  t.equal(await outcome(alice.get(fromPassword)), 'Not_Extractable', 'PBKDF2 from a protected password (SecretData)');
  t.same(await protection(alice, fromPassword), { Sensitive: true, Extractable: false, AlwaysSensitive: false, NeverExtractable: false });

  const own = await alice.createKeyPair({ algorithm: 'ECDH', curve: 'P256', sensitive: true, extractable: false });
  const peer = await alice.createKeyPair({ algorithm: 'ECDH', curve: 'P256' });
  const peerSpki = (await alice.get(peer.publicKeyId, { keyFormatType: 'X509' })).bytes as Buffer;
  const shared = await derivedUid(alice, derive(own.privateKeyId, 'AsymmetricKey', peerSpki));
  t.equal(await outcome(alice.get(shared)), 'Not_Extractable', 'ECDH with a protected private key');
  t.same(await protection(alice, shared), { Sensitive: true, Extractable: false, AlwaysSensitive: true, NeverExtractable: true });
});

t.test('ReKey by a grantee leaves the replacement its owner\'s, with the original\'s grants', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const uid = await alice.create({ algorithm: 'AES', length: 256 });
  await grant(alice, uid, 'bob', ['rekey', 'encrypt']);
  await grant(alice, uid, '*', ['get_attributes']);
  const fresh = String((await call(bob, 'ReKey', uid)).value.find((n) => n.tag === 'UniqueIdentifier')?.value);
  const owned = ((await alice.rest('GET', '/access/owned')) as Array<{ object_id: string }>).map((o) => o.object_id);
  t.ok(owned.includes(fresh), 'the replacement is listed among alice\'s objects');
  t.same(await bob.rest('GET', '/access/owned'), [], 'bob owns nothing');
  t.equal(await outcome(alice.get(fresh)), 'ok', 'the owner can Get the replacement');
  t.equal(await outcome(alice.encrypt(fresh, Buffer.from('data'))), 'ok', 'and Encrypt with it');
  t.same(await alice.rest('GET', `/access/list/${fresh}`), await alice.rest('GET', `/access/list/${uid}`), 'the grants are those of the original');
  t.equal(await outcome(bob.encrypt(fresh, Buffer.from('data'))), 'ok', 'bob keeps encrypt');
  t.equal(await outcome(bob.get(fresh)), 'Permission_Denied', 'and gets no more than he had');

  const pair = await alice.createKeyPair({ algorithm: 'EC', curve: 'P256' });
  await grant(alice, pair.privateKeyId, 'bob', ['rekey', 'sign']);
  await grant(alice, pair.publicKeyId, 'bob', ['rekey', 'signature_verify']);
  const rk = await bob.call(T.struct('ReKeyKeyPair', [T.text('PrivateKeyUniqueIdentifier', pair.privateKeyId)]));
  const priv = String(rk.value.find((n) => n.tag === 'PrivateKeyUniqueIdentifier')?.value);
  const pub = String(rk.value.find((n) => n.tag === 'PublicKeyUniqueIdentifier')?.value);
  const ownedAfter = ((await alice.rest('GET', '/access/owned')) as Array<{ object_id: string }>).map((o) => o.object_id);
  t.ok(ownedAfter.includes(priv) && ownedAfter.includes(pub), 'ReKeyKeyPair: both halves are alice\'s');
  t.same(await bob.rest('GET', '/access/owned'), [], 'bob still owns nothing');
  t.same(await alice.rest('GET', `/access/list/${priv}`), await alice.rest('GET', `/access/list/${pair.privateKeyId}`), 'the private key\'s grants are carried over');
  t.same(await alice.rest('GET', `/access/list/${pub}`), await alice.rest('GET', `/access/list/${pair.publicKeyId}`), 'and the public key\'s');
  const signature = await alice.sign(priv, Buffer.from('data'));
  t.equal(await bob.verify(pub, Buffer.from('data'), signature), true, 'alice signs with the new key, bob verifies');
});

t.test('a grantee racing attribute edits against the owner\'s tightening cannot undo it (no lost update)', async (t) => {
  const { alice, bob } = await twoUsers(t);
  // Each round: alice makes her key non-extractable while bob, holding set_attribute and get,
  // sends edits of another attribute at the same moment. Each of bob's edits reads the object
  // and writes it back whole; were a write not conditional on what was read, one that read
  // before alice's change and wrote after it would set Extractable back to true.
  for (let round = 0; round < 12; round++) {
    const uid = await alice.register(symmetricKeyObject(KEY));
    await grant(alice, uid, 'bob', ['get', 'set_attribute']);
    // Alice's request goes out among bob's, at a different place each round.
    const requests: Promise<string>[] = [];
    for (let i = 0; i < 12; i++) {
      if (i === round) requests.push(outcome(call(alice, 'SetAttribute', uid, T.struct('NewAttribute', [T.bool('Extractable', false)]))));
      requests.push(outcome(call(bob, 'SetAttribute', uid, T.struct('NewAttribute', [T.text('Description', `bob ${i}`)]))));
    }
    const results = await Promise.all(requests);
    t.same(results, results.map(() => 'ok'), `round ${round}: every edit succeeded (a stale one runs again on the fresh object)`);
    t.equal((await attrs(alice, uid))['Extractable'], false, `round ${round}: Extractable stayed false`);
    t.equal(await outcome(bob.get(uid)), 'Not_Extractable', `round ${round}: bob cannot Get the key`);
  }
});
