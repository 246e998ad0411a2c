import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../src/server/main';
import type { CellResult } from './load';
import { printTable, throughputSvg, writeResults } from './report';

/**
 * `npm run bench:module`: PKCS#11 modules as a C application sees them (bench/module-bench.c),
 * side by side in one run: p11kms with its runtime embedded in the host process, p11kms with
 * its runtime in a node child process, and SoftHSM2 as the local-crypto reference. The KMS
 * runs in this process on loopback; every p11kms key operation is a KMIP round trip to it,
 * on the same cores as the module, while SoftHSM2 computes in the host process.
 *
 * BENCH_SECONDS sets the measured seconds per cell (default 3).
 */

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const ROOT = join(__dirname, '..', '..');
const MODULE = join(ROOT, 'build', 'Release', 'libp11kms.so');
const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '1234';

interface HarnessCell {
  name: string;
  threads: number;
  ops: number;
  errors: number;
  first_error: string;
  seconds: number;
  ops_per_s: number;
  p50_us: number;
  p99_us: number;
}

interface HarnessResult {
  module: string;
  library: string;
  manufacturer: string;
  initialize_ms: number;
  keygen_ms: number;
  rss_before_kb: number;
  rss_after_kb: number;
  rss_added_kb: number;
  child_processes: number;
  child_rss_kb: number;
  cells: HarnessCell[];
}

interface Subject {
  name: string;
  module: string;
  env: NodeJS.ProcessEnv;
}

interface Verdict {
  target: string;
  value: string;
  met: boolean;
}

/** Runs the harness without blocking this process's event loop, which serves the KMS. */
function runHarness(binary: string, subject: Subject): Promise<HarnessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [subject.module, String(SECONDS), PIN], { env: subject.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) console.error(`  [${subject.name}] ${line.replace(/^module-bench: /, '')}`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${subject.name}: module-bench exited with ${code}\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as HarnessResult);
      } catch (e) {
        reject(new Error(`${subject.name}: unreadable output (${(e as Error).message}):\n${stdout}`));
      }
    });
  });
}

function cell(result: HarnessResult, name: string, threads: number): HarnessCell {
  const found = result.cells.find((c) => c.name === name && c.threads === threads);
  if (!found) throw new Error(`no cell ${name} at ${threads} threads`);
  return found;
}

const us = (v: number): string => `${v.toFixed(1)} µs`;

function verdicts(result: HarnessResult): Verdict[] {
  const out: Verdict[] = [];
  const p50 = (name: string): Verdict => {
    const v = cell(result, name, 1).p50_us;
    return { target: `${name} p50 ≤ 150 µs`, value: us(v), met: v <= 150 };
  };
  out.push(p50('ECDSA-P256 sign'), p50('AES-GCM encrypt 64 B'));
  for (const name of [...new Set(result.cells.map((c) => c.name))]) {
    const one = cell(result, name, 1).ops_per_s;
    const four = cell(result, name, 4).ops_per_s;
    const ratio = one > 0 ? four / one : 0;
    out.push({ target: `4 threads ≥ 1.8× 1 thread: ${name}`, value: `${ratio.toFixed(2)}×`, met: ratio >= 1.8 });
  }
  out.push({ target: 'C_Initialize ≤ 150 ms', value: `${result.initialize_ms.toFixed(1)} ms`, met: result.initialize_ms <= 150 });
  // A runtime child is memory the host pays for too: it counts with the host's.
  const addedMb = (result.rss_added_kb + result.child_rss_kb) / 1024;
  const detail = result.child_processes > 0 ? ` (host ${(result.rss_added_kb / 1024).toFixed(1)} + child ${(result.child_rss_kb / 1024).toFixed(1)})` : '';
  out.push({ target: 'RSS added ≤ 80 MB (host + runtime child)', value: `${addedMb.toFixed(1)} MB${detail}`, met: addedMb <= 80 });
  return out;
}

function printTargets(subjects: string[], rows: Verdict[][]): void {
  const targets = (rows[0] ?? []).map((v) => v.target);
  const cells = targets.map((_, i) => rows.map((r) => {
    const v = r[i] as Verdict;
    return `${v.value} ${v.met ? 'met' : 'MISSED'}`;
  }));
  const head = ['target', ...subjects];
  const widths = head.map((h, i) => Math.max(h.length, ...(i === 0 ? targets : cells.map((c) => c[i - 1] as string)).map((s) => s.length)));
  const line = (r: string[]): string => r.map((v, i) => v.padEnd(widths[i] as number)).join('  ');
  console.log('\ntargets (for p11kms; SoftHSM2 is the local-crypto reference)');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  targets.forEach((t, i) => console.log(line([t, ...(cells[i] as string[])])));
}

