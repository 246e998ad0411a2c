import t from 'tap';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { KmipClient } from '../../src/kmip/client';
import { ASAN_MODULE_PATH, MODULE_PATH, runProgram, startModuleFixture, writeSlotConfig, type ModuleFixture, type SlotOptions } from '../support/module';
import { REPO_ROOT } from '../support/server';

/**
 * PyKCS11 (Debian's python3-pykcs11 1.5.12) against the real module and a real KMS. Each
 * scenario in test/module/scenarios prints one JSON line per check; every line becomes one
 * assertion here, named after the PKCS#11 behaviour it checks.
 */

// Debian's packages live under /usr/bin/python3; `python3` on PATH may be a pyenv without them.
const PYTHON = '/usr/bin/python3';
const SCENARIOS = join(REPO_ROOT, 'test', 'module', 'scenarios');
const LABEL = 'p11kms-test';

interface Line {
  name?: string;
  actual?: unknown;
  expected?: unknown;
  skip?: string;
  info?: unknown;
  trace?: string;
  fact?: string;
  value?: unknown;
  done?: boolean;
}

interface Scenario {
  facts: Map<string, unknown>;
  checks: number;
}

type Test = tap.Test;

/** Runs one scenario script and turns its lines into assertions; returns the facts it reported. */
async function scenario(t: Test, f: ModuleFixture, script: string, opts: { env?: NodeJS.ProcessEnv; login?: string; timeoutMs?: number } = {}): Promise<Scenario> {
  const env: NodeJS.ProcessEnv = {
    ...f.env,
    P11KMS_MODULE: MODULE_PATH,
    P11KMS_TEST_URL: f.server.url,
    P11KMS_TEST_LABEL: LABEL,
    P11KMS_TEST_LOGIN: opts.login ?? 'none',
    PYTHONPATH: SCENARIOS,
    PYTHONDONTWRITEBYTECODE: '1',
    ...opts.env,
  };
  const r = await runProgram(PYTHON, [join(SCENARIOS, script)], { env, cwd: f.dir, timeout: opts.timeoutMs ?? 300_000 });
  const facts = new Map<string, unknown>();
  const strays: string[] = [];
  let done = false;
  let checks = 0;
  for (const text of r.stdout.split('\n').filter((l) => l.trim() !== '')) {
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      strays.push(text);
      continue;
    }
    if (line.done) done = true;
    else if (line.fact !== undefined) facts.set(line.fact, line.value);
    else if (line.name !== undefined && line.skip !== undefined) t.pass(line.name, { skip: line.skip });
    else if (line.name !== undefined) {
      checks++;
      const extra = { ...(line.info !== undefined ? { info: line.info } : {}), ...(line.trace !== undefined ? { trace: line.trace } : {}) };
      t.strictSame(line.actual, line.expected, line.name, extra);
    } else strays.push(text);
  }
  t.same(strays, [], `${script}: nothing but check lines on stdout (the module prints nothing to the host's stdout)`);
  t.equal(r.code, 0, `${script} exits 0`, { stderr: r.stderr.slice(-4000) });
  t.ok(done, `${script} ran to the end`, { stderr: r.stderr.slice(-4000) });
  t.ok(checks > 0, `${script} made checks`);
  return { facts, checks };
}

