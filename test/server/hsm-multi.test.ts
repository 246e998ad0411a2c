import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmipClient } from '../../src/kmip/client';
import { findKeys } from '../../src/hsm/keys';
import { readServerConfig, resolveServeOptions } from '../../src/server/config-file';
import { startServer } from '../../src/server/main';
import { reasonOf } from '../support/client';
import { REPO_ROOT } from '../support/server';
import { PIN, makeTokens } from '../hsm/softhsm';

// Cosmian's three_softhsm2.toml scenario: token 0 in the flat form (prefix hsm), tokens 1 and 2 as
// two [[hsm_instances]] of one model (hsm::softhsm2, hsm::softhsm2_1). SoftHSM2 reads
// SOFTHSM2_CONF once per process, so one set of tokens serves the whole file.
const tokens = makeTokens(t, 3, 'multi');
process.env['SOFTHSM2_CONF'] = tokens.conf;
const slots = tokens.slots;
const PREFIXES = ['hsm', 'hsm::softhsm2', 'hsm::softhsm2_1'];
const uidOn = (i: number, label: string): string => `${PREFIXES[i]}::${slots[i]}::${label}`;
// A second view of the same tokens, straight through src/hsm, to see where a key really landed.
const direct = tokens.open(t);
const labelCount = (label: string): number[] => slots.map((s) => findKeys(direct.slot(s), label).length);

const dir = mkdtempSync(join(tmpdir(), 'p11kms-multi-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface ConfigParts {
  port?: number;
  pins?: string[];
  /** More top-level lines, and more [db] lines. */
  top?: string[];
  db?: string[];
}

function configToml(opts: ConfigParts & { dataDir: string }): string {
  const pin = (i: number): string => opts.pins?.[i] ?? PIN;
  const instance = (i: number): string => `[[hsm_instances]]\nhsm_model = "softhsm2"\nhsm_admin = ["admin"]\nhsm_slot = [${slots[i]}]\nhsm_password = ["${pin(i)}"]\n`;
  return [
    'default_username = "admin"',
    'hsm_model = "softhsm2"',
    `hsm_slot = [${slots[0]}]`,
    `hsm_password = ["${pin(0)}"]`,
    'hsm_admin = ["admin"]',
    ...(opts.top ?? []),
    instance(1),
    instance(2),
    '[http]',
    'hostname = "127.0.0.1"',
    `port = ${opts.port ?? 0}`,
    '[db]',
    `sqlite_path = "${opts.dataDir}"`,
    ...(opts.db ?? []),
  ].join('\n') + '\n';
}

function writeConfig(name: string, opts: ConfigParts): string {
  const path = join(dir, `${name}.toml`);
  const dataDir = join(dir, `${name}-data`);
  writeFileSync(path, configToml({ ...opts, dataDir }));
  return path;
}

async function statusOf(url: string): Promise<Array<{ prefix: string; model: string; slots: Array<{ id: number; tokenLabel: string; reachable: boolean }> }>> {
  const res = await fetch(`${url}/hsm/status`);
  return (await res.json()) as Awaited<ReturnType<typeof statusOf>>;
}

const expectedStatus = PREFIXES.map((prefix, i) => ({ prefix, model: 'softhsm2', slots: [{ id: slots[i], tokenLabel: tokens.labels[i], reachable: true }] }));

t.test('a server from a config file routes three SoftHSM2 tokens by prefix', async (t) => {
  const opts = resolveServeOptions({ env: {}, file: readServerConfig(writeConfig('inproc', {})) });
  const server = await startServer({ ...opts, logLevel: 'silent' });
  const client = new KmipClient({ url: server.url });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });

  t.test('GET /hsm/status lists the three instances', async (t) => {
    t.same(await statusOf(server.url), expectedStatus);
  });

  t.test('a key per prefix lands on its own token', async (t) => {
    const expected = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      t.equal(await client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: uidOn(i, 'k') }), uidOn(i, 'k'));
      expected[i] = 1;
      t.same(labelCount('k'), expected, `${uidOn(i, 'k')} is on token ${tokens.labels[i]} and no other`);
    }
  });

  t.test('encrypt and decrypt with each; the three keys differ', async (t) => {
    const plain = Buffer.from('one token per prefix');
    const sealed = [];
    for (let i = 0; i < 3; i++) {
      const gcm = await client.encrypt(uidOn(i, 'k'), plain);
      t.same(await client.decrypt(uidOn(i, 'k'), gcm.data, { iv: gcm.iv!, tag: gcm.tag! }), plain, PREFIXES[i]);
      sealed.push(gcm);
    }
    const first = sealed[0]!;
    t.equal(await reasonOf(client.decrypt(uidOn(1, 'k'), first.data, { iv: first.iv!, tag: first.tag! })), 'Cryptographic_Failure', 'hsm::softhsm2 has another key than hsm');
  });

  t.test('a wrong prefix or an unconfigured slot is refused, and nothing is created', async (t) => {
    const refused = [
      `hsm::${slots[1]}::x`, // the flat form serves only the first token's slot
      `hsm::softhsm2::${slots[0]}::x`, // a configured slot, but of another instance
      `hsm::softhsm2_1::${slots[1]}::x`,
      `hsm::softhsm2_2::${slots[2]}::x`, // no third softhsm2 instance
      `hsm::utimaco::${slots[2]}::x`,
      `hsm::softhsm2::999999::x`,
    ];
    for (const uid of refused) {
      t.equal(await reasonOf(client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: uid })), 'Item_Not_Found', `create ${uid}`);
      t.equal(await reasonOf(client.encrypt(uid, Buffer.from('x'))), 'Item_Not_Found', `encrypt ${uid}`);
    }
    t.same(labelCount('x'), [0, 0, 0]);
    t.equal(await reasonOf(client.encrypt(`hsm::softhsm2_1::${slots[1]}::k`, Buffer.from('x'))), 'Item_Not_Found', 'the key exists on that slot, but not for this prefix');
  });

  t.test('destroy each: gone from its token, then Get and Encrypt are Item_Not_Found', async (t) => {
    const expected = [1, 1, 1];
    for (let i = 0; i < 3; i++) {
      t.equal(await client.destroy(uidOn(i, 'k')), uidOn(i, 'k'));
      expected[i] = 0;
      t.same(labelCount('k'), expected, `only ${tokens.labels[i]} lost its key`);
      t.equal(await reasonOf(client.get(uidOn(i, 'k'))), 'Item_Not_Found');
      t.equal(await reasonOf(client.encrypt(uidOn(i, 'k'), Buffer.from('x'))), 'Item_Not_Found');
    }
  });
});

