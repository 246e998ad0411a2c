import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HSM_ROWS, startHsmBench, type HsmBench } from './hsm-bench';
import { bytes, checkRoundTrip, createAesRequest, encryptRequest, field, post, text, waitForLines } from './kms-json';
import { measure, type CellResult } from './load';
import { printTable, throughputSvg, writeResults } from './report';
import { postgresBench } from './kms-postgres';

/**
 * `npm run bench:kms`: the KMS as users run it (`p11kms serve`, one worker per core, SQLite
 * with durable writes) against a minimal Node HTTP echo server on the same loopback, in one
 * run, so the figures compare side by side whatever else the machine is doing. With SoftHSM2
 * installed, the same run measures AES-GCM with HSM-wrapped keys (hsm-bench.ts) in a second table.
 * With `-- --db postgresql`, it measures two servers on PostgreSQL beside SQLite instead (kms-postgres.ts).
 */

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const LEVELS = [1, 4, 16];
const ROOT = join(__dirname, '..', '..');

const CREATE_AES = createAesRequest();
const CREATE_P256 = `{"tag":"CreateKeyPair","value":[{"tag":"CommonAttributes","value":[{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"EC"},{"tag":"CryptographicDomainParameters","value":[{"tag":"RecommendedCurve","type":"Enumeration","value":"P256"}]},{"tag":"ActivationDate","type":"DateTime","value":"2024-01-01T00:00:00Z"}]}]}`;
const signRequest = (uid: string): string => `{"tag":"Sign","value":[${text('UniqueIdentifier', uid)},{"tag":"CryptographicParameters","value":[{"tag":"DigitalSignatureAlgorithm","type":"Enumeration","value":"ECDSAWithSHA256"}]},${bytes('Data', 'AB'.repeat(32))}]}`;

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

/** The HSM section: its own table and kms-hsm.json/.svg, with the plain key's cells as the reference row. */
function reportHsm(hsm: HsmBench, cells: CellResult[], cores: number, workers: number): number {
  const title = `AES-GCM encrypt 64 B, key wrapped by SoftHSM2, ${workers} workers per KMS`;
  printTable(title, cells);
  console.log('\nHSM unwraps per row (keyWrapStats() summed over the workers, warm-up included):');
  for (const u of hsm.unwraps) console.log(`  ${u.name}, c=${u.concurrency}: ${u.hsmCalls} unwraps, ${u.hits} cache hits, ${u.misses} misses for ${u.requests} measured requests`);
  writeResults('kms-hsm', { title, date: new Date().toISOString(), node: process.version, cores, workers, seconds: SECONDS, cells, unwraps: hsm.unwraps }, throughputSvg(title, cells));
  const problems = hsm.problems();
  for (const p of problems) console.error(`cache check failed: ${p}`);
  return problems.length;
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
  let hsm: HsmBench | string = 'not started';
  try {
    const aes = field(await post(kmsOrigin, CREATE_AES), 'UniqueIdentifier');
    const ec = field(await post(kmsOrigin, CREATE_P256), 'PrivateKeyUniqueIdentifier');
    await checkRoundTrip(kmsOrigin, aes);
    hsm = await startHsmBench(dir, [19996, 19995], workers);
    if (typeof hsm === 'string') console.log(`HSM rows skipped: ${hsm}`);
    const cells: CellResult[] = [];
    const hsmCells: CellResult[] = [];
    // Every row of one concurrency runs back to back, so they compare under the same machine load.
    for (const c of LEVELS) {
      cells.push(await measure('echo (floor)', echoOrigin, '/kmip/2_1', () => encryptRequest(aes), c, SECONDS, ok));
      const reference = await measure('AES-GCM encrypt 64 B', kmsOrigin, '/kmip/2_1', () => encryptRequest(aes), c, SECONDS, ok);
      cells.push(reference);
      if (typeof hsm !== 'string') hsmCells.push({ ...reference, name: HSM_ROWS.reference }, ...await hsm.measureLevel(c, SECONDS));
      cells.push(await measure('ECDSA-P256 sign', kmsOrigin, '/kmip/2_1', () => signRequest(ec), c, SECONDS, ok));
      cells.push(await measure('AES-256 key creation', kmsOrigin, '/kmip/2_1', () => CREATE_AES, c, SECONDS, ok));
    }
    const title = `p11kms KMS over JSON TTLV, ${cores} cores, ${workers} workers, SQLite WAL synchronous=FULL`;
    printTable(title, cells);
    const out = writeResults('kms', { title, date: new Date().toISOString(), node: process.version, cores, seconds: SECONDS, cells }, throughputSvg(title, cells));
    const failedChecks = typeof hsm === 'string' ? 0 : reportHsm(hsm, hsmCells, cores, workers);
    console.log(`\nresults written to ${out}/kms.json and kms.svg${typeof hsm === 'string' ? '' : ', kms-hsm.json and kms-hsm.svg'}`);
    const errors = [...cells, ...hsmCells].reduce((n, c) => n + c.errors, 0);
    if (errors > 0) console.error(`${errors} requests failed`);
    if (errors > 0 || failedChecks > 0) process.exitCode = 1;
  } finally {
    kms.kill('SIGTERM');
    echo.kill('SIGTERM');
    if (typeof hsm !== 'string') await hsm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `--db postgresql` picks the PostgreSQL comparison; nothing else is accepted, so a typo is not a silent SQLite run. */
function chosenDb(argv: string[]): 'sqlite' | 'postgresql' {
  const i = argv.indexOf('--db');
  if (i < 0) return 'sqlite';
  const db = argv[i + 1];
  if (db !== 'postgresql' && db !== 'sqlite') throw new Error(`--db must be sqlite or postgresql, not ${db ?? 'nothing'}`);
  return db;
}

async function mainPostgres(): Promise<void> {
  const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-bench-'));
  try {
    const errors = await postgresBench(dir, Number(process.env['BENCH_WORKERS'] ?? cores), SECONDS);
    if (errors > 0) {
      console.error(`${errors} requests failed`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

(chosenDb(process.argv.slice(2)) === 'postgresql' ? mainPostgres() : main()).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
