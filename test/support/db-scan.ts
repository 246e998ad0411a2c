import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { isPostgresUrl } from '../../src/server/store/open-store';
import { loadMasterKeyRing } from '../../src/server/store/master-key';

/**
 * Reading a test server's database behind its back, on either back end: one row as stored,
 * and a search for key bytes in every column and every file the database writes.
 */

export interface StoredRow {
  material: Buffer;
  attributes: string;
  wrapping_key: string | null;
}

async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function storedRow(dbPath: string, id: string): Promise<StoredRow> {
  if (isPostgresUrl(dbPath)) {
    return withPg(dbPath, async (c) => (await c.query<StoredRow>('SELECT material, attributes, wrapping_key FROM objects WHERE uid = $1', [id])).rows[0] as StoredRow);
  }
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT material, attributes, wrapping_key FROM objects WHERE uid = ?').get(id) as StoredRow;
  } finally {
    db.close();
  }
}

/** A row's material opened with the master key ring in `keyFile` (as the server reads it). */
export function openedMaterial(keyFile: string, uid: string, sealed: Buffer): Buffer {
  return loadMasterKeyRing({ kind: 'file', path: keyFile }, false).open(uid, sealed);
}

/** One row as the server sees it: its material opened with the master key ring in `keyFile`. */
export async function openedRow(dbPath: string, id: string, keyFile: string): Promise<StoredRow> {
  const row = await storedRow(dbPath, id);
  // A destroyed object has no material (null) to open.
  return row.material ? { ...row, material: openedMaterial(keyFile, id, row.material) } : row;
}

/** Every row of one table, on either back end. */
export async function tableRows(dbPath: string, table: string): Promise<Array<Record<string, unknown>>> {
  if (isPostgresUrl(dbPath)) return withPg(dbPath, async (c) => (await c.query(`SELECT * FROM "${table}"`)).rows as Array<Record<string, unknown>>);
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

/** The WAL position now: scanForKey reads the PostgreSQL WAL from the segment holding it on. */
export async function walStart(dbPath: string): Promise<string> {
  return withPg(dbPath, async (c) => (await c.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0]?.f ?? '');
}

function needlesOf(key: Buffer): Buffer[] {
  const hex = key.toString('hex');
  return [key, Buffer.from(hex), Buffer.from(hex.toUpperCase()), Buffer.from(key.toString('base64').replace(/=+$/, ''))];
}

function columnHits(table: string, rows: Array<Record<string, unknown>>, needles: Buffer[], found: string[]): void {
  for (const row of rows) {
    for (const [column, value] of Object.entries(row)) {
      const text = Array.isArray(value) ? value.join('\n') : value;
      const bytes = Buffer.isBuffer(text) ? text : typeof text === 'string' ? Buffer.from(text) : undefined;
      if (bytes && needles.some((n) => bytes.includes(n)) && !found.includes(`${table}.${column}`)) found.push(`${table}.${column}`);
    }
  }
}

function fileHits(dir: string, label: string, files: string[], needles: Buffer[], found: string[]): void {
  for (const file of files) {
    const bytes = readFileSync(join(dir, file));
    if (needles.some((n) => bytes.includes(n))) found.push(`file ${label}${file}`);
  }
}

/**
 * Every place the key bytes could be (raw, hex, base64): every column of every table, and
 * the raw bytes of the database's files. SQLite: the files in `dir` (database, WAL, shm).
 * PostgreSQL (the test URL is the superuser's): after a CHECKPOINT, the database's own
 * directory under base/ and the WAL segments from `fromWal` (walStart) on.
 */
export async function scanForKey(dir: string, dbPath: string, key: Buffer, fromWal = ''): Promise<string[]> {
  const found: string[] = [];
  const needles = needlesOf(key);
  if (isPostgresUrl(dbPath)) {
    return withPg(dbPath, async (c) => {
      const tables = await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'");
      for (const { t } of tables.rows) columnHits(t, (await c.query(`SELECT * FROM "${t}"`)).rows, needles, found);
      await c.query('CHECKPOINT');
      const data = (await c.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0]?.d as string;
      const oid = (await c.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = current_database()')).rows[0]?.oid as number;
      const base = join(data, 'base', String(oid));
      fileHits(base, `base/${oid}/`, readdirSync(base).filter((f) => /^\d/.test(f)), needles, found);
      const wal = join(data, 'pg_wal');
      fileHits(wal, 'pg_wal/', readdirSync(wal).filter((f) => /^[0-9A-F]{24}$/.test(f) && f >= fromWal), needles, found);
      return found;
    });
  }
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    for (const { name } of tables) columnHits(name, db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>, needles, found);
  } finally {
    db.close();
  }
  fileHits(dir, '', readdirSync(dir), needles, found);
  return found;
}
