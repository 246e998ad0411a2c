/**
 * The object store contract, implemented by SQLite (sqlite.ts) and PostgreSQL (postgres.ts);
 * open-store.ts picks one from the --db value.
 * Objects are read and written whole: attributes travel as JSON TTLV text, key material
 * as bytes in its canonical form (raw, PKCS#8, SPKI, DER certificate).
 */

import { KmipError } from '../../kmip/errors';

export interface StoredObject {
  uid: string;
  objectType: string;
  state: string;
  owner: string;
  /** Children of the KMIP Attributes structure, as JSON TTLV text. */
  attributesJson: string;
  /** User and system tags. */
  tags: string[];
  algorithm: string | null;
  length: number | null;
  material: Buffer | null;
  createdAt: number;
  updatedAt: number;
}

/** What a write carries besides the object: the Name values, indexed for Locate, and the key that wraps it. */
export interface StoredObjectWrite extends StoredObject {
  names: string[];
  /** The WrappingKeyLink target, indexed so re-keying a KEK finds what it wraps without reading every row. */
  wrappingKey: string | null;
  /**
   * update() only: write only if the stored attributes are still exactly this text (the object
   * as it was read), else reject with StaleObjectError and change nothing. A read-modify-write
   * then cannot undo a concurrent change, such as a Sensitive or Extractable latch set meanwhile.
   */
  ifAttributesJson?: string;
}

/** A conditional update found the object changed since it was read (StoredObjectWrite.ifAttributesJson). */
export class StaleObjectError extends KmipError {
  constructor(uid: string) {
    super('General_Failure', `object ${uid} was changed by another request while this one ran; retry`);
  }
}

export interface LocateQuery {
  owner?: string;
  objectType?: string;
  algorithm?: string;
  length?: number;
  states?: string[];
  names?: string[];
  tags?: string[];
  /** Objects whose WrappingKeyLink names any of these UIDs. */
  wrappedBy?: string[];
  /** Only these UIDs (an empty list matches nothing): Locate asks this for the objects granted to the caller. */
  uids?: string[];
}

/**
 * One access right: `user` (or "*", every user) may run `operation` (a Cosmian operation type
 * such as "encrypt", src/server/access/operation-types.ts) on the object `uid`. The store keeps
 * them as given; the owner check and the meaning of "*" live in OperationContext.
 */
export interface Grant {
  uid: string;
  user: string;
  operation: string;
}

/** One audited KMIP operation. Never key material, plaintext or credentials. */
export interface AuditRecord {
  /** Milliseconds since the epoch. */
  time: number;
  user: string;
  /** The KMIP operation, e.g. "Encrypt", or an access-right change ("Grant", "RevokeGrant"). */
  operation: string;
  /** The objects the request named and the ones it produced. */
  uids: string[];
  /** "Success" or the KMIP ResultReason of the failure. */
  result: string;
}

export interface AuditQuery {
  /** Records naming this UID among their uids. */
  uid?: string;
  user?: string;
  /** Records at or after this time (ms since the epoch). */
  since?: number;
  /** At most this many, newest first. */
  limit: number;
}

export interface ObjectStore {
  /** Durable once the promise resolves. */
  insert(obj: StoredObjectWrite): Promise<void>;
  /** Replaces the object; durable once the promise resolves. */
  update(obj: StoredObjectWrite): Promise<void>;
  /** Deletes the object and every grant on it. */
  remove(uid: string): Promise<void>;
  get(uid: string): Promise<StoredObject | undefined>;
  exists(uid: string): Promise<boolean>;
  /** UIDs matching the indexed fields, oldest first. Further filtering is done by the caller. */
  locate(query: LocateQuery): Promise<string[]>;

  /** Adds these operations for `user` on the (existing) object; ones already granted stay. Durable once resolved. */
  grant(uid: string, user: string, operations: string[]): Promise<void>;
  /** Removes these operations for `user` on the object; ones never granted are ignored. Durable once resolved. */
  revoke(uid: string, user: string, operations: string[]): Promise<void>;
  /** Every grant on one object, in any order. */
  grantsOf(uid: string): Promise<Grant[]>;
  /** Every grant whose user is exactly `user` ("*" included only when asked for), in any order. */
  grantedTo(user: string): Promise<Grant[]>;

  /** Appends one record; durable once resolved. */
  appendAudit(record: AuditRecord): Promise<void>;
  /** The records matching every filter given, newest first, at most query.limit. */
  readAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** PostgreSQL ends its connections: await it before the process exits. */
  close(): void | Promise<void>;
}

/** One object's key material as the database holds it (sealed): what a master-key rotation walks. */
export interface StoredMaterial {
  uid: string;
  material: Buffer;
}

/**
 * What the master-key layer (sealed-store.ts) needs of a back end besides ObjectStore: the
 * material as stored, and the registry of the master keys it is sealed under.
 */
export interface RawObjectStore extends ObjectStore {
  /** The master keys rows may be sealed under (table master_keys). */
  masterKeyIds(): Promise<string[]>;
  /**
   * In one transaction, serialised against other servers doing the same: calls `check` with
   * the registered key ids (it throws to refuse); if none is registered yet, every row with
   * material is a row from before sealing, and is sealed now with `seal`; then registers `id`.
   * Resolves to the number of rows sealed.
   */
  adoptMasterKey(id: string, check: (registered: string[]) => void, seal: (uid: string, clear: Buffer) => Buffer): Promise<number>;
  /** Up to `limit` objects with material, in UID order, after `after` ('' for the first page). */
  materialPage(after: string, limit: number): Promise<StoredMaterial[]>;
  /** Sets one object's material if it is still `expected` (no write came in between): true if it did. */
  replaceMaterial(uid: string, expected: Buffer, next: Buffer): Promise<boolean>;
  /** Unregisters a key only if no row starts with its `prefix` any more: true if it did. */
  forgetMasterKey(id: string, prefix: Buffer): Promise<boolean>;
}
