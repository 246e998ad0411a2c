import Database from 'better-sqlite3';
import { COSMIAN_FAILURES, KmipError } from '../../kmip/errors';
import { prepareDatabaseFile, tightenDatabaseFiles } from './file-modes';
import { StaleObjectError, type AuditQuery, type AuditRecord, type Grant, type LocateQuery, type RawObjectStore, type StoredMaterial, type StoredObject, type StoredObjectWrite } from './store';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema';

interface ObjectRow {
  uid: string;
  object_type: string;
  state: string;
  owner: string;
  algorithm: string | null;
  length: number | null;
  attributes: string;
  tags: string;
  material: Buffer | null;
  created_at: number;
  updated_at: number;
  wrapping_key: string | null;
}

interface AuditRow {
  time: number;
  user_id: string;
  operation: string;
  uids: string;
  result: string;
}

type PendingWrite = { apply: () => void; resolve: () => void; reject: (e: unknown) => void };

/**
 * SQLite in WAL mode with synchronous=FULL: a write is acknowledged only after it is on disk.
 * Writes issued in the same event-loop turn are committed together in one transaction
 * (group commit), so concurrent creations share one fsync without weakening durability.
 */
export class SqliteStore implements RawObjectStore {
  private readonly db: Database.Database;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  private readonly stmt: ReturnType<SqliteStore['prepare']>;

