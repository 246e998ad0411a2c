import t from 'tap';
import { T, type TtlvNode } from '../../src/kmip/ttlv';
import { reasonOf, serverAndClient } from '../support/client';

t.test('Locate filters on type, algorithm, length, name, tags and state, with paging', async (t) => {
  const { client } = await serverAndClient(t);
  const a128 = await client.create({ algorithm: 'AES', length: 128, label: 'alpha', tags: ['disk', 'team-a'] });
  const a256 = await client.create({ algorithm: 'AES', length: 256, label: 'beta', tags: ['disk'] });
  const hmac = await client.create({ algorithm: 'HMACSHA256', label: 'gamma', tags: ['mac'] });
  const pair = await client.createKeyPair({ algorithm: 'RSA', length: 2048, label: 'delta', tags: ['disk'] });
  const pre = await client.create({ algorithm: 'AES', length: 128, activationDate: null, tags: ['pending'] });

  t.same(new Set(await client.locate({ objectType: 'SymmetricKey' })), new Set([a128, a256, hmac, pre]));
  t.same(new Set(await client.locate({ algorithm: 'AES' })), new Set([a128, a256, pre]));
  t.same(new Set(await client.locate({ algorithm: 'AES', length: 128 })), new Set([a128, pre]));
  t.same(await client.locate({ name: 'beta' }), [a256]);
  t.same(new Set(await client.locate({ tags: ['disk'] })), new Set([a128, a256, pair.privateKeyId, pair.publicKeyId]));
  t.same(await client.locate({ tags: ['disk', 'team-a'] }), [a128], 'several tags: all must match');
  t.same(await client.locate({ objectType: 'PrivateKey', tags: ['disk'] }), [pair.privateKeyId]);
  t.same(await client.locate({ state: 'PreActive' }), [pre]);
  t.same(new Set(await client.locate({ tags: ['_sk'] })), new Set([pair.privateKeyId]), 'system tags are searchable');
  const all = await client.locate({});
  t.equal(all.length, 6, 'an empty filter finds everything');
  const page1 = await client.locate({ maximumItems: 4 });
  const page2 = await client.locate({ maximumItems: 4, offsetItems: 4 });
  t.equal(page1.length, 4);
  t.equal(page2.length, 2);
  t.same(new Set([...page1, ...page2]), new Set(all), 'pages cover everything once');
  const response = await client.call(T.struct('Locate', [T.int('MaximumItems', 1), T.struct('Attributes', [])]));
  t.equal(response.value.find((n) => n.tag === 'LocatedItems')?.value, 6, 'LocatedItems counts every match');
  t.equal(await reasonOf(client.call(T.struct('Get', [T.text('UniqueIdentifier', '["disk"]')]))), 'Invalid_Field', 'a tag selector matching several objects is refused');
  const bySelector = await client.call(T.struct('Get', [T.text('UniqueIdentifier', '["team-a"]')]));
  t.equal(bySelector.value.find((n) => n.tag === 'UniqueIdentifier')?.value, a128, 'a tag selector matching one object resolves to it');
});

t.test('attribute operations', async (t) => {
  const { client } = await serverAndClient(t);
  const uid = await client.create({ algorithm: 'AES', label: 'first', tags: ['one'] });
  const list = await client.call(T.struct('GetAttributeList', [T.text('UniqueIdentifier', uid)]));
  const names = list.value.filter((n) => n.tag === 'AttributeReference').map((n) => String(n.value));
  t.ok(names.includes('CryptographicAlgorithm') && names.includes('State') && names.includes('Name'), `GetAttributeList: ${names.join(', ')}`);

  const view = await client.getAttributes(uid);
  t.same(view.tags, [], 'tags are not returned unless asked for');
  const withTags = await client.call(T.struct('GetAttributes', [T.text('UniqueIdentifier', uid), T.struct('AttributeReference', [T.text('VendorIdentification', 'cosmian'), T.text('AttributeName', 'tag')])]));
  t.match(JSON.stringify(withTags.value), /\[\\"one\\"\]/, 'the tag vendor attribute when asked for');

  const call = (op: string, attr: TtlvNode, holder = 'NewAttribute') =>
    client.call(T.struct(op, [T.text('UniqueIdentifier', uid), T.struct(holder, [attr])]));
  await call('AddAttribute', T.struct('Name', [T.text('NameValue', 'second'), T.enum('NameType', 'UninterpretedTextString')]));
  t.same(new Set(await client.locate({ name: 'second' })), new Set([uid]), 'AddAttribute adds a second Name');
  t.same(await client.locate({ name: 'first' }), [uid], 'and keeps the first');
  await call('SetAttribute', T.text('Description', 'database master key'));
  t.equal((await client.getAttributes(uid, ['Description'])).attributes['Description'], 'database master key');
  await client.call(T.struct('ModifyAttribute', [T.text('UniqueIdentifier', uid), T.struct('CurrentAttribute', [T.struct('Name', [T.text('NameValue', 'first'), T.enum('NameType', 'UninterpretedTextString')])]), T.struct('NewAttribute', [T.struct('Name', [T.text('NameValue', 'renamed'), T.enum('NameType', 'UninterpretedTextString')])])]));
  t.same(await client.locate({ name: 'renamed' }), [uid], 'ModifyAttribute renames');
  t.same(await client.locate({ name: 'first' }), [], 'the old name is gone');
  await client.call(T.struct('DeleteAttribute', [T.text('UniqueIdentifier', uid), T.enum('AttributeReference', 'Description')]));
  t.equal((await client.getAttributes(uid, ['Description'])).attributes['Description'], undefined, 'DeleteAttribute removes');
  t.equal(await reasonOf(call('SetAttribute', T.enum('CryptographicAlgorithm', 'RSA'))), 'Attribute_Read_Only', 'the algorithm cannot change');
  t.equal(await reasonOf(call('SetAttribute', T.enum('State', 'Active'))), 'Attribute_Read_Only', 'nor the state');
  await call('AddAttribute', T.struct('Attribute', [T.text('VendorIdentification', 'cosmian'), T.text('AttributeName', 'tag'), T.text('AttributeValue', '["two"]')]));
  t.same(await client.locate({ tags: ['one', 'two'] }), [uid], 'tags added through AddAttribute');
  t.equal(await reasonOf(call('AddAttribute', T.struct('Attribute', [T.text('VendorIdentification', 'cosmian'), T.text('AttributeName', 'tag'), T.text('AttributeValue', '["_kk"]')]))), 'Invalid_Attribute_Value', 'user tags cannot start with _');
});

t.test('Query and DiscoverVersions', async (t) => {
  const { client } = await serverAndClient(t);
  const q = await client.query();
  for (const op of ['Create', 'Locate', 'Encrypt', 'Certify', 'DeriveKey']) t.ok(q.operations.includes(op), `Query lists ${op}`);
  t.ok(q.objectTypes.includes('SymmetricKey'));
  const versions = await client.discoverVersions();
  t.same(versions[0], { major: 2, minor: 1 }, 'newest first');
  t.ok(versions.some((v) => v.major === 1 && v.minor === 0));
});
