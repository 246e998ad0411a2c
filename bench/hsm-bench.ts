import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HsmInstanceConfig } from '../src/server/hsm/hsm-config';
import type { ServerOptions } from '../src/server/main';
import type { FromChild, StatsRequest, UnwrapCounts } from './hsm-kms-child';
import { checkRoundTrip, createAesRequest, encryptRequest, field, post, text } from './kms-json';
import { measure, type CellResult } from './load';

/**
 * The HSM rows of `npm run bench:kms`: AES-GCM Encrypt with a database key wrapped by a
 * SoftHSM2 key, on a KMS whose unwrapped-key cache is on (every request after the first is
 * a hit) and on one where it is off (every request unwraps on the HSM), and with the SoftHSM2
 * key itself. Both KMSs share one database, so the two wrapped rows use the very same key.
 */

const SOFTHSM2_LIB = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '12345678';

export const HSM_ROWS = { reference: 'database key (reference)', hit: 'wrapped key, cache hit', miss: 'wrapped key, cache miss', direct: 'SoftHSM2 key, direct' } as const;

/** HSM unwraps behind one measured cell, warm-up included, from the KMS's own keyWrapStats(). */
export interface UnwrapRow extends UnwrapCounts {
  name: string;
  concurrency: number;
  /** Measured requests, warm-up excluded. */
  requests: number;
}

export interface HsmBench {
  /** The HSM rows at one concurrency, in table order. */
  measureLevel(concurrency: number, seconds: number): Promise<CellResult[]>;
  readonly unwraps: UnwrapRow[];
  /** What contradicts the rows' names: a cache-miss row with fewer unwraps than requests, a cache-hit row with more than one per worker. */
  problems(): string[];
  stop(): Promise<void>;
}

interface HsmKms {
  origin: string;
  counts(): Promise<UnwrapCounts>;
  /** The end of its log, for error messages: an HTTP 500 says nothing by itself. */
  logTail(): string;
  stop(): Promise<void>;
}

