import type { ObjectStore } from './store';
import { PostgresStore } from './postgres';
import { SqliteStore } from './sqlite';

/** A `--db` value naming a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/**
 * The one place the back end is chosen: a postgresql:// (or postgres://) URL opens
 * PostgreSQL, anything else is a SQLite file. Either way the schema is migrated before this
 * resolves, so a store that opens is ready to serve.
 */
export async function openStore(db: string): Promise<ObjectStore> {
  return isPostgresUrl(db) ? PostgresStore.open(db) : new SqliteStore(db);
}
