import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { checkRoundTrip, createAesRequest, waitForLines } from '../../bench/kms-json';
import { freshDatabase, onPostgres, startCluster } from '../support/postgres';
import { REPO_ROOT } from '../support/server';

/**
 * kill -9 of `p11kms serve` (the primary and its two workers) during a burst of concurrent
 * creations: every creation answered 200 with a UID must be there after a restart on the
 * same database, and usable; the database must open cleanly. Both back ends run here, so
 * the PostgreSQL pass of scripts/test.sh skips this file.
 */
const skip = onPostgres ? 'covers both back ends in the main pass' : false;
const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const IN_FLIGHT = 24;
/** Acknowledged creations before the kill: enough that more are in flight and being committed. */
const KILL_AFTER = 60;

interface Serve {
  child: ChildProcess;
  origin: string;
}

async function serve(db: string): Promise<Serve> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  // Its own process group, so SIGKILL reaches the workers too, as a host crash would.
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--db', db, '--workers', '2', '--log-level', 'info'], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLines(child, /worker listening/, 2);
  return { child, origin: `http://127.0.0.1:${port}` };
}

function killGroup(s: Serve): Promise<void> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
    s.child.once('exit', () => resolve());
    process.kill(-(s.child.pid as number), 'SIGKILL');
  });
}

/** Creations from IN_FLIGHT callers until the server dies; returns the UIDs it acknowledged. */
async function burstUntilKilled(s: Serve): Promise<{ acked: string[]; failed: number }> {
  const acked: string[] = [];
  let failed = 0;
  let dead = false;
  let killing: Promise<void> | undefined;
  const body = createAesRequest();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (!dead) {
      try {
        const res = await fetch(`${s.origin}/kmip/2_1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await res.text();
        const uid = res.status === 200 ? /"UniqueIdentifier","type":"TextString","value":"([^"]+)"/.exec(text)?.[1] : undefined;
        if (uid) acked.push(uid);
        else failed++;
      } catch {
        failed++;
        dead = true;
      }
      if (acked.length >= KILL_AFTER && !killing) killing = killGroup(s);
    }
  }));
  await killing;
  return { acked, failed };
}

/** `opensCleanly` checks the database between the kill and the restart. */
async function checkSurvivors(t: Test, db: string, opensCleanly: (t: Test) => Promise<void>): Promise<void> {
  const first = await serve(db);
  const { acked, failed } = await burstUntilKilled(first);
  t.ok(acked.length >= KILL_AFTER, `${acked.length} creations acknowledged before the kill`);
  t.ok(failed > 0, `${failed} requests in flight failed with the server`);
  await opensCleanly(t);

  const second = await serve(db);
  t.teardown(() => killGroup(second));
  const missing: string[] = [];
  for (const uid of acked) {
    const res = await fetch(`${second.origin}/kmip/2_1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"tag":"Get","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"${uid}"}]}` });
    if (res.status !== 200) missing.push(uid);
    await res.arrayBuffer();
  }
  t.same(missing, [], 'every acknowledged key is there after the restart');
  // Usable, not only present: a sample encrypts and decrypts back.
  for (const uid of [acked[0], acked[acked.length - 1]]) await checkRoundTrip(second.origin, uid as string);
  t.pass('the first and last acknowledged keys encrypt and decrypt');
  const more = await fetch(`${second.origin}/kmip/2_1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: createAesRequest() });
  t.equal(more.status, 200, 'the restarted server takes new writes');
  await more.arrayBuffer();
}

t.test('SQLite: acknowledged creations survive kill -9', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-durable-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'kms.sqlite');
  await checkSurvivors(t, path, async (t) => {
    const db = new Database(path);
    try {
      t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'PRAGMA integrity_check after the kill');
    } finally {
      db.close();
    }
  });
});

t.test('PostgreSQL: acknowledged creations survive kill -9', { skip }, async (t) => {
  // A cluster of its own with PostgreSQL's durable defaults (fsync on).
  const cluster = startCluster(true);
  t.teardown(() => cluster.stop());
  const url = await freshDatabase(t, cluster.adminUrl);
  await checkSurvivors(t, url, async (t) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM objects');
      t.ok((rows[0]?.n ?? 0) >= KILL_AFTER, `the database answers: ${rows[0]?.n} objects`);
    } finally {
      await c.end();
    }
  });
});
