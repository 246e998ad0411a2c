import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { KmipClient } from '../../src/kmip/client';
import { privateKeyObject, publicKeyObject } from '../../src/kmip/requests';
import { encodeBinary } from '../../src/kmip/binary-codec';
import { T } from '../../src/kmip/ttlv';
import { freshDatabase, onPostgres } from '../support/postgres';
import { REPO_ROOT } from '../support/server';
import { serverAndClient } from '../support/client';
import { makeTestPki } from '../support/pki';
import { startTestServer } from '../support/server';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { resolveServeOptions, ServerConfigError } from '../../src/server/config-file';

/**
 * Issue 11, item 7: one request cannot stall the server. Each test runs a real `p11kms serve`
 * child process (so its memory is the server's alone) and attacks it with requests at the
 * largest size it accepts, or with small requests that ask for seconds of CPU.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

const MiB = 1024 * 1024;
/** The default --max-request-bytes: the largest body a client may send. */
const MAX_REQUEST_BYTES = 64 * MiB;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Serve {
  url: string;
  pid: number;
  logPath: string;
}

/** `p11kms serve --workers 0` in its own process group, killed with its group when the test ends. */
async function serve(t: Teardown, extraArgs: string[] = []): Promise<Serve> {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-stall-'));
  // Also when the start fails, before the process exists.
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = onPostgres ? await freshDatabase(t) : join(dir, 'kms.sqlite');
  const port = await freePort();
  const logPath = join(dir, 'serve.log');
  const fd = openSync(logPath, 'a');
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', String(port), '--db', db, '--workers', '0', '--log-level', 'warn', ...extraArgs], {
    stdio: ['ignore', 'ignore', fd],
    env: { ...process.env, NODE_OPTIONS: '' },
    detached: true,
  });
  closeSync(fd);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-(child.pid as number), 'SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${url}/version`)).ok) return { url, pid: child.pid as number, logPath };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`p11kms serve did not start: ${readFileSync(logPath, 'utf8')}`);
}

/** Peak and current resident memory of a process, in bytes (Linux). */
function memoryOf(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kb('VmHWM'), now: kb('VmRSS') };
}

