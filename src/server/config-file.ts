/**
 * The server's TOML file (`p11kms serve --config FILE`, or P11KMS_SERVER_CONF), in Cosmian's
 * kms.toml layout, so a current Cosmian configuration starts p11kms: every key of Cosmian's
 * ClapConfig is read when it has a meaning here, ignored (and named in one info line) when it
 * is Cosmian-specific, or refused with a reason when p11kms cannot honour it and running
 * without it would be weaker than asked; config-keys.ts is the table. p11kms's own keys:
 * workers, log_level, [db] database (the SQLite file itself) and master_key_file (the master
 * key ring sealing key material at rest), [auth] api_tokens_file, api_tokens (["user:token", …])
 * and admins (the audit's readers, as --admin), and
 *   [limits]           max_request_bytes, max_connections, max_concurrent_requests,
 *                      headers_timeout_ms, request_timeout_ms, idle_timeout_ms,
 *                      max_inflight_bytes, max_pbkdf2_iterations, max_rsa_bits
 *
 * A key unknown to both servers is an error that names it: a misspelt setting must stop the
 * start, not vanish. Relative paths are relative to the file (a relative sqlite_path to
 * [workspace] root_data_path when that is set, as in Cosmian). Precedence (resolveServeOptions):
 * command-line flag, then the environment (KMS_HSM_*, P11KMS_DATA_DIR, P11KMS_MASTER_KEY and the
 * systemd master-key credential), then the file, then the defaults.
 */

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { flatSettings, hsmInstances, HsmConfigError, type FlatHsmSettings, type InstanceTable } from './hsm/hsm-config';
import type { LogLevel } from './logger';
import { DEFAULT_HOST, type ServerOptions } from './main';
import { isPostgresUrl } from './store/open-store';
import { masterKeySource } from './store/master-key';
import { DEFAULT_LIMITS } from './limits';
import { CONFIG_KEYS, isKnownSection, ruleOf } from './config-keys';
import { VENDOR_ID } from './model/attributes';

export class ServerConfigError extends Error {
  override readonly name = 'ServerConfigError';
}

export interface ServerConfigFile {
  /** Everything the file sets except the HSMs. */
  options: Partial<ServerOptions>;
  /** The top-level hsm_* keys: merged key by key with the flags and KMS_HSM_*, so kept apart. */
  flatHsm: FlatHsmSettings;
  /** [[hsm_instances]], with Cosmian's key names translated to hsm-config's. */
  hsmInstances: InstanceTable[];
  /** The Cosmian-specific keys the file sets that mean nothing here (dotted paths), for one info line. */
  ignored: string[];
}

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];
/** Cosmian's RUST_LOG levels (logging.rust_log) in p11kms's. */
const RUST_LOG_LEVELS: Readonly<Record<string, LogLevel>> = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', error: 'error', off: 'silent' };
/** UnwrappedKeyCache's default time to idle (src/hsm/key-cache.ts), which the TTL is checked against. */
const DEFAULT_CACHE_MAX_AGE_MINUTES = 15;
const COSMIAN_INSTANCE_KEYS: Readonly<Record<string, string>> = { hsm_model: 'model', hsm_slot: 'slots', hsm_password: 'passwords', hsm_admin: 'admins' };

/**
 * Reads a table key by key and remembers what it read; what is left is classified by
 * config-keys.ts: ignored (recorded), refused (an error with the reason), or unknown (an error).
 */
class Reader {
  private readonly read = new Set<string>();

  constructor(private readonly table: Table, private readonly where: string, private readonly file: string, private readonly ignored: string[]) {}

  /** A section (`[http]`) is a container; its keys are what the table lists. */
  private take(key: string, section = false): unknown {
    const path = this.where + key;
    const rule = CONFIG_KEYS[path];
    // The table is the one list of keys: a key read here and missing from it is a bug, caught by any test that reads it.
    if (section ? !isKnownSection(path) : rule?.kind !== 'read' && rule?.kind !== 'own') throw new Error(`config-keys.ts has no read or own rule for ${path}`);
    this.read.add(key);
    return this.table[key];
  }

  fail(key: string, what: string): never {
    throw new ServerConfigError(`${this.file}: ${this.where}${key} must be ${what}`);
  }

