import { execFile, spawn, type ExecFileOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, startTestServer } from './server';
import type { ServerOptions } from '../../src/server/main';

/** The module as built by scripts/build-native.sh, and its sanitiser variant. */
export const MODULE_PATH = join(REPO_ROOT, 'build', 'Release', 'libp11kms.so');
export const ASAN_MODULE_PATH = join(REPO_ROOT, 'build', 'asan', 'libp11kms.so');

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The KMS the module talks to: in this process, or in a process of its own. */
export interface KmsUnderTest {
  url: string;
}

export interface ModuleFixture {
  server: KmsUnderTest;
  dir: string;
  /** The environment a host program needs to load the module against this KMS. */
  env: NodeJS.ProcessEnv;
  confPath: string;
  logPath: string;
}

export interface SlotOptions {
  label?: string;
  login?: 'none' | 'pin-is-token' | 'pin-unlocks-key';
  tags?: string[];
  urls?: string[];
  extra?: string;
  /** The module's per-request timeout_ms; 5000 unless a test generates large keys on a loaded machine. */
  timeoutMs?: number;
  /**
   * Run the KMS as its own process. Needed when the module is loaded into this very
   * process (graphene, pkcs11js): their calls block the event loop an in-process KMS needs.
   */
  separateProcess?: boolean;
}

/**
 * A real KMS (in this process, with `serverOptions`, unless the slot asks for a process of
 * its own) and a p11kms.toml pointing at it, with the module's debug log in a temp directory. The environment is built from scratch, without tap's NODE_OPTIONS.
 */
export async function startModuleFixture(t: Teardown, slot: SlotOptions = {}, serverOptions: ServerOptions = {}): Promise<ModuleFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-module-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server: KmsUnderTest = slot.separateProcess ? await startKmsProcess(t, dir) : await startTestServer(t, serverOptions);
  const confPath = join(dir, 'p11kms.toml');
  const logPath = join(dir, 'module.log');
  writeSlotConfig(confPath, [server.url], slot);
  const env = moduleEnv({ P11KMS_CONF: confPath, P11KMS_LOG: 'debug', P11KMS_LOG_FILE: logPath, HOME: dir });
  return { server, dir, env, confPath, logPath };
}

export function writeSlotConfig(path: string, urls: string[], slot: SlotOptions = {}): void {
  const lines = [
    `timeout_ms = ${slot.timeoutMs ?? 5000}`,
    'connect_timeout_ms = 1000',
    '[[slot]]',
    `label = "${slot.label ?? 'p11kms-test'}"`,
    `urls = [${(slot.urls ?? urls).map((u) => `"${u}"`).join(', ')}]`,
    `login = "${slot.login ?? 'none'}"`,
    `tags = [${(slot.tags ?? []).map((x) => `"${x}"`).join(', ')}]`,
    slot.extra ?? '',
  ];
  writeFileSync(path, lines.join('\n') + '\n');
}

/** A clean environment for host programs: PATH and HOME, plus what the test adds. */
export function moduleEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...extra };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** `p11kms serve` as a child process, ready when /version answers. */
export async function startKmsProcess(t: Teardown, dir: string): Promise<KmsUnderTest> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', String(port), '--db', join(dir, 'kms.sqlite'), '--workers', '0', '--log-level', 'error'], {
    stdio: 'ignore',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  t.teardown(() => { child.kill('SIGKILL'); });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/version`)).ok) return { url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the KMS on ${url} did not start`);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never throws on a non-zero exit, so tests can assert on it. */
export function runProgram(file: string, args: string[], options: ExecFileOptions & { input?: string | Buffer } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', ...options }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** pkcs11-tool against the module; `code` 0 is success. */
export function pkcs11Tool(f: ModuleFixture, args: string[], module = MODULE_PATH, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runProgram('pkcs11-tool', ['--module', module, ...args], { env: { ...f.env, ...extraEnv }, cwd: f.dir });
}

export { startTestServer };

const ENGINE_FALLBACK = '/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so';

/** libengine-pkcs11-openssl's engine, where this OpenSSL looks for engines. */
export async function opensslEnginePath(): Promise<string> {
  const r = await runProgram('openssl', ['version', '-e']);
  const dir = /ENGINESDIR: "([^"]+)"/.exec(r.stdout)?.[1];
  const candidate = dir ? join(dir, 'pkcs11.so') : ENGINE_FALLBACK;
  return existsSync(candidate) ? candidate : ENGINE_FALLBACK;
}

/** An OPENSSL_CONF that loads the pkcs11 engine on the module (with a PIN, when the token wants one). */
export async function writeOpensslEngineConfig(path: string, pin?: string): Promise<void> {
  writeFileSync(path, [
    'openssl_conf = openssl_init',
    '[openssl_init]',
    'engines = engine_section',
    '[engine_section]',
    'pkcs11 = pkcs11_section',
    '[pkcs11_section]',
    'engine_id = pkcs11',
    `dynamic_path = ${await opensslEnginePath()}`,
    `MODULE_PATH = ${MODULE_PATH}`,
    ...(pin !== undefined ? [`PIN = ${pin}`] : []),
    'init = 0',
    '',
  ].join('\n'));
}