async function post(url: string, body: string | Buffer): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${url}/kmip/2_1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** A bare Encrypt whose JSON body is `bodyBytes` long (the data's hex fills it). */
function encryptBody(uid: string, bodyBytes: number): Buffer {
  const frame = (hex: string): string => JSON.stringify({ tag: 'Encrypt', value: [{ tag: 'UniqueIdentifier', type: 'TextString', value: uid }, { tag: 'Data', type: 'ByteString', value: hex }] });
  const dataBytes = Math.floor((bodyBytes - Buffer.byteLength(frame(''))) / 2);
  return Buffer.from(frame(randomBytes(dataBytes).toString('hex').toUpperCase()));
}

interface Load {
  path: string;
  contentType: string;
  body: Buffer;
}

/**
 * Sends each body again and again, one client per body, on a thread of its own (so that
 * reading 64 MiB answers never delays the /health probe on this thread), until told to stop.
 */
function loadFrom(url: string, loads: Load[]): { started: Promise<void>; stop(): Promise<{ ok: number; refused: number; other: number[] }> } {
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { url, loads } = workerData;
    let stop = false;
    const counts = { ok: 0, refused: 0, other: [] };
    parentPort.on('message', () => { stop = true; });
    async function client(load) {
      while (!stop) {
        parentPort.postMessage('sending');
        const res = await fetch(url + load.path, { method: 'POST', headers: { 'content-type': load.contentType }, body: load.body });
        await res.arrayBuffer();
        if (res.status === 200) counts.ok++;
        else if (res.status === 503) { counts.refused++; await new Promise((r) => setTimeout(r, 50)); }
        else counts.other.push(res.status);
      }
    }
    Promise.all(loads.map(client)).then(() => parentPort.postMessage(counts), (e) => parentPort.postMessage({ error: String(e) }));
  `, { eval: true, workerData: { url, loads: loads.map((l) => ({ ...l, body: new Uint8Array(l.body) })) } });
  const started = new Promise<void>((resolve) => worker.once('message', () => resolve()));
  return {
    started,
    async stop() {
      const done = new Promise<{ ok: number; refused: number; other: number[]; error?: string }>((resolve) => worker.on('message', (m) => m !== 'sending' && resolve(m)));
      worker.postMessage('stop');
      const counts = await done;
      await worker.terminate();
      if (counts.error) throw new Error(counts.error);
      return counts;
    },
  };
}

/** A binary TTLV RequestMessage with one Encrypt, `bodyBytes` long. */
function binaryEncryptBody(uid: string, bodyBytes: number): Buffer {
  const message = (data: Buffer): Buffer => encodeBinary(T.struct('RequestMessage', [
    T.struct('RequestHeader', [T.struct('ProtocolVersion', [T.int('ProtocolVersionMajor', 2), T.int('ProtocolVersionMinor', 1)]), T.int('BatchCount', 1)]),
    T.struct('BatchItem', [T.enum('Operation', 'Encrypt'), T.struct('RequestPayload', [T.text('UniqueIdentifier', uid), T.bytes('Data', data)])]),
  ]), 2);
  return message(randomBytes(bodyBytes - message(Buffer.alloc(0)).length - 8));
}

/** Milliseconds for one GET /health on a kept-alive connection. */
function healthLatency(url: string, agent: http.Agent): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http.get(`${url}/health`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    }).on('error', reject);
  });
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function aesKey(url: string): Promise<string> {
  const client = new KmipClient({ url });
  try {
    return await client.create({ algorithm: 'AES', length: 256, usageMask: 4 | 8 | 512 });
  } finally {
    await client.close();
  }
}

t.test('/health answers within 100 ms (p99) while Encrypts of the largest accepted size run, JSON and binary', async (t) => {
  const server = await serve(t);
  const uid = await aesKey(server.url);
  // Just under --max-request-bytes: 32 MiB of data in 64 MiB of JSON hex, 64 MiB of data in binary TTLV.
  const body = encryptBody(uid, MAX_REQUEST_BYTES - 1024);
  const binary = binaryEncryptBody(uid, MAX_REQUEST_BYTES - 1024);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  await healthLatency(server.url, agent);

  const load = loadFrom(server.url, [
    { path: '/kmip/2_1', contentType: 'application/json', body },
    { path: '/kmip', contentType: 'application/octet-stream', body: binary },
  ]);
  await load.started;
  const samples: number[] = [];
  const until = performance.now() + 12_000;
  while (performance.now() < until || samples.length < 200) {
    samples.push(await healthLatency(server.url, agent));
    await new Promise((r) => setTimeout(r, 20));
  }
  const counts = await load.stop();
  const p99 = percentile(samples, 99);
  t.comment(`${samples.length} /health samples: p50 ${percentile(samples, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms; ${counts.ok} Encrypts of ${body.length} (JSON) and ${binary.length} (binary) bytes served, ${counts.refused} refused (503)`);
  t.same(counts.other, [], 'every large Encrypt was answered 200 or, over the memory budget, 503');
  t.ok(counts.ok >= 2, `the large Encrypts were served meanwhile (${counts.ok})`);
  t.ok(p99 < 100, `/health p99 ${p99.toFixed(1)} ms < 100 ms`);
});

t.test('memory: a 60 MiB Encrypt, then three at once, grow the server by a bounded amount; the one over the budget is 503', async (t) => {
  const server = await serve(t);
  const uid = await aesKey(server.url);
  const warm = await post(server.url, encryptBody(uid, 1 * MiB));
  t.equal(warm.status, 200, 'a 1 MiB Encrypt warms the server up');
  const before = memoryOf(server.pid);

  const body = encryptBody(uid, 60 * MiB);
  const one = await post(server.url, body);
  t.equal(one.status, 200, 'a 60 MiB Encrypt is served');
  const afterOne = memoryOf(server.pid);

  const three = await Promise.all([post(server.url, body), post(server.url, body), post(server.url, body)]);
  const afterThree = memoryOf(server.pid);
  const statuses = three.map((r) => r.status).sort();
  t.same(statuses, [200, 200, 503], 'of three 60 MiB Encrypts at once, two fit the 128 MiB in-flight budget; the third is refused');
  const refused = three.find((r) => r.status === 503);
  t.equal(refused?.headers.get('retry-after'), '1', 'with Retry-After: 1');
  t.match(refused?.text, /^Server_Limit_Exceeded: .*134217728 bytes \(max_inflight_bytes\)/, 'naming the budget');

  const growthOne = (afterOne.peak - before.now) / MiB;
  const growthThree = (afterThree.peak - before.now) / MiB;
  t.comment(`RSS before ${(before.now / MiB).toFixed(0)} MiB; peak growth: one 60 MiB request ${growthOne.toFixed(0)} MiB, three at once ${growthThree.toFixed(0)} MiB`);
  t.ok(growthOne < 300, `one 60 MiB request: peak RSS growth ${growthOne.toFixed(0)} MiB < 300 MiB`);
  t.ok(growthThree < 500, `three at once: peak RSS growth ${growthThree.toFixed(0)} MiB < 500 MiB`);
});

t.test('the in-flight budget: a request that would go beyond it is 503 at once, and served once room is free', async (t) => {
  const server = await serve(t, ['--max-request-bytes', String(4 * MiB), '--max-inflight-bytes', String(6 * MiB)]);
  const uid = await aesKey(server.url);
  const port = Number(new URL(server.url).port);
  // A client announces 4 MiB and sends only half: its bytes stay booked while it dawdles.
  const slow = connect(port, '127.0.0.1');
  t.teardown(() => slow.destroy());
  await new Promise((resolve) => slow.once('connect', resolve));
  slow.write(`POST /kmip/2_1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${4 * MiB}\r\n\r\n`);
  slow.write(' '.repeat(2 * MiB));
  await new Promise((r) => setTimeout(r, 300));

  const third = encryptBody(uid, 3 * MiB);
  const refused = await post(server.url, third);
  t.equal(refused.status, 503, 'a 3 MiB request on top of the booked 4 MiB (budget 6 MiB): 503');
  t.equal(refused.headers.get('retry-after'), '1', 'Retry-After: 1');
  t.match(refused.text, /Server_Limit_Exceeded: the requests in progress already hold 6291456 bytes \(max_inflight_bytes\)/);
  const small = await post(server.url, encryptBody(uid, 1 * MiB));
  t.equal(small.status, 200, 'a 1 MiB request still fits beside it');

  slow.destroy();
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await post(server.url, third)).status, 200, 'once the slow client is gone, the 3 MiB request is served');
});

t.test('TLS port: a message beyond the in-flight budget loses its connection; HTTP and the TLS port share one budget', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-stall-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = makeTestPki(dir, 'stall');
  const server = await startTestServer(t, { tlsCert: pki.serverCert, tlsKey: pki.serverKey, clientCa: pki.caCert, socketPort: 0, maxRequestBytes: MiB, maxInflightBytes: MiB });
  const openTls = (): Promise<TLSSocket> => new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: server.socketPort as number, ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), servername: 'localhost' }, () => resolve(s));
    s.on('error', () => undefined);
    s.once('error', reject);
    t.teardown(() => s.destroy());
  });
  const header = (length: number): Buffer => Buffer.concat([Buffer.from('42007801', 'hex'), Buffer.from([length >>> 24, (length >>> 16) & 255, (length >>> 8) & 255, length & 255])]);
  const closedWithin = (s: TLSSocket, ms: number): Promise<boolean> => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    s.resume();
  });
  const httpsQuery = (): Promise<number> => new Promise((resolve, reject) => {
    const body = JSON.stringify({ tag: 'Query', value: [] });
    const req = https.request(`${server.url}/kmip/2_1`, { method: 'POST', ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      resolve(res.statusCode as number);
    });
    req.on('error', reject);
    req.end(body);
  });

  // A message announcing the whole budget, half sent: its bytes are booked from its header on.
  const hog = await openTls();
  hog.write(Buffer.concat([header(MiB - 8), Buffer.alloc(MiB / 2)]));
  await new Promise((r) => setTimeout(r, 300));
  const second = await openTls();
  second.write(header(64));
  t.ok(await closedWithin(second, 3000), 'a second message, 64 bytes over the spent budget: its connection is closed');
  t.equal(await httpsQuery(), 503, 'an HTTPS request meanwhile: 503 (one budget for both listeners)');

  hog.destroy();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await httpsQuery(), 200, 'once the hog is gone, HTTPS is served again');
  const third = await openTls();
  const answered = new Promise<boolean>((resolve) => {
    third.once('data', () => resolve(true));
    third.once('close', () => resolve(false));
  });
  third.write(Buffer.concat([header(64), Buffer.alloc(64)]));
  t.ok(await answered, 'and a TLS message gets an answer');
});

function deriveBody(base: string, iterations: number, bits = 256, objectType = 'SymmetricKey'): string {
  return JSON.stringify({
    tag: 'DeriveKey',
    value: [
      { tag: 'ObjectType', type: 'Enumeration', value: objectType },
      { tag: 'ObjectUniqueIdentifier', type: 'TextString', value: base },
      { tag: 'DerivationMethod', type: 'Enumeration', value: 'PBKDF2' },
      { tag: 'DerivationParameters', value: [
        { tag: 'CryptographicParameters', value: [{ tag: 'HashingAlgorithm', type: 'Enumeration', value: 'SHA256' }] },
        { tag: 'Salt', type: 'ByteString', value: '73616C74' },
        { tag: 'IterationCount', type: 'Integer', value: iterations },
      ] },
      { tag: 'Attributes', value: objectType === 'SymmetricKey'
        ? [{ tag: 'CryptographicAlgorithm', type: 'Enumeration', value: 'AES' }, { tag: 'CryptographicLength', type: 'Integer', value: bits }]
        : [{ tag: 'CryptographicLength', type: 'Integer', value: bits }] },
    ],
  });
}

t.test('PBKDF2: IterationCount × output blocks is capped (default 500,000); beyond it Invalid_Field naming the cap', async (t) => {
  const server = await serve(t);
  const base = await aesKey(server.url);
  const started = performance.now();
  const atCap = await post(server.url, deriveBody(base, 500_000));
  const ms = performance.now() - started;
  t.equal(atCap.status, 200, `500,000 iterations of SHA-256 (the cap): derived in ${ms.toFixed(0)} ms`);
  t.ok(ms < 1000, 'one request at the cap costs under a second');

  const over = await post(server.url, deriveBody(base, 500_001));
  t.equal(over.status, 422);
  t.equal(over.text, "Invalid_Field: IterationCount 500001 is above this server's PBKDF2 cap of 500000 iterations (max_pbkdf2_iterations)");
  const huge = await post(server.url, deriveBody(base, 2_000_000_000));
  t.match(huge.text, /^Invalid_Field: IterationCount 2000000000 is above this server's PBKDF2 cap/, 'two billion iterations (hours of CPU) are refused at once');
  // A 1 MiB secret is 32768 SHA-256 blocks: 100 iterations of it are 3,276,800 block iterations.
  const long = await post(server.url, deriveBody(base, 100, 8 * MiB, 'SecretData'));
  t.equal(long.text, "Invalid_Field: IterationCount 100 × 32768 output blocks is above this server's PBKDF2 cap of 500000 iterations (max_pbkdf2_iterations)", 'a long output multiplies the work, and counts');

  const strict = await serve(t, ['--max-pbkdf2-iterations', '5000']);
  const strictBase = await aesKey(strict.url);
  t.equal((await post(strict.url, deriveBody(strictBase, 5000))).status, 200, '--max-pbkdf2-iterations 5000: 5000 pass');
  t.equal((await post(strict.url, deriveBody(strictBase, 5001))).text, "Invalid_Field: IterationCount 5001 is above this server's PBKDF2 cap of 5000 iterations (max_pbkdf2_iterations)");
});

function createRsaBody(bits: number): string {
  return JSON.stringify({
    tag: 'CreateKeyPair',
    value: [{ tag: 'CommonAttributes', value: [
      { tag: 'CryptographicAlgorithm', type: 'Enumeration', value: 'RSA' },
      { tag: 'CryptographicLength', type: 'Integer', value: bits },
      { tag: 'CryptographicUsageMask', type: 'Integer', value: 1 | 2 },
    ] }],
  });
}

t.test('RSA key sizes are capped (default 4096 bits) for CreateKeyPair and ReKeyKeyPair; beyond it Invalid_Field naming the cap', async (t) => {
  const server = await serve(t);
  const over = await post(server.url, createRsaBody(8192));
  t.equal(over.status, 422);
  t.equal(over.text, "Invalid_Field: an RSA key of 8192 bits is above this server's cap of 4096 bits (max_rsa_bits)", 'an 8192-bit pair (tens of seconds of CPU) is refused before any work');

  // This time from the config file's [limits] table.
  const conf = join(mkdtempSync(join(tmpdir(), 'p11kms-stall-conf-')), 'kms.toml');
  writeFileSync(conf, '[limits]\nmax_rsa_bits = 2048\n');
  t.teardown(() => rmSync(join(conf, '..'), { recursive: true, force: true }));
  const strict = await serve(t, ['--config', conf]);
  t.equal((await post(strict.url, createRsaBody(2048))).status, 200, '[limits] max_rsa_bits = 2048: a 2048-bit pair is made');
  t.equal((await post(strict.url, createRsaBody(3072))).text, "Invalid_Field: an RSA key of 3072 bits is above this server's cap of 2048 bits (max_rsa_bits)");

  // A 3072-bit key registered from outside: re-keying it would generate 3072 bits again.
  const client = new KmipClient({ url: strict.url });
  t.teardown(() => client.close());
  const pair = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const uid = await client.register(privateKeyObject(pair.privateKey.export({ format: 'der', type: 'pkcs8' }), 'PKCS8', 'RSA'), { usageMask: 1 });
  const publicUid = await client.register(publicKeyObject(pair.publicKey.export({ format: 'der', type: 'spki' }), 'X509', 'RSA'), { usageMask: 2 });
  // ReKeyKeyPair needs the pair's PublicKeyLink (Cosmian's rule), which Register does not make.
  const linked = await post(strict.url, JSON.stringify({ tag: 'AddAttribute', value: [
    { tag: 'UniqueIdentifier', type: 'TextString', value: uid },
    { tag: 'NewAttribute', value: [{ tag: 'Link', value: [
      { tag: 'LinkType', type: 'Enumeration', value: 'PublicKeyLink' },
      { tag: 'LinkedObjectIdentifier', type: 'TextString', value: publicUid },
    ] }] },
  ] }));
  t.equal(linked.status, 200, linked.text);
  const rekey = await post(strict.url, JSON.stringify({ tag: 'ReKeyKeyPair', value: [{ tag: 'PrivateKeyUniqueIdentifier', type: 'TextString', value: uid }] }));
  t.equal(rekey.status, 422);
  t.equal(rekey.text, "Invalid_Field: an RSA key of 3072 bits is above this server's cap of 2048 bits (max_rsa_bits)", 'ReKeyKeyPair is held to the same cap');
});

t.test('the new limits are checked at start: a budget below one request, an RSA cap outside 1024–8192, zero', async (t) => {
  const start = (flags: Record<string, number>): string => {
    try {
      resolveServeOptions({ flags, env: {} });
      return 'started';
    } catch (e) {
      return e instanceof ServerConfigError ? e.message : String(e);
    }
  };
  t.equal(start({ maxInflightBytes: 32 * MiB }), 'max-inflight-bytes (33554432) must be at least max-request-bytes (67108864)');
  t.equal(start({ maxInflightBytes: 32 * MiB, maxRequestBytes: 16 * MiB }), 'started');
  t.equal(start({ maxRsaBits: 16384 }), 'max-rsa-bits must be from 1024 to 8192 (the sizes the server generates), not 16384');
  t.equal(start({ maxPbkdf2Iterations: 0 }), 'max-pbkdf2-iterations must be at least 1');
});

async function publicKeyOf(client: KmipClient, uid: string): Promise<KeyObject> {
  const got = await client.get(uid, { keyFormatType: 'X509' });
  return createPublicKey({ key: got.bytes as Buffer, format: 'der', type: 'spki' });
}

t.test('large inputs, worked on off the event loop, give the same answers', async (t) => {
  const { client } = await serverAndClient(t);
  const data = randomBytes(2 * MiB + 5);
  const aes = await client.create({ algorithm: 'AES', length: 256 });
  for (const mode of ['GCM', 'CBC', 'CTR']) {
    const sealed = await client.encrypt(aes, data, { mode });
    t.ok(sealed.data.length >= data.length && !sealed.data.subarray(0, 64).equals(data.subarray(0, 64)), `AES-${mode}: 2 MiB encrypted`);
    const opened = await client.decrypt(aes, sealed.data, { mode, ...(sealed.iv ? { iv: sealed.iv } : {}), ...(sealed.tag ? { tag: sealed.tag } : {}) });
    t.ok(opened.equals(data), `AES-${mode}: and decrypted back`);
  }
  t.same(await client.hash('SHA256', data), createHash('sha256').update(data).digest(), 'Hash SHA-256 of 2 MiB');
  const hmacKey = await client.create({ algorithm: 'HMACSHA256', length: 256 });
  const mac = await client.mac(hmacKey, data);
  t.equal(mac.length, 32, 'MAC of 2 MiB');
  const tampered = Buffer.from(data);
  tampered[tampered.length - 1] ^= 1;
  t.same(await client.mac(hmacKey, data), mac, 'the same MAC again');
  t.notSame(await client.mac(hmacKey, tampered), mac, 'another MAC for one bit changed');

  for (const [spec, hash] of [[{ algorithm: 'EC', curve: 'P256' }, 'sha256'], [{ algorithm: 'EC', curve: 'SECP256K1' }, 'sha256'], [{ algorithm: 'Ed25519' }, null]] as const) {
    const { privateKeyId, publicKeyId } = await client.createKeyPair(spec);
    const pub = await publicKeyOf(client, publicKeyId);
    const sig = await client.sign(privateKeyId, data);
    const name = 'curve' in spec ? `ECDSA ${spec.curve}` : spec.algorithm;
    t.ok(verify(hash, data, pub, sig), `${name} over 2 MiB verifies in node:crypto`);
    t.ok(await client.verify(publicKeyId, data, sig), `${name}: and on the server`);
    t.notOk(await client.verify(publicKeyId, tampered, sig), `${name}: not over other data`);
  }
});
