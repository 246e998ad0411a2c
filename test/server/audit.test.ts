import t from 'tap';
import { openedRow, tableRows } from '../support/db-scan';
import type { KmipClient } from '../../src/kmip/client';
import { cli, jsonOf } from '../cli/harness';
import { grant, outcome, twoUsers } from '../support/two-users';

interface Entry { time: string; user: string; operation: string; uids: string[]; result: string }

const audit = (c: KmipClient, query = ''): Promise<Entry[]> => c.rest('GET', `/audit${query}`) as Promise<Entry[]>;

t.test('every operation is audited, success and failure, and the filters narrow the reading', async (t) => {
  const { alice, bob } = await twoUsers(t, { admins: ['alice'] });
  const started = new Date().toISOString();
  const key = await alice.create({ algorithm: 'AES', length: 256 });
  await alice.get(key);
  t.equal(await outcome(alice.get('no-such-key')), 'Object_Not_Found');
  t.equal(await outcome(bob.get(key)), 'Object_Not_Found');
  await grant(alice, key, 'bob', ['encrypt']);
  await bob.encrypt(key, Buffer.from('hello'));
  const pair = await alice.createKeyPair({ algorithm: 'EC', curve: 'P256' });

  const all = await audit(alice);
  t.same(all.slice(0, 6).map((e) => [e.user, e.operation, e.result, e.uids]).reverse(), [
    ['alice', 'Get', 'Success', [key]],
    ['alice', 'Get', 'Object_Not_Found', ['no-such-key']],
    ['bob', 'Get', 'Object_Not_Found', [key]],
    ['alice', 'Grant', 'Success', [key]],
    ['bob', 'Encrypt', 'Success', [key]],
    ['alice', 'CreateKeyPair', 'Success', [pair.privateKeyId, pair.publicKeyId]],
  ], 'newest first: who, what, which objects, the result');
  t.same(all.at(-1)?.operation, 'Create');
  t.ok(all.every((e) => !Number.isNaN(Date.parse(e.time)) && e.time >= started.slice(0, 19)), 'each record has its time');

  t.same((await audit(alice, `?uid=${key}`)).map((e) => e.operation).reverse(), ['Create', 'Get', 'Get', 'Grant', 'Encrypt'], '?uid= keeps the records naming the key');
  t.same((await audit(alice, '?user=bob')).map((e) => e.operation).reverse(), ['Get', 'Encrypt'], '?user= keeps one user\'s');
  t.equal((await audit(alice, '?limit=2')).length, 2, '?limit= keeps the newest N');
  t.same(await audit(alice, `?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`), [], '?since= drops older records');
  t.equal(await outcome(audit(alice, '?since=yesterday')), 'Invalid_Field');
  t.equal(await outcome(audit(alice, '?limit=0')), 'Invalid_Field');
});

t.test('only the server\'s admins read the audit', async (t) => {
  const { alice, bob } = await twoUsers(t, { admins: ['alice'] });
  t.equal(await outcome(audit(bob)), 'Permission_Denied', 'bob is not an admin');
  t.equal(await outcome(audit(alice)), 'ok');
  const everyone = await twoUsers(t, { admins: ['*'] });
  t.equal(await outcome(audit(everyone.bob)), 'ok', '"*" makes everyone an admin');
  const defaults = await twoUsers(t);
  t.equal(await outcome(audit(defaults.alice)), 'Permission_Denied', 'by default only "admin" is');
});

t.test('the audit never holds key material or data', async (t) => {
  const { alice, dbPath, masterKeyFile } = await twoUsers(t, { admins: ['alice'] });
  const key = await alice.create({ algorithm: 'AES', length: 256 });
  const keyBytes = (await alice.get(key)).bytes as Buffer;
  const exported = (await alice.export(key)).bytes as Buffer;
  const plaintext = Buffer.from('a secret plaintext that must never be written down');
  const encrypted = await alice.encrypt(key, plaintext);
  await alice.decrypt(key, encrypted.data, { iv: encrypted.iv as Buffer, tag: encrypted.tag as Buffer });
  t.ok((await audit(alice)).length >= 5, 'the operations were audited');

  const needles = [keyBytes, exported, plaintext].flatMap((b) => [b, Buffer.from(b.toString('hex')), Buffer.from(b.toString('hex').toUpperCase()), Buffer.from(b.toString('base64').replace(/=+$/, ''))]);
  const rows = await tableRows(dbPath, 'audit');
  t.ok(rows.length >= 5);
  const leaks = rows.flatMap((row) => Object.entries(row).filter(([, v]) => {
    const bytes = Buffer.isBuffer(v) ? v : Buffer.from(Array.isArray(v) ? v.join('\n') : String(v));
    return needles.some((n) => bytes.includes(n));
  }).map(([column]) => column));
  t.same(leaks, [], 'no column of any audit row contains the key, the plaintext or their encodings');
  // The scan is not vacuous: the key is in the objects table.
  t.ok((await openedRow(dbPath, key, masterKeyFile)).material.includes(keyBytes), 'control: the key is in the objects table (sealed by the master key)');
});

t.test('p11kms audit and p11kms access', async (t) => {
  const { alice, cli: as } = await twoUsers(t, { admins: ['alice'] });
  const key = await alice.create({ algorithm: 'AES', length: 256 });
  const granted = await cli([...as.alice, 'access', 'grant', 'bob', key, 'encrypt', 'get_attributes']);
  t.equal(granted.code, 0, granted.stderr);
  t.match(granted.stdout, /successfully added/);
  const list = await cli([...as.alice, '--json', 'access', 'list', key]);
  t.same(jsonOf(list), [{ user_id: 'bob', operations: ['encrypt', 'getattributes'] }]);
  t.equal((await cli([...as.alice, 'access', 'grant', 'bob', key, 'fly'])).code, 2, 'an unknown operation is a usage error');
  t.match((await cli([...as.bob, 'access', 'obtained'])).stdout, new RegExp(`\\[Active\\]\\[alice\\] ${key}: encrypt, getattributes`));
  t.match((await cli([...as.alice, 'access', 'owned'])).stdout, new RegExp(`\\[Active\\] ${key} SymmetricKey AES 256`));
  const revoked = await cli([...as.alice, 'access', 'revoke', 'bob', key, 'encrypt']);
  t.equal(revoked.code, 0, revoked.stderr);
  const refused = await cli([...as.bob, 'access', 'list', key]);
  t.equal(refused.code, 4, 'a grantee may not list the rights');
  t.match(refused.stderr, /Permission_Denied/);

  const records = await cli([...as.alice, '--json', 'audit', '--uid', key, '--user', 'alice', '--limit', '2']);
  t.equal(records.code, 0, records.stderr);
  t.same(jsonOf<Entry[]>(records).map((e) => e.operation), ['RevokeGrant', 'Grant']);
  const text = await cli([...as.alice, 'audit', '--since', '2000-01-01T00:00:00Z', '--limit', '1']);
  t.match(text.stdout, new RegExp(`^\\S+ alice RevokeGrant Success ${key}\\n$`));
  t.equal((await cli([...as.alice, 'audit', '--since', 'soon'])).code, 2, 'a bad time is a usage error');
  const denied = await cli([...as.bob, 'audit']);
  t.equal(denied.code, 4);
  t.match(denied.stderr, /Permission_Denied/);
});
