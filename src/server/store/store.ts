/**
 * The object store contract. The SQLite store implements it now; PostgreSQL later.
 * Objects are read and written whole: attributes travel as JSON TTLV text, key material
 * as bytes in its canonical form (raw, PKCS#8, SPKI, DER certificate).
 */

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
}

export interface ObjectStore {
  /** Durable once the promise resolves. */
  insert(obj: StoredObjectWrite): Promise<void>;
  /** Replaces the object; durable once the promise resolves. */
  update(obj: StoredObjectWrite): Promise<void>;
  remove(uid: string): Promise<void>;
  get(uid: string): Promise<StoredObject | undefined>;
  exists(uid: string): Promise<boolean>;
  /** UIDs matching the indexed fields, oldest first. Further filtering is done by the caller. */
  locate(query: LocateQuery): Promise<string[]>;
  close(): void;
}
