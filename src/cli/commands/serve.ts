import { Option, type Command } from 'commander';
import { collect, parseInteger, type Runtime } from '../runtime';
import type { HsmFlags } from './serve-hsm';
import type { ServerOptions } from '../../server/main';

/** The server's options, with the database path spelled as the flag (--db). */
type ServeOptions = Omit<ServerOptions, 'dbPath' | 'hsm'> & HsmFlags & { db?: string };

export function registerServe(program: Command, rt: Runtime): void {
  program
    .command('serve')
    .description('run the KMS (KMIP 2.1 JSON over HTTP(S), optionally binary TTLV over TLS)')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'HTTP(S) port', parseInteger('--port'), 9998)
    .option('--db <file>', 'SQLite database (default <data-dir>/kms.sqlite)')
    .option('--data-dir <dir>', 'data directory (default $P11KMS_DATA_DIR or ~/.local/share/p11kms)')
    .option('--tls-cert <pem>', 'server certificate; serves HTTPS with --tls-key')
    .option('--tls-key <pem>', 'server private key')
    .option('--socket-port <port>', 'also serve binary KMIP over mutual TLS (e.g. 5696)', parseInteger('--socket-port'))
    .option('--client-ca <pem>', 'CA that signs client certificates (socket server)')
    .option('--workers <n>', 'worker processes (0 = this process; default one per core)', parseInteger('--workers'))
    .addOption(new Option('--log-level <level>', 'log level').choices(['silent', 'error', 'warn', 'info', 'debug']))
    .option('--hsm-model <model>', 'HSM model: softhsm2, utimaco, proteccio, other (env KMS_HSM_MODEL; default proteccio)')
    .option('--hsm-slot <id>', 'HSM slot to use; repeatable; keys are hsm::<slot>::<label> (env KMS_HSM_SLOT, comma-separated)', collect)
    .option('--hsm-password <pin>', 'user PIN of each --hsm-slot, in order; repeatable (env KMS_HSM_PASSWORD)', collect)
    .option('--hsm-admin <user>', 'user who may create and destroy HSM keys; repeatable, "*" for all (env KMS_HSM_ADMIN; default admin)', collect)
    .option('--key-encryption-key <hsm-uid>', 'hsm::… AES key that wraps every new symmetric key at rest (Cosmian key_encryption_key)')
    .option('--unwrapped-cache-max-size <n>', 'unwrapped-key cache entries (LRU; 0 disables; default 1000)', parseInteger('--unwrapped-cache-max-size'))
    .option('--unwrapped-cache-max-age <minutes>', 'minutes an unused unwrapped key stays cached (default 15)', parseInteger('--unwrapped-cache-max-age'))
    .action(rt.action<ServeOptions>(async ({ out, io }, _args, o) => {
      // Loaded here so client commands never pay for the server's SQLite, crypto and PKCS#11 modules.
      const server = await import('../../server/main');
      const { hsmFromFlags } = await import('./serve-hsm');
      const { db, hsmModel, hsmSlot, hsmPassword, hsmAdmin, unwrappedCacheMaxAge, ...rest } = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ServeOptions & { unwrappedCacheMaxAge?: number };
      if (unwrappedCacheMaxAge !== undefined) rest.unwrappedCacheMaxAgeMinutes = unwrappedCacheMaxAge;
      const hsmFlags: HsmFlags = {
        ...(hsmModel !== undefined ? { hsmModel } : {}), ...(hsmSlot ? { hsmSlot } : {}),
        ...(hsmPassword ? { hsmPassword } : {}), ...(hsmAdmin ? { hsmAdmin } : {}),
      };
      const hsm = hsmFromFlags(hsmFlags, io.env);
      out.note(`p11kms serve on ${o.host}:${o.port}${hsm.length ? ` with ${hsm.length} HSM instance(s)` : ''}`);
      await server.serve({ ...rest, ...(db !== undefined ? { dbPath: db } : {}), ...(hsm.length ? { hsm } : {}) });
      // serve() returns once listening; the process then lives until SIGINT/SIGTERM.
    }));
}
