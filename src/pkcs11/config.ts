/**
 * Configuration of the PKCS#11 module (libp11kms.so).
 *
 * Where it comes from, first match wins:
 *
 *   1. the file named by P11KMS_CONF (it is an error if that file does not exist);
 *   2. $XDG_CONFIG_HOME/p11kms/p11kms.toml (XDG_CONFIG_HOME defaults to ~/.config);
 *   3. /etc/p11kms/p11kms.toml;
 *   4. the Cosmian ckms.toml named by CKMS_CONF, as a single slot;
 *   5. P11KMS_SERVER_URL (+ optional P11KMS_ACCESS_TOKEN, P11KMS_TOKEN_LABEL), as a single slot;
 *   6. nothing: the module loads and shows zero slots.
 *
 * P11KMS_LOG (off | error | info | debug) overrides log_level and P11KMS_LOG_FILE overrides
 * log_file, whatever the source. An empty environment variable counts as unset.
 *
 * p11kms.toml:
 *
 *   # optional, top level
 *   log_level = "debug"              # off (default) | error | info | debug; P11KMS_LOG overrides
 *   log_file = "/path/p11kms.log"    # default: $XDG_STATE_HOME/p11kms/module.log,
 *                                    #          else ~/.local/state/p11kms/module.log
 *   timeout_ms = 10000               # per KMS request (default 10000)
 *   connect_timeout_ms = 3000        # per connection attempt (default 3000)
 *
 *   [[slot]]                         # one table per token; slot ids are 0, 1, ... in file order
 *   label = "p11kms"                 # token label, at most 32 bytes of UTF-8;
 *                                    #   default "p11kms" for the first slot, "p11kms-<n>" after
 *   serial = "0001"                  # token serial, at most 16 printable ASCII characters;
 *                                    #   default: first 16 hex chars of sha256(label + first url),
 *                                    #   so it stays the same across upgrades
 *   urls = ["https://kms1:9998", "https://kms2:9998"]
 *                                    # required; tried in this order (failover);
 *                                    #   http(s)://  JSON TTLV over HTTP(S)
 *                                    #   kmip:// or kmips://host:5696  binary TTLV over TLS
 *   access_token = "..."             # bearer token (HTTP)
 *   client_cert = "/path/cert.pem"   # mTLS client certificate (PEM), with client_key
 *   client_key = "/path/key.pem"     # its private key (PEM)
 *   client_pkcs12 = "/path/c.p12"    # or: certificate and key in one PKCS#12 file
 *   client_pkcs12_password = "..."   #   and its password
 *   ca_cert = "/path/ca.pem"         # trust anchor for the server certificate
 *   accept_invalid_certs = false     # true skips server certificate checks (tests only)
 *   tags = ["disk-encryption"]       # only objects carrying all these tags are shown
 *   login = "none"                   # none | pin-is-token | pin-unlocks-key
 *                                    #   none: the credentials above are used, no PIN needed
 *                                    #   pin-is-token: the PIN is the bearer token
 *                                    #   pin-unlocks-key: the PIN decrypts client_key or
 *                                    #     client_pkcs12 (one of them is then required)
 *   cache_ttl_ms = 5000              # how long object metadata is cached (0 = no cache)
 *   show_revoked = false             # true also shows revoked (Deactivated, Compromised) objects;
 *                                    #   by default revoking a key on the KMS takes it off the token
 *   local_public_key_ops = true      # verify and public-key encrypt run locally on the
 *                                    #   cached public key instead of on the KMS
 *
 * Relative paths in a file are relative to that file's directory, and "~/" is the home
 * directory. Unknown keys, wrong types and out-of-range values are errors (ConfigError,
 * naming the file and the key): a typo in a security setting must not be silently ignored.
 * A file with no [[slot]] is valid and shows zero slots.
 *
 * Cosmian ckms.toml (CKMS_CONF): server_url, access_token, accept_invalid_certs,
 * verified_cert (a PEM certificate, or a path to one), tls_client_pkcs12_path and
 * tls_client_pkcs12_password, tls_client_pem_cert_path and tls_client_pem_key_path (the
 * older ssl_client_* spellings too) under [http_config] or [kms_config.http_config];
 * pkcs11_use_pin_as_access_token = true means login = "pin-is-token". The token label is
 * "p11kms". Keys we have no use for (print_json, vendor_id, oauth2_conf, proxy_params,
 * cipher_suites, custom_headers, database_secret, ...) are ignored, and so are unknown keys:
 * the file belongs to Cosmian's tools and a newer release must not break the module.
 */

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export type LogLevel = 'off' | 'error' | 'info' | 'debug';
export type LoginMode = 'none' | 'pin-is-token' | 'pin-unlocks-key';
export type ConfigSource = 'file' | 'ckms' | 'env' | 'none';

