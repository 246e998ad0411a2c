import t from 'tap';
import { T, child } from '../../src/kmip/ttlv';
import type { KmipClient } from '../../src/kmip/client';
import { symmetricKeyObject } from '../../src/kmip/requests';
import { grant, outcome, revokeGrant, twoUsers } from '../support/two-users';

/** The objects one case acts on: `uid` is the one the request names, `all` every one it touches (a pair's halves). */
interface Target {
  uid: string;
  all: string[];
  bytes?: Buffer;
}

interface Case {
  operation: string;
  /** The Cosmian operation type that allows it. */
  type: string;
  /** Run by alice, the owner: fresh objects for every column of the matrix. */
  setup(alice: KmipClient): Promise<Target>;
  run(client: KmipClient, target: Target): Promise<unknown>;
  /**
   * Without the right, the operation succeeds on an object of the caller's own under the same
   * UID and leaves the owner's untouched (Import: a client-chosen UID lives in its owner's
   * namespace, so another user's object neither exists for it nor blocks it).
   */
  intoOwnNamespace?: true;
}

const DATA = Buffer.from('the quick brown fox');
const IV = Buffer.alloc(12, 7);
const name = (value: string) => T.struct('Name', [T.text('NameValue', value), T.enum('NameType', 'UninterpretedTextString')]);
const aes = async (alice: KmipClient): Promise<Target> => {
  const uid = await alice.create({ algorithm: 'AES', length: 256, label: 'first' });
  return { uid, all: [uid] };
};
const ecPair = async (alice: KmipClient, pick: 'privateKeyId' | 'publicKeyId'): Promise<Target> => {
  const pair = await alice.createKeyPair({ algorithm: 'EC', curve: 'P256' });
  return { uid: pair[pick], all: [pair.privateKeyId, pair.publicKeyId] };
};
const call = (c: KmipClient, op: string, uid: string, ...rest: Parameters<typeof T.struct>[1]) => c.call(T.struct(op, [T.text('UniqueIdentifier', uid), ...rest]));