/** One SoftHSM2 token in `dir`, initialised as Cosmian's scripts do; a string says why there is none. */
function initToken(dir: string): { conf: string; slot: number } | string {
  if (!existsSync(SOFTHSM2_LIB)) return `SoftHSM2 is not installed (no ${SOFTHSM2_LIB})`;
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  let out: string;
  try {
    out = execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--so-pin', PIN, '--pin', PIN], {
      env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8',
    });
  } catch (e) {
    return `softhsm2-util failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  const m = /reassigned to slot (\d+)/.exec(out);
  return m ? { conf, slot: Number(m[1]) } : `softhsm2-util did not report a slot: ${out}`;
}

async function startHsmKms(port: number, opts: ServerOptions, workers: number, conf: string): Promise<HsmKms> {
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'hsm-kms-child.js')], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, SOFTHSM2_CONF: conf, P11KMS_BENCH_OPTIONS: JSON.stringify({ ...opts, port }), P11KMS_BENCH_WORKERS: String(workers) },
  });
  // Drain the logs (a full pipe would stall the server) and keep the tail for error messages.
  let tail = '';
  const keep = (chunk: Buffer): void => { tail = (tail + chunk.toString()).slice(-4000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waiting = new Map<number, (c: UnwrapCounts) => void>();
  let ready: () => void = () => undefined;
  child.on('message', (raw) => {
    const m = raw as FromChild;
    if (m.type === 'ready') ready();
    else waiting.get(m.id)?.(m.counts);
  });
  await new Promise<void>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`the HSM KMS exited (${code}) before it was ready:\n${tail}`)));
  });
  let nextId = 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    logTail: () => tail,
    counts: () => new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error('the HSM KMS did not answer a stats request')), 5000);
      waiting.set(id, (c) => { clearTimeout(timer); waiting.delete(id); resolve(c); });
      child.send({ type: 'stats', id } satisfies StatsRequest);
    }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Starts the two HSM KMSs on `ports`, creates the keys and checks each round-trips; a string
 * says why the HSM rows are skipped.
 */
export async function startHsmBench(dir: string, ports: [number, number], workers: number): Promise<HsmBench | string> {
  const token = initToken(join(dir, 'softhsm'));
  if (typeof token === 'string') return token;
  const hsm: HsmInstanceConfig[] = [{ prefix: 'hsm', model: 'softhsm2', library: SOFTHSM2_LIB, slots: [{ id: token.slot, pin: PIN }], admins: ['admin'] }];
  // logLevel 'info' as `p11kms serve` runs by default, like the reference KMS.
  const base: ServerOptions = { dbPath: join(dir, 'hsm-kms.sqlite'), hsm, logLevel: 'info' };
  const started: HsmKms[] = [];
  try {
    const cached = await startHsmKms(ports[0], base, workers, token.conf);
    started.push(cached);
    const uncached = await startHsmKms(ports[1], { ...base, unwrappedCacheMaxSize: 0 }, workers, token.conf);
    started.push(uncached);
    const kek = `hsm::${token.slot}::bench-kek`;
    field(await post(cached.origin, createAesRequest(text('UniqueIdentifier', kek))), 'UniqueIdentifier');
    // Cosmian's vendor attribute, as `ckms sym keys create --wrapping-key-id` sends it.
    const wrappingKeyId = `{"tag":"Attribute","value":[${text('VendorIdentification', 'cosmian')},${text('AttributeName', 'wrapping_key_id')},${text('AttributeValue', kek)}]}`;
    const wrapped = field(await post(cached.origin, createAesRequest(wrappingKeyId)), 'UniqueIdentifier');
    await checkRoundTrip(cached.origin, wrapped);
    await checkRoundTrip(uncached.origin, wrapped);
    await checkRoundTrip(cached.origin, kek);
    return hsmBench(cached, uncached, wrapped, kek, workers);
  } catch (e) {
    for (const s of started) await s.stop();
    const logs = started.map((s) => `--- ${s.origin} log:\n${s.logTail()}`).join('\n');
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${logs}`);
  }
}

function hsmBench(cached: HsmKms, uncached: HsmKms, wrapped: string, kek: string, workers: number): HsmBench {
  const unwraps: UnwrapRow[] = [];
  const ok = (status: number): boolean => status === 200;
  const counted = async (name: string, kms: HsmKms, uid: string, concurrency: number, seconds: number): Promise<CellResult> => {
    const before = await kms.counts();
    const cell = await measure(name, kms.origin, '/kmip/2_1', () => encryptRequest(uid), concurrency, seconds, ok);
    const after = await kms.counts();
    unwraps.push({ name, concurrency, requests: cell.requests, hsmCalls: after.hsmCalls - before.hsmCalls, hits: after.hits - before.hits, misses: after.misses - before.misses });
    return cell;
  };
  return {
    unwraps,
    async measureLevel(concurrency, seconds) {
      return [
        await counted(HSM_ROWS.hit, cached, wrapped, concurrency, seconds),
        await counted(HSM_ROWS.miss, uncached, wrapped, concurrency, seconds),
        // An HSM-resident key never goes through the unwrap path: its row is the HSM's own cost.
        await measure(HSM_ROWS.direct, cached.origin, '/kmip/2_1', () => encryptRequest(kek), concurrency, seconds, ok),
      ];
    },
    problems() {
      const out: string[] = [];
      for (const u of unwraps) {
        const where = `${u.name} at concurrency ${u.concurrency}`;
        if (u.name === HSM_ROWS.miss && u.hsmCalls < u.requests) out.push(`${where}: ${u.hsmCalls} HSM unwraps for ${u.requests} requests`);
        // Each worker may unwrap once, the first time it sees the key; everything after is a hit.
        if (u.name === HSM_ROWS.hit && u.hsmCalls > workers) out.push(`${where}: ${u.hsmCalls} HSM unwraps with the cache on`);
      }
      return out;
    },
    async stop() {
      await cached.stop();
      await uncached.stop();
    },
  };
}
