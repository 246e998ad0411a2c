import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmipClient } from '../../src/kmip/client';
import { createSymmetricKeyRequest } from '../../src/kmip/requests';
import { T, child, type TtlvStructure } from '../../src/kmip/ttlv';
import { vendorAttribute } from '../../src/server/model/attributes';
import type { HsmInstanceConfig } from '../../src/server/hsm/hsm-config';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/main';
import { PIN, SOFTHSM2_LIB } from '../hsm/softhsm';
import { openedRow, walStart, type StoredRow } from './db-scan';
import { freshDatabase, onPostgres } from './postgres';

export { storedRow as sealedRow } from './db-scan';

/**
 * The master key file of a server started by serverOn on this database: beside a SQLite file;
 * for PostgreSQL, one directory per database for the whole test process, so a restart finds it.
 */
const pgKeyDirs = new Map<string, string>();
export function masterKeyFileOf(dbPath: string): string {
  if (!onPostgres) return `${dbPath}.master-key`;
  let dir = pgKeyDirs.get(dbPath);
  if (!dir) {
    const made = mkdtempSync(join(tmpdir(), 'p11kms-pgkey-'));
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    pgKeyDirs.set(dbPath, made);
    dir = made;
  }
  return join(dir, 'master-key');
}

/** One row with its material opened by the server's master key: the HSM-wrapped form for a wrapped key. */
export function storedRow(dbPath: string, id: string): Promise<StoredRow> {
  return openedRow(dbPath, id, masterKeyFileOf(dbPath));
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The flat (`hsm::<slot>::<label>`) configuration of one SoftHSM2 slot. */
export function flatHsm(slot: number, admins = ['admin']): HsmInstanceConfig[] {
  return [{ prefix: 'hsm', model: 'softhsm2', library: SOFTHSM2_LIB, slots: [{ id: slot, pin: PIN }], admins }];
}

export interface KmsOnDb {
  server: RunningServer;
  client: KmipClient;
  stop(): Promise<void>;
}

/** A server on a given database; the caller stops it (a restart needs the same file). */
export async function serverOn(dbPath: string, opts: ServerOptions): Promise<KmsOnDb> {
  const server = await startServer({ port: 0, dbPath, masterKeyFile: masterKeyFileOf(dbPath), logLevel: 'silent', ...opts });
  const client = new KmipClient({ url: server.url });
  let stopped = false;
  return {
    server, client,
    async stop() {
      if (stopped) return;
      stopped = true;
      client.close();
      await server.close();
    },
  };
}

export interface TempDb {
  dir: string;
  /** A SQLite file in `dir`, or a fresh PostgreSQL database when P11KMS_TEST_DB=postgresql. */
  dbPath: string;
  /** Where the PostgreSQL WAL stood when the database was made (db-scan.ts reads it from there). */
  walFrom: string;
  /** A second, separate database of the same kind. */
  another(name: string): Promise<string>;
}

export async function tempDb(t: Teardown): Promise<TempDb> {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-wrap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const another = async (name: string): Promise<string> => (onPostgres ? freshDatabase(t) : join(dir, `${name}.sqlite`));
  const dbPath = await another('kms');
  return { dir, dbPath, walFrom: onPostgres ? await walStart(dbPath) : '', another };
}

/** What `ckms sym keys create --wrapping-key-id <kek>` sends: Cosmian's vendor attribute wrapping_key_id. */
export function createWrappedRequest(kek: string, bits = 256): TtlvStructure {
  const req = createSymmetricKeyRequest({ algorithm: 'AES', length: bits });
  const attrs = child(req, 'Attributes') as TtlvStructure;
  return T.struct('Create', [child(req, 'ObjectType'), T.struct('Attributes', [...attrs.value, vendorAttribute('wrapping_key_id', T.text('AttributeValue', kek))])]);
}

export async function createWrapped(client: KmipClient, kek: string): Promise<string> {
  const res = await client.call(createWrappedRequest(kek));
  return String(child(res, 'UniqueIdentifier')?.value);
}
