import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure, type CellResult } from './load';
import { printTable, throughputSvg, writeResults } from './report';

/**
 * `npm run bench:kms`: the KMS as users run it (`p11kms serve`, one worker per core, SQLite
 * with durable writes) against a minimal Node HTTP echo server on the same loopback, in one
 * run, so the figures compare side by side whatever else the machine is doing.
 */

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const LEVELS = [1, 4, 16];
const ROOT = join(__dirname, '..', '..');

const text = (tag: string, value: string): string => `{"tag":"${tag}","type":"TextString","value":"${value}"}`;
const bytes = (tag: string, hex: string): string => `{"tag":"${tag}","type":"ByteString","value":"${hex}"}`;

const CREATE_AES = `{"tag":"Create","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"Attributes","value":[{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"},{"tag":"CryptographicLength","type":"Integer","value":256},{"tag":"CryptographicUsageMask","type":"Integer","value":12},{"tag":"ActivationDate","type":"DateTime","value":"2024-01-01T00:00:00Z"}]}]}`;
const CREATE_P256 = `{"tag":"CreateKeyPair","value":[{"tag":"CommonAttributes","value":[{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"EC"},{"tag":"CryptographicDomainParameters","value":[{"tag":"RecommendedCurve","type":"Enumeration","value":"P256"}]},{"tag":"ActivationDate","type":"DateTime","value":"2024-01-01T00:00:00Z"}]}]}`;
const encryptRequest = (uid: string): string => `{"tag":"Encrypt","value":[${text('UniqueIdentifier', uid)},${bytes('Data', '00'.repeat(64))}]}`;
const signRequest = (uid: string): string => `{"tag":"Sign","value":[${text('UniqueIdentifier', uid)},{"tag":"CryptographicParameters","value":[{"tag":"DigitalSignatureAlgorithm","type":"Enumeration","value":"ECDSAWithSHA256"}]},${bytes('Data', 'AB'.repeat(32))}]}`;

/** Resolves once the child has printed `pattern` `times` times (stdout or stderr). */
function waitForLines(child: ChildProcess, pattern: RegExp, times = 1): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const count = seen.split('\n').filter((line) => pattern.test(line)).length;
      if (count >= times) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before it was ready:\n${seen}`)));
  });
}

async function startKms(dir: string, port: number, workers: number): Promise<ChildProcess> {
  const script = `require(${JSON.stringify(join(ROOT, 'dist', 'src', 'server', 'main.js'))}).serve({ port: ${port}, dbPath: ${JSON.stringify(join(dir, 'kms.sqlite'))}, workers: ${workers}, logLevel: 'info' })`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLines(child, /listening/, Math.max(1, workers));
  return child;
}

async function startEcho(port: number): Promise<ChildProcess> {
  const script = `require('node:http').createServer((q, s) => { const c = []; q.on('data', (d) => c.push(d)); q.on('end', () => { const b = Buffer.concat(c); s.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': b.length }); s.end(b); }); }).listen(${port}, '127.0.0.1', () => console.log('echo listening'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLines(child, /echo listening/);
  return child;
}

async function post(origin: string, body: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${origin}/kmip/2_1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const textBody = await res.text();
  if (res.status !== 200) throw new Error(`setup request failed: ${res.status} ${textBody}`);
  return JSON.parse(textBody) as Record<string, unknown>;
}

function field(response: Record<string, unknown>, tag: string): string {
  const found = (response['value'] as Array<{ tag: string; value: unknown }>).find((n) => n.tag === tag);
  if (!found) throw new Error(`no ${tag} in response`);
  return String(found.value);
}

async function main(): Promise<void> {
  const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-bench-'));
  const kmsPort = 19998;
  const echoPort = 19997;
  const workers = Number(process.env['BENCH_WORKERS'] ?? cores);
  const kms = await startKms(dir, kmsPort, workers);
  const echo = await startEcho(echoPort);
  const kmsOrigin = `http://127.0.0.1:${kmsPort}`;
  const echoOrigin = `http://127.0.0.1:${echoPort}`;
  const ok = (status: number): boolean => status === 200;
  try {
    const aes = field(await post(kmsOrigin, CREATE_AES), 'UniqueIdentifier');
    const ec = field(await post(kmsOrigin, CREATE_P256), 'PrivateKeyUniqueIdentifier');
    const cells: CellResult[] = [];
    for (const c of LEVELS) {
      cells.push(await measure('echo (floor)', echoOrigin, '/kmip/2_1', () => encryptRequest(aes), c, SECONDS, ok));
      cells.push(await measure('AES-GCM encrypt 64 B', kmsOrigin, '/kmip/2_1', () => encryptRequest(aes), c, SECONDS, ok));
      cells.push(await measure('ECDSA-P256 sign', kmsOrigin, '/kmip/2_1', () => signRequest(ec), c, SECONDS, ok));
      cells.push(await measure('AES-256 key creation', kmsOrigin, '/kmip/2_1', () => CREATE_AES, c, SECONDS, ok));
    }
    const title = `p11kms KMS over JSON TTLV, ${cores} cores, ${workers} workers, SQLite WAL synchronous=FULL`;
    printTable(title, cells);
    const out = writeResults('kms', { title, date: new Date().toISOString(), node: process.version, cores, seconds: SECONDS, cells }, throughputSvg(title, cells));
    console.log(`\nresults written to ${out}/kms.json and kms.svg`);
    const errors = cells.reduce((n, c) => n + c.errors, 0);
    if (errors > 0) {
      console.error(`${errors} requests failed`);
      process.exitCode = 1;
    }
  } finally {
    kms.kill('SIGTERM');
    echo.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
