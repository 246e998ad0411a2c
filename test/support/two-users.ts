import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmipClient } from '../../src/kmip/client';
import { KmipError } from '../../src/kmip/errors';
import { startServer, type ServerOptions } from '../../src/server/main';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TwoUsers {
  /** A client whose every request runs as alice, and one as bob: two servers on one SQLite file. */
  alice: KmipClient;
  bob: KmipClient;
  dir: string;
  dbPath: string;
}

/**
 * Until requests carry credentials, a server's user is its defaultUser; two servers on the same
 * database (SQLite in WAL mode takes two connections) give two users the same objects.
 */
export async function twoUsers(t: Teardown, opts: ServerOptions = {}): Promise<TwoUsers> {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-users-'));
  const dbPath = join(dir, 'kms.sqlite');
  const common: ServerOptions = { port: 0, dbPath, logLevel: 'silent', workers: 0, ...opts };
  const a = await startServer({ ...common, defaultUser: 'alice' });
  const b = await startServer({ ...common, defaultUser: 'bob' });
  const alice = new KmipClient({ url: a.url });
  const bob = new KmipClient({ url: b.url });
  t.teardown(async () => {
    await alice.close();
    await bob.close();
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { alice, bob, dir, dbPath };
}

/** What a call ends in: "ok", or the KMIP ResultReason it failed with. */
export async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof KmipError) return e.reason;
    throw e;
  }
}

export function grant(owner: KmipClient, uid: string, user: string, operations: string[]): Promise<unknown> {
  return owner.rest('POST', '/access/grant', { unique_identifier: uid, user_id: user, operation_types: operations });
}

export function revokeGrant(owner: KmipClient, uid: string, user: string, operations: string[]): Promise<unknown> {
  return owner.rest('POST', '/access/revoke', { unique_identifier: uid, user_id: user, operation_types: operations });
}
