import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KmipClient } from '../../src/kmip/client';
import { startServer } from '../../src/server/main';
import { formatMasterKeys, loadMasterKeyRing, newMasterKey, parseMasterKeys, sealedKeyId } from '../../src/server/store/master-key';
import { storedRow as sealedRow, tableRows } from '../support/db-scan';
import { tempDb } from '../support/hsm-kms';
import { REPO_ROOT } from '../support/server';
import { cli, jsonOf } from '../cli/harness';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** `p11kms serve` with its workers, in a process group of its own so teardown ends them all. */
async function serve(t: { teardown(fn: () => unknown): void }, args: string[]): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', String(port), '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'], detached: true, env: { ...process.env, NODE_OPTIONS: '' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(-(child.pid as number), 'SIGTERM');
    } catch {
      return;
    }
    await exited;
  };
  t.teardown(stop);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/version`)).ok) return { url, stop };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`p11kms serve on ${url} did not start`);
}

interface Key {
  uid: string;
  bytes: Buffer;
  keyFormatType?: string;
}

interface KeySet {
  aes: Key[];
  others: Key[];
}

async function makeKeys(client: KmipClient, n: number): Promise<KeySet> {
  const aes: KeySet['aes'] = [];
  const others: KeySet['others'] = [];
  for (let i = 0; i < n; i++) {
    const uid = await client.create({ algorithm: 'AES', length: 256 });
    aes.push({ uid, bytes: (await client.get(uid)).bytes as Buffer });
  }
  const secret = await client.createSecretData();
  others.push({ uid: secret, bytes: (await client.get(secret)).bytes as Buffer });
  const pair = await client.createKeyPair({ algorithm: 'EC', curve: 'P256' });
  others.push({ uid: pair.privateKeyId, bytes: (await client.get(pair.privateKeyId, { keyFormatType: 'PKCS8' })).bytes as Buffer, keyFormatType: 'PKCS8' });
  return { aes, others };
}

/** Encrypts and decrypts without pause, and creates a key now and then, until stopped: every failure is kept. */
function keepBusy(client: KmipClient, keys: KeySet) {
  let running = true;
  const failures: string[] = [];
  let calls = 0;
  const created: Key[] = [];
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const key = keys.aes[i % keys.aes.length]!;
      try {
        const plain = Buffer.from(`message ${i}`);
        const enc = await client.encrypt(key.uid, plain);
        const dec = await client.decrypt(key.uid, enc.data, { iv: enc.iv!, tag: enc.tag! });
        if (!dec.equals(plain)) failures.push(`${key.uid}: decrypted to something else`);
        calls += 2;
        if (i % 5 === 0) {
          const uid = await client.create({ algorithm: 'AES', length: 256 });
          created.push({ uid, bytes: (await client.get(uid)).bytes as Buffer });
          calls += 2;
        }
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
      }
    }
  })();
  return {
    get calls() { return calls; },
    failures, created,
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function rowsKeyIds(dbPath: string, uids: string[]): Promise<Set<string | undefined>> {
  return new Set(await Promise.all(uids.map(async (uid) => sealedKeyId((await sealedRow(dbPath, uid)).material))));
}

t.test('master-key rotate while two workers serve a busy client: no failed call, every row re-sealed, the old key gone', async (t) => {
  const { dir, dbPath } = await tempDb(t);
  const keyFile = join(dir, 'kms.master-key');
  const args = ['--db', dbPath, '--workers', '2', '--master-key-file', keyFile, '--data-dir', dir];
  const server = await serve(t, args);
  const client = new KmipClient({ url: server.url });
  t.teardown(() => client.close());
  const keys = await makeKeys(client, 12);
  const oldText = readFileSync(keyFile, 'utf8');
  const oldId = parseMasterKeys(oldText, 'old')[0]!.id;
  const sample = await client.encrypt(keys.aes[0]!.uid, Buffer.from('before the rotation'));

  const busy = keepBusy(client, keys);
  await sleep(300);
  const before = busy.calls;
  const run = await cli(['--json', 'master-key', 'rotate', '--db', dbPath, '--master-key-file', keyFile, '--data-dir', dir, '--grace-ms', '500']);
  const during = busy.calls - before;
  await sleep(500);
  await busy.stop();
  t.equal(run.code, 0, run.stderr);
  const report = jsonOf<{ current: string; previous: string[]; resealed: number; forgotten: string[]; keyFileHoldsPrevious: boolean }>(run);
  t.same(busy.failures, [], 'no call failed during the rotation');
  t.ok(during > 10, `the client kept working during the rotation (${during} calls)`);
  t.not(report.current, oldId);
  t.same(report.previous, [oldId]);
  t.same(report.forgotten, [oldId], 'the old key is no longer registered');
  t.notOk(report.keyFileHoldsPrevious);
  t.ok(report.resealed >= keys.aes.length + keys.others.length, `re-sealed ${report.resealed} rows`);

  const newKeys = parseMasterKeys(readFileSync(keyFile, 'utf8'), 'new');
  t.same(newKeys.map((k) => k.id), [report.current], 'the key file holds only the new key');
  const all = [...keys.aes, ...keys.others, ...busy.created];
  t.same([...(await rowsKeyIds(dbPath, all.map((k) => k.uid)))], [report.current], 'every row, also those written during the rotation, is sealed under the new key');
  t.same((await tableRows(dbPath, 'master_keys')).map((r) => r['key_id']), [report.current]);
  const oldRing = loadMasterKeyRing({ kind: 'env', name: 'old', text: oldText }, false);
  const row = (await sealedRow(dbPath, keys.aes[0]!.uid)).material;
  t.throws(() => oldRing.open(keys.aes[0]!.uid, row), { message: new RegExp(`sealed by master key ${report.current}, which this server was not given`) }, 'the old key opens nothing any more');

  // Without the old key anywhere: a restart decrypts everything, including what was written before.
  await server.stop();
  const again = await serve(t, args);
  const c2 = new KmipClient({ url: again.url });
  t.teardown(() => c2.close());
  for (const k of all) t.same((await c2.get(k.uid, k.keyFormatType ? { keyFormatType: k.keyFormatType } : {})).bytes, k.bytes, `${k.uid} unchanged`);
  t.same(await c2.decrypt(keys.aes[0]!.uid, sample.data, { iv: sample.iv!, tag: sample.tag! }), Buffer.from('before the rotation'));
  await again.stop();

  // The old key file, kept somewhere by mistake, no longer starts a server on this database.
  const stale = join(dir, 'old.master-key');
  writeFileSync(stale, oldText, { mode: 0o600 });
  await t.rejects(startServer({ port: 0, dbPath, masterKeyFile: stale, logLevel: 'silent' }), { message: new RegExp(`^wrong master key: the database holds key material sealed under master key ${report.current}`) });
});

t.test('keys from P11KMS_MASTER_KEY: restart with "NEW,OLD", master-key rewrap while serving, then NEW alone', async (t) => {
  const { dir, dbPath } = await tempDb(t);
  const oldKey = newMasterKey();
  const nextKey = newMasterKey();
  const opts = { port: 0, dbPath, dataDir: dir, logLevel: 'silent' as const };
  process.env['P11KMS_MASTER_KEY'] = formatMasterKeys([oldKey]);
  t.teardown(() => {
    delete process.env['P11KMS_MASTER_KEY'];
  });
  let s = await startServer(opts);
  let client = new KmipClient({ url: s.url });
  const keys = await makeKeys(client, 6);
  await client.close();
  await s.close();

  const both = `${nextKey.key.toString('base64')},${oldKey.key.toString('base64')}`;
  process.env['P11KMS_MASTER_KEY'] = both;
  s = await startServer(opts);
  client = new KmipClient({ url: s.url });
  const busy = keepBusy(client, keys);
  await sleep(200);
  const refused = await cli(['master-key', 'rotate', '--db', dbPath, '--data-dir', dir], { P11KMS_MASTER_KEY: both });
  t.not(refused.code, 0);
  t.match(refused.stderr, /the master key comes from \$P11KMS_MASTER_KEY, which this command cannot rewrite: put "NEW,OLD" there.*master-key rewrap/);
  const run = await cli(['--json', 'master-key', 'rewrap', '--db', dbPath, '--data-dir', dir], { P11KMS_MASTER_KEY: both });
  await sleep(200);
  await busy.stop();
  t.equal(run.code, 0, run.stderr);
  t.same(busy.failures, []);
  const report = jsonOf<{ current: string; resealed: number; forgotten: string[]; needed: string[] }>(run);
  t.match(report, { current: nextKey.id, forgotten: [oldKey.id], needed: [nextKey.id] }, 'only the new key is needed now');
  t.ok(report.resealed >= keys.aes.length + keys.others.length, `re-sealed ${report.resealed} rows`);
  const all = [...keys.aes, ...keys.others, ...busy.created];
  t.same([...(await rowsKeyIds(dbPath, all.map((k) => k.uid)))], [nextKey.id]);
  await client.close();
  await s.close();

  process.env['P11KMS_MASTER_KEY'] = formatMasterKeys([nextKey]);
  s = await startServer(opts);
  t.teardown(() => s.close());
  client = new KmipClient({ url: s.url });
  t.teardown(() => client.close());
  for (const k of [...keys.aes, ...busy.created]) t.same((await client.get(k.uid)).bytes, k.bytes);
  process.env['P11KMS_MASTER_KEY'] = formatMasterKeys([oldKey]);
  await t.rejects(startServer(opts), { message: /^wrong master key/ }, 'the old key alone no longer opens the database');
});
