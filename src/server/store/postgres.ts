import pg from 'pg';
import { COSMIAN_FAILURES, KmipError } from '../../kmip/errors';
import { StaleObjectError, type AuditQuery, type AuditRecord, type Grant, type LocateQuery, type RawObjectStore, type StoredMaterial, type StoredObject, type StoredObjectWrite } from './store';
import { PG_MIGRATION_LOCK, PG_MIGRATIONS, PG_SCHEMA_VERSION, PG_VERSION_TABLE } from './postgres-schema';

interface ObjectRow {
  uid: string;
  object_type: string;
  state: string;
  owner: string;
  algorithm: string | null;
  length: number | null;
  attributes: string;
  tags: string[];
  material: Buffer | null;
  // BIGINT comes back as text: node-postgres will not guess at a JavaScript number for it.
  created_at: string;
  updated_at: string;
}

interface AuditRow {
  time: string;
  user_id: string;
  operation: string;
  uids: string[];
  result: string;
}

/** Connections per process: a worker rarely has more writes in flight than this, and several servers share max_connections. */
const POOL_SIZE = 10;

const SELECT_OBJECT = 'SELECT uid, object_type, state, owner, algorithm, length, attributes, tags, material, created_at, updated_at FROM objects WHERE uid = $1';
const INSERT_OBJECT = `INSERT INTO objects (uid, object_type, state, owner, algorithm, length, attributes, tags, names, material, created_at, updated_at, wrapping_key)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;
// created_at never changes: it orders Locate.
const UPDATE_OBJECT = `UPDATE objects SET object_type=$2, state=$3, owner=$4, algorithm=$5, length=$6, attributes=$7, tags=$8, names=$9,
  material=$10, updated_at=$11, wrapping_key=$12 WHERE uid=$1`;

function pgCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/**
 * PostgreSQL through a node-postgres pool. Every write is one statement in autocommit mode,
 * so its promise resolves only after the server's COMMIT (on disk with the default
 * synchronous_commit=on); concurrent writes from several connections share WAL flushes on
 * the server side. Nothing is cached here: several `p11kms serve` processes may share the
 * database, and every read goes to it.
 */
export class PostgresStore implements RawObjectStore {
  private constructor(private readonly pool: pg.Pool) {}

  /** Connects and brings the schema up to date; fails if the database is unreachable or newer than this server. */
  static async open(url: string): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, idleTimeoutMillis: 30_000 });
    // An idle connection dropped by the server (restart, failover) is an 'error' event on the
    // pool, fatal if unheard; the next query simply opens a new connection.
    pool.on('error', () => undefined);
    try {
      await migrate(pool);
    } catch (e) {
      await pool.end();
      throw e;
    }
    return new PostgresStore(pool);
  }

  /** $1..$10 of both writes; then created_at, updated_at, wrapping_key on insert, updated_at, wrapping_key on update. */
  private params(o: StoredObjectWrite): unknown[] {
    return [o.uid, o.objectType, o.state, o.owner, o.algorithm, o.length, o.attributesJson, o.tags, o.names, o.material];
  }

  async insert(obj: StoredObjectWrite): Promise<void> {
    try {
      await this.pool.query({ name: 'insert-object', text: INSERT_OBJECT, values: [...this.params(obj), obj.createdAt, obj.updatedAt, obj.wrappingKey] });
    } catch (e) {
      if (pgCode(e) === '23505') throw new KmipError('Object_Already_Exists', `an object with identifier ${obj.uid} already exists`);
      throw e;
    }
  }

  async update(obj: StoredObjectWrite): Promise<void> {
    const values = [...this.params(obj), obj.updatedAt, obj.wrappingKey];
    const r = obj.ifAttributesJson === undefined
      ? await this.pool.query({ name: 'update-object', text: UPDATE_OBJECT, values })
      : await this.pool.query({ name: 'update-object-if-unchanged', text: `${UPDATE_OBJECT} AND attributes=$13`, values: [...values, obj.ifAttributesJson] });
    if (r.rowCount === 0) {
      if (obj.ifAttributesJson !== undefined && (await this.exists(obj.uid))) throw new StaleObjectError(obj.uid);
      throw COSMIAN_FAILURES.objectNotFound(obj.uid);
    }
  }

  async remove(uid: string): Promise<void> {
    await this.pool.query({ name: 'remove-object', text: 'DELETE FROM objects WHERE uid = $1', values: [uid] });
  }

  async get(uid: string): Promise<StoredObject | undefined> {
    const r = await this.pool.query<ObjectRow>({ name: 'get-object', text: SELECT_OBJECT, values: [uid] });
    const row = r.rows[0];
    if (!row) return undefined;
    return {
      uid: row.uid,
      objectType: row.object_type,
      state: row.state,
      owner: row.owner,
      attributesJson: row.attributes,
      tags: row.tags,
      algorithm: row.algorithm,
      length: row.length,
      material: row.material,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  }

  async exists(uid: string): Promise<boolean> {
    const r = await this.pool.query({ name: 'exists-object', text: 'SELECT 1 FROM objects WHERE uid = $1', values: [uid] });
    return (r.rowCount ?? 0) > 0;
  }

  async locate(q: LocateQuery): Promise<string[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (v: unknown): string => {
      values.push(v);
      return `$${values.length}`;
    };
    if (q.owner !== undefined) where.push(`o.owner = ${param(q.owner)}`);
    if (q.objectType !== undefined) where.push(`o.object_type = ${param(q.objectType)}`);
    if (q.algorithm !== undefined) where.push(`o.algorithm = ${param(q.algorithm)}`);
    if (q.length !== undefined) where.push(`o.length = ${param(q.length)}`);
    if (q.states && q.states.length > 0) where.push(`o.state = ANY(${param(q.states)}::text[])`);
    // An empty list matches nothing (= ANY of an empty array is false), as in SQLite.
    if (q.wrappedBy) where.push(`o.wrapping_key = ANY(${param(q.wrappedBy)}::text[])`);
    if (q.uids) where.push(`o.uid = ANY(${param(q.uids)}::text[])`);
    // Array containment: every tag (name) asked for is among the object's.
    if (q.tags && q.tags.length > 0) where.push(`o.tags @> ${param(q.tags)}::text[]`);
    if (q.names && q.names.length > 0) where.push(`o.names @> ${param(q.names)}::text[]`);
    const sql = `SELECT o.uid FROM objects o ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY o.created_at, o.seq`;
    const r = await this.pool.query<{ uid: string }>(sql, values);
    return r.rows.map((row) => row.uid);
  }

  async grant(uid: string, user: string, operations: string[]): Promise<void> {
    try {
      await this.pool.query(
        'INSERT INTO grants (uid, user_id, operation) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING',
        [uid, user, operations],
      );
    } catch (e) {
      if (pgCode(e) === '23503') throw COSMIAN_FAILURES.objectNotFound(uid);
      throw e;
    }
  }

  async revoke(uid: string, user: string, operations: string[]): Promise<void> {
    await this.pool.query('DELETE FROM grants WHERE uid = $1 AND user_id = $2 AND operation = ANY($3::text[])', [uid, user, operations]);
  }

  async grantsOf(uid: string): Promise<Grant[]> {
    const r = await this.pool.query<Grant>('SELECT uid, user_id AS "user", operation FROM grants WHERE uid = $1', [uid]);
    return r.rows;
  }

  async grantedTo(user: string): Promise<Grant[]> {
    const r = await this.pool.query<Grant>('SELECT uid, user_id AS "user", operation FROM grants WHERE user_id = $1', [user]);
    return r.rows;
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    await this.pool.query({
      name: 'append-audit',
      text: 'INSERT INTO audit (time, user_id, operation, uids, result) VALUES ($1, $2, $3, $4, $5)',
      values: [record.time, record.user, record.operation, record.uids, record.result],
    });
  }

  async readAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const param = (v: unknown): string => {
      values.push(v);
      return `$${values.length}`;
    };
    if (q.uid !== undefined) where.push(`uids @> ARRAY[${param(q.uid)}::text]`);
    if (q.user !== undefined) where.push(`user_id = ${param(q.user)}`);
    if (q.since !== undefined) where.push(`time >= ${param(q.since)}`);
    const sql = `SELECT time, user_id, operation, uids, result FROM audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY seq DESC LIMIT ${param(q.limit)}`;
    const r = await this.pool.query<AuditRow>(sql, values);
    return r.rows.map((row) => ({ time: Number(row.time), user: row.user_id, operation: row.operation, uids: row.uids, result: row.result }));
  }

  async masterKeyIds(): Promise<string[]> {
    const r = await this.pool.query<{ key_id: string }>('SELECT key_id FROM master_keys ORDER BY added_at, key_id');
    return r.rows.map((row) => row.key_id);
  }

  async adoptMasterKey(id: string, check: (registered: string[]) => void, seal: (uid: string, clear: Buffer) => Buffer): Promise<number> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      let sealed = 0;
      await client.query('BEGIN');
      try {
        // Servers starting together take turns: only one can find the table empty and seal.
        await client.query('LOCK TABLE master_keys IN EXCLUSIVE MODE');
        const registered = (await client.query<{ key_id: string }>('SELECT key_id FROM master_keys ORDER BY added_at, key_id')).rows.map((r) => r.key_id);
        check(registered);
        if (registered.length === 0) {
          const rows = await client.query<StoredMaterial>('SELECT uid, material FROM objects WHERE material IS NOT NULL FOR UPDATE');
          for (const row of rows.rows) {
            await client.query('UPDATE objects SET material = $2 WHERE uid = $1', [row.uid, seal(row.uid, row.material)]);
            sealed++;
          }
        }
        await client.query('INSERT INTO master_keys (key_id, added_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [id, Date.now()]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
      // The clear versions of the rows are dead tuples still in the table's files: rewrite the table without them (once, on upgrade).
      if (sealed > 0) await client.query('VACUUM FULL objects');
      return sealed;
    } catch (e) {
      broken = e instanceof Error && !(e.name === 'MasterKeyError') ? e : undefined;
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async materialPage(after: string, limit: number): Promise<StoredMaterial[]> {
    const r = await this.pool.query<StoredMaterial>('SELECT uid, material FROM objects WHERE uid > $1 AND material IS NOT NULL ORDER BY uid LIMIT $2', [after, limit]);
    return r.rows;
  }

  async replaceMaterial(uid: string, expected: Buffer, next: Buffer): Promise<boolean> {
    const r = await this.pool.query('UPDATE objects SET material = $3 WHERE uid = $1 AND material = $2', [uid, expected, next]);
    return (r.rowCount ?? 0) > 0;
  }

  async forgetMasterKey(id: string, prefix: Buffer): Promise<boolean> {
    const r = await this.pool.query(
      'DELETE FROM master_keys WHERE key_id = $1 AND NOT EXISTS (SELECT 1 FROM objects WHERE substring(material from 1 for $2) = $3)',
      [id, prefix.length, prefix],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Applies the missing migrations under an advisory lock, so servers starting together on one
 * database take turns: the first migrates, the others then find the schema current.
 */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PG_MIGRATION_LOCK]);
    try {
      await client.query(PG_VERSION_TABLE);
      const r = await client.query<{ version: number }>('SELECT version FROM p11kms_schema');
      const current = r.rows[0]?.version ?? 0;
      if (current > PG_SCHEMA_VERSION) {
        throw new Error(`database schema version ${current} is newer than this server (${PG_SCHEMA_VERSION})`);
      }
      for (let v = current; v < PG_SCHEMA_VERSION; v++) {
        await client.query('BEGIN');
        try {
          await client.query(PG_MIGRATIONS[v] as string);
          await client.query('UPDATE p11kms_schema SET version = $1', [v + 1]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PG_MIGRATION_LOCK]);
    }
  } catch (e) {
    // A connection in an unknown state (lock held, transaction open) is closed, not pooled.
    broken = e instanceof Error ? e : new Error(String(e));
    throw e;
  } finally {
    client.release(broken);
  }
}
