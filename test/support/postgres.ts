import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Throwaway PostgreSQL clusters (scripts/pg-throwaway.sh) and one fresh database per test
 * server. scripts/test.sh starts one cluster for the whole PostgreSQL pass and names it in
 * P11KMS_TEST_PG_URL; a test file run on its own starts its own and stops it when it exits.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'pg-throwaway.sh');

/** True when the server tests run on PostgreSQL (P11KMS_TEST_DB=postgresql). */
export const onPostgres = process.env['P11KMS_TEST_DB'] === 'postgresql';

export interface PgCluster {
  /** The superuser's URL, on the `postgres` database. */
  adminUrl: string;
  /** The cluster's directory: data/ (PGDATA), the socket and the logs. */
  dir: string;
  stop(): void;
}

/** Starts a cluster of its own; `durable` keeps PostgreSQL's fsync defaults. */
export function startCluster(durable = false): PgCluster {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-pg-'));
  const adminUrl = execFileSync('bash', [SCRIPT, 'start', dir, ...(durable ? ['durable'] : [])], { encoding: 'utf8' }).trim();
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    execFileSync('bash', [SCRIPT, 'stop', dir]);
  };
  // Whatever way the test process ends, the cluster goes with it.
  process.once('exit', stop);
  return { adminUrl, dir, stop };
}

let shared: string | undefined;

/** The cluster of this test process: the one scripts/test.sh started, or one started now. */
function sharedAdminUrl(): string {
  shared ??= process.env['P11KMS_TEST_PG_URL'] ?? startCluster().adminUrl;
  return shared;
}

/** Runs one statement as the superuser on the cluster's `postgres` database. */
export async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The URL of a database `name` on the same cluster as `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh, empty database on `adminUrl`'s cluster (the shared one by default), dropped when the test ends. */
export async function freshDatabase(t: Teardown, adminUrl = sharedAdminUrl()): Promise<string> {
  const name = `p11kms_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  // FORCE: a server that failed to close must not leave the database behind.
  t.teardown(() => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  return databaseUrl(adminUrl, name);
}
