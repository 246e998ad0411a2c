import type { AuditQuery, AuditRecord, Grant, LocateQuery, ObjectStore, RawObjectStore, StoredObject, StoredObjectWrite } from './store';
import { describeSource, loadMasterKeyRing, MasterKeyError, sealedKeyId, sealedPrefix, type MasterKeyRing, type MasterKeySource } from './master-key';

/**
 * The object store as the operations see it: key material sealed by the master key on every
 * write and opened on every read, so no operation handles a sealed form. Everything that
 * reaches the back end through this class — HSM-wrapped keys included, which are sealed once
 * more — is sealed; certificates and public keys too, so every row is in one form.
 */
export class SealedStore implements ObjectStore {
  constructor(readonly raw: RawObjectStore, readonly ring: MasterKeyRing) {}

  private sealed<T extends StoredObjectWrite>(o: T): T {
    return o.material === null ? o : { ...o, material: this.ring.seal(o.uid, o.material) };
  }

  insert(obj: StoredObjectWrite): Promise<void> {
    return this.raw.insert(this.sealed(obj));
  }

  update(obj: StoredObjectWrite): Promise<void> {
    return this.raw.update(this.sealed(obj));
  }

  remove(uid: string): Promise<void> {
    return this.raw.remove(uid);
  }

  async get(uid: string): Promise<StoredObject | undefined> {
    const o = await this.raw.get(uid);
    return o && o.material !== null ? { ...o, material: this.ring.open(uid, o.material) } : o;
  }

  exists(uid: string): Promise<boolean> {
    return this.raw.exists(uid);
  }

  locate(query: LocateQuery): Promise<string[]> {
    return this.raw.locate(query);
  }

  grant(uid: string, user: string, operations: string[]): Promise<void> {
    return this.raw.grant(uid, user, operations);
  }

  revoke(uid: string, user: string, operations: string[]): Promise<void> {
    return this.raw.revoke(uid, user, operations);
  }

  grantsOf(uid: string): Promise<Grant[]> {
    return this.raw.grantsOf(uid);
  }

  grantedTo(user: string): Promise<Grant[]> {
    return this.raw.grantedTo(user);
  }

  appendAudit(record: AuditRecord): Promise<void> {
    return this.raw.appendAudit(record);
  }

  readAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.raw.readAudit(query);
  }

  close(): void | Promise<void> {
    return this.raw.close();
  }
}

function wrongKey(source: MasterKeySource, missing: string[], held: string[]): MasterKeyError {
  return new MasterKeyError(
    `wrong master key: the database holds key material sealed under master key ${missing.join(', ')}, but ${describeSource(source)} holds ${held.join(', ')}. ` +
      'Give the key the database was sealed with (--master-key-file, P11KMS_MASTER_KEY or the master-key credential); a new key would not open any stored key.',
  );
}

/**
 * Opens the master key ring for a database, and makes the database accept it: every key the
 * database is sealed under must be in the ring (else a clear error, before anything listens),
 * a database from before sealing is sealed now, and the ring's current key is registered.
 * The key file is created only for a database that holds no sealed key.
 */
export async function adoptMasterKeys(raw: RawObjectStore, source: MasterKeySource, warn: (message: string) => void): Promise<{ ring: MasterKeyRing; sealedNow: number }> {
  const registered = await raw.masterKeyIds();
  let ring: MasterKeyRing;
  try {
    ring = loadMasterKeyRing(source, registered.length === 0, warn);
  } catch (e) {
    if (e instanceof MasterKeyError && registered.length > 0) {
      throw new MasterKeyError(`${e.message}; the database holds key material sealed under master key ${registered.join(', ')}, which only that key opens`);
    }
    throw e;
  }
  const sealedNow = await raw.adoptMasterKey(ring.current.id, (ids) => {
    const missing = ids.filter((id) => !ring.holds(id));
    if (missing.length > 0) throw wrongKey(source, missing, ring.ids);
  }, (uid, clear) => ring.seal(uid, clear));
  if (sealedNow > 0) warn(`sealed the key material of ${sealedNow} object(s) stored in clear by an earlier version under master key ${ring.current.id}`);
  return { ring, sealedNow };
}

export interface RewrapReport {
  /** Rows re-sealed under the current key. */
  resealed: number;
  /** Passes over the table: more than one when writes raced the re-sealing. */
  passes: number;
  /** Master keys no row needs any more, now unregistered. */
  forgotten: string[];
}

/** Rows per page, written together: short transactions, so servers' writes never wait long behind a rotation. */
const PAGE = 100;
const MAX_PASSES = 20;

/**
 * Re-seals every row not under the ring's current key, while servers keep running: each row
 * is replaced only if it still holds the value read (compare-and-set), so a concurrent write
 * is never overwritten; such a row is looked at again in the next pass. Ends when a pass finds
 * nothing to re-seal, then unregisters the keys no row needs any more.
 */
export async function rewrapAll(raw: RawObjectStore, ring: MasterKeyRing): Promise<RewrapReport> {
  ring.refresh();
  const current = ring.current.id;
  let resealed = 0;
  let passes = 0;
  for (;;) {
    passes++;
    let changed = 0;
    let stale = 0;
    let after = '';
    for (;;) {
      const page = await raw.materialPage(after, PAGE);
      if (page.length === 0) break;
      after = (page[page.length - 1] as { uid: string }).uid;
      const pending = page.filter((row) => sealedKeyId(row.material) !== current);
      stale += pending.length;
      // One page at once: on SQLite one transaction (group commit), on PostgreSQL the pool's connections.
      const replaced = await Promise.all(pending.map((row) => raw.replaceMaterial(row.uid, row.material, ring.seal(row.uid, ring.open(row.uid, row.material)))));
      changed += replaced.filter(Boolean).length;
    }
    resealed += changed;
    if (stale === 0) break;
    if (passes >= MAX_PASSES) throw new MasterKeyError(`rows are still sealed under an older master key after ${passes} passes: writes under it keep coming; is a server still running with the old key as its current one?`);
  }
  const forgotten: string[] = [];
  for (const id of await raw.masterKeyIds()) {
    if (id !== current && (await raw.forgetMasterKey(id, sealedPrefix(id)))) forgotten.push(id);
  }
  return { resealed, passes, forgotten };
}