/** A proxy in front of the KMS that counts KMIP operations; GET /__counts returns them. */
async function countingProxy(t: Test, target: string): Promise<string> {
  const counts: Record<string, number> = {};
  const count = (body: string): void => {
    try {
      const msg = JSON.parse(body) as { tag: string; value?: unknown };
      const ops: string[] = [];
      if (msg.tag === 'RequestMessage') {
        const walk = (n: unknown): void => {
          if (Array.isArray(n)) n.forEach(walk);
          else if (n && typeof n === 'object') {
            const node = n as { tag?: string; value?: unknown };
            if (node.tag === 'Operation' && typeof node.value === 'string') ops.push(node.value);
            else walk(node.value);
          }
        };
        walk(msg.value);
      } else ops.push(msg.tag);
      for (const op of ops) counts[op] = (counts[op] ?? 0) + 1;
    } catch {
      counts['unparsed'] = (counts['unparsed'] ?? 0) + 1;
    }
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/__counts') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(counts));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      count(body.toString('utf8'));
      fetch(target + (req.url ?? '/'), { method: req.method ?? 'POST', headers: { 'Content-Type': req.headers['content-type'] ?? 'application/json' }, body })
        .then(async (up) => {
          const bytes = Buffer.from(await up.arrayBuffer());
          res.writeHead(up.status, { 'Content-Type': up.headers.get('content-type') ?? 'application/json' });
          res.end(bytes);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function countedOpstate(t: Test, f: ModuleFixture, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const proxy = await countingProxy(t, f.server.url);
  const conf = join(f.dir, `counted-${Math.random().toString(16).slice(2)}.toml`);
  writeSlotConfig(conf, [proxy], { label: LABEL });
  await scenario(t, f, 'opstate.py', { env: { ...env, P11KMS_CONF: conf, P11KMS_TEST_COUNTER_URL: proxy } });
}

/**
 * RSA-4096 generation takes several seconds on a loaded 2-core machine (CI runs this beside
 * other tests): a 5 s request timeout turned it into CKR_DEVICE_ERROR now and then. The
 * timeout's own behaviour is tested with a silent server below, at 5 s.
 */
async function fixture(t: Test, slot: SlotOptions = {}): Promise<ModuleFixture> {
  return startModuleFixture(t, { label: LABEL, timeoutMs: 30_000, ...slot });
}

t.test('PyKCS11 is there', async (t) => {
  const r = await runProgram(PYTHON, ['-c', 'import PyKCS11, cryptography; print(PyKCS11.CKM_AES_GCM)']);
  t.equal(r.code, 0, `${PYTHON} imports PyKCS11 and cryptography (apt: python3-pykcs11, python3-cryptography)`, { stderr: r.stderr });
});

t.test('PyKCS11 against the module and a real KMS', async (t) => {
  const f = await fixture(t);

  t.test('1. slots, tokens and mechanism info', async (t) => {
    const first = await scenario(t, f, 'slots.py');
    const second = await scenario(t, f, 'slots.py');
    t.strictSame(second.facts.get('identity'), first.facts.get('identity'), 'token label and serial are the same in a second process loading the module');
  });

  t.test('2. sessions, login states and session objects', async (t) => {
    const { facts } = await scenario(t, f, 'sessions.py');
    const kms = new KmipClient({ url: f.server.url });
    t.teardown(() => kms.close());
    const state = async (key: string): Promise<unknown> => {
      const uid = facts.get(key);
      if (typeof uid !== 'string') return `no ${key} reported`;
      return (await kms.getAttributes(uid, ['State'])).attributes['State'];
    };
    t.equal(await state('session_key_uid'), 'Destroyed', 'KMS (KMIP GetAttributes): the session key of the closed session is Destroyed');
    t.equal(await state('session_data_uid'), 'Destroyed', 'KMS (KMIP GetAttributes): the session data object of the closed session is Destroyed');
    t.equal(await state('token_data_uid'), 'Active', 'KMS (KMIP GetAttributes): the token object made in the closed session is still Active');
  });

  t.test('3. key generation from standard templates', (t) => scenario(t, f, 'keygen.py').then(() => undefined));
  t.test('4. C_GetAttributeValue to the letter', (t) => scenario(t, f, 'attributes.py').then(() => undefined));
  t.test('5. sign and verify, checked with cryptography', (t) => scenario(t, f, 'signatures.py').then(() => undefined));
  t.test('6. encrypt and decrypt, checked with cryptography and openssl', (t) => scenario(t, f, 'ciphers.py').then(() => undefined));

  t.test('7. operation state, with the KMIP calls counted', (t) => countedOpstate(t, f));

  t.test('8. digests against hashlib', (t) => scenario(t, f, 'digests.py').then(() => undefined));
  t.test('9. C_CreateObject, C_DestroyObject, C_SetAttributeValue, C_CopyObject', (t) => scenario(t, f, 'objects.py').then(() => undefined));
  t.test('10. C_FindObjects', (t) => scenario(t, f, 'find.py').then(() => undefined));
  t.test('11. wrap, unwrap and derive', (t) => scenario(t, f, 'wrapderive.py').then(() => undefined));
  t.test('12. error codes', (t) => scenario(t, f, 'errors.py').then(() => undefined));
  t.test('13. CKA_SENSITIVE/CKA_EXTRACTABLE latches and the KMS\'s ALWAYS_SENSITIVE/NEVER_EXTRACTABLE', async (t) => {
    const { facts } = await scenario(t, f, 'protection.py');
    const kms = new KmipClient({ url: f.server.url });
    t.teardown(() => kms.close());
    const uid = String(facts.get('tightened_uid'));
    const a = (await kms.getAttributes(uid)).attributes;
    t.same([a['Sensitive'], a['Extractable'], a['AlwaysSensitive'], a['NeverExtractable']], [true, false, false, false], 'KMS (KMIP GetAttributes): C_SetAttributeValue tightened the key on the KMS, and its history says it was once readable');
    const refused = await kms.get(uid).then(() => 'ok', (e: unknown) => (e as { reason?: string }).reason);
    t.equal(refused, 'Not_Extractable', 'KMS (KMIP Get): the key no longer leaves');
  });
});

// The C shim under AddressSanitizer, driven by the same scenarios: Python and PyKCS11 are not
// instrumented, so libasan (and libstdc++, for PyKCS11's C++ exceptions) are preloaded.
t.test('the same scenarios against the AddressSanitizer build', async (t) => {
  if (!existsSync(ASAN_MODULE_PATH)) {
    t.pass('ASAN scenarios', { skip: `${ASAN_MODULE_PATH} is not built (bash scripts/build-native.sh --asan)` });
    return;
  }
  const lib = async (name: string): Promise<string> => (await runProgram('gcc', [`-print-file-name=${name}`])).stdout.trim();
  const preload = [await lib('libasan.so'), await lib('libstdc++.so.6')];
  if (!preload.every((p) => p.startsWith('/') && existsSync(p))) {
    t.pass('ASAN scenarios', { skip: `gcc does not know where libasan.so and libstdc++.so.6 are (${preload.join(', ')})` });
    return;
  }
  const asan = { P11KMS_MODULE: ASAN_MODULE_PATH, LD_PRELOAD: preload.join(' '), ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1' };
  const f = await fixture(t);
  for (const script of ['slots.py', 'sessions.py', 'keygen.py', 'attributes.py', 'signatures.py', 'ciphers.py', 'digests.py', 'objects.py', 'find.py', 'wrapderive.py', 'errors.py', 'protection.py']) {
    t.test(`${script} under ASAN`, (t) => scenario(t, f, script, { env: asan }).then(() => undefined));
  }
  t.test('opstate.py under ASAN', (t) => countedOpstate(t, f, asan));
});

t.test('login = "pin-is-token"', async (t) => {
  // A KMS that knows one user by an API token: the PIN is that token.
  const token = randomBytes(16).toString('hex');
  const f = await startModuleFixture(t, { label: LABEL, login: 'pin-is-token' }, { apiTokens: [`pyuser:${token}`] });
  await scenario(t, f, 'slots.py', { login: 'pin-is-token' });
  await scenario(t, f, 'pin.py', { login: 'pin-is-token', env: { P11KMS_TEST_TOKEN: token } });
});

t.test('an unreachable KMS', async (t) => {
  const f = await fixture(t);
  t.test('a closed port', async (t) => {
    const conf = join(f.dir, 'closed.toml');
    writeSlotConfig(conf, [`http://127.0.0.1:${await closedPort()}`], { label: LABEL });
    await scenario(t, f, 'unreachable.py', { timeoutMs: 60_000, env: { P11KMS_CONF: conf, P11KMS_TEST_KMS_STATE: 'a closed port' } });
  });
  t.test('a server that accepts connections and never answers', async (t) => {
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      silent.close(() => resolve());
    }));
    const conf = join(f.dir, 'silent.toml');
    // The fixture's timeout_ms is 5000: each call must give up after it, not hang.
    writeSlotConfig(conf, [`http://127.0.0.1:${(silent.address() as AddressInfo).port}`], { label: LABEL });
    await scenario(t, f, 'unreachable.py', { timeoutMs: 90_000, env: { P11KMS_CONF: conf, P11KMS_TEST_KMS_STATE: 'a silent server' } });
  });
});