function memoryLine(name: string, r: HarnessResult): string {
  const child = r.child_processes > 0 ? `, runtime child ${(r.child_rss_kb / 1024).toFixed(1)} MB` : '';
  return `${name}: ${r.library}; C_Initialize ${r.initialize_ms.toFixed(1)} ms; key generation ${r.keygen_ms.toFixed(0)} ms; VmRSS ${(r.rss_before_kb / 1024).toFixed(1)} → ${(r.rss_after_kb / 1024).toFixed(1)} MB (+${(r.rss_added_kb / 1024).toFixed(1)} MB${child})`;
}

async function main(): Promise<void> {
  const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  if (!existsSync(MODULE)) throw new Error(`${MODULE} is missing: run npm run setup (scripts/build-native.sh)`);
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-module-bench-'));
  const binary = join(dir, 'module-bench');
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-I/usr/include/p11-kit-1', `-I${join(ROOT, 'native', 'include')}`, '-o', binary, join(ROOT, 'bench', 'module-bench.c'), '-ldl', '-lpthread'], { stdio: 'inherit' });

  const server = await startServer({ port: 0, dbPath: join(dir, 'kms.sqlite'), logLevel: 'silent' });
  try {
    const confPath = join(dir, 'p11kms.toml');
    writeFileSync(confPath, ['timeout_ms = 10000', '[[slot]]', 'label = "p11kms-bench"', `urls = ["${server.url}"]`, ''].join('\n'));
    const base = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: dir };
    const subjects: Subject[] = [
      { name: 'p11kms embedded', module: MODULE, env: { ...base, P11KMS_CONF: confPath, P11KMS_HOSTING: 'embedded' } },
      { name: 'p11kms child', module: MODULE, env: { ...base, P11KMS_CONF: confPath, P11KMS_HOSTING: 'child' } },
    ];
    if (existsSync(SOFTHSM)) {
      const tokens = join(dir, 'softhsm', 'tokens');
      mkdirSync(tokens, { recursive: true });
      const softhsmConf = join(dir, 'softhsm', 'softhsm2.conf');
      writeFileSync(softhsmConf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
      const env = { ...base, SOFTHSM2_CONF: softhsmConf };
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', PIN, '--so-pin', '5678'], { env, stdio: 'ignore' });
      subjects.push({ name: 'SoftHSM2', module: SOFTHSM, env });
    } else {
      console.error(`${SOFTHSM} is missing (apt-get install softhsm2): SoftHSM2 left out`);
    }

    const results: HarnessResult[] = [];
    for (const subject of subjects) {
      console.error(`measuring ${subject.name} (${SECONDS} s per cell)`);
      results.push(await runHarness(binary, subject));
    }

    const cells: CellResult[] = [];
    subjects.forEach((subject, i) => {
      for (const c of (results[i] as HarnessResult).cells) {
        cells.push({ name: `${subject.name}: ${c.name}`, concurrency: c.threads, requests: c.ops, errors: c.errors, seconds: c.seconds, perSecond: c.ops_per_s, p50Ms: c.p50_us / 1000, p99Ms: c.p99_us / 1000 });
      }
    });
    const title = `PKCS#11 modules from C, ${cores} cores, ${SECONDS} s per cell, KMS in the same machine`;
    printTable(title, cells);
    console.log('');
    subjects.forEach((s, i) => console.log(memoryLine(s.name, results[i] as HarnessResult)));
    const rows = results.map(verdicts);
    printTargets(subjects.map((s) => s.name), rows);

    const data = {
      title, date: new Date().toISOString(), node: process.version, cores, seconds: SECONDS,
      subjects: subjects.map((s, i) => ({ name: s.name, module: s.module, hosting: s.env['P11KMS_HOSTING'], result: results[i], targets: rows[i] })),
      cells,
    };
    const out = writeResults('module', data, throughputSvg(title, cells));
    // On one linear scale SoftHSM2's local crypto flattens p11kms's bars: a chart of its own too.
    const p11kms = cells.filter((c) => c.name.startsWith('p11kms'));
    writeFileSync(join(out, 'module-p11kms.svg'), throughputSvg(`p11kms hostings, ${cores} cores, ${SECONDS} s per cell`, p11kms));
    console.log(`\nresults written to ${out}/module.json, module.svg and module-p11kms.svg`);
    const errors = cells.reduce((n, c) => n + c.errors, 0);
    if (errors > 0) {
      console.error(`${errors} operations failed`);
      process.exitCode = 1;
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