export interface SlotConfig {
  /** 0-based index, in file order. */
  id: number;
  label: string;
  serial: string;
  /** Non-empty; failover order. */
  urls: string[];
  accessToken?: string;
  clientCertPath?: string;
  clientKeyPath?: string;
  clientPkcs12Path?: string;
  clientPkcs12Password?: string;
  caCertPath?: string;
  /** A trust anchor given inline as PEM text (Cosmian's verified_cert holds the certificate itself). */
  caCertPem?: string;
  acceptInvalidCerts: boolean;
  tags: string[];
  login: LoginMode;
  cacheTtlMs: number;
  localPublicKeyOps: boolean;
  /** Revoked objects (KMIP state Deactivated or Compromised) are hidden unless this is set. */
  showRevoked: boolean;
}

export interface ModuleConfig {
  source: ConfigSource;
  /** The file the configuration came from ('file' and 'ckms'). */
  path?: string;
  logLevel: LogLevel;
  logFile: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  slots: SlotConfig[];
}

export class ConfigError extends Error {
  /** The file at fault, or undefined when the environment is. */
  readonly path: string | undefined;
  /** The key at fault, e.g. "slot[1].urls" or "P11KMS_LOG". */
  readonly key: string | undefined;

  constructor(message: string, path?: string, key?: string) {
    // Without a file, the fault is in an environment variable (the key names it).
    const where = [path ?? (key !== undefined ? 'environment' : undefined), key].filter((s): s is string => s !== undefined);
    super([...where, message].join(': '));
    this.name = 'ConfigError';
    this.path = path;
    this.key = key;
  }
}

export const SYSTEM_CONFIG_PATH = '/etc/p11kms/p11kms.toml';
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
export const DEFAULT_CACHE_TTL_MS = 5_000;
export const MAX_LABEL_BYTES = 32;
export const MAX_SERIAL_CHARS = 16;
/** setTimeout fires at once (with a warning) beyond 2^31-1 ms, so no timeout may exceed it. */
const MAX_MS = 2_147_483_647;

const LOG_LEVELS: readonly LogLevel[] = ['off', 'error', 'info', 'debug'];
const LOGIN_MODES: readonly LoginMode[] = ['none', 'pin-is-token', 'pin-unlocks-key'];
const URL_SCHEMES = ['http:', 'https:', 'kmip:', 'kmips:'];

const TOP_KEYS = ['log_level', 'log_file', 'timeout_ms', 'connect_timeout_ms', 'slot'];
const SLOT_KEYS = [
  'label', 'serial', 'urls', 'access_token', 'client_cert', 'client_key', 'client_pkcs12',
  'client_pkcs12_password', 'ca_cert', 'accept_invalid_certs', 'tags', 'login', 'cache_ttl_ms',
  'local_public_key_ops', 'show_revoked',
];

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date';
  if (isTable(v)) return 'a table';
  return `a ${typeof v}`;
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Typed, key-checked access to one TOML table; every failure names the file and the dotted key. */
class TableReader {
  constructor(
    readonly file: string,
    private readonly table: Table,
    private readonly prefix: string,
    private readonly homeDir: string,
  ) {}

  fail(key: string, message: string): never {
    throw new ConfigError(message, this.file, `${this.prefix}${key}`);
  }

  has(key: string): boolean {
    return this.table[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.table[key];
  }

  /** A sub-table as a reader, or undefined when absent. */
  subTable(key: string): TableReader | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (!isTable(v)) this.fail(key, `must be a table, not ${typeName(v)}`);
    return this.child(key, v);
  }

