import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { freePort } from './module';
import { makeTestPki, type TestPki } from './pki';

/**
 * Debian's PyKMIP software server (python3-pykmip 0.10, /usr/bin/pykmip-server) as a real
 * third-party KMIP server speaking binary TTLV over mutual TLS. It knows KMIP 1.0–1.4 and
 * 2.0 (kmip/services/server/engine.py), never 2.1, and no Cosmian vendor attributes.
 *
 * Its configuration (kmip/services/server/config.py) is an INI file with a [server]
 * section: hostname, port, certificate_path, key_path, ca_path and auth_suite are required;
 * policy_path, enable_tls_client_auth, tls_cipher_suites, logging_level and database_path
 * are optional. auth_suite "TLS1.2" is the one modern TLS clients can talk to ("Basic" is
 * TLS 1.0). With enable_tls_client_auth the client certificate must carry the clientAuth
 * extended key usage; the client identity is its CN. The log file must be given on the
 * command line (-l), or the server tries /var/log/pykmip.
 */

export const PYKMIP_SERVER = '/usr/bin/pykmip-server';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface PyKmipServer {
  host: string;
  port: number;
  /** kmips://127.0.0.1:<port> */
  url: string;
  dir: string;
  pki: TestPki;
  databasePath: string;
  logPath: string;
  /** The server log so far, for assertion messages. */
  log(): string;
}

/** Why PyKMIP's server cannot run here, or undefined when it can. */
export function pykmipServerUnavailable(): string | undefined {
  if (!existsSync(PYKMIP_SERVER)) return `${PYKMIP_SERVER} is not installed (Debian package python3-pykmip)`;
  return undefined;
}

/** One mutual-TLS handshake: true when the server completed it. */
function handshake(port: number, pki: TestPki): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    });
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(2_000, () => done(false));
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface PyKmipServerOptions {
  loggingLevel?: 'DEBUG' | 'INFO' | 'WARNING';
  /**
   * A PKI to serve with instead of a fresh one, so that another server (p11kms) can be driven
   * with the same client certificate: both take the client's identity from its CN.
   */
  pki?: TestPki;
}

/**
 * Starts pykmip-server on a free loopback port with its own (or the given) PKI, SQLite
 * database, policy directory and log in a temp dir; resolves once it completes a mutual TLS
 * handshake. The server (and the temp dir) go at teardown.
 */
export async function startPyKmipServer(t: Teardown, opts: PyKmipServerOptions = {}): Promise<PyKmipServer> {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-pykmip-server-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = opts.pki ?? makeTestPki(dir, 'p11kms-client');
  const policyPath = join(dir, 'policies');
  mkdirSync(policyPath);
  const databasePath = join(dir, 'pykmip.sqlite');
  const logPath = join(dir, 'server.log');
  const configPath = join(dir, 'server.conf');
  const port = await freePort();
  writeFileSync(configPath, [
    '[server]',
    'hostname=127.0.0.1',
    `port=${port}`,
    `certificate_path=${pki.serverCert}`,
    `key_path=${pki.serverKey}`,
    `ca_path=${pki.caCert}`,
    'auth_suite=TLS1.2',
    `policy_path=${policyPath}`,
    'enable_tls_client_auth=True',
    `logging_level=${opts.loggingLevel ?? 'DEBUG'}`,
    `database_path=${databasePath}`,
    '',
  ].join('\n'));

  let output = '';
  let exited: string | undefined;
  // Its own process group: the server forks a multiprocessing manager and a policy monitor,
  // which would outlive it (and hold our pipes open) if only the server were killed.
  const child = spawn(PYKMIP_SERVER, ['-f', configPath, '-l', logPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  child.once('exit', (code, signal) => { exited = `exited with ${code ?? signal}`; });
  child.once('error', (e) => { exited = `failed to start: ${e.message}`; });
  // SIGKILL to the group: the server's SIGTERM handler only stops at its next 10 s accept timeout.
  t.teardown(() => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  const log = (): string => {
    try {
      return readFileSync(logPath, 'utf8');
    } catch {
      return '';
    }
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`pykmip-server ${exited}: ${output}\n${log()}`);
    if (await handshake(port, pki)) {
      return { host: '127.0.0.1', port, url: `kmips://127.0.0.1:${port}`, dir, pki, databasePath, logPath, log };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`pykmip-server did not accept TLS connections on 127.0.0.1:${port} within 30 s: ${output}\n${log()}`);
}
