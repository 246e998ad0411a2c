import { KmipError } from '../../kmip/errors';
import { T, type TtlvNode } from '../../kmip/ttlv';
import { getAll, withAttr, withoutAttr, type AttributeList } from './attributes';
import type { ManagedObject, ObjectType } from './managed-object';

/**
 * Sensitive and Extractable are one-way latches: Sensitive may only go from false to true,
 * Extractable only from true to false. This is PKCS#11's rule for CKA_SENSITIVE and
 * CKA_EXTRACTABLE (PKCS#11 2.40, common footnotes 11 and 12 of the object attribute tables:
 * "cannot be changed once set to CK_TRUE / CK_FALSE. It becomes a read only attribute") and
 * what KMIP 2.1's Always Sensitive and Never Extractable attributes exist to record: were the
 * latches reversible, whoever may set an attribute could read the key back, and the history
 * attributes would mean nothing.
 *
 * A loosening edit is refused with Attribute_Read_Only: the attribute has become read-only in
 * that direction (KMIP 2.1 result reason Attribute Read Only, for an attribute the client may
 * not modify); Cosmian answers the same for a DeleteAttribute of either and for any edit of the
 * server-managed AlwaysSensitive and NeverExtractable (cosmian_kmip attribute_policy.rs).
 * Permission_Denied would say the caller lacks a right, which is not why: the owner is refused too.
 */
interface Latch {
  tag: 'Sensitive' | 'Extractable';
  /** The value the attribute has when the object does not carry it (KMIP 2.1: Sensitive false, Extractable true). */
  absent: boolean;
  /** The value that protects the key; once there, the attribute never leaves it. */
  protective: boolean;
  /** The server-kept attribute that is true iff the latch has held its protective value since the object was made. */
  history: 'AlwaysSensitive' | 'NeverExtractable';
}

const SENSITIVE: Latch = { tag: 'Sensitive', absent: false, protective: true, history: 'AlwaysSensitive' };
const EXTRACTABLE: Latch = { tag: 'Extractable', absent: true, protective: false, history: 'NeverExtractable' };
const LATCHES: readonly Latch[] = [SENSITIVE, EXTRACTABLE];

/** The objects whose value Sensitive and Extractable guard (Get/Export enforce them), and which carry the history. */
const PROTECTABLE = new Set<ObjectType>(['SymmetricKey', 'PrivateKey', 'SecretData']);

export function isProtectable(objectType: ObjectType): boolean {
  return PROTECTABLE.has(objectType);
}

/**
 * How an object came to be, which decides its history attributes (as PKCS#11 2.40 sets
 * CKA_ALWAYS_SENSITIVE/CKA_NEVER_EXTRACTABLE for generated, unwrapped and derived keys): a key generated on the KMS starts its history with its initial
 * values; bytes the client supplied were known outside the KMS, so they were never always
 * sensitive nor never extractable; a derived key can claim no more than its base.
 */
export type Origin =
  | { kind: 'generated' }
  | { kind: 'supplied' }
  | { kind: 'derived'; base: ManagedObject };

export const GENERATED: Origin = { kind: 'generated' };
export const SUPPLIED: Origin = { kind: 'supplied' };

/** The latch's value; a duplicated or ill-typed one, which validation keeps out, counts as protective. */
function latchValue(list: AttributeList, latch: Latch): boolean {
  const nodes = getAll(list, latch.tag);
  if (nodes.length === 0) return latch.absent;
  if (nodes.length > 1 || nodes.some((n) => n.type !== 'Boolean')) return latch.protective;
  return (nodes[0] as TtlvNode & { value: boolean }).value;
}

function isLatched(list: AttributeList, latch: Latch): boolean {
  return latchValue(list, latch) === latch.protective;
}

function historyValue(list: AttributeList, latch: Latch): boolean {
  return getAll(list, latch.history).some((n) => n.type === 'Boolean' && n.value === true);
}

export function isSensitive(list: AttributeList): boolean {
  return latchValue(list, SENSITIVE);
}

export function isExtractable(list: AttributeList): boolean {
  return latchValue(list, EXTRACTABLE);
}

/** Each latch at most once, and a Boolean: anything else could be read as the permissive default. */
function validate(list: AttributeList): void {
  for (const latch of LATCHES) {
    const nodes = getAll(list, latch.tag);
    if (nodes.length > 1) throw new KmipError('Invalid_Attribute_Value', `${latch.tag} is single-valued`);
    if (nodes.some((n) => n.type !== 'Boolean')) throw new KmipError('Invalid_Attribute_Value', `${latch.tag} must be a Boolean`);
  }
}

/**
 * The attributes of a new object with its latches checked and, for a protectable object, the
 * history set by the server: a derived key is at least as protected as its base, whatever its
 * template says (PKCS#11 C_DeriveKey: CKA_ALWAYS_SENSITIVE = base's && new CKA_SENSITIVE,
 * CKA_NEVER_EXTRACTABLE = base's && !new CKA_EXTRACTABLE).
 */
export function withInitialProtection(objectType: ObjectType, list: AttributeList, origin: Origin): AttributeList {
  let out = LATCHES.reduce((acc, l) => withoutAttr(acc, l.history), list);
  if (!isProtectable(objectType)) return out;
  validate(out);
  for (const latch of LATCHES) {
    if (origin.kind === 'derived' && isLatched(origin.base.attributes, latch) && !isLatched(out, latch)) {
      out = withAttr(out, T.bool(latch.tag, latch.protective));
    }
    const heldSinceCreation = origin.kind === 'generated'
      || (origin.kind === 'derived' && historyValue(origin.base.attributes, latch));
    out = withAttr(out, T.bool(latch.history, heldSinceCreation && isLatched(out, latch)));
  }
  return out;
}

/**
 * Refuses an attribute edit that would loosen or delete a latch of a protectable object, and
 * keeps the history attributes the server's: they are carried from `before`, and can only
 * become false. On other objects (public keys, certificates) the attributes guard nothing.
 */
export function withCheckedProtection(objectType: ObjectType, before: AttributeList, after: AttributeList): AttributeList {
  if (!isProtectable(objectType)) return after;
  let out = after;
  for (const latch of LATCHES) {
    if (getAll(before, latch.tag).length > 0 && getAll(after, latch.tag).length === 0) {
      throw new KmipError('Attribute_Read_Only', `${latch.tag} cannot be deleted: it only moves from ${String(!latch.protective)} to ${String(latch.protective)}`);
    }
  }
  validate(after);
  for (const latch of LATCHES) {
    if (isLatched(before, latch) && !isLatched(after, latch)) {
      throw new KmipError('Attribute_Read_Only', `${latch.tag} is ${String(latch.protective)} and can never be set back to ${String(!latch.protective)}`);
    }
    const history = getAll(before, latch.history);
    out = withoutAttr(out, latch.history);
    if (history.length > 0) out = [...out, T.bool(latch.history, historyValue(before, latch) && isLatched(after, latch))];
  }
  return out;
}

/** Refuses an attribute whose setting would loosen a latch, before any other check can answer for it. */
export function checkLatchEdit(objectType: ObjectType, before: AttributeList, attr: TtlvNode): void {
  if (LATCHES.some((l) => l.tag === attr.tag)) withCheckedProtection(objectType, before, withAttr(before, attr));
}
