import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode } from '../../kmip/ttlv';
import { boolAttr, getAttr, intAttr, withAttr, withoutAttr, type AttributeList } from './attributes';

/**
 * Key sets, as Cosmian KMS has them (documentation/docs/kmip_support/key_rotation/index.md,
 * "Keysets"; crate/server/src/core/uid_utils.rs): a key set is the chain of generations that
 * successive ReKeys make of one key. Its members carry the KMIP 2.1 attributes RotateName (the
 * set's name, which is the UID of generation 0), RotateGeneration (0, 1, 2…) and RotateLatest
 * (true on the newest only). Generation N of set `k` gets the UID `k@N`.
 *
 * A request names a set by `k@latest`, `k@first`, `k@0`, `k@N`, or the bare `k`: the newest
 * generation, except for Decrypt, SignatureVerify and MACVerify, which try each generation,
 * newest first, with a bare name. Only the caller's own keys form its sets (Cosmian's
 * find_by_rotate_name filters on the owner): another user's key named `k` never stands in.
 */

/** RotateGeneration, RotateLatest and RotateDate are written by ReKey only (Cosmian ADR 2026-06-30 §7). */
export const SERVER_OWNED_ROTATION_ATTRIBUTES = ['RotateGeneration', 'RotateLatest', 'RotateDate'] as const;

/** How far a chain is followed: Cosmian's `keyset-decrypt-max-attempts` default. */
export const MAX_GENERATIONS = 100;

export type KeysetVersion = { kind: 'latest' } | { kind: 'generation'; n: number };

export interface KeysetRef {
  name: string;
  version: KeysetVersion;
}

/** `k@latest`, `k@first`, `k@N`: the set name and the generation asked for; anything else is not a set reference. */
export function parseKeysetRef(text: string): KeysetRef | undefined {
  const at = text.lastIndexOf('@');
  if (at <= 0) return undefined;
  const name = text.slice(0, at);
  const version = text.slice(at + 1);
  if (version === 'latest') return { name, version: { kind: 'latest' } };
  if (version === 'first') return { name, version: { kind: 'generation', n: 0 } };
  if (/^\d{1,9}$/.test(version)) return { name, version: { kind: 'generation', n: Number(version) } };
  return undefined;
}

/** The set a key belongs to: RotateName as Cosmian sends it (a TextString), or the KMIP 2.1 structure form. */
export function rotateNameOf(attributes: AttributeList): string | undefined {
  return rotateNameValue(getAttr(attributes, 'RotateName'));
}

export function rotateNameValue(n: TtlvNode | undefined): string | undefined {
  if (n === undefined) return undefined;
  if (n.type === 'TextString') return n.value;
  const inner = child(n, 'RotateNameValue');
  return inner?.type === 'TextString' ? inner.value : undefined;
}

export function generationOf(attributes: AttributeList): number {
  return intAttr(attributes, 'RotateGeneration') ?? 0;
}

/** A member of a set that a later ReKey has replaced. */
export function isRetiredGeneration(attributes: AttributeList): boolean {
  return rotateNameOf(attributes) !== undefined && boolAttr(attributes, 'RotateLatest') === false;
}

/**
 * Cosmian's rules for a RotateName a client sets (Create, SetAttribute…): no `@`, which would
 * make `k@N` ambiguous, and equal to the key's UID, so the bare name addresses the set.
 */
export function checkRotateName(name: string | undefined, uidAsCallerNamesIt: string, operation: string): void {
  if (name === undefined) return;
  if (name.length === 0 || name.includes('@')) {
    throw new KmipError('Invalid_Attribute_Value', `a RotateName must be non-empty and must not contain '@' (it addresses generations as name@N): '${name}'`);
  }
  if (name !== uidAsCallerNamesIt) {
    // Cosmian's wording (key_rotation/index.md, "Creating a SQL key in a keyset").
    throw new KmipError('Operation_Not_Supported', `Invalid Request: ${operation}: rotate_name ('${name}') must equal the key's UID — create the key with the keyset name as its ID`);
  }
}

/** The rotation attributes of a replacement: the next generation of the same set, the newest one. */
export function nextGenerationAttributes(old: AttributeList, now: number): TtlvNode[] {
  const name = getAttr(old, 'RotateName');
  return [
    ...(name ? [name] : []),
    T.int('RotateGeneration', generationOf(old) + 1),
    T.bool('RotateLatest', true),
    T.date('RotateDate', now),
    // A manual ReKey does not carry an automatic rotation policy over (Cosmian set_rotation_metadata_on_new_key).
    T.int('RotateInterval', 0),
  ];
}

/** The replaced key: no longer the newest, with its generation written out so `k@0` finds it. */
export function retiredAttributes(old: AttributeList): AttributeList {
  let list = withAttr(old, T.bool('RotateLatest', false));
  list = withAttr(list, T.int('RotateGeneration', generationOf(old)));
  if (getAttr(list, 'RotateInterval') !== undefined) list = withAttr(list, T.int('RotateInterval', 0));
  return withoutAttr(list, 'RotateOffset');
}