  rejectUnknown(known: readonly string[]): void {
    for (const key of Object.keys(this.table)) {
      if (!known.includes(key)) this.fail(key, `unknown key (expected one of: ${known.join(', ')})`);
    }
  }

  string(key: string, allowEmpty = false): string | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(key, `must be a string, not ${typeName(v)}`);
    if (v === '' && !allowEmpty) this.fail(key, 'must not be empty');
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, not ${typeName(v)}`);
    return v;
  }

  int(key: string, min: number, max: number): number | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, `must be an integer, not ${typeName(v)}`);
    if (v < min || v > max) this.fail(key, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const v = this.string(key, true);
    if (v === undefined) return undefined;
    const hit = allowed.find((a) => a === v);
    if (hit === undefined) this.fail(key, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    return hit;
  }

  stringArray(key: string): string[] | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) this.fail(key, `must be an array of strings, not ${typeName(v)}`);
    return v.map((item: unknown, i) => {
      if (typeof item !== 'string') this.fail(`${key}[${i}]`, `must be a string, not ${typeName(item)}`);
      if (item === '') this.fail(`${key}[${i}]`, 'must not be empty');
      return item;
    });
  }

  /** A path: "~/" is the home directory; relative means relative to the config file. */
  path(key: string): string | undefined {
    const v = this.string(key);
    return v === undefined ? undefined : expandPath(v, dirname(this.file), this.homeDir);
  }

  child(key: string, value: Table, index?: number): TableReader {
    const name = index === undefined ? key : `${key}[${index}]`;
    return new TableReader(this.file, value, `${this.prefix}${name}.`, this.homeDir);
  }
}

function expandPath(p: string, baseDir: string, homeDir: string): string {
  if (p === '~') return homeDir;
  if (p.startsWith('~/')) return join(homeDir, p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

function readToml(file: string): Table {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read: ${e instanceof Error ? e.message : String(e)}`, file);
  }
  try {
    // Loaded only when there is a file to read: P11KMS_SERVER_URL alone needs no parser.
    const { parse } = require('smol-toml') as typeof import('smol-toml');
    return parse(text);
  } catch (e) {
    throw new ConfigError(`not valid TOML: ${e instanceof Error ? e.message : String(e)}`, file);
  }
}