t.test('key_encryption_key on an [[hsm_instances]] key, and disable_unwrapped_cache, from the file', async (t) => {
  const kek = uidOn(2, 'kek');
  const config = writeConfig('kek', { top: [`key_encryption_key = "${kek}"`], db: ['disable_unwrapped_cache = true'] });
  const server = await startServer({ ...resolveServeOptions({ env: {}, file: readServerConfig(config) }), logLevel: 'silent' });
  const client = new KmipClient({ url: server.url });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  t.equal(await client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: kek }), kek);
  t.same(labelCount('kek'), [0, 0, 1], 'the KEK is on the third token');
  const id = await client.create({ algorithm: 'AES', length: 256 });
  t.notOk(id.startsWith('hsm::'), 'a database key');
  const before = server.keyWrapStats()?.hsmCalls ?? 0;
  t.ok(before >= 1, 'wrapped by the KEK when created');
  await client.encrypt(id, Buffer.from('a'));
  await client.encrypt(id, Buffer.from('b'));
  t.equal((server.keyWrapStats()?.hsmCalls ?? 0) - before, 2, 'no cache: every use unwraps on the HSM');
  t.equal(server.keyWrapStats()?.cache.size, 0);
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** `p11kms serve ARGS` as a child process: its exit and its stderr. */
function runServe(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): { exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SOFTHSM2_CONF: tokens.conf, NODE_OPTIONS: '', ...env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  return { exited };
}

t.test('p11kms serve --config: the real CLI, flags over the file', async (t) => {
  const port = await freePort();
  const config = writeConfig('cli', { port: await freePort() });
  const { exited } = runServe(t, ['--config', config, '--workers', '0', '--port', String(port), '--log-level', 'error']);
  const url = `http://127.0.0.1:${port}`;
  let up = false;
  for (let i = 0; i < 150 && !up; i++) {
    up = await fetch(`${url}/version`).then((r) => r.ok, () => false);
    if (!up) await Promise.race([new Promise((r) => setTimeout(r, 100)), exited]);
  }
  t.ok(up, 'listening on the --port of the command line, not the file\'s');
  if (!up) t.comment((await Promise.race([exited, new Promise<{ stderr: string }>((r) => setTimeout(() => r({ stderr: '(still running)' }), 100))])).stderr);
  t.same(await statusOf(url), expectedStatus);
});

t.test('P11KMS_SERVER_CONF with a wrong PIN: serve exits non-zero naming the slot', async (t) => {
  const config = writeConfig('badpin', { pins: [PIN, PIN, '00000000'] });
  const { exited } = runServe(t, ['--workers', '0', '--port', '0'], { P11KMS_SERVER_CONF: config });
  const { code, stderr } = await Promise.race([exited, new Promise<{ code: null; stderr: string }>((r) => setTimeout(() => r({ code: null, stderr: 'still running after 30 s' }), 30_000).unref())]);
  t.not(code, null, 'it exits by itself');
  t.not(code, 0);
  t.match(stderr, new RegExp(`HSM slot ${slots[2]}: C_Login failed: CKR_PIN_INCORRECT`));
});

t.test('p11kms serve with a misspelt key in the file is a usage error naming it', async (t) => {
  const config = join(dir, 'typo.toml');
  writeFileSync(config, `[db]\nunwrapped_cache_max_sise = 10\nsqlite_path = "${join(dir, 'typo-data')}"\n`);
  const { exited } = runServe(t, ['--config', config, '--workers', '0', '--port', '0']);
  const { code, stderr } = await exited;
  t.equal(code, 2);
  t.match(stderr, /unknown key db\.unwrapped_cache_max_sise/);
});