/** Every KMIP operation that acts on an existing object. */
const CASES: Case[] = [
  { operation: 'Get', type: 'get', setup: aes, run: (c, x) => c.get(x.uid) },
  { operation: 'Export', type: 'export', setup: aes, run: (c, x) => c.export(x.uid) },
  { operation: 'GetAttributes', type: 'get_attributes', setup: aes, run: (c, x) => c.getAttributes(x.uid) },
  { operation: 'GetAttributeList', type: 'get_attributes', setup: aes, run: (c, x) => call(c, 'GetAttributeList', x.uid) },
  { operation: 'AddAttribute', type: 'add_attribute', setup: aes, run: (c, x) => call(c, 'AddAttribute', x.uid, T.struct('NewAttribute', [name('second')])) },
  { operation: 'SetAttribute', type: 'set_attribute', setup: aes, run: (c, x) => call(c, 'SetAttribute', x.uid, T.struct('NewAttribute', [T.text('Description', 'shared')])) },
  {
    operation: 'ModifyAttribute', type: 'modify_attribute', setup: aes,
    run: (c, x) => call(c, 'ModifyAttribute', x.uid, T.struct('CurrentAttribute', [name('first')]), T.struct('NewAttribute', [name('renamed')])),
  },
  {
    operation: 'DeleteAttribute', type: 'delete_attribute',
    setup: async (alice) => {
      const x = await aes(alice);
      await call(alice, 'SetAttribute', x.uid, T.struct('NewAttribute', [T.text('Description', 'to delete')]));
      return x;
    },
    run: (c, x) => call(c, 'DeleteAttribute', x.uid, T.enum('AttributeReference', 'Description')),
  },
  {
    operation: 'Activate', type: 'activate',
    setup: async (alice) => {
      const uid = await alice.create({ algorithm: 'AES', length: 256, activationDate: null });
      return { uid, all: [uid] };
    },
    run: (c, x) => c.activate(x.uid),
  },
  { operation: 'Revoke', type: 'revoke', setup: aes, run: (c, x) => c.revoke(x.uid, 'CessationOfOperation') },
  {
    operation: 'Destroy', type: 'destroy',
    setup: async (alice) => {
      const x = await aes(alice);
      await alice.revoke(x.uid, 'CessationOfOperation');
      return x;
    },
    run: (c, x) => c.destroy(x.uid),
  },
  { operation: 'ReKey', type: 'rekey', setup: aes, run: (c, x) => call(c, 'ReKey', x.uid) },
  {
    operation: 'ReKeyKeyPair', type: 'rekey', setup: (alice) => ecPair(alice, 'privateKeyId'),
    run: (c, x) => c.call(T.struct('ReKeyKeyPair', [T.text('PrivateKeyUniqueIdentifier', x.uid)])),
  },
  { operation: 'Encrypt', type: 'encrypt', setup: aes, run: (c, x) => c.encrypt(x.uid, DATA, { iv: IV }) },
  {
    operation: 'Decrypt', type: 'decrypt',
    setup: async (alice) => {
      const x = await aes(alice);
      const e = await alice.encrypt(x.uid, DATA, { iv: IV });
      return { ...x, bytes: Buffer.concat([e.data, e.tag as Buffer]) };
    },
    run: (c, x) => c.decrypt(x.uid, (x.bytes as Buffer).subarray(0, DATA.length), { iv: IV, tag: (x.bytes as Buffer).subarray(DATA.length) }),
  },
  { operation: 'Sign', type: 'sign', setup: (alice) => ecPair(alice, 'privateKeyId'), run: (c, x) => c.sign(x.uid, DATA) },
  {
    operation: 'SignatureVerify', type: 'signature_verify',
    setup: async (alice) => {
      const pair = await alice.createKeyPair({ algorithm: 'EC', curve: 'P256' });
      return { uid: pair.publicKeyId, all: [pair.privateKeyId, pair.publicKeyId], bytes: await alice.sign(pair.privateKeyId, DATA) };
    },
    run: (c, x) => c.verify(x.uid, DATA, x.bytes as Buffer),
  },
  {
    operation: 'MAC', type: 'mac',
    setup: async (alice) => {
      const uid = await alice.create({ algorithm: 'HMACSHA256' });
      return { uid, all: [uid] };
    },
    run: (c, x) => c.mac(x.uid, DATA),
  },
  {
    operation: 'MACVerify', type: 'mac',
    setup: async (alice) => {
      const uid = await alice.create({ algorithm: 'HMACSHA256' });
      return { uid, all: [uid], bytes: await alice.mac(uid, DATA) };
    },
    run: (c, x) => call(c, 'MACVerify', x.uid, T.bytes('Data', DATA), T.bytes('MACData', x.bytes as Buffer)),
  },
  {
    operation: 'DeriveKey', type: 'derive_key',
    setup: async (alice) => {
      const own = await alice.createKeyPair({ algorithm: 'ECDH', curve: 'P256' });
      const peer = await alice.createKeyPair({ algorithm: 'ECDH', curve: 'P256' });
      return { uid: own.privateKeyId, all: [own.privateKeyId], bytes: (await alice.get(peer.publicKeyId, { keyFormatType: 'X509' })).bytes as Buffer };
    },
    run: (c, x) => c.call(T.struct('DeriveKey', [
      T.enum('ObjectType', 'SymmetricKey'),
      T.text('ObjectUniqueIdentifier', x.uid),
      T.enum('DerivationMethod', 'AsymmetricKey'),
      T.struct('DerivationParameters', [T.bytes('DerivationData', x.bytes as Buffer)]),
      T.struct('Attributes', [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256)]),
    ])),
  },
  {
    operation: 'Certify', type: 'certify', setup: (alice) => ecPair(alice, 'publicKeyId'),
    run: (c, x) => c.certify({ keyUid: x.uid, subject: 'CN=shared' }),
  },
  {
    operation: 'Import', type: 'import', intoOwnNamespace: true,
    setup: async (alice) => {
      const bytes = Buffer.alloc(32, 5);
      const uid = await alice.register(symmetricKeyObject(bytes));
      return { uid, all: [uid], bytes };
    },
    run: (c, x) => c.import(x.uid, symmetricKeyObject(Buffer.alloc(32, 9)), {}, { replaceExisting: true }),
  },
];

/** The operations that answer a key they cannot use as Cosmian does: Item_Not_Found, "<Op>: no valid key for id". */
const CRYPTO_OPERATIONS = new Set(['Encrypt', 'Decrypt', 'Sign', 'SignatureVerify', 'MAC', 'MACVerify']);

/** A right that is not the one a case needs. */
const otherType = (type: string): string => (type === 'get' ? 'encrypt' : 'get');

