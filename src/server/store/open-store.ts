import type { RawObjectStore } from './store';
import { PostgresStore } from './postgres';
import { SqliteStore } from './sqlite';
import { adoptMasterKeys, SealedStore } from './sealed-store';
import type { MasterKeySource } from './master-key';

/** A `--db` value naming a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * The one place the back end is chosen: a postgresql:// (or postgres://) URL opens
 * PostgreSQL, anything else is a SQLite file. Either way the schema is migrated before this
 * resolves, so a store that opens is ready to serve. The material it holds is sealed: this
 * is the back end as stored, for the master-key layer and the tests.
 */
export async function openStore(db: string, warn: (message: string) => void = () => undefined): Promise<RawObjectStore> {
  return isPostgresUrl(db) ? PostgresStore.open(db) : new SqliteStore(db, warn);
}

/** The store the server runs on: the back end behind the master key (sealed-store.ts). */
export async function openSealedStore(db: string, source: MasterKeySource, warn: (message: string) => void): Promise<SealedStore> {
  const raw = await openStore(db, warn);
  try {
    const { ring } = await adoptMasterKeys(raw, source, warn);
    return new SealedStore(raw, ring);
  } catch (e) {
    await raw.close();
    throw e;
  }
}
