import t from 'tap';
import pg from 'pg';
import { PostgresStore } from '../../src/server/store/postgres';
import { PG_SCHEMA_VERSION } from '../../src/server/store/postgres-schema';
import type { StoredObjectWrite } from '../../src/server/store/store';
import { reasonOf } from '../support/client';
import { freshDatabase, onPostgres } from '../support/postgres';

// Needs a cluster; the PostgreSQL pass of scripts/test.sh has one (P11KMS_TEST_DB=postgresql).
const skip = onPostgres ? false : 'PostgreSQL store: runs in the PostgreSQL pass (P11KMS_TEST_DB=postgresql)';

async function query<R extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql, values)).rows;
  } finally {
    await c.end();
  }
}

function object(uid: string, createdAt: number, extra: Partial<StoredObjectWrite> = {}): StoredObjectWrite {
  return {
    uid, objectType: 'SymmetricKey', state: 'Active', owner: 'admin', attributesJson: '{}', tags: [], names: [],
    algorithm: 'AES', length: 256, material: Buffer.alloc(32, 7), createdAt, updatedAt: createdAt, wrappingKey: null, ...extra,
  };
}

t.test('servers starting together migrate once, under the advisory lock', { skip }, async (t) => {
  const url = await freshDatabase(t);
  const stores = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.open(url)));
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  t.same(await query(url, 'SELECT version FROM p11kms_schema'), [{ version: PG_SCHEMA_VERSION }], 'one version row, at the newest version');
  await stores[0]!.insert(object('a', 1));
  t.ok(await stores[5]!.exists('a'), 'every process sees the others\' writes: nothing is cached');
});

t.test('a database newer than the server is refused', { skip }, async (t) => {
  const url = await freshDatabase(t);
  await (await PostgresStore.open(url)).close();
  await query(url, 'UPDATE p11kms_schema SET version = version + 1');
  await t.rejects(PostgresStore.open(url), { message: `database schema version ${PG_SCHEMA_VERSION + 1} is newer than this server (${PG_SCHEMA_VERSION})` });
});

t.test('a failed migration leaves the version where it was', { skip }, async (t) => {
  const url = await freshDatabase(t);
  // A table the first migration will try to create: it fails inside its transaction.
  await query(url, 'CREATE TABLE objects (x int)');
  await t.rejects(PostgresStore.open(url), /already exists/);
  t.same(await query(url, 'SELECT version FROM p11kms_schema'), [{ version: 0 }]);
  t.same(await query(url, "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'grants'"), [{ n: 0 }], 'nothing of it stays');
});

t.test('reads, writes, Locate order and filters, grants, audit', { skip }, async (t) => {
  const store = await PostgresStore.open(await freshDatabase(t));
  t.teardown(() => store.close());
  // Same created_at for b and c: insertion order breaks the tie, as rowid does in SQLite.
  await store.insert(object('c', 5, { tags: ['x', 'y'], names: ['disk'] }));
  await store.insert(object('b', 5, { tags: ['x'], wrappingKey: 'hsm::1::kek' }));
  await store.insert(object('a', 9, { objectType: 'PrivateKey', state: 'PreActive' }));
  t.equal(await reasonOf(store.insert(object('a', 1))), 'Object_Already_Exists');
  t.equal(await reasonOf(store.update(object('nope', 1))), 'Object_Not_Found');
  t.same(await store.locate({}), ['c', 'b', 'a']);
  t.same(await store.locate({ tags: ['x'] }), ['c', 'b']);
  t.same(await store.locate({ tags: ['x', 'y'] }), ['c'], 'every tag asked for');
  t.same(await store.locate({ names: ['disk'] }), ['c']);
  t.same(await store.locate({ states: ['PreActive'], objectType: 'PrivateKey' }), ['a']);
  t.same(await store.locate({ wrappedBy: ['hsm::1::kek'] }), ['b']);
  t.same(await store.locate({ wrappedBy: [] }), [], 'an empty list matches nothing');
  t.same(await store.locate({ uids: ['a', 'c'] }), ['c', 'a']);
  t.same(await store.locate({ uids: [] }), []);

  await store.update(object('c', 5, { tags: ['z'], names: [], state: 'Deactivated', updatedAt: 7, material: null }));
  t.match(await store.get('c'), { tags: ['z'], state: 'Deactivated', createdAt: 5, updatedAt: 7, material: null });
  t.same(await store.locate({ tags: ['x'] }), ['b'], 'the old tags are gone');
  t.same((await store.get('b'))?.material, Buffer.alloc(32, 7));

  await store.grant('b', 'alice', ['encrypt', 'get']);
  await store.grant('b', 'alice', ['get']);
  t.equal(await reasonOf(store.grant('missing', 'alice', ['get'])), 'Object_Not_Found');
  t.same((await store.grantsOf('b')).map((g) => g.operation).sort(), ['encrypt', 'get']);
  await store.revoke('b', 'alice', ['encrypt', 'never-granted']);
  t.same(await store.grantedTo('alice'), [{ uid: 'b', user: 'alice', operation: 'get' }]);
  await store.remove('b');
  t.same(await store.grantsOf('b'), [], 'grants go with their object');
  t.equal(await store.get('b'), undefined);

  await store.appendAudit({ time: 10, user: 'alice', operation: 'Get', uids: ['b'], result: 'Success' });
  await store.appendAudit({ time: 20, user: 'bob', operation: 'Encrypt', uids: ['c', 'b'], result: 'Permission_Denied' });
  await store.appendAudit({ time: 30, user: 'alice', operation: 'Create', uids: ['d'], result: 'Success' });
  t.same((await store.readAudit({ limit: 10 })).map((r) => r.time), [30, 20, 10], 'newest first');
  t.same(await store.readAudit({ uid: 'b', user: 'bob', limit: 10 }), [{ time: 20, user: 'bob', operation: 'Encrypt', uids: ['c', 'b'], result: 'Permission_Denied' }]);
  t.same((await store.readAudit({ since: 20, limit: 1 })).map((r) => r.time), [30]);
});
