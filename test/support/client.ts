import { KmipClient } from '../../src/kmip/client';
import { KmipError } from '../../src/kmip/errors';
import { startTestServer, type TestServer } from './server';
import type { ServerOptions } from '../../src/server/main';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A real server and a client on it, both closed when the test ends. */
export async function serverAndClient(t: Teardown, opts: ServerOptions = {}): Promise<{ server: TestServer; client: KmipClient }> {
  const server = await startTestServer(t, opts);
  const client = new KmipClient({ url: server.url });
  t.teardown(() => client.close());
  return { server, client };
}

/** The KMIP ResultReason and message a promise fails with, or "no error". */
export async function failureOf(p: Promise<unknown>): Promise<{ reason: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KmipError) return { reason: e.reason, message: e.message };
    throw e;
  }
  return { reason: 'no error', message: '' };
}

/** The KMIP ResultReason a promise fails with, or "no error". */
export async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    if (e instanceof KmipError) return e.reason;
    throw e;
  }
}
