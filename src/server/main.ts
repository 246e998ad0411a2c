import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, homedir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:net';
import { KmipEndpoint } from './endpoint';
import { AccessApi } from './access/rest';
import { AuditTrail } from './audit';
import { createKmipHttpServer } from './http';
import { createKmipSocketServer } from './socket';
import { createLogger, type LogLevel } from './logger';
import { isPostgresUrl, openSealedStore } from './store/open-store';
import type { ObjectStore } from './store/store';
import { masterKeySource, type MasterKeySource } from './store/master-key';
import type { HsmInstanceConfig } from './hsm/hsm-config';
import { HsmRegistry } from './hsm/hsm-registry';
import type { KeyCacheOptions } from '../hsm/key-cache';
import { Authenticator } from './auth/authenticator';
import { authSettings, withHashedTokens, type AuthOptions } from './auth/options';
import { checkAdminNames } from './auth/user-names';
import { ByteBudget, cryptoLimitsOf, withDefaults, type ServerLimits } from './limits';

/** Authentication (src/server/auth/options.ts) and limits (src/server/limits.ts) are flat, as their flags are. */
export interface ServerOptions extends AuthOptions, ServerLimits {
  host?: string;
  port?: number;
  /** SQLite file, or a postgresql:// URL (src/server/store/open-store.ts); defaults to <dataDir>/kms.sqlite. */
  dbPath?: string;
  dataDir?: string;
  /**
   * The master key ring that seals key material at rest (src/server/store/master-key.ts).
   * Default: $P11KMS_MASTER_KEY, else $CREDENTIALS_DIRECTORY/master-key, else
   * <SQLite file>.master-key (<dataDir>/master-key for PostgreSQL), created on first start.
   */
  masterKeyFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Binary TTLV over TLS; needs tlsCert, tlsKey and clientCa. */
  socketPort?: number;
  /** CA of client certificates: required on the socket server; on HTTPS, a certificate it signed authenticates as its CN. */
  clientCa?: string;
  /** Worker processes for `serve`; 0 runs in this process. Defaults to one per core. */
  workers?: number;
  logLevel?: LogLevel;
  /** The user of every request when no authentication is configured. */
  defaultUser?: string;
  /**
   * Users who may read the audit (GET /audit, `p11kms audit`), named as their method names them
   * (alice, jwt:ops@example.com, cert:ops; auth/user-names.ts); "*" for everyone. Default ['admin'].
   */
  admins?: string[];
  /** HSM instances (src/server/hsm/hsm-config.ts), opened at start; a wrong PIN fails the start. */
  hsm?: HsmInstanceConfig[];
  /**
   * An hsm:: AES key that wraps every new database symmetric key at rest (Cosmian's
   * key_encryption_key). HSM-resident keys are never wrapped. Needs `hsm`.
   */
  keyEncryptionKey?: string;
  /** Unwrapped-key cache: most entries (LRU; 0 disables it). Default 1000. */
  unwrappedCacheMaxSize?: number;
  /** Unwrapped-key cache: minutes an unused entry lives. Default 15. */
  unwrappedCacheMaxAgeMinutes?: number;
  /** Unwrapped-key cache: minutes an entry lives however busy it is (Cosmian's max_ttl); at least the max age. Default none. */
  unwrappedCacheMaxTtlMinutes?: number;
  /** No unwrapped-key cache: every use of a wrapped key costs an HSM call. */
  disableUnwrappedCache?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  socketPort?: number;
  /** HSM calls made to wrap/unwrap database keys and the unwrapped-key cache's counters; undefined without HSMs. */
  keyWrapStats(): ReturnType<HsmRegistry['wrapStats']> | undefined;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 9998;
export const DEFAULT_HOST = '127.0.0.1';
/** The audit's reader when --admin is not given: the default user, or the API-token user "admin". */
const DEFAULT_ADMIN = 'admin';

export function defaultDataDir(): string {
  return process.env['P11KMS_DATA_DIR'] ?? join(homedir(), '.local', 'share', 'p11kms');
}

export function resolveDbPath(opts: ServerOptions): string {
  return opts.dbPath ?? join(opts.dataDir ?? defaultDataDir(), 'kms.sqlite');
}

/** Where the master key ring comes from for these options (the environment is the process's). */
export function resolveMasterKeySource(opts: ServerOptions, env: Readonly<Record<string, string | undefined>> = process.env): MasterKeySource {
  const db = resolveDbPath(opts);
  const defaultFile = isPostgresUrl(db) ? join(opts.dataDir ?? defaultDataDir(), 'master-key') : `${db}.master-key`;
  return masterKeySource({ ...(opts.masterKeyFile !== undefined ? { masterKeyFile: opts.masterKeyFile } : {}), defaultFile, env });
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    const withIdle = server as Server & { closeAllConnections?: () => void };
    withIdle.closeAllConnections?.();
  });
}