/** Problems with a URL, or undefined when it is one we can connect to. */
function urlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL`;
  }
  if (!URL_SCHEMES.includes(parsed.protocol)) {
    return `${JSON.stringify(url)}: scheme must be http, https, kmip or kmips`;
  }
  if (parsed.hostname === '') return `${JSON.stringify(url)} has no host`;
  return undefined;
}

function labelProblem(label: string): string | undefined {
  if (label === '') return 'must not be empty';
  const bytes = Buffer.byteLength(label, 'utf8');
  // CK_TOKEN_INFO.label is CK_UTF8CHAR[32]: a longer label would be cut, possibly mid-character.
  if (bytes > MAX_LABEL_BYTES) return `must be at most ${MAX_LABEL_BYTES} bytes of UTF-8, got ${bytes}`;
  return undefined;
}

function serialProblem(serial: string): string | undefined {
  if (serial === '') return 'must not be empty';
  // CK_TOKEN_INFO.serialNumber is CK_CHAR[16], not UTF-8.
  if (!/^[\x20-\x7e]*$/.test(serial)) return 'must be printable ASCII';
  if (serial.length > MAX_SERIAL_CHARS) return `must be at most ${MAX_SERIAL_CHARS} characters, got ${serial.length}`;
  return undefined;
}

export function defaultLabel(id: number): string {
  return id === 0 ? 'p11kms' : `p11kms-${id}`;
}

/** Derived, not random, so the serial an application remembers survives a reinstall. */
export function defaultSerial(label: string, firstUrl: string): string {
  return createHash('sha256').update(label + firstUrl, 'utf8').digest('hex').slice(0, MAX_SERIAL_CHARS);
}

function slotDefaults(id: number, label: string, urls: string[]): SlotConfig {
  return {
    id,
    label,
    serial: defaultSerial(label, urls[0] ?? ''),
    urls,
    acceptInvalidCerts: false,
    tags: [],
    login: 'none',
    cacheTtlMs: DEFAULT_CACHE_TTL_MS,
    localPublicKeyOps: true,
    showRevoked: false,
  };
}

function readSlot(r: TableReader, id: number): SlotConfig {
  r.rejectUnknown(SLOT_KEYS);

  const label = r.string('label', true) ?? defaultLabel(id);
  const labelError = labelProblem(label);
  if (labelError !== undefined) r.fail('label', labelError);

  const urls = r.stringArray('urls');
  if (urls === undefined) r.fail('urls', 'is required (the KMS server URLs, in failover order)');
  if (urls.length === 0) r.fail('urls', 'must list at least one URL');
  urls.forEach((u, i) => {
    const problem = urlProblem(u);
    if (problem !== undefined) r.fail(`urls[${i}]`, problem);
  });

  const slot = slotDefaults(id, label, urls);

  const serial = r.string('serial', true);
  if (serial !== undefined) {
    const problem = serialProblem(serial);
    if (problem !== undefined) r.fail('serial', problem);
    slot.serial = serial;
  }

  const accessToken = r.string('access_token');
  if (accessToken !== undefined) slot.accessToken = accessToken;
  const clientCert = r.path('client_cert');
  const clientKey = r.path('client_key');
  const pkcs12 = r.path('client_pkcs12');
  const pkcs12Password = r.string('client_pkcs12_password', true);
  if (clientCert !== undefined && clientKey === undefined) r.fail('client_key', 'is required with client_cert');
  if (clientKey !== undefined && clientCert === undefined) r.fail('client_cert', 'is required with client_key');
  if (pkcs12 !== undefined && clientCert !== undefined) {
    r.fail('client_pkcs12', 'give either client_cert and client_key or client_pkcs12, not both');
  }
  if (pkcs12Password !== undefined && pkcs12 === undefined) r.fail('client_pkcs12_password', 'needs client_pkcs12');
  if (clientCert !== undefined) slot.clientCertPath = clientCert;
  if (clientKey !== undefined) slot.clientKeyPath = clientKey;
  if (pkcs12 !== undefined) slot.clientPkcs12Path = pkcs12;
  if (pkcs12Password !== undefined) slot.clientPkcs12Password = pkcs12Password;

  const ca = r.path('ca_cert');
  if (ca !== undefined) slot.caCertPath = ca;
  slot.acceptInvalidCerts = r.bool('accept_invalid_certs') ?? false;
  slot.tags = r.stringArray('tags') ?? [];

  slot.login = r.oneOf('login', LOGIN_MODES) ?? 'none';
  if (slot.login === 'pin-unlocks-key' && clientKey === undefined && pkcs12 === undefined) {
    r.fail('login', '"pin-unlocks-key" needs client_key or client_pkcs12 (the key the PIN unlocks)');
  }
  slot.cacheTtlMs = r.int('cache_ttl_ms', 0, MAX_MS) ?? DEFAULT_CACHE_TTL_MS;
  slot.localPublicKeyOps = r.bool('local_public_key_ops') ?? true;
  slot.showRevoked = r.bool('show_revoked') ?? false;
  return slot;
}

interface SourceSettings {
  source: ConfigSource;
  path?: string;
  logLevel?: LogLevel;
  logFile?: string;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  slots: SlotConfig[];
}

function readP11kmsFile(file: string, homeDir: string): SourceSettings {
  const r: TableReader = new TableReader(file, readToml(file), '', homeDir);
  r.rejectUnknown(TOP_KEYS);
  const settings: SourceSettings = { source: 'file', path: file, slots: [] };
  const logLevel = r.oneOf('log_level', LOG_LEVELS);
  if (logLevel !== undefined) settings.logLevel = logLevel;
  const logFile = r.path('log_file');
  if (logFile !== undefined) settings.logFile = logFile;
  const timeout = r.int('timeout_ms', 1, MAX_MS);
  if (timeout !== undefined) settings.timeoutMs = timeout;
  const connectTimeout = r.int('connect_timeout_ms', 1, MAX_MS);
  if (connectTimeout !== undefined) settings.connectTimeoutMs = connectTimeout;

  const rawSlots = r.raw('slot');
  if (rawSlots !== undefined) {
    if (!Array.isArray(rawSlots)) r.fail('slot', `must be an array of tables ([[slot]]), not ${typeName(rawSlots)}`);
    const tables: unknown[] = rawSlots;
    settings.slots = tables.map((t, i) => {
      if (!isTable(t)) r.fail(`slot[${i}]`, `must be a table, not ${typeName(t)}`);
      return readSlot(r.child('slot', t, i), i);
    });
  }

  // Applications pick a token by label or serial (pkcs11: URIs), so both must be unique.
  const seen = { label: new Map<string, number>(), serial: new Map<string, number>() };
  for (const slot of settings.slots) {
    for (const key of ['label', 'serial'] as const) {
      const other = seen[key].get(slot[key]);
      if (other !== undefined) {
        throw new ConfigError(`${JSON.stringify(slot[key])} is also slot[${other}]'s ${key}`, file, `slot[${slot.id}].${key}`);
      }
      seen[key].set(slot[key], slot.id);
    }
  }
  return settings;
}

