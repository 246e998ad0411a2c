import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../support/server';
import { ensureJazzerLoads } from './glibc-compat';

/**
 * Runs the coverage-guided fuzz targets (test/fuzz/*.fuzz.ts) under Jazzer.js, one process
 * each, and checks what the fuzzer cannot: that it ran every execution asked for, and that the
 * V8 heap after the run is within a bound of the heap after warm-up.
 * Usage: node dist/test/fuzz/run.js [target...]   (FUZZ_RUNS, default 1,000,000 per target)
 */

export const TARGETS = ['json-ttlv', 'binary-ttlv', 'frame', 'http'] as const;
export type Target = (typeof TARGETS)[number];

/** Per-input time bounds: decoders take microseconds; the endpoint may run a real key generation. */
const TIMEOUT_MS: Readonly<Record<Target, number>> = { 'json-ttlv': 2000, 'binary-ttlv': 2000, frame: 2000, http: 10_000 };
const RSS_LIMIT_MB = 1536;
const HEAP_GROWTH_LIMIT_MB = 64;

export interface FuzzResult {
  target: Target;
  runs: number;
  seconds: number;
  execsPerSecond: number;
  heapBeforeMB: number;
  heapAfterMB: number;
  rssAfterMB: number;
  failure?: string;
}

function memorySamples(output: string): { heapMB: number; rssMB: number }[] {
  return [...output.matchAll(/^fuzz-memory \S+ executions=\d+ heapMB=([\d.]+) rssMB=([\d.]+)/gm)].map((m) => ({ heapMB: Number(m[1]), rssMB: Number(m[2]) }));
}

export function fuzzTarget(target: Target, runs: number): Promise<FuzzResult> {
  ensureJazzerLoads();
  const cli = join(dirname(require.resolve('@jazzer.js/core/package.json')), 'dist', 'cli.js');
  // New inputs go to a scratch directory (libFuzzer writes to the first corpus directory); the committed seeds stay as they are.
  const scratch = mkdtempSync(join(tmpdir(), `p11kms-fuzz-${target}-`));
  const artifacts = join(REPO_ROOT, '.fuzz-artifacts', target);
  mkdirSync(artifacts, { recursive: true });
  const args = [
    cli, join(REPO_ROOT, 'dist', 'test', 'fuzz', `${target}.fuzz.js`), scratch, join(REPO_ROOT, 'test', 'fuzz', 'corpus', target),
    // Coverage from the code under test only: instrumenting the harness or node_modules would steer the fuzzer at them.
    '-i', join(REPO_ROOT, 'dist', 'src') + '/',
    ...(target === 'http' ? [] : ['--sync']),
    `--timeout=${TIMEOUT_MS[target]}`,
    '--', `-runs=${runs}`, `-rss_limit_mb=${RSS_LIMIT_MB}`, `-artifact_prefix=${artifacts}/`, '-seed=1',
  ];
  const started = Date.now();
  return new Promise((resolve) => {
    // Through env(1) without NODE_OPTIONS: under tap it (re-added by tap's spawn hook) loads signal-exit, whose
    // SIGALRM listener replaces libFuzzer's timeout handler and re-raises the signal, killing the fuzzer.
    const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, '--expose-gc', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      // Keep the head (set-up) and the tail (the finding, the summary); the progress lines in between can be many megabytes.
      if (output.length > 1_000_000) output = output.slice(0, 100_000) + output.slice(-400_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('close', (code, signal) => {
      rmSync(scratch, { recursive: true, force: true });
      try {
        rmdirSync(artifacts); // only if the run left no crash or timeout input there
      } catch {
        // not empty: keep the findings
      }
      const seconds = (Date.now() - started) / 1000;
      // libFuzzer ends with "#N DONE cov: ..." and then "Done N runs in S second(s)"; with the two
      // streams interleaved either may come last, so whichever is there counts.
      const done = /Done (\d+) runs in \d+ second/.exec(output) ?? /#(\d+)\s+DONE\s/.exec(output);
      const executed = done ? Number(done[1]) : 0;
      const memory = memorySamples(output);
      const before = memory[0] ?? { heapMB: NaN, rssMB: NaN };
      const after = memory[memory.length - 1] ?? before;
      let failure: string | undefined;
      if (code !== 0 || signal) failure = `exit ${code ?? signal}\n${output.slice(-6000)}`;
      else if (executed < runs) failure = `only ${executed} of ${runs} runs\n${output.slice(-3000)}`;
      else if (!(after.heapMB - before.heapMB <= HEAP_GROWTH_LIMIT_MB)) failure = `heap grew from ${before.heapMB} MB to ${after.heapMB} MB`;
      resolve({ target, runs: executed, seconds, execsPerSecond: Math.round(executed / seconds), heapBeforeMB: before.heapMB, heapAfterMB: after.heapMB, rssAfterMB: after.rssMB, ...(failure ? { failure } : {}) });
    });
  });
}

export function describe(r: FuzzResult): string {
  return `${r.target}: ${r.runs} runs in ${r.seconds.toFixed(0)} s (${r.execsPerSecond}/s), heap ${r.heapBeforeMB} → ${r.heapAfterMB} MB after GC, RSS ${r.rssAfterMB} MB`;
}

async function main(): Promise<void> {
  const runs = Number(process.env['FUZZ_RUNS'] ?? 1_000_000);
  const chosen = process.argv.slice(2);
  const targets = chosen.length ? TARGETS.filter((t) => chosen.includes(t)) : [...TARGETS];
  let failed = false;
  for (const target of targets) {
    const r = await fuzzTarget(target, runs);
    process.stdout.write(describe(r) + '\n');
    if (r.failure) {
      failed = true;
      process.stdout.write(`FAILED ${target}: ${r.failure}\n`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}

if (require.main === module) void main();