function cacheOptions(opts: ServerOptions): KeyCacheOptions {
  return {
    ...(opts.unwrappedCacheMaxSize !== undefined ? { maxEntries: opts.unwrappedCacheMaxSize } : {}),
    ...(opts.disableUnwrappedCache ? { maxEntries: 0 } : {}),
    ...(opts.unwrappedCacheMaxAgeMinutes !== undefined ? { idleMs: opts.unwrappedCacheMaxAgeMinutes * 60_000 } : {}),
    ...(opts.unwrappedCacheMaxTtlMinutes !== undefined ? { maxAgeMs: opts.unwrappedCacheMaxTtlMinutes * 60_000 } : {}),
  };
}

/** The KEK must be an hsm:: key of a configured HSM, so a typo stops the start instead of every Create. */
function checkKek(opts: ServerOptions, hsm: HsmRegistry | undefined): void {
  const kek = opts.keyEncryptionKey;
  if (kek === undefined) return;
  if (!kek.startsWith('hsm::')) throw new Error(`--key-encryption-key must be an hsm:: key, not ${kek}`);
  if (!hsm) throw new Error('--key-encryption-key needs an HSM (--hsm-slot …)');
  hsm.route(kek);
}

/** Starts the KMS in this process: HTTP(S) and, if asked, the binary TTLV socket. */
export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const log = createLogger(opts.logLevel ?? 'warn');
  const host = opts.host ?? DEFAULT_HOST;
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
  // HSMs first: a wrong PIN or a missing token stops the start before anything listens.
  const hsm = opts.hsm && opts.hsm.length > 0 ? HsmRegistry.open(opts.hsm, cacheOptions(opts)) : undefined;
  let store: ObjectStore | undefined;
  let http: Server | undefined;
  let socket: Server | undefined;
  let socketPort: number | undefined;
  let port: number;
  try {
    checkKek(opts, hsm);
    const admins = opts.admins ?? [DEFAULT_ADMIN];
    checkAdminNames(admins);
    store = await openSealedStore(resolveDbPath(opts), resolveMasterKeySource(opts), (m) => log.warn(m));
    const audit = new AuditTrail(store, log);
    const endpoint = new KmipEndpoint(store, log, audit, hsm, opts.keyEncryptionKey, cryptoLimitsOf(opts));
    const tls = opts.tlsCert && opts.tlsKey ? { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) } : undefined;
    const clientCa = opts.clientCa !== undefined ? readFileSync(opts.clientCa) : undefined;
    const httpsClientCerts = tls !== undefined && clientCa !== undefined;
    const settings = authSettings(opts, httpsClientCerts);
    const auth = Authenticator.configured(settings) ? new Authenticator(settings) : undefined;
    const httpTls = tls && clientCa ? { ...tls, ca: clientCa, requestCert: true } : tls;
    // One memory budget for every listener of this process.
    const inflight = new ByteBudget(withDefaults(opts).maxInflightBytes);
    http = createKmipHttpServer(endpoint, { ...(httpTls ? { tls: httpTls } : {}), defaultUser: opts.defaultUser ?? 'admin', ...(auth ? { auth } : {}), limits: opts, inflight, hsmStatus: () => hsm?.status() ?? [], access: new AccessApi(store, audit, admins) }, log);
    port = await listen(http, opts.port ?? DEFAULT_PORT, host);
    if (opts.socketPort !== undefined) {
      if (!tls || !clientCa) throw new Error('--socket-port needs --tls-cert, --tls-key and --client-ca');
      socket = createKmipSocketServer(endpoint, { ...tls, clientCa, limits: opts, inflight }, log);
      socketPort = await listen(socket, opts.socketPort, host);
    }
  } catch (e) {
    if (http?.listening) await closeServer(http);
    await store?.close();
    hsm?.close();
    throw e;
  }
  const liveStore = store;
  const httpServer = http;
  const tls = opts.tlsCert && opts.tlsKey;
  const scheme = tls ? 'https' : 'http';
  return {
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    ...(socketPort !== undefined ? { socketPort } : {}),
    keyWrapStats: () => hsm?.wrapStats(),
    async close() {
      await closeServer(httpServer);
      if (socket) await closeServer(socket);
      await liveStore.close();
      hsm?.close();
    },
  };
}

