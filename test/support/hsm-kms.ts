import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KmipClient } from '../../src/kmip/client';
import { createSymmetricKeyRequest } from '../../src/kmip/requests';
import { T, child, type TtlvStructure } from '../../src/kmip/ttlv';
import { vendorAttribute } from '../../src/server/model/attributes';
import type { HsmInstanceConfig } from '../../src/server/hsm/hsm-config';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/main';
import { PIN, SOFTHSM2_LIB } from '../hsm/softhsm';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The flat (`hsm::<slot>::<label>`) configuration of one SoftHSM2 slot. */
export function flatHsm(slot: number, admins = ['admin']): HsmInstanceConfig[] {
  return [{ prefix: 'hsm', model: 'softhsm2', library: SOFTHSM2_LIB, slots: [{ id: slot, pin: PIN }], admins }];
}

export interface KmsOnDb {
  server: RunningServer;
  client: KmipClient;
  stop(): Promise<void>;
}

/** A server on a given database; the caller stops it (a restart needs the same file). */
export async function serverOn(dbPath: string, opts: ServerOptions): Promise<KmsOnDb> {
  const server = await startServer({ port: 0, dbPath, logLevel: 'silent', ...opts });
  const client = new KmipClient({ url: server.url });
  let stopped = false;
  return {
    server, client,
    async stop() {
      if (stopped) return;
      stopped = true;
      client.close();
      await server.close();
    },
  };
}

export function tempDb(t: Teardown): { dir: string; dbPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-wrap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, dbPath: join(dir, 'kms.sqlite') };
}

/** What `ckms sym keys create --wrapping-key-id <kek>` sends: Cosmian's vendor attribute wrapping_key_id. */
export function createWrappedRequest(kek: string, bits = 256): TtlvStructure {
  const req = createSymmetricKeyRequest({ algorithm: 'AES', length: bits });
  const attrs = child(req, 'Attributes') as TtlvStructure;
  return T.struct('Create', [child(req, 'ObjectType'), T.struct('Attributes', [...attrs.value, vendorAttribute('wrapping_key_id', T.text('AttributeValue', kek))])]);
}

export async function createWrapped(client: KmipClient, kek: string): Promise<string> {
  const res = await client.call(createWrappedRequest(kek));
  return String(child(res, 'UniqueIdentifier')?.value);
}

/** The row as SQLite holds it, read behind the server's back. */
export function storedRow(dbPath: string, id: string): { material: Buffer; attributes: string; wrapping_key: string | null } {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT material, attributes, wrapping_key FROM objects WHERE uid = ?').get(id) as { material: Buffer; attributes: string; wrapping_key: string | null };
  } finally {
    db.close();
  }
}
