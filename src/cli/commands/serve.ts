import { Option, type Command } from 'commander';
import { UsageError } from '../errors';
import { collect, parseInteger, type GlobalOptions, type Runtime } from '../runtime';
import type { HsmFlags } from './serve-hsm';
import type { ServerOptions } from '../../server/main';

/** The server's options as the flags spell them (--db, minutes without the unit). */
type ServeOptions = Omit<ServerOptions, 'dbPath' | 'hsm' | 'unwrappedCacheMaxAgeMinutes' | 'unwrappedCacheMaxTtlMinutes' | 'apiTokens' | 'apiTokenDigests' | 'admins'> & HsmFlags & {
  db?: string;
  admin?: string[];
  apiToken?: string[];
  unwrappedCacheMaxAge?: number;
  unwrappedCacheMaxTtl?: number;
};

export function registerServe(program: Command, rt: Runtime): void {
  program
    .command('serve')
    .description('run the KMS (KMIP 2.1 JSON over HTTP(S), optionally binary TTLV over TLS); --config FILE (or env P11KMS_SERVER_CONF) reads a Cosmian-style kms.toml, which the flags override')
    // No commander defaults: an absent flag must leave the config file's value in place (startServer applies the defaults).
    .option('--host <host>', 'listen address (default 127.0.0.1)')
    .option('--port <port>', 'HTTP(S) port (default 9998)', parseInteger('--port'))
    .option('--db <file|url>', 'SQLite database file, or postgresql://user:pass@host:port/db (default <data-dir>/kms.sqlite)')
    .option('--data-dir <dir>', 'data directory (default $P11KMS_DATA_DIR or ~/.local/share/p11kms)')
    .option('--master-key-file <file>', 'master key ring sealing key material at rest (default $P11KMS_MASTER_KEY, else $CREDENTIALS_DIRECTORY/master-key, else <db>.master-key, created 0600 on first start)')
    .option('--tls-cert <pem>', 'server certificate; serves HTTPS with --tls-key')
    .option('--tls-key <pem>', 'server private key')
    .option('--socket-port <port>', 'also serve binary KMIP over mutual TLS (e.g. 5696)', parseInteger('--socket-port'))
    .option('--client-ca <pem>', 'CA that signs client certificates: required on the socket server; on HTTPS a certificate it signed authenticates as cert:<CN>')
    .option('--api-token <user:token>', 'accept Authorization: Bearer <token> as <user>; repeatable', collect)
    .option('--api-tokens-file <file>', 'API tokens, one "<user> <sha256 hex of the token>" per line')
    .option('--jwt-issuer-uri <uri>', 'accept bearer JWTs from this OIDC issuer (the user is jwt:<email> when email_verified, else jwt:<sub>)')
    .option('--jwks-uri <uri>', 'the issuer\'s JWKS (default: from its OIDC discovery, else <issuer>/.well-known/jwks.json)')
    .option('--jwt-audience <aud>', 'the aud claim a JWT must carry')
    .option('--max-request-bytes <n>', 'largest request body or TTLV message (default 64 MiB; larger: HTTP 413)', parseInteger('--max-request-bytes'))
    .option('--max-connections <n>', 'open connections per listener and worker (default 10000)', parseInteger('--max-connections'))
    .option('--max-concurrent-requests <n>', 'KMIP requests served at once per worker; beyond it HTTP 503 with Retry-After (default 1024)', parseInteger('--max-concurrent-requests'))
    .option('--headers-timeout-ms <ms>', 'time a client has to send the request headers, or finish the TLS handshake (default 20000)', parseInteger('--headers-timeout-ms'))
    .option('--request-timeout-ms <ms>', 'time a client has to send a whole request or TTLV message (default 60000)', parseInteger('--request-timeout-ms'))
    .option('--max-inflight-bytes <n>', 'body bytes of the KMIP requests in progress at once per worker, the memory budget; beyond it HTTP 503 with Retry-After (default 128 MiB, at least --max-request-bytes)', parseInteger('--max-inflight-bytes'))
    .option('--max-pbkdf2-iterations <n>', 'largest PBKDF2 IterationCount × output blocks a DeriveKey may ask for (default 500000)', parseInteger('--max-pbkdf2-iterations'))
    .option('--max-rsa-bits <n>', 'largest RSA key CreateKeyPair and ReKeyKeyPair generate (default 4096; at most 8192)', parseInteger('--max-rsa-bits'))
    .option('--idle-timeout-ms <ms>', 'TLS socket connections silent this long are closed (default 120000)', parseInteger('--idle-timeout-ms'))
    .option('--admin <user>', 'user who may read the audit (GET /audit, p11kms audit): an API-token name, jwt:<email|sub> or cert:<CN>; repeatable, "*" for all (default admin)', collect)
    .option('--workers <n>', 'worker processes (0 = this process; default one per core)', parseInteger('--workers'))
    .addOption(new Option('--log-level <level>', 'log level').choices(['silent', 'error', 'warn', 'info', 'debug']))
    .option('--hsm-model <model>', 'HSM model: softhsm2, utimaco, proteccio, other (env KMS_HSM_MODEL; default proteccio)')
    .option('--hsm-slot <id>', 'HSM slot to use; repeatable; keys are hsm::<slot>::<label> (env KMS_HSM_SLOT, comma-separated)', collect)
    .option('--hsm-password <pin>', 'user PIN of each --hsm-slot, in order; repeatable (env KMS_HSM_PASSWORD)', collect)
    .option('--hsm-admin <user>', 'user who may create and destroy HSM keys; repeatable, "*" for all (env KMS_HSM_ADMIN; default admin)', collect)
    .option('--key-encryption-key <hsm-uid>', 'hsm::… AES key that wraps every new symmetric key at rest (Cosmian key_encryption_key)')
    .option('--unwrapped-cache-max-size <n>', 'unwrapped-key cache entries (LRU; 0 disables; default 1000)', parseInteger('--unwrapped-cache-max-size'))
    .option('--unwrapped-cache-max-age <minutes>', 'minutes an unused unwrapped key stays cached (default 15)', parseInteger('--unwrapped-cache-max-age'))
    .option('--unwrapped-cache-max-ttl <minutes>', 'minutes an unwrapped key stays cached however busy (≥ max age; default no limit)', parseInteger('--unwrapped-cache-max-ttl'))
    .option('--disable-unwrapped-cache', 'no unwrapped-key cache: every use of a wrapped key asks the HSM')
    .action(rt.action<ServeOptions>(async ({ out, io }, _args, o) => {
      // Loaded here so client commands never pay for the server's SQLite, crypto and PKCS#11 modules.
      const server = await import('../../server/main');
      const { readServerConfig, resolveServeOptions, ServerConfigError } = await import('../../server/config-file');
      const { HsmConfigError } = await import('../../server/hsm/hsm-config');
      const { flatFromFlags } = await import('./serve-hsm');
      const { db, hsmModel, hsmSlot, hsmPassword, hsmAdmin, unwrappedCacheMaxAge, unwrappedCacheMaxTtl, apiToken, admin, ...rest } = o;
      // --config is the program's option (commander gives it to the program even after `serve`); here it names the server's file.
      const configPath = program.opts<GlobalOptions>().config ?? io.env['P11KMS_SERVER_CONF'];
      let opts: ServerOptions;
      let ignored: string[] = [];
      try {
        const file = configPath ? readServerConfig(configPath) : undefined;
        ignored = file?.ignored ?? [];
        opts = resolveServeOptions({
          flags: { ...rest, dbPath: db, apiTokens: apiToken, admins: admin, unwrappedCacheMaxAgeMinutes: unwrappedCacheMaxAge, unwrappedCacheMaxTtlMinutes: unwrappedCacheMaxTtl },
          hsmFlags: flatFromFlags({ hsmModel, hsmSlot, hsmPassword, hsmAdmin }),
          env: io.env,
          ...(file ? { file } : {}),
        });
      } catch (e) {
        if (e instanceof ServerConfigError || e instanceof HsmConfigError) throw new UsageError(e.message);
        throw e;
      }
      if (ignored.length > 0) {
        const { createLogger } = await import('../../server/logger');
        // One line, so a Cosmian kms.toml starts here and says which of its settings do nothing (config-keys.ts).
        createLogger(opts.logLevel ?? 'info').info('config: Cosmian settings without a meaning in p11kms are ignored', { file: configPath, ignored: ignored.join(', ') });
      }
      const instances = opts.hsm?.length ?? 0;
      out.note(`p11kms serve on ${opts.host ?? server.DEFAULT_HOST}:${opts.port ?? server.DEFAULT_PORT}${instances ? ` with ${instances} HSM instance(s)` : ''}`);
      await server.serve(opts);
      // serve() returns once listening; the process then lives until SIGINT/SIGTERM.
    }));
}