t.test('two users across every operation: owner, no grant, the right grant, another grant, a grant to "*"', async (t) => {
  const { alice, bob } = await twoUsers(t);
  for (const c of CASES) {
    const owner = await outcome(c.run(alice, await c.setup(alice)));
    t.equal(owner, 'ok', `${c.operation}: the owner may`);

    const untouched = async (x: Target, what: string) => t.same((await alice.get(x.uid)).bytes, x.bytes, `${c.operation}: ${what}: alice's object is untouched`);
    const hidden = await c.setup(alice);
    if (c.intoOwnNamespace) {
      t.equal(await outcome(c.run(bob, hidden)), 'ok', `${c.operation}: without a grant bob gets his own object under that UID`);
      await untouched(hidden, 'no grant');
    } else {
      // Cosmian's words for "no such object": a cryptographic operation finds no valid key, the others no object (cosmian-errors.test.ts).
      t.equal(await outcome(c.run(bob, hidden)), CRYPTO_OPERATIONS.has(c.operation) ? 'Item_Not_Found' : 'Object_Not_Found', `${c.operation}: without a grant the object does not exist for bob`);
    }

    const granted = await c.setup(alice);
    for (const uid of granted.all) await grant(alice, uid, 'bob', [c.type]);
    t.equal(await outcome(c.run(bob, granted)), 'ok', `${c.operation}: a grant of ${c.type} allows it`);

    const other = await c.setup(alice);
    for (const uid of other.all) await grant(alice, uid, 'bob', [otherType(c.type)]);
    if (c.intoOwnNamespace) {
      t.equal(await outcome(c.run(bob, other)), 'ok', `${c.operation}: with a grant of ${otherType(c.type)} only, bob gets his own object`);
      await untouched(other, `a grant of ${otherType(c.type)}`);
    } else {
      t.equal(await outcome(c.run(bob, other)), 'Permission_Denied', `${c.operation}: a grant of ${otherType(c.type)} only is Permission_Denied`);
    }

    const everyone = await c.setup(alice);
    for (const uid of everyone.all) await grant(alice, uid, '*', [c.type]);
    t.equal(await outcome(c.run(bob, everyone)), 'ok', `${c.operation}: a grant of ${c.type} to "*" allows it for bob`);
  }
});

t.test('operations on no object work for every user, and what bob creates is his', async (t) => {
  const { alice, bob } = await twoUsers(t);
  t.equal(await outcome(bob.hash('SHA256', DATA)), 'ok');
  t.equal(await outcome(bob.rng(16)), 'ok');
  t.equal(await outcome(bob.query()), 'ok');
  t.equal(await outcome(bob.discoverVersions()), 'ok');
  const key = await bob.create({ algorithm: 'AES', length: 128 });
  const pair = await bob.createKeyPair({ algorithm: 'EC', curve: 'P256' });
  const registered = await bob.register(symmetricKeyObject(Buffer.alloc(16, 1)));
  for (const uid of [key, pair.privateKeyId, pair.publicKeyId, registered]) {
    t.equal(await outcome(bob.get(uid)), 'ok', `bob uses his ${uid}`);
    t.equal(await outcome(alice.getAttributes(uid)), 'Object_Not_Found', 'alice does not see it');
  }
});

t.test('Locate shows owned objects and granted ones, whatever the right; tag selectors only owned ones', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const mine = await bob.create({ algorithm: 'AES', length: 128, tags: ['team'] });
  const hers = await alice.create({ algorithm: 'AES', length: 128, tags: ['team'] });
  const shared = await alice.create({ algorithm: 'AES', length: 128, tags: ['team', 'shared'] });
  const wildcard = await alice.create({ algorithm: 'AES', length: 128, tags: ['team'] });
  t.same(await bob.locate({ tags: ['team'] }), [mine], 'before any grant bob locates only his own key');
  await grant(alice, shared, 'bob', ['encrypt']);
  await grant(alice, wildcard, '*', ['get_attributes']);
  t.same(await bob.locate({ tags: ['team'] }), [mine, shared, wildcard], 'then also the granted ones, after his own');
  t.same(await bob.locate({ tags: ['team'], algorithm: 'AES' }), [mine, shared, wildcard], 'the indexed filters apply to granted objects too');
  t.same(await bob.locate({ tags: ['team'], algorithm: 'RSA' }), []);
  t.notOk((await bob.locate({ tags: ['team'] })).includes(hers), 'never an object bob holds nothing on');

  const selector = JSON.stringify(['shared']);
  // A tag selector names only the caller's own objects (attack-lookups.test.ts): a granted key is named by its UID.
  t.equal(await outcome(bob.encrypt(selector, DATA)), 'Item_Not_Found', 'a tag selector does not resolve to a key only granted to bob');
  t.equal(await outcome(bob.encrypt(shared, DATA)), 'ok', 'its UID does, for encrypt');
  t.equal(await outcome(bob.get(shared)), 'Permission_Denied', 'but not for get');
  await revokeGrant(alice, shared, 'bob', ['encrypt']);
  t.equal(await outcome(bob.encrypt(shared, DATA)), 'Item_Not_Found', 'after the revocation the UID names nothing bob may see');
  t.same(await bob.locate({ tags: ['team'] }), [mine, wildcard]);
});

t.test('the ID placeholder follows the same rules', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const uid = await alice.create({ algorithm: 'AES', length: 256 });
  await grant(alice, uid, 'bob', ['get_attributes']);
  // GetAttributes names the key, which becomes the placeholder; Encrypt without a UID then uses it.
  const [first, second] = await bob.batch([
    T.struct('GetAttributes', [T.text('UniqueIdentifier', uid)]),
    T.struct('Encrypt', [T.bytes('Data', DATA)]),
  ], { continueOnError: true });
  t.ok(first?.ok, 'the granted operation runs');
  t.equal(second?.ok ? 'ok' : second?.error.reason, 'Permission_Denied', 'the placeholder does not widen the grant');
});

