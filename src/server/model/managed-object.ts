import { T, type TtlvNode } from '../../kmip/ttlv';
import { decodeJsonText, encodeJsonText } from '../../kmip/json-codec';
import type { StoredObject, StoredObjectWrite } from '../store/store';
import { cachedParse } from './parse-cache';
import { names as attrNames, linkedId, systemTag, withAttr, type AttributeList } from './attributes';

export type ObjectType = 'SymmetricKey' | 'PrivateKey' | 'PublicKey' | 'Certificate' | 'SecretData' | 'OpaqueObject' | 'SplitKey';

/**
 * Fields of an object's own structure that the server keeps in its attribute list but that are
 * not KMIP attributes: GetAttributes never shows them (a 1.x client could not decode them as
 * attributes). KeyWrappingData of a key registered wrapped; the split key fields of a SplitKey.
 */
export const OBJECT_FIELDS = new Set(['KeyWrappingData', 'SplitKeyParts', 'KeyPartIdentifier', 'SplitKeyThreshold', 'SplitKeyMethod', 'PrimeFieldSize']);

export type State = 'PreActive' | 'Active' | 'Deactivated' | 'Compromised' | 'Destroyed' | 'Destroyed_Compromised';

/**
 * A managed object as the operations see it. `material` is the canonical form: raw bytes for
 * symmetric keys and secret data, PKCS#8 DER for private keys, SPKI DER for public keys,
 * DER for certificates. It is null once the object is destroyed.
 */
export interface ManagedObject {
  uid: string;
  objectType: ObjectType;
  state: State;
  owner: string;
  /** Standard attributes, without the tag vendor attribute and without State. */
  attributes: AttributeList;
  /** User tags and the system tag. */
  tags: string[];
  material: Buffer | null;
  createdAt: number;
  updatedAt: number;
  /**
   * The attributes as the database held them when this object was read (fromStored): saving it
   * writes only if they are still so, so that a read-modify-write cannot undo a change another
   * request made meanwhile (a Sensitive or Extractable latch above all). A new object has none.
   */
  readAttributesJson?: string;
  /**
   * For a key stored wrapped by an HSM key (a WrappingKeyLink to hsm::…, `material` is then
   * the HSM's iv‖ciphertext‖tag): the key bytes, through the server's unwrapped-key cache.
   * Set by OperationContext.load; never stored.
   */
  unwrapKey?: () => Buffer;
  /**
   * A new object whose bytes are to be stored wrapped by this KMS key (Cosmian's
   * wrapping_key_id naming a database key): OperationContext.insert wraps them. Never stored.
   */
  pendingWrap?: { uid: string; stored: boolean };
}

export function toStored(o: ManagedObject): StoredObjectWrite {
  if (o.pendingWrap !== undefined) throw new Error(`object ${o.uid} must be wrapped before it is stored`);
  const algorithm = o.attributes.find((a) => a.tag === 'CryptographicAlgorithm');
  const length = o.attributes.find((a) => a.tag === 'CryptographicLength');
  return {
    uid: o.uid,
    objectType: o.objectType,
    state: o.state,
    owner: o.owner,
    attributesJson: encodeJsonText(T.struct('Attributes', o.attributes)),
    tags: o.tags,
    names: attrNames(o.attributes),
    algorithm: algorithm ? String(algorithm.value) : null,
    length: length && length.type === 'Integer' ? length.value : null,
    material: o.material,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    wrappingKey: linkedId(o.attributes, 'WrappingKeyLink') ?? null,
    ...(o.readAttributesJson !== undefined ? { ifAttributesJson: o.readAttributesJson } : {}),
  };
}

export function fromStored(s: StoredObject): ManagedObject {
  const attrs = cachedParse(s.uid, s.attributesJson, decodeJsonText);
  return {
    uid: s.uid,
    objectType: s.objectType as ObjectType,
    state: s.state as State,
    owner: s.owner,
    attributes: attrs.type === 'Structure' ? attrs.value : [],
    tags: s.tags,
    material: s.material,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    readAttributesJson: s.attributesJson,
  };
}

/** The system tag followed by the user tags, without duplicates. */
export function objectTags(objectType: ObjectType, userTags: string[]): string[] {
  const sys = systemTag(objectType);
  return [...new Set([...(sys ? [sys] : []), ...userTags])];
}

export function userTags(o: ManagedObject): string[] {
  return o.tags.filter((t) => !t.startsWith('_'));
}

/** The attribute list as GetAttributes and Get show it: with identity, state and dates. */
export function fullAttributes(o: ManagedObject): AttributeList {
  let list: AttributeList = o.attributes.filter((a) => !OBJECT_FIELDS.has(a.tag));
  list = withAttr(list, T.text('UniqueIdentifier', o.uid));
  list = withAttr(list, T.enum('ObjectType', o.objectType));
  list = withAttr(list, T.enum('State', o.state));
  return sortAttributes(list);
}

/** A stable order (the KMIP tag order is not meaningful, but a stable one makes diffs readable). */
function sortAttributes(list: AttributeList): AttributeList {
  const first = ['UniqueIdentifier', 'ObjectType', 'CryptographicAlgorithm', 'CryptographicLength'];
  const rank = (n: TtlvNode): number => {
    const i = first.indexOf(n.tag);
    return i === -1 ? first.length : i;
  };
  return [...list].sort((a, b) => rank(a) - rank(b));
}