  string(key: string): string | undefined {
    const v = this.take(key);
    if (v !== undefined && typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }

  int(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.take(key);
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) this.fail(key, `a whole number from ${min} to ${max}`);
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.take(key);
    if (v !== undefined && typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  /** A path, relative to `base` (by default the file's directory) rather than to wherever the server was started. */
  path(key: string, base = dirname(this.file)): string | undefined {
    const p = this.string(key);
    return p === undefined || isAbsolute(p) ? p : resolve(base, p);
  }

  /** A list of strings or numbers; a lone value is a list of one (older Cosmian files have hsm_admin = "admin"). */
  list(key: string): string[] | undefined {
    const v = this.take(key);
    const items = v === undefined || Array.isArray(v) ? v : [v];
    if (items !== undefined && !items.every((x) => typeof x === 'string' || typeof x === 'number')) this.fail(key, 'a list of strings or numbers');
    return items?.map(String);
  }

  /** A string, or a list of at most one (Cosmian's keys that take one entry per identity provider). */
  single(key: string): string | undefined {
    const items = this.list(key);
    if (items !== undefined && items.length > 1) this.fail(key, 'one value: p11kms accepts one identity provider');
    return items?.[0];
  }

  sub(key: string): Reader | undefined {
    const v = this.take(key, true);
    if (v === undefined) return undefined;
    if (!isTable(v)) this.fail(key, 'a table');
    return new Reader(v, `${this.where}${key}.`, this.file, this.ignored);
  }

  tables(key: string): Table[] {
    const v = this.take(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every(isTable)) this.fail(key, 'an array of tables ([[...]])');
    return v;
  }

  done(): void {
    for (const [key, value] of Object.entries(this.table)) {
      if (this.read.has(key)) continue;
      const path = this.where + key;
      const rule = ruleOf(path);
      if (rule?.kind === 'ignored') {
        this.ignored.push(path);
      } else if (rule?.kind === 'refused') {
        if (!rule.allows(value)) throw new ServerConfigError(`${this.file}: ${path} is not supported: ${rule.why}`);
        this.ignored.push(path);
      } else if (rule === undefined && isTable(value) && isKnownSection(path)) {
        new Reader(value, `${path}.`, this.file, this.ignored).done();
      } else {
        throw new ServerConfigError(`${this.file}: unknown key ${path}`);
      }
    }
  }
}

/** One [[hsm_instances]] table in hsm-config's names; hsm-config rejects the keys it does not know. */
function instanceTable(table: Table, i: number, file: string): InstanceTable {
  const out: InstanceTable = {};
  for (const [key, value] of Object.entries(table)) {
    const name = COSMIAN_INSTANCE_KEYS[key] ?? key;
    if (name in out) throw new ServerConfigError(`${file}: hsm_instances[${i}] sets ${name} twice`);
    if (name === 'library' && typeof value === 'string' && !isAbsolute(value)) out[name] = resolve(dirname(file), value);
    else out[name] = name === 'admins' && typeof value === 'string' ? [value] : value;
  }
  return out;
}

/** Cosmian's jwt_auth_provider entry, "ISSUER,JWKS_URI,AUDIENCE_1,…", with empty fields left out. */
function identityProvider(entry: string, fail: (what: string) => never): { jwtIssuerUri: string; jwksUri?: string; jwtAudience?: string | string[] } {
  const [issuer, jwks, ...audiences] = entry.split(',').map((part) => part.trim());
  if (!issuer) fail('"ISSUER_URI[,JWKS_URI[,AUDIENCE,…]]"');
  // Several audiences are any-of, as in Cosmian; none leaves the audience unchecked.
  const given = audiences.filter((a) => a !== '');
  const audience = given.length > 1 ? given : given[0];
  return { jwtIssuerUri: issuer, ...(jwks ? { jwksUri: jwks } : {}), ...(audience !== undefined ? { jwtAudience: audience } : {}) };
}

/** The global level of a RUST_LOG filter ("info,cosmian_kms=debug" is info). */
function rustLogLevel(filter: string, fail: (what: string) => never): LogLevel | undefined {
  const global = filter.split(',').map((d) => d.trim()).find((d) => d !== '' && !d.includes('='));
  if (global === undefined) return undefined;
  const level = RUST_LOG_LEVELS[global.toLowerCase()];
  if (!level) fail(`a RUST_LOG filter whose global level is one of ${Object.keys(RUST_LOG_LEVELS).join(', ')}`);
  return level;
}

export function parseServerConfig(text: string, file: string): ServerConfigFile {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (e) {
    throw new ServerConfigError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isTable(doc)) throw new ServerConfigError(`${file}: not a TOML table`);
  const ignored: string[] = [];
  const top = new Reader(doc, '', file, ignored);
  const options: Partial<ServerOptions> = {};
  const set = <K extends keyof ServerOptions>(key: K, value: ServerOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('defaultUser', top.string('default_username'));
  set('keyEncryptionKey', top.string('key_encryption_key'));
  const vendor = top.string('vendor_identification');
  // Tags are vendor attributes under this one name, and Query tells Cosmian's clients which: it cannot differ from the server's.
  if (vendor !== undefined && vendor !== VENDOR_ID) top.fail('vendor_identification', `"${VENDOR_ID}", the vendor of this server's tag attributes (KMS_VENDOR_IDENTIFICATION)`);
  set('workers', top.int('workers'));
  const logLevel = top.string('log_level');
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel as LogLevel)) top.fail('log_level', LOG_LEVELS.join(', '));
  set('logLevel', logLevel as LogLevel | undefined);
  const flatHsm: FlatHsmSettings = { model: top.string('hsm_model'), slots: top.list('hsm_slot'), passwords: top.list('hsm_password'), admins: top.list('hsm_admin') };
  const instances = top.tables('hsm_instances').map((table, i) => instanceTable(table, i, file));
  try {
    hsmInstances({}, instances); // checked now, so a mistake names the file
  } catch (e) {
    if (e instanceof HsmConfigError) throw new ServerConfigError(`${file}: ${e.message}`);
    throw e;
  }

  const http = top.sub('http');
  set('port', http?.int('port', 0, 65535));
  const host = http?.string('hostname');
  set('host', host);
  const authorityCert = http?.path('authority_cert_file');
  http?.done();

  const tls = top.sub('tls');
  set('tlsCert', tls?.path('tls_cert_file'));
  set('tlsKey', tls?.path('tls_key_file'));
  set('clientCa', tls?.path('clients_ca_cert_file') ?? authorityCert);
  tls?.done();

  const socket = top.sub('socket_server');
  if (socket) {
    const start = socket.bool('socket_server_start');
    const port = socket.int('socket_server_port', 0, 65535);
    const socketHost = socket.string('socket_server_hostname');
    // One listening address for both servers (main.ts), so a different one cannot be honoured.
    if (start && socketHost !== undefined && socketHost !== (host ?? DEFAULT_HOST)) socket.fail('socket_server_hostname', `[http] hostname (${host ?? DEFAULT_HOST}); p11kms listens on one address`);
    if (start) set('socketPort', port ?? 5696);
    socket.done();
  }

  const workspace = top.sub('workspace');
  // Cosmian resolves root_data_path against $HOME and a relative sqlite_path against root_data_path (WorkspaceConfig).
  const root = workspace?.path('root_data_path', homedir());
  workspace?.done();

  const db = top.sub('db');
  if (db) {
    const type = db.string('database_type');
    if (![undefined, 'sqlite', 'postgresql'].includes(type)) db.fail('database_type', '"sqlite" or "postgresql"');
    set('dataDir', db.path('sqlite_path', root));
    const file = db.path('database');
    set('dbPath', file);
    // Cosmian's pair: database_type = "postgresql" with database_url; one without the other is a mistake.
    const url = db.string('database_url');
    if ((type === 'postgresql') !== (url !== undefined)) db.fail(type === 'postgresql' ? 'database_url' : 'database_type', type === 'postgresql' ? 'set with database_type = "postgresql"' : '"postgresql" with database_url');
    if (url !== undefined && !isPostgresUrl(url)) db.fail('database_url', 'a postgresql:// URL');
    if (url !== undefined && file !== undefined) db.fail('database', 'left out with database_url: one database per server');
    set('dbPath', url);
    set('masterKeyFile', db.path('master_key_file'));
    set('unwrappedCacheMaxSize', db.int('unwrapped_cache_max_size'));
    set('unwrappedCacheMaxAgeMinutes', db.int('unwrapped_cache_max_age', 1));
    set('unwrappedCacheMaxTtlMinutes', db.int('unwrapped_cache_max_ttl', 1));
    set('disableUnwrappedCache', db.bool('disable_unwrapped_cache'));
    db.done();
  }

  const idp = top.sub('idp_auth');
  const providers = idp?.list('jwt_auth_provider');
  if (idp && providers !== undefined) {
    if (providers.length > 1) idp.fail('jwt_auth_provider', 'one provider: p11kms accepts one identity provider');
    const only = providers[0];
    if (only !== undefined) {
      const provider = identityProvider(only, (what) => idp.fail('jwt_auth_provider', what));
      set('jwtIssuerUri', provider.jwtIssuerUri);
      set('jwksUri', provider.jwksUri);
      set('jwtAudience', provider.jwtAudience);
    }
  }
  idp?.done();

  const auth = top.sub('auth');
  if (auth) {
    const issuer = auth.single('jwt_issuer_uri');
    if (issuer !== undefined && options.jwtIssuerUri !== undefined) auth.fail('jwt_issuer_uri', 'left out with [idp_auth] jwt_auth_provider: one identity provider');
    set('jwtIssuerUri', issuer);
    set('jwksUri', auth.single('jwks_uri'));
    set('jwtAudience', auth.single('jwt_audience'));
    set('apiTokensFile', auth.path('api_tokens_file'));
    set('apiTokens', auth.list('api_tokens'));
    set('admins', auth.list('admins'));
    auth.done();
  }

  const logging = top.sub('logging');
  const rustLog = logging?.string('rust_log');
  // log_level, p11kms's own, is the more precise of the two.
  if (logging && rustLog !== undefined && logLevel === undefined) set('logLevel', rustLogLevel(rustLog, (what) => logging.fail('rust_log', what)));
  logging?.done();

  const limits = top.sub('limits');
  if (limits) {
    set('maxRequestBytes', limits.int('max_request_bytes', 1));
    set('maxConnections', limits.int('max_connections', 1));
    set('maxConcurrentRequests', limits.int('max_concurrent_requests', 1));
    set('headersTimeoutMs', limits.int('headers_timeout_ms', 1));
    set('requestTimeoutMs', limits.int('request_timeout_ms', 1));
    set('idleTimeoutMs', limits.int('idle_timeout_ms', 1));
    set('maxInflightBytes', limits.int('max_inflight_bytes', 1));
    set('maxPbkdf2Iterations', limits.int('max_pbkdf2_iterations', 1));
    set('maxRsaBits', limits.int('max_rsa_bits', 1024, 8192));
    limits.done();
  }
  top.done();
  return { options, flatHsm, hsmInstances: instances, ignored };
}

export function readServerConfig(file: string): ServerConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ServerConfigError(`cannot read server config ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseServerConfig(text, file);
}

export interface ServeSources {
  /** Command-line settings; undefined means the flag was not given. */
  flags?: Partial<ServerOptions>;
  /** --hsm-model, --hsm-slot, --hsm-password, --hsm-admin. */
  hsmFlags?: FlatHsmSettings;
  env: Readonly<Record<string, string | undefined>>;
  file?: ServerConfigFile;
}

const given = <T>(list: readonly T[] | undefined): readonly T[] | undefined => (list && list.length > 0 ? list : undefined);

/** The options `serve` starts with: flag, then environment, then file, each setting on its own. */
export function resolveServeOptions({ flags = {}, hsmFlags = {}, env, file }: ServeSources): ServerOptions {
  const fromFlags = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as Partial<ServerOptions>;
  const fromEnv: Partial<ServerOptions> = env['P11KMS_DATA_DIR'] ? { dataDir: env['P11KMS_DATA_DIR'] } : {};
  const flat = flatSettings(hsmFlags, env);
  const fileFlat = file?.flatHsm ?? {};
  const hsm = hsmInstances({
    model: flat.model ?? fileFlat.model,
    slots: given(flat.slots) ?? fileFlat.slots,
    passwords: given(flat.passwords) ?? fileFlat.passwords,
    admins: given(flat.admins) ?? fileFlat.admins,
  }, file?.hsmInstances ?? []);
  const opts: ServerOptions = { ...file?.options, ...fromEnv, ...fromFlags, ...(hsm.length > 0 ? { hsm } : {}) };
  // The environment's master key (P11KMS_MASTER_KEY, a systemd credential) beats the file's master_key_file, as for every setting.
  if (fromFlags.masterKeyFile === undefined && opts.masterKeyFile !== undefined && masterKeySource({ defaultFile: '', env }).kind !== 'file') delete opts.masterKeyFile;
  for (const key of ['maxRequestBytes', 'maxConnections', 'maxConcurrentRequests', 'headersTimeoutMs', 'requestTimeoutMs', 'idleTimeoutMs', 'maxInflightBytes', 'maxPbkdf2Iterations'] as const) {
    // 0 would refuse everything (or, for Node's timeouts, disable them): neither is a limit anyone means.
    if (opts[key] === 0) throw new ServerConfigError(`${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be at least 1`);
  }
  if (opts.maxRsaBits !== undefined && (opts.maxRsaBits < 1024 || opts.maxRsaBits > 8192)) throw new ServerConfigError(`max-rsa-bits must be from 1024 to 8192 (the sizes the server generates), not ${opts.maxRsaBits}`);
  // A budget below one request would refuse the largest requests forever.
  if (opts.maxInflightBytes !== undefined && opts.maxInflightBytes < (opts.maxRequestBytes ?? DEFAULT_LIMITS.maxRequestBytes)) {
    throw new ServerConfigError(`max-inflight-bytes (${opts.maxInflightBytes}) must be at least max-request-bytes (${opts.maxRequestBytes ?? DEFAULT_LIMITS.maxRequestBytes})`);
  }
  const age = opts.unwrappedCacheMaxAgeMinutes ?? DEFAULT_CACHE_MAX_AGE_MINUTES;
  if (age < 1) throw new ServerConfigError(`unwrapped_cache_max_age must be at least 1 minute, not ${age}`);
  const ttl = opts.unwrappedCacheMaxTtlMinutes;
  if (ttl !== undefined && ttl < age) throw new ServerConfigError(`unwrapped_cache_max_ttl (${ttl} min) must be ≥ unwrapped_cache_max_age (${age} min)`);
  return opts;
}
