import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { KmipClientOptions } from '../kmip/client';
import { UsageError } from './errors';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:9998';

export interface ConnectionFlags {
  serverUrl?: string;
  accessToken?: string;
  config?: string;
}

/** What a config file may set; p11kms keys at the top level, Cosmian's under [http_config]. */
interface FileSettings {
  serverUrl?: string;
  accessToken?: string;
  clientCert?: string;
  clientKey?: string;
  ca?: string;
  acceptInvalidCerts?: boolean;
}

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function text(table: Table, key: string): string | undefined {
  const v = table[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Relative paths in a config file are relative to the file, not to wherever the CLI runs. */
function pathFrom(file: string, p: string | undefined): string | undefined {
  return p === undefined ? undefined : isAbsolute(p) ? p : resolve(dirname(file), p);
}

export function readConfigFile(file: string): FileSettings {
  let doc: unknown;
  try {
    doc = parseToml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read config ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isTable(doc)) return {};
  const cosmian = isTable(doc['http_config']) ? doc['http_config'] : {};
  const pick = (ours: string, theirs: string): string | undefined => text(doc as Table, ours) ?? text(cosmian, theirs);
  const settings: FileSettings = {};
  const assign = <K extends keyof FileSettings>(k: K, v: FileSettings[K] | undefined): void => {
    if (v !== undefined) settings[k] = v;
  };
  assign('serverUrl', pick('server_url', 'server_url'));
  assign('accessToken', pick('access_token', 'access_token'));
  assign('clientCert', pathFrom(file, pick('tls_client_cert', 'tls_client_cert')));
  assign('clientKey', pathFrom(file, pick('tls_client_key', 'tls_client_key')));
  assign('ca', pathFrom(file, pick('ca', 'verified_cert')));
  const insecure = doc['accept_invalid_certs'] ?? cosmian['accept_invalid_certs'];
  if (typeof insecure === 'boolean') settings.acceptInvalidCerts = insecure;
  return settings;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Precedence: command-line flag, then the file named by --config (or P11KMS_CONFIG), then the
 * P11KMS_* environment, then the default. An explicitly named file beats the ambient
 * environment because naming it is the more deliberate act.
 */
export function resolveClientOptions(flags: ConnectionFlags, env: Readonly<Record<string, string | undefined>>): KmipClientOptions {
  const configPath = flags.config ?? env['P11KMS_CONFIG'];
  const file = configPath ? readConfigFile(configPath) : {};
  const url = flags.serverUrl ?? file.serverUrl ?? env['P11KMS_SERVER_URL'] ?? DEFAULT_SERVER_URL;
  if (!/^https?:\/\//.test(url)) throw new UsageError(`the server URL must start with http:// or https://, not ${url}`);
  const token = flags.accessToken ?? file.accessToken ?? env['P11KMS_ACCESS_TOKEN'];
  const tls = {
    ...(file.ca ? { ca: readPem(file.ca, 'CA certificate') } : {}),
    ...(file.clientCert ? { cert: readPem(file.clientCert, 'client certificate') } : {}),
    ...(file.clientKey ? { key: readPem(file.clientKey, 'client key') } : {}),
    ...(file.acceptInvalidCerts ? { rejectUnauthorized: false } : {}),
  };
  return {
    url,
    ...(token ? { accessToken: token } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
  };
}
