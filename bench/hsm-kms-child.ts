import cluster, { type Worker } from 'node:cluster';
import { startServer, type RunningServer, type ServerOptions } from '../src/server/main';
import { SqliteStore } from '../src/server/store/sqlite';

/**
 * A KMS with HSMs for hsm-bench.ts, run as a child process. It does what `p11kms serve`
 * does (cluster workers sharing the port, each running startServer), and adds one thing
 * serve cannot: an IPC answer with keyWrapStats() summed over the workers, so the bench can
 * count the HSM unwraps behind each measured row instead of inferring them from timings.
 * Options come as JSON in P11KMS_BENCH_OPTIONS, the worker count in P11KMS_BENCH_WORKERS.
 */

/** keyWrapStats(), summed over the workers. */
export interface UnwrapCounts {
  hsmCalls: number;
  hits: number;
  misses: number;
}

export type FromChild = { type: 'ready' } | { type: 'stats'; id: number; counts: UnwrapCounts };
export interface StatsRequest {
  type: 'stats';
  id: number;
}
type FromWorker = { type: 'listening' } | { type: 'stats'; id: number; counts: UnwrapCounts };

const ZERO: UnwrapCounts = { hsmCalls: 0, hits: 0, misses: 0 };
const add = (a: UnwrapCounts, b: UnwrapCounts): UnwrapCounts => ({ hsmCalls: a.hsmCalls + b.hsmCalls, hits: a.hits + b.hits, misses: a.misses + b.misses });

function countsOf(running: RunningServer): UnwrapCounts {
  const s = running.keyWrapStats();
  return s ? { hsmCalls: s.hsmCalls, hits: s.cache.hits, misses: s.cache.misses } : ZERO;
}

function runPrimary(opts: ServerOptions, workerCount: number): void {
  // Migrate once before the workers open the database, as serve() does.
  new SqliteStore(opts.dbPath as string).close();
  const workers: Worker[] = [];
  let listening = 0;
  let stopping = false;
  const pending = new Map<number, { counts: UnwrapCounts; waiting: number }>();
  for (let i = 0; i < workerCount; i++) {
    const worker = cluster.fork();
    workers.push(worker);
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'listening' && ++listening === workerCount) process.send?.({ type: 'ready' } satisfies FromChild);
      if (m.type !== 'stats') return;
      const p = pending.get(m.id);
      if (!p) return;
      p.counts = add(p.counts, m.counts);
      if (--p.waiting > 0) return;
      pending.delete(m.id);
      process.send?.({ type: 'stats', id: m.id, counts: p.counts } satisfies FromChild);
    });
    // A worker lost mid-run would silently change the figures: stop the whole server instead.
    worker.on('exit', (code) => {
      if (stopping) return;
      console.error(`bench KMS worker exited (${code})`);
      process.exit(1);
    });
  }
  process.on('message', (m: StatsRequest) => {
    pending.set(m.id, { counts: ZERO, waiting: workers.length });
    for (const w of workers) w.send(m);
  });
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    let alive = workers.length;
    for (const w of workers) {
      w.once('exit', () => { if (--alive === 0) process.exit(0); });
      w.kill('SIGTERM');
    }
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

function runWorker(opts: ServerOptions): void {
  startServer(opts).then(
    (running) => {
      process.on('message', (m: StatsRequest) => process.send?.({ type: 'stats', id: m.id, counts: countsOf(running) } satisfies FromWorker));
      process.once('SIGTERM', () => { running.close().then(() => process.exit(0), () => process.exit(1)); });
      process.send?.({ type: 'listening' } satisfies FromWorker);
    },
    (e: unknown) => {
      console.error(`bench KMS worker failed to start: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}

const opts = JSON.parse(process.env['P11KMS_BENCH_OPTIONS'] ?? '{}') as ServerOptions;
if (cluster.isPrimary) runPrimary(opts, Number(process.env['P11KMS_BENCH_WORKERS'] ?? 1));
else runWorker(opts);
