import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encodeJsonText } from '../../src/kmip/json-codec';
import { T } from '../../src/kmip/ttlv';
import { linkAttribute } from '../../src/server/model/attributes';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/server/store/sqlite-schema';
import { SqliteStore } from '../../src/server/store/sqlite';
import { onPostgres } from '../support/postgres';

// SQLite's own migrations (PRAGMA user_version, json_extract back-fill); store-postgres.test.ts checks PostgreSQL's.
const sqliteOnly = onPostgres ? 'SQLite migrations: the PostgreSQL pass runs store-postgres.test.ts instead' : false;

t.test('schema 2 indexes the wrapping key of rows written before it existed', { skip: sqliteOnly }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'kms.sqlite');
  const v1 = new Database(path);
  v1.exec(MIGRATIONS[0] as string);
  v1.pragma('user_version = 1');
  const insert = v1.prepare("INSERT INTO objects (uid, object_type, state, owner, attributes, created_at, updated_at) VALUES (?, 'SymmetricKey', 'Active', 'admin', ?, 0, 0)");
  const attributes = (...links: Array<[string, string]>): string =>
    encodeJsonText(T.struct('Attributes', [T.int('CryptographicLength', 256), ...links.map(([type, uid]) => linkAttribute(type, uid))]));
  insert.run('wrapped', attributes(['ParentLink', 'p'], ['WrappingKeyLink', 'hsm::1::kek']));
  insert.run('parent-only', attributes(['ParentLink', 'hsm::1::kek']));
  insert.run('plain', attributes());
  v1.close();

  const store = new SqliteStore(path);
  t.teardown(() => store.close());
  t.equal(SCHEMA_VERSION, 4);
  t.same(await store.locate({ wrappedBy: ['hsm::1::kek'] }), ['wrapped'], 'only the WrappingKeyLink counts, not another link to the same UID');
  t.same(await store.locate({ wrappedBy: ['hsm::1::other', 'hsm::1::kek'] }), ['wrapped']);
  t.same(await store.locate({ wrappedBy: [] }), [], 'an empty list matches nothing');
  t.same((await store.locate({})).sort(), ['parent-only', 'plain', 'wrapped']);
});