t.test('granting, revoking and listing: owner only, Cosmian shapes', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const uid = await alice.create({ algorithm: 'AES', length: 256 });
  t.equal(await outcome(grant(bob, uid, 'carol', ['get'])), 'Object_Not_Found', 'a stranger cannot grant, nor learn the key exists');
  t.equal(await outcome(bob.rest('GET', `/access/list/${uid}`)), 'Object_Not_Found');
  t.same(await grant(alice, uid, 'bob', ['get', 'GetAttributes', 'signatureverify']), { success: 'Access for bob successfully added' });
  t.equal(await outcome(grant(bob, uid, 'carol', ['get'])), 'Permission_Denied', 'a grantee cannot pass rights on');
  t.equal(await outcome(revokeGrant(bob, uid, 'bob', ['get'])), 'Permission_Denied', 'nor revoke them');
  t.equal(await outcome(bob.rest('GET', `/access/list/${uid}`)), 'Permission_Denied');
  t.equal(await outcome(grant(alice, uid, 'alice', ['get'])), 'Invalid_Field', 'the owner has every right already');
  t.equal(await outcome(grant(alice, uid, 'bob', ['fly'])), 'Invalid_Field', 'an unknown operation type is refused');
  t.equal(await outcome(grant(alice, 'no-such-key', 'bob', ['get'])), 'Object_Not_Found');
  t.equal(await outcome(alice.rest('POST', '/access/grant', { unique_identifier: uid, user_id: 'bob' })), 'Missing_Data');
  await grant(alice, uid, '*', ['encrypt']);
  t.same(await alice.rest('GET', `/access/list/${uid}`), [
    { user_id: '*', operations: ['encrypt'] },
    { user_id: 'bob', operations: ['get', 'getattributes', 'signatureverify'] },
  ], 'the list uses Cosmian\'s wire spellings');
  t.same(await revokeGrant(alice, uid, 'bob', ['get']), { success: 'Access for bob successfully deleted' });
  t.same(await alice.rest('GET', `/access/list/${uid}`), [
    { user_id: '*', operations: ['encrypt'] },
    { user_id: 'bob', operations: ['getattributes', 'signatureverify'] },
  ]);

  const owned = (await alice.rest('GET', '/access/owned')) as Array<Record<string, unknown>>;
  t.same(owned, [{ object_id: uid, state: 'Active', attributes: { ObjectType: 'SymmetricKey', CryptographicAlgorithm: 'AES', CryptographicLength: 256 } }]);
  t.same(await bob.rest('GET', '/access/owned'), []);
  t.same(await bob.rest('GET', '/access/obtained'), [
    { object_id: uid, owner_id: 'alice', state: 'Active', operations: ['encrypt', 'getattributes', 'signatureverify'] },
  ], 'one entry per object, direct and "*" rights together');
  t.same(await alice.rest('GET', '/access/obtained'), [], 'an owner\'s "*" grant is not something it obtained');
});

t.test('destroying or removing an object drops its grants', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const uid = await alice.create({ algorithm: 'AES', length: 256 });
  await grant(alice, uid, 'bob', ['get', 'export']);
  await alice.revoke(uid, 'CessationOfOperation');
  await alice.destroy(uid);
  t.same(await alice.rest('GET', `/access/list/${uid}`), [], 'no grant survives the Destroy');
  t.equal(await outcome(bob.export(uid)), 'Object_Not_Found', 'the destroyed object is invisible to bob again');
  t.equal(await outcome(grant(alice, uid, 'bob', ['export'])), 'Wrong_Key_Lifecycle_State', 'and cannot be shared again');

  const removed = await alice.create({ algorithm: 'AES', length: 256, activationDate: null });
  await grant(alice, removed, '*', ['get']);
  await alice.destroy(removed, { remove: true });
  t.same(await bob.rest('GET', '/access/obtained'), [], 'a removed object leaves no grant behind');
});

t.test('a grantee re-importing a key leaves it its owner\'s', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const uid = await alice.create({ algorithm: 'AES', length: 256 });
  await grant(alice, uid, 'bob', ['import']);
  await bob.import(uid, symmetricKeyObject(Buffer.alloc(32, 3)), {}, { replaceExisting: true });
  t.same((await alice.get(uid)).bytes, Buffer.alloc(32, 3), 'the new value replaced the old');
  t.same(await bob.rest('GET', '/access/owned'), [], 'bob did not become the owner');
  t.equal(child((await alice.call(T.struct('GetAttributes', [T.text('UniqueIdentifier', uid)]))), 'UniqueIdentifier')?.value, uid);
});
