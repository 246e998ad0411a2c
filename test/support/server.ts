import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveMasterKeySource, startServer, type RunningServer, type ServerOptions } from '../../src/server/main';
import { describeSource } from '../../src/server/store/master-key';
import { freshDatabase, onPostgres } from './postgres';

export interface TestServer extends RunningServer {
  dir: string;
  /** The SQLite file or the PostgreSQL URL the server runs on. */
  dbPath: string;
  /** Where the master key ring sealing the database's key material comes from (a file unless P11KMS_MASTER_KEY is set). */
  masterKeyFile: string;
  /** POST a JSON body to a path, returning status, content type and text. */
  post(path: string, body: string | Buffer, contentType?: string): Promise<{ status: number; type: string; text: string; bytes: Buffer }>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * A real KMS on a random loopback port with its own SQLite file, or its own PostgreSQL
 * database when P11KMS_TEST_DB=postgresql, stopped when the test ends.
 */
export async function startTestServer(t: Teardown, opts: ServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-test-'));
  const dbPath = onPostgres ? await freshDatabase(t) : join(dir, 'kms.sqlite');
  // The data directory holds the master key on PostgreSQL (on SQLite it is beside the file).
  const options: ServerOptions = { port: 0, dbPath, dataDir: dir, logLevel: 'silent', ...opts };
  const server = await startServer(options);
  t.teardown(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    ...server,
    dir,
    dbPath,
    masterKeyFile: describeSource(resolveMasterKeySource(options)),
    async post(path, body, contentType = 'application/json') {
      const res = await fetch(server.url + path, { method: 'POST', headers: { 'Content-Type': contentType }, body });
      const bytes = Buffer.from(await res.arrayBuffer());
      return { status: res.status, type: res.headers.get('content-type') ?? '', text: bytes.toString('utf8'), bytes };
    },
  };
}

export const REPO_ROOT = join(__dirname, '..', '..', '..');
/** The project's shared documents, beside the repository; only the drift check reads them. */
export const SHARED_DIR = process.env['P11KMS_SHARED_DIR'] ?? join(REPO_ROOT, '..', 'shared');
/**
 * The known-answer vectors, kept in the repository (a copy of shared/kmip-vectors) so that a
 * clone anywhere runs them; test/server/vectors-copy.test.ts checks the copy has not drifted.
 */
export const KAT_DIR = join(REPO_ROOT, 'test', 'vectors', 'kmip-vectors', 'kat');
