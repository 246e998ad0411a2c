import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freshDatabase, startCluster } from '../test/support/postgres';
import { checkRoundTrip, createAesRequest, encryptRequest, field, post, waitForLines } from './kms-json';
import { measure, type CellResult } from './load';
import { printTable, throughputSvg, writeResults } from './report';

/**
 * `npm run bench:kms -- --db postgresql`: two `p11kms serve` processes on one throwaway
 * PostgreSQL cluster (PostgreSQL's durable defaults), the load spread over both as a load
 * balancer would, beside one `p11kms serve` on SQLite with as many worker processes in all.
 */

const CLI = join(__dirname, '..', 'src', 'cli', 'main.js');
const LEVELS = [1, 4, 16];

async function serveOn(db: string, port: number, workers: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--db', db, '--workers', String(workers), '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLines(child, /worker listening/, workers);
  return child;
}

export async function postgresBench(dir: string, cores: number, seconds: number): Promise<number> {
  const cluster = startCluster(true);
  const children: ChildProcess[] = [];
  const teardowns: Array<() => unknown> = [];
  try {
    const url = await freshDatabase({ teardown: (fn) => teardowns.push(fn) }, cluster.adminUrl);
    // One worker per server on PostgreSQL, `cores` on SQLite: the same number of KMS processes.
    const perServer = Math.max(1, Math.floor(cores / 2));
    children.push(await serveOn(join(dir, 'kms.sqlite'), 19990, cores));
    // Started one after the other: the second finds the schema the first migrated.
    children.push(await serveOn(url, 19991, perServer), await serveOn(url, 19992, perServer));
    const sqlite = 'http://127.0.0.1:19990';
    const pgPair = ['http://127.0.0.1:19991', 'http://127.0.0.1:19992'];
    const aesSqlite = field(await post(sqlite, createAesRequest()), 'UniqueIdentifier');
    const aesPg = field(await post(pgPair[0] as string, createAesRequest()), 'UniqueIdentifier');
    // A key created through one server is served by the other: nothing per process.
    await checkRoundTrip(pgPair[1] as string, aesPg);
    const ok = (status: number): boolean => status === 200;
    const cells: CellResult[] = [];
    for (const c of LEVELS) {
      cells.push(await measure('SQLite: AES-GCM encrypt 64 B', sqlite, '/kmip/2_1', () => encryptRequest(aesSqlite), c, seconds, ok));
      cells.push(await measure('PostgreSQL x2: AES-GCM encrypt 64 B', pgPair, '/kmip/2_1', () => encryptRequest(aesPg), c, seconds, ok));
      cells.push(await measure('SQLite: AES-256 key creation', sqlite, '/kmip/2_1', createAesRequest, c, seconds, ok));
      cells.push(await measure('PostgreSQL x2: AES-256 key creation', pgPair, '/kmip/2_1', createAesRequest, c, seconds, ok));
    }
    const title = `p11kms on SQLite (1 server, ${cores} workers) and PostgreSQL (2 servers x ${perServer} worker), ${cores} cores, durable writes`;
    printTable(title, cells);
    const out = writeResults('kms-postgresql', { title, date: new Date().toISOString(), node: process.version, cores, seconds, cells }, throughputSvg(title, cells));
    console.log(`\nresults written to ${out}/kms-postgresql.json and kms-postgresql.svg`);
    return cells.reduce((n, c) => n + c.errors, 0);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))));
    for (const fn of teardowns) await fn();
    cluster.stop();
  }
}
