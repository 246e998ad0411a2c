import { Pool } from 'undici';

/** Latency percentiles and throughput of one measured cell. */
export interface CellResult {
  name: string;
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * A closed-loop load: `concurrency` callers, each sending its next request as soon as the
 * previous one is answered, over keep-alive connections, for `seconds` after a warm-up.
 * Several origins (servers behind a load balancer) share the callers round-robin.
 */
export async function measure(
  name: string,
  origin: string | string[],
  path: string,
  body: () => string,
  concurrency: number,
  seconds: number,
  check: (status: number, text: string) => boolean,
): Promise<CellResult> {
  const origins = Array.isArray(origin) ? origin : [origin];
  const pools = origins.map((o) => new Pool(o, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 }));
  const latencies: number[] = [];
  let errors = 0;
  const once = async (pool: Pool): Promise<number> => {
    const started = process.hrtime.bigint();
    const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: body() });
    const text = await res.body.text();
    if (!check(res.statusCode, text)) errors++;
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const run = async (until: number, record: boolean): Promise<void> => {
    await Promise.all(Array.from({ length: concurrency }, async (_, i) => {
      while (Date.now() < until) {
        const ms = await once(pools[i % pools.length] as Pool);
        if (record) latencies.push(ms);
      }
    }));
  };
  await run(Date.now() + Math.min(2000, seconds * 500), false);
  const started = Date.now();
  await run(started + seconds * 1000, true);
  const elapsed = (Date.now() - started) / 1000;
  await Promise.all(pools.map((p) => p.close()));
  latencies.sort((a, b) => a - b);
  return {
    name,
    concurrency,
    requests: latencies.length,
    errors,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}