  /** `warn` hears about a database directory others can enter (file-modes.ts). */
  constructor(path: string, warn: (message: string) => void = () => undefined) {
    if (path !== ':memory:') prepareDatabaseFile(path, warn);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    if (path !== ':memory:') tightenDatabaseFiles(path, warn);
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    // Freed space is zeroed: a deleted or rewritten row (a clear row sealed by adoptMasterKey) leaves nothing behind in the file.
    this.db.pragma('secure_delete = ON');
    this.db.pragma('busy_timeout = 10000');
    this.migrate();
    this.stmt = this.prepare();
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(`database schema version ${current} is newer than this server (${SCHEMA_VERSION})`);
    }
    for (let v = current; v < SCHEMA_VERSION; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v] as string);
        this.db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  private prepare() {
    return {
      insert: this.db.prepare(
        `INSERT INTO objects (uid, object_type, state, owner, algorithm, length, attributes, tags, material, created_at, updated_at, wrapping_key)
         VALUES (@uid, @object_type, @state, @owner, @algorithm, @length, @attributes, @tags, @material, @created_at, @updated_at, @wrapping_key)`,
      ),
      update: this.db.prepare(
        `UPDATE objects SET object_type=@object_type, state=@state, owner=@owner, algorithm=@algorithm, length=@length,
           attributes=@attributes, tags=@tags, material=@material, updated_at=@updated_at, wrapping_key=@wrapping_key WHERE uid=@uid`,
      ),
      updateIfUnchanged: this.db.prepare(
        `UPDATE objects SET object_type=@object_type, state=@state, owner=@owner, algorithm=@algorithm, length=@length,
           attributes=@attributes, tags=@tags, material=@material, updated_at=@updated_at, wrapping_key=@wrapping_key
         WHERE uid=@uid AND attributes=@if_attributes`,
      ),
      remove: this.db.prepare('DELETE FROM objects WHERE uid = ?'),
      get: this.db.prepare('SELECT * FROM objects WHERE uid = ?'),
      exists: this.db.prepare('SELECT 1 FROM objects WHERE uid = ?'),
      clearTags: this.db.prepare('DELETE FROM object_tags WHERE uid = ?'),
      clearNames: this.db.prepare('DELETE FROM object_names WHERE uid = ?'),
      addTag: this.db.prepare('INSERT OR IGNORE INTO object_tags (uid, tag) VALUES (?, ?)'),
      addName: this.db.prepare('INSERT OR IGNORE INTO object_names (uid, name) VALUES (?, ?)'),
      grant: this.db.prepare('INSERT OR IGNORE INTO grants (uid, user_id, operation) VALUES (?, ?, ?)'),
      revoke: this.db.prepare('DELETE FROM grants WHERE uid = ? AND user_id = ? AND operation = ?'),
      grantsOf: this.db.prepare('SELECT uid, user_id AS user, operation FROM grants WHERE uid = ?'),
      grantedTo: this.db.prepare('SELECT uid, user_id AS user, operation FROM grants WHERE user_id = ?'),
      appendAudit: this.db.prepare('INSERT INTO audit (time, user_id, operation, uids, result) VALUES (?, ?, ?, ?, ?)'),
      masterKeyIds: this.db.prepare('SELECT key_id FROM master_keys ORDER BY added_at, key_id').pluck(),
      registerMasterKey: this.db.prepare('INSERT OR IGNORE INTO master_keys (key_id, added_at) VALUES (?, ?)'),
      clearMaterial: this.db.prepare('SELECT uid, material FROM objects WHERE material IS NOT NULL'),
      setMaterial: this.db.prepare('UPDATE objects SET material = ? WHERE uid = ?'),
      materialPage: this.db.prepare('SELECT uid, material FROM objects WHERE uid > ? AND material IS NOT NULL ORDER BY uid LIMIT ?'),
      replaceMaterial: this.db.prepare('UPDATE objects SET material = ? WHERE uid = ? AND material = ?'),
      forgetMasterKey: this.db.prepare('DELETE FROM master_keys WHERE key_id = ? AND NOT EXISTS (SELECT 1 FROM objects WHERE substr(material, 1, ?) = ?)'),
    };
  }

  private toRow(o: StoredObjectWrite): ObjectRow {
    return {
      uid: o.uid,
      object_type: o.objectType,
      state: o.state,
      owner: o.owner,
      algorithm: o.algorithm,
      length: o.length,
      attributes: o.attributesJson,
      tags: JSON.stringify(o.tags),
      material: o.material,
      created_at: o.createdAt,
      updated_at: o.updatedAt,
      wrapping_key: o.wrappingKey,
    };
  }

  private writeIndexes(o: StoredObjectWrite): void {
    this.stmt.clearTags.run(o.uid);
    this.stmt.clearNames.run(o.uid);
    for (const t of o.tags) this.stmt.addTag.run(o.uid, t);
    for (const n of o.names) this.stmt.addName.run(o.uid, n);
  }

  private enqueue(apply: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ apply, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * One transaction for the whole group. Each write runs under its own savepoint so one
   * failing write (a duplicate UID) fails alone and the others still commit.
   */
  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.flushScheduled = false;
    const outcomes: Array<unknown | null> = [];
    try {
      this.db.transaction(() => {
        for (const w of batch) {
          try {
            this.db.transaction(w.apply)();
            outcomes.push(null);
          } catch (e) {
            outcomes.push(e);
          }
        }
      }).immediate();
    } catch (e) {
      for (const w of batch) w.reject(e);
      return;
    }
    batch.forEach((w, i) => {
      const err = outcomes[i];
      if (err === null || err === undefined) w.resolve();
      else w.reject(err);
    });
  }

  insert(obj: StoredObjectWrite): Promise<void> {
    return this.enqueue(() => {
      try {
        this.stmt.insert.run(this.toRow(obj));
      } catch (e) {
        if (e instanceof Error && /UNIQUE constraint/.test(e.message)) {
          throw new KmipError('Object_Already_Exists', `an object with identifier ${obj.uid} already exists`);
        }
        throw e;
      }
      this.writeIndexes(obj);
    });
  }

  update(obj: StoredObjectWrite): Promise<void> {
    return this.enqueue(() => {
      const r = obj.ifAttributesJson === undefined
        ? this.stmt.update.run(this.toRow(obj))
        : this.stmt.updateIfUnchanged.run({ ...this.toRow(obj), if_attributes: obj.ifAttributesJson });
      if (r.changes === 0) {
        if (obj.ifAttributesJson !== undefined && this.stmt.exists.get(obj.uid) !== undefined) throw new StaleObjectError(obj.uid);
        throw COSMIAN_FAILURES.objectNotFound(obj.uid);
      }
      this.writeIndexes(obj);
    });
  }

  remove(uid: string): Promise<void> {
    return this.enqueue(() => {
      this.stmt.remove.run(uid);
    });
  }

  async get(uid: string): Promise<StoredObject | undefined> {
    const row = this.stmt.get.get(uid) as ObjectRow | undefined;
    if (!row) return undefined;
    return {
      uid: row.uid,
      objectType: row.object_type,
      state: row.state,
      owner: row.owner,
      attributesJson: row.attributes,
      algorithm: row.algorithm,
      length: row.length,
      material: row.material,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      // One query per read: the tag and name tables serve Locate; the row carries the tags itself.
      tags: JSON.parse(row.tags) as string[],
    };
  }

  async exists(uid: string): Promise<boolean> {
    return this.stmt.exists.get(uid) !== undefined;
  }

  async locate(q: LocateQuery): Promise<string[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (q.owner !== undefined) { where.push('o.owner = ?'); params.push(q.owner); }
    if (q.objectType !== undefined) { where.push('o.object_type = ?'); params.push(q.objectType); }
    if (q.algorithm !== undefined) { where.push('o.algorithm = ?'); params.push(q.algorithm); }
    if (q.length !== undefined) { where.push('o.length = ?'); params.push(q.length); }
    if (q.states && q.states.length > 0) {
      where.push(`o.state IN (${q.states.map(() => '?').join(',')})`);
      params.push(...q.states);
    }
    if (q.uids) {
      // One JSON parameter, not one per UID: a user may hold more grants than SQLite allows parameters.
      where.push('o.uid IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(q.uids));
    }
    if (q.wrappedBy) {
      // An empty list matches nothing, as an empty IN () would.
      where.push(q.wrappedBy.length ? `o.wrapping_key IN (${q.wrappedBy.map(() => '?').join(',')})` : '0');
      params.push(...q.wrappedBy);
    }
    for (const tag of q.tags ?? []) {
      where.push('EXISTS (SELECT 1 FROM object_tags t WHERE t.uid = o.uid AND t.tag = ?)');
      params.push(tag);
    }
    for (const name of q.names ?? []) {
      where.push('EXISTS (SELECT 1 FROM object_names n WHERE n.uid = o.uid AND n.name = ?)');
      params.push(name);
    }
    const sql = `SELECT o.uid FROM objects o ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY o.created_at, o.rowid`;
    return (this.db.prepare(sql).all(...params) as Array<{ uid: string }>).map((r) => r.uid);
  }

  grant(uid: string, user: string, operations: string[]): Promise<void> {
    return this.enqueue(() => {
      for (const op of operations) this.stmt.grant.run(uid, user, op);
    });
  }

  revoke(uid: string, user: string, operations: string[]): Promise<void> {
    return this.enqueue(() => {
      for (const op of operations) this.stmt.revoke.run(uid, user, op);
    });
  }

  async grantsOf(uid: string): Promise<Grant[]> {
    return this.stmt.grantsOf.all(uid) as Grant[];
  }

  async grantedTo(user: string): Promise<Grant[]> {
    return this.stmt.grantedTo.all(user) as Grant[];
  }

  appendAudit(r: AuditRecord): Promise<void> {
    return this.enqueue(() => {
      this.stmt.appendAudit.run(r.time, r.user, r.operation, JSON.stringify(r.uids), r.result);
    });
  }

  async readAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (q.uid !== undefined) { where.push('EXISTS (SELECT 1 FROM json_each(a.uids) WHERE value = ?)'); params.push(q.uid); }
    if (q.user !== undefined) { where.push('a.user_id = ?'); params.push(q.user); }
    if (q.since !== undefined) { where.push('a.time >= ?'); params.push(q.since); }
    const sql = `SELECT a.time, a.user_id, a.operation, a.uids, a.result FROM audit a ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY a.id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...params, q.limit) as AuditRow[];
    return rows.map((r) => ({ time: r.time, user: r.user_id, operation: r.operation, uids: JSON.parse(r.uids) as string[], result: r.result }));
  }

  async masterKeyIds(): Promise<string[]> {
    return this.stmt.masterKeyIds.all() as string[];
  }

  async adoptMasterKey(id: string, check: (registered: string[]) => void, seal: (uid: string, clear: Buffer) => Buffer): Promise<number> {
    // Pending writes first: they were sealed (or not) before this transaction decides.
    if (this.pending.length > 0) this.flush();
    // IMMEDIATE: the write lock is taken before reading, so two processes cannot both find no key.
    const sealedNow = this.db.transaction(() => {
      const registered = this.stmt.masterKeyIds.all() as string[];
      check(registered);
      let sealed = 0;
      if (registered.length === 0) {
        for (const row of this.stmt.clearMaterial.all() as StoredMaterial[]) {
          this.stmt.setMaterial.run(seal(row.uid, row.material), row.uid);
          sealed++;
        }
      }
      this.stmt.registerMasterKey.run(id, Date.now());
      return sealed;
    }).immediate();
    // The clear rows are still in WAL frames: copy the sealed pages back and empty the WAL.
    if (sealedNow > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return sealedNow;
  }

  async materialPage(after: string, limit: number): Promise<StoredMaterial[]> {
    return this.stmt.materialPage.all(after, limit) as StoredMaterial[];
  }

  replaceMaterial(uid: string, expected: Buffer, next: Buffer): Promise<boolean> {
    let replaced = false;
    return this.enqueue(() => {
      replaced = this.stmt.replaceMaterial.run(next, uid, expected).changes > 0;
    }).then(() => replaced);
  }

  forgetMasterKey(id: string, prefix: Buffer): Promise<boolean> {
    let forgotten = false;
    return this.enqueue(() => {
      forgotten = this.stmt.forgetMasterKey.run(id, prefix.length, prefix).changes > 0;
    }).then(() => forgotten);
  }

  close(): void {
    if (this.pending.length > 0) this.flush();
    this.db.close();
  }
}