/**
 * `p11kms serve`: one worker process per core sharing the listening sockets, so CPU-bound
 * work (RSA, key generation) spreads over every core. The primary only supervises.
 */
export async function serve(opts: ServerOptions): Promise<void> {
  const workers = opts.workers ?? (typeof availableParallelism === 'function' ? availableParallelism() : cpus().length);
  const log = createLogger(opts.logLevel ?? 'info');
  if (workers <= 0) {
    const running = await startServer(opts);
    log.info('listening', { url: running.url, socketPort: running.socketPort });
    installShutdown(() => running.close());
    return;
  }
  // Migrate once, create the master key file if there is none yet and seal rows from before
  // sealing, before the workers open the database: a wrong master key stops `serve` here.
  await (await openSealedStore(resolveDbPath(opts), resolveMasterKeySource(opts), (m) => log.warn(m))).close();
  // Check the HSMs (and the cache settings) once here, so a wrong PIN stops `serve` instead of making workers crash and restart forever.
  if (opts.hsm && opts.hsm.length > 0) {
    const hsm = HsmRegistry.open(opts.hsm, cacheOptions(opts));
    try {
      checkKek(opts, hsm);
    } finally {
      hsm.close();
    }
  } else checkKek(opts, undefined);
  // Workers run worker.js with no inherited -e/--eval, whatever started the primary.
  cluster.setupPrimary({ exec: join(__dirname, 'worker.js'), execArgv: process.execArgv.filter((a, i, all) => !isEvalFlag(a) && !isEvalFlag(all[i - 1] ?? '')) });
  // Checked here, so a bad tokens file, token or admin name stops `serve` rather than every worker.
  new Authenticator(authSettings(opts, false));
  checkAdminNames(opts.admins ?? []);
  const env = { P11KMS_WORKER_OPTIONS: JSON.stringify(withHashedTokens(opts)) };
  let stopping = false;
  for (let i = 0; i < workers; i++) cluster.fork(env);
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.warn('worker exited; starting another', { pid: worker.process.pid, code: code ?? undefined, signal: signal ?? undefined });
    cluster.fork(env);
  });
  installShutdown(async () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
  });
}

function isEvalFlag(arg: string): boolean {
  return arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print';
}

/** Runs in a worker process started by serve(). */
export function runWorker(optionsJson: string): void {
  const opts = JSON.parse(optionsJson) as ServerOptions;
  const log = createLogger(opts.logLevel ?? 'info');
  startServer(opts).then(
    (running) => {
      log.info('worker listening', { url: running.url, socketPort: running.socketPort });
      installShutdown(() => running.close());
    },
    (e: unknown) => {
      log.error('worker failed to start', { message: e instanceof Error ? e.message : String(e) });
      process.exit(1);
    },
  );
}

function installShutdown(close: () => Promise<void>): void {
  const stop = (): void => {
    close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