/** One ckms.toml key under its current name or Cosmian's older ssl_* alias. */
function ckmsAliased(r: TableReader, current: string, older: string): string | undefined {
  if (r.has(current) && r.has(older)) r.fail(older, `give ${current} or ${older}, not both`);
  return r.has(current) ? ckmsString(r, current) : ckmsString(r, older);
}

/** Cosmian's own writer leaves empty strings for unset values; treat them as unset. */
function ckmsString(r: TableReader, key: string): string | undefined {
  const v = r.string(key, true);
  return v === '' ? undefined : v;
}

function readCkmsFile(file: string, homeDir: string): SourceSettings {
  const top: TableReader = new TableReader(file, readToml(file), '', homeDir);
  const kmsConfig = top.subTable('kms_config');
  const oldHttp = top.subTable('http_config');
  const newHttp = kmsConfig?.subTable('http_config');
  if (oldHttp !== undefined && newHttp !== undefined) {
    top.fail('http_config', 'give [http_config] or [kms_config.http_config], not both');
  }
  const http: TableReader =
    newHttp ?? oldHttp ?? top.fail('http_config', 'is required ([http_config] or [kms_config.http_config] with server_url)');

  // The newer layout keeps the client settings under [kms_config]; accept them in either place.
  const settingsTable = kmsConfig !== undefined && kmsConfig.has('pkcs11_use_pin_as_access_token') ? kmsConfig : top;
  const pinIsToken = settingsTable.bool('pkcs11_use_pin_as_access_token') ?? false;

  const serverUrl = http.string('server_url');
  if (serverUrl === undefined) http.fail('server_url', 'is required');
  const problem = urlProblem(serverUrl);
  if (problem !== undefined) http.fail('server_url', problem);

  const slot = slotDefaults(0, defaultLabel(0), [serverUrl]);
  slot.login = pinIsToken ? 'pin-is-token' : 'none';
  slot.acceptInvalidCerts = http.bool('accept_invalid_certs') ?? false;
  const accessToken = ckmsString(http, 'access_token');
  if (accessToken !== undefined) slot.accessToken = accessToken;

  const verified = ckmsString(http, 'verified_cert');
  if (verified !== undefined) {
    // Cosmian stores the pinned certificate itself; a path is accepted too.
    if (verified.includes('-----BEGIN')) slot.caCertPem = verified;
    else slot.caCertPath = expandPath(verified, dirname(file), homeDir);
  }

  const path = (v: string | undefined): string | undefined => (v === undefined ? undefined : expandPath(v, dirname(file), homeDir));
  const pemCert = path(ckmsAliased(http, 'tls_client_pem_cert_path', 'ssl_client_pem_cert_path'));
  const pemKey = path(ckmsAliased(http, 'tls_client_pem_key_path', 'ssl_client_pem_key_path'));
  const pkcs12 = path(ckmsAliased(http, 'tls_client_pkcs12_path', 'ssl_client_pkcs12_path'));
  const pkcs12Password = ckmsAliased(http, 'tls_client_pkcs12_password', 'ssl_client_pkcs12_password');
  if (pemCert !== undefined && pemKey === undefined) http.fail('tls_client_pem_key_path', 'is required with tls_client_pem_cert_path');
  if (pemKey !== undefined && pemCert === undefined) http.fail('tls_client_pem_cert_path', 'is required with tls_client_pem_key_path');
  if (pemCert !== undefined && pemKey !== undefined) {
    // As in Cosmian's client: a PEM pair, when given, is used instead of the PKCS#12.
    slot.clientCertPath = pemCert;
    slot.clientKeyPath = pemKey;
  } else if (pkcs12 !== undefined) {
    slot.clientPkcs12Path = pkcs12;
    if (pkcs12Password !== undefined) slot.clientPkcs12Password = pkcs12Password;
  }
  return { source: 'ckms', path: file, slots: [slot] };
}

