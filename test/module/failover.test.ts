import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmsProcess, servedCount } from '../support/kms-process';
import { LineProgram } from '../support/line-program';
import { freePort, MODULE_PATH, moduleEnv } from '../support/module';
import { buildNativeHost } from '../support/native-host';
import { SwitchProxy } from '../support/switch-proxy';

/**
 * Failover in the module, with real processes only: `p11kms serve` processes sharing one
 * SQLite file, test/native/failover.c (a C host signing in threads) loading the Release
 * module, and a TCP proxy in this process that can turn into a server that never answers
 * or answers half a response.
 */

const TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 500;
/** Scheduling slack on a shared 2-core machine; the bound is for correctness, not speed. */
const MARGIN_MS = 1000;
const THREADS = 2;
const CKR_DEVICE_ERROR = 0x30;

const dir = mkdtempSync(join(tmpdir(), 'p11kms-failover-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const program = join(dir, 'failover');

t.before(() => {
  buildNativeHost('failover.c', program);
});

function startHost(t: { teardown(fn: () => unknown): void }, name: string, urls: string[]): LineProgram {
  const conf = join(dir, `${name}.toml`);
  writeFileSync(conf, [
    `timeout_ms = ${TIMEOUT_MS}`,
    `connect_timeout_ms = ${CONNECT_TIMEOUT_MS}`,
    '[[slot]]',
    `label = "${name}"`,
    `urls = [${urls.map((u) => `"${u}"`).join(', ')}]`,
    // Object metadata stays cached, so C_SignInit is local and each C_Sign is one KMS request.
    'cache_ttl_ms = 600000',
  ].join('\n') + '\n');
  const host = new LineProgram(program, [MODULE_PATH], moduleEnv({ P11KMS_CONF: conf, P11KMS_LOG: 'info', P11KMS_LOG_FILE: join(dir, `${name}-module.log`), HOME: dir }), dir);
  t.teardown(() => host.kill());
  return host;
}

interface Failure { thread: number; tMs: number; call: string; rv: number; ms: number; okBefore: number }

function failures(lines: string[]): Failure[] {
  return lines.flatMap((l) => {
    const m = /^FAILURE thread=(\d+) t_ms=(\d+) call=(\S+) rv=0x([0-9a-f]+) ms=(\d+) ok_before=(\d+)$/.exec(l);
    return m ? [{ thread: Number(m[1]), tMs: Number(m[2]), call: m[3] ?? '', rv: parseInt(m[4] ?? '0', 16), ms: Number(m[5]), okBefore: Number(m[6]) }] : [];
  });
}

function signResult(line: string): { init: number; initMs: number; sign: number; signMs: number } {
  const m = /^SIGN init=0x([0-9a-f]+) init_ms=(\d+) sign=0x([0-9a-f]+) sign_ms=(\d+)$/.exec(line);
  if (!m) throw new Error(`not a SIGN line: ${line}`);
  return { init: parseInt(m[1] ?? '', 16), initMs: Number(m[2]), sign: parseInt(m[3] ?? '', 16), signMs: Number(m[4]) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean, timeoutMs: number): Promise<void> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(100)) if (test()) return;
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

t.test('kill -9 of the first of two servers during a signing loop', async (t) => {
  const db = join(dir, 'shared.sqlite');
  const a = new KmsProcess(await freePort(), db, dir, 'a');
  const b = new KmsProcess(await freePort(), db, dir, 'b');
  t.teardown(() => { a.kill(); b.kill(); });
  const aLog0 = await a.start(0);
  const bLog = await b.start(0);
  const host = startHost(t, 'two-servers', [a.url, b.url]);
  await host.waitFor(/^READY$/, 60_000);

  await host.command(`loop ${THREADS}`);
  await until('the first server serves the loop', () => servedCount(aLog0, 'Sign') >= 20, 20_000);
  const bBefore = servedCount(bLog, 'Sign');
  t.equal(bBefore, 0, 'while the first server is up, the second one serves nothing');

  const markKillA = host.lines.length;
  await a.killAndWait();
  await until('the second server takes over', () => servedCount(bLog, 'Sign') >= 20, 20_000);
  await sleep(1000);
  const markRestart = host.lines.length;
  const aLog1 = await a.start(1);
  await until('calls return to the restarted first server', () => servedCount(aLog1, 'Sign') >= 20, 30_000);
  const bAtReturn = servedCount(bLog, 'Sign');
  await sleep(1000);
  t.ok(servedCount(bLog, 'Sign') - bAtReturn <= THREADS, 'once the first server is back, the second one is left alone');

  const markKillB = host.lines.length;
  await b.killAndWait();
  await sleep(2000);
  const stopped = await host.command('stop');
  const atKillA = failures(host.lines.slice(markKillA, markRestart));
  const atRestart = failures(host.lines.slice(markRestart, markKillB));
  const atKillB = failures(host.lines.slice(markKillB));
  t.comment(`failed calls: ${atKillA.length} at the kill of the first server, ${atRestart.length} at its return, ${atKillB.length} at the kill of the second`);
  for (const f of [...atKillA, ...atRestart, ...atKillB]) t.comment(`  ${JSON.stringify(f)}`);
  for (let thread = 0; thread < THREADS; thread++) {
    const mine = atKillA.filter((f) => f.thread === thread);
    t.ok(mine.length <= 2, `thread ${thread}: at most the calls in flight fail at the kill (${mine.length})`);
    t.ok(mine.every((f) => f.okBefore === mine[0]?.okBefore), `thread ${thread}: no failure after the first success past the kill`);
  }
  t.equal(atRestart.length, 0, 'the return to the first server fails no call');
  t.equal(atKillB.length, 0, 'killing the second server after the return fails no call: the calls are on the first');
  const threads = stopped.filter((l) => l.startsWith('THREAD'));
  t.equal(threads.length, THREADS, 'every thread reports');
  for (const line of threads) {
    t.comment(line);
    const max = Number(/max_ms=(\d+)/.exec(line)?.[1]);
    t.ok(max <= TIMEOUT_MS + MARGIN_MS, `no call took longer than timeout_ms + margin (${line})`);
  }

  // Both servers dead: every URL refuses, so the answer comes at once, never a hang.
  await a.killAndWait();
  const [dead] = (await host.command('sign', 30_000)).filter((l) => l.startsWith('SIGN'));
  const r = signResult(dead ?? '');
  const rv = r.init !== 0 ? r.init : r.sign;
  const ms = r.initMs + r.signMs;
  t.comment(`all servers dead: ${ms} ms to 0x${rv.toString(16)}`);
  t.equal(rv, CKR_DEVICE_ERROR, 'all URLs dead: CKR_DEVICE_ERROR');
  t.ok(ms <= 2 * CONNECT_TIMEOUT_MS + MARGIN_MS, `within a connect timeout per URL (${ms} ms)`);
  host.child.stdin?.end();
});

t.test('a server that accepts and never answers, or answers half a response', async (t) => {
  const kms = new KmsProcess(await freePort(), join(dir, 'single.sqlite'), dir, 'single');
  t.teardown(() => kms.kill());
  await kms.start(0);
  const { proxy, url } = await SwitchProxy.start({ host: '127.0.0.1', port: kms.port });
  t.teardown(() => proxy.close());
  const host = startHost(t, 'hostile-server', [url]);
  await host.waitFor(/^READY$/, 60_000);
  const sign = async (): Promise<{ rv: number; ms: number }> => {
    const [line] = (await host.command('sign', 30_000)).filter((l) => l.startsWith('SIGN'));
    const r = signResult(line ?? '');
    return r.init !== 0 ? { rv: r.init, ms: r.initMs } : { rv: r.sign, ms: r.signMs };
  };
  t.equal((await sign()).rv, 0, 'signing works through the proxy');
  for (const mode of ['blackhole', 'half-stall', 'half-close'] as const) {
    proxy.switchTo(mode);
    const r = await sign();
    t.comment(`${mode}: 0x${r.rv.toString(16)} after ${r.ms} ms (timeout_ms ${TIMEOUT_MS})`);
    t.equal(r.rv, CKR_DEVICE_ERROR, `${mode}: CKR_DEVICE_ERROR`);
    t.ok(r.ms <= TIMEOUT_MS + MARGIN_MS, `${mode}: within timeout_ms + ${MARGIN_MS} ms (${r.ms} ms)`);
    if (mode !== 'half-close') t.ok(r.ms >= TIMEOUT_MS - 100, `${mode}: the module waited its timeout, no less`);
  }
  proxy.switchTo('forward');
  t.equal((await sign()).rv, 0, 'the server answers again: so does the module');
  await host.command('quit');
});
