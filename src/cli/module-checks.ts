import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KmipError } from '../kmip/errors';
import { loadCallTable } from '../runtime/call-table';
import { ConfigError, loadModuleConfig, type ModuleConfig, type SlotConfig } from '../pkcs11/config';
import { configuredCredentials, KmsConnection } from '../pkcs11/kms-connection';

/**
 * What `p11kms doctor` checks, one verdict per line: the configuration the module will
 * read, the KMS behind each slot, the credentials, the build, the hosting mode a real host
 * gets, and the p11-kit registration that systemd and GnuTLS rely on.
 */
export type Verdict = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  verdict: Verdict;
  detail: string;
}

const run = promisify(execFile);
const PACKAGE_ROOT = join(__dirname, '..', '..', '..');

export function modulePath(): string {
  return join(PACKAGE_ROOT, 'build', 'Release', 'libp11kms.so');
}

export const SYSTEM_MODULE_DIR = '/etc/pkcs11/modules';

/** The user's registration directory; p11-kit skips it in programs running as root. */
export function userModuleDir(env: Readonly<Record<string, string | undefined>>): string {
  const configHome = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(configHome, 'pkcs11', 'modules');
}

export const runningAsRoot = (): boolean => process.getuid?.() === 0;

/** Where p11-kit looks for registrations for this user. */
export function moduleRegistryDirs(env: Readonly<Record<string, string | undefined>>): string[] {
  return runningAsRoot() ? [SYSTEM_MODULE_DIR] : [SYSTEM_MODULE_DIR, userModuleDir(env)];
}

function checkConfiguration(env: NodeJS.ProcessEnv): { check: Check; config?: ModuleConfig } {
  try {
    const config = loadModuleConfig(env);
    if (config.slots.length === 0) {
      return { check: { name: 'configuration', verdict: 'fail', detail: 'no slots: set P11KMS_SERVER_URL, P11KMS_CONF or write ~/.config/p11kms/p11kms.toml' }, config };
    }
    const where = config.path ?? (config.source === 'env' ? 'P11KMS_SERVER_URL' : config.source);
    return { check: { name: 'configuration', verdict: 'ok', detail: `${where}: ${config.slots.length} slot(s) (${config.slots.map((s) => s.label).join(', ')})` }, config };
  } catch (e) {
    return { check: { name: 'configuration', verdict: 'fail', detail: e instanceof ConfigError ? e.message : String(e) } };
  }
}

async function checkSlot(slot: SlotConfig, config: ModuleConfig): Promise<Check[]> {
  const name = `slot ${slot.id} (${slot.label})`;
  const checks: Check[] = [];
  for (const url of slot.urls) {
    const probe = new KmsConnection([url], { ...slot, login: 'none' }, config, {});
    try {
      await probe.discoverVersions();
      checks.push({ name: `${name}: KMS ${url}`, verdict: 'ok', detail: 'reachable, speaks KMIP' });
    } catch (e) {
      const refused = e instanceof KmipError;
      checks.push({ name: `${name}: KMS ${url}`, verdict: refused ? 'ok' : 'fail', detail: refused ? `reachable (it answered ${e.reason})` : (e as Error).message });
    } finally {
      await probe.close();
    }
  }
  if (slot.login !== 'none') {
    checks.push({ name: `${name}: authentication`, verdict: 'skip', detail: `login = "${slot.login}": the PIN supplies the credentials at C_Login` });
    return checks;
  }
  const connection = new KmsConnection(slot.urls, slot, config, configuredCredentials(slot));
  try {
    const found = await connection.locate({ maximumItems: 1, ...(slot.tags.length ? { tags: slot.tags } : {}) });
    checks.push({ name: `${name}: authentication`, verdict: 'ok', detail: `the KMS accepts the configured credentials (${found.length ? 'objects visible' : 'no objects yet'})` });
  } catch (e) {
    checks.push({ name: `${name}: authentication`, verdict: 'fail', detail: e instanceof KmipError ? `${e.reason}: ${e.message}` : (e as Error).message });
  } finally {
    await connection.close();
  }
  return checks;
}

function nativeInfo(): { schemaDigest?: string } {
  try {
    // The addon built with the shim reports the call table it was compiled from.
    return require(join(PACKAGE_ROOT, 'build', 'Release', 'p11kms.node')).info() as { schemaDigest?: string };
  } catch {
    return {};
  }
}

function checkBuild(): Check {
  const path = modulePath();
  if (!existsSync(path)) return { name: 'module', verdict: 'fail', detail: `${path} is missing: run npm run setup` };
  const compiled = nativeInfo().schemaDigest;
  const runtime = loadCallTable().digest;
  if (compiled !== undefined && compiled !== runtime) return { name: 'module', verdict: 'fail', detail: `${path} was built from another call table than the runtime: rebuild with scripts/build-native.sh` };
  return { name: 'module', verdict: 'ok', detail: path };
}

/** The hosting a C host gets, as the module reports it in CK_INFO (pkcs11-tool -I). */
async function checkHosting(env: NodeJS.ProcessEnv): Promise<Check> {
  try {
    const { stdout } = await run('pkcs11-tool', ['--module', modulePath(), '-I'], { env: { ...env, NODE_OPTIONS: '' }, timeout: 30_000 });
    const mode = /p11kms KMIP \(([^)]+)\)/.exec(stdout)?.[1];
    if (!mode) return { name: 'hosting', verdict: 'fail', detail: 'the module did not report its hosting' };
    return { name: 'hosting', verdict: mode === 'embedded' ? 'ok' : 'warn', detail: mode === 'embedded' ? 'embedded libnode (in process)' : `${mode}: the log (P11KMS_LOG=info) says why embedding was not possible` };
  } catch (e) {
    const missing = (e as { code?: unknown }).code === 'ENOENT';
    return { name: 'hosting', verdict: missing ? 'skip' : 'fail', detail: missing ? 'install opensc (pkcs11-tool) to check' : `the module failed to initialise: ${(e as Error).message.split('\n')[0]}` };
  }
}

function checkRegistration(env: Readonly<Record<string, string | undefined>>): Check {
  const target = realpathSync.native(existsSync(modulePath()) ? modulePath() : PACKAGE_ROOT);
  const found: string[] = [];
  for (const dir of moduleRegistryDirs(env)) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.module'))) {
      const line = readFileSync(join(dir, file), 'utf8').split('\n').find((l) => /^\s*module\s*:/.test(l));
      const path = line?.replace(/^\s*module\s*:\s*/, '').trim();
      if (path && existsSync(path) && realpathSync.native(path) === target) found.push(join(dir, file));
    }
  }
  if (found.length > 0) return { name: 'p11-kit registration', verdict: 'ok', detail: found.join(', ') };
  return { name: 'p11-kit registration', verdict: 'warn', detail: `not registered in ${moduleRegistryDirs(env).join(' or ')}: systemd-cryptenroll and GnuTLS will not see the token; run p11kms install-module` };
}

export async function runChecks(env: NodeJS.ProcessEnv): Promise<Check[]> {
  const { check, config } = checkConfiguration(env);
  const checks = [check];
  if (config) for (const slot of config.slots) checks.push(...(await checkSlot(slot, config)));
  checks.push(checkBuild(), await checkHosting(env), checkRegistration(env));
  return checks;
}