function readEnvSlot(env: NodeJS.ProcessEnv, serverUrl: string): SourceSettings {
  const problem = urlProblem(serverUrl);
  if (problem !== undefined) throw new ConfigError(problem, undefined, 'P11KMS_SERVER_URL');
  const label = envValue(env, 'P11KMS_TOKEN_LABEL') ?? defaultLabel(0);
  const labelError = labelProblem(label);
  if (labelError !== undefined) throw new ConfigError(labelError, undefined, 'P11KMS_TOKEN_LABEL');
  const slot = slotDefaults(0, label, [serverUrl]);
  const token = envValue(env, 'P11KMS_ACCESS_TOKEN');
  if (token !== undefined) slot.accessToken = token;
  return { source: 'env', slots: [slot] };
}

function userConfigPath(env: NodeJS.ProcessEnv, homeDir: string): string {
  // XDG: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = envValue(env, 'XDG_CONFIG_HOME');
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homeDir, '.config');
  return join(base, 'p11kms', 'p11kms.toml');
}

export function defaultLogFile(env: NodeJS.ProcessEnv, homeDir: string): string {
  const xdg = envValue(env, 'XDG_STATE_HOME');
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homeDir, '.local', 'state');
  return join(base, 'p11kms', 'module.log');
}

function findSource(env: NodeJS.ProcessEnv, homeDir: string, systemConfigPath: string): SourceSettings {
  const explicit = envValue(env, 'P11KMS_CONF');
  if (explicit !== undefined) {
    const file = resolve(explicit);
    if (!existsSync(file)) throw new ConfigError('no such file (named by P11KMS_CONF)', file, 'P11KMS_CONF');
    return readP11kmsFile(file, homeDir);
  }
  for (const file of [userConfigPath(env, homeDir), systemConfigPath]) {
    if (existsSync(file)) return readP11kmsFile(file, homeDir);
  }
  const ckms = envValue(env, 'CKMS_CONF');
  if (ckms !== undefined) {
    const file = resolve(ckms);
    if (!existsSync(file)) throw new ConfigError('no such file (named by CKMS_CONF)', file, 'CKMS_CONF');
    return readCkmsFile(file, homeDir);
  }
  const serverUrl = envValue(env, 'P11KMS_SERVER_URL');
  if (serverUrl !== undefined) return readEnvSlot(env, serverUrl);
  return { source: 'none', slots: [] };
}

/**
 * Load the module configuration; see the top of this file for where it is looked up.
 * Throws ConfigError for anything invalid. systemConfigPath exists for tests.
 */
export function loadModuleConfig(
  env: NodeJS.ProcessEnv = process.env,
  homeDir: string = os.homedir(),
  systemConfigPath: string = SYSTEM_CONFIG_PATH,
): ModuleConfig {
  const found = findSource(env, homeDir, systemConfigPath);

  let logLevel = found.logLevel ?? 'off';
  const envLevel = envValue(env, 'P11KMS_LOG');
  if (envLevel !== undefined) {
    const level = LOG_LEVELS.find((l) => l === envLevel.toLowerCase());
    if (level === undefined) {
      throw new ConfigError(`must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(envLevel)}`, undefined, 'P11KMS_LOG');
    }
    logLevel = level;
  }
  const envLogFile = envValue(env, 'P11KMS_LOG_FILE');

  const config: ModuleConfig = {
    source: found.source,
    logLevel,
    logFile: envLogFile !== undefined ? expandPath(envLogFile, process.cwd(), homeDir) : found.logFile ?? defaultLogFile(env, homeDir),
    timeoutMs: found.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    connectTimeoutMs: found.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    slots: found.slots,
  };
  if (found.path !== undefined) config.path = found.path;
  return config;
}
