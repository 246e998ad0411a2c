import { randomBytes } from 'node:crypto';
import { KmipClient } from '../../src/kmip/client';
import { KmipError } from '../../src/kmip/errors';
import type { ServerOptions } from '../../src/server/main';
import { startTestServer } from './server';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TwoUsers {
  /** Clients authenticated as alice and as bob (API tokens) on one server. */
  alice: KmipClient;
  bob: KmipClient;
  /** `--server-url … --access-token …` for running the CLI as each of them. */
  cli: { alice: string[]; bob: string[] };
  dir: string;
  /** The SQLite file or PostgreSQL URL (P11KMS_TEST_DB) the server runs on. */
  dbPath: string;
  /** The master key file sealing its key material. */
  masterKeyFile: string;
}

/** One server that knows two users by their API tokens, as a deployment with authentication. */
export async function twoUsers(t: Teardown, opts: ServerOptions = {}): Promise<TwoUsers> {
  const tokens = { alice: randomBytes(16).toString('hex'), bob: randomBytes(16).toString('hex') };
  const server = await startTestServer(t, { apiTokens: [`alice:${tokens.alice}`, `bob:${tokens.bob}`], ...opts });
  const alice = new KmipClient({ url: server.url, accessToken: tokens.alice });
  const bob = new KmipClient({ url: server.url, accessToken: tokens.bob });
  t.teardown(async () => {
    await alice.close();
    await bob.close();
  });
  const cli = {
    alice: ['--server-url', server.url, '--access-token', tokens.alice],
    bob: ['--server-url', server.url, '--access-token', tokens.bob],
  };
  return { alice, bob, cli, dir: server.dir, dbPath: server.dbPath, masterKeyFile: server.masterKeyFile };
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
