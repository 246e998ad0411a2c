import { randomBytes } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { T, child, children, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { dateAttr, getAttr, intAttr, linkAttribute, linkedId, textAttr, withAttr, withoutAttr, type AttributeList } from '../model/attributes';
import { keyPairSpec } from '../model/algorithms';
import { effectiveState } from '../model/lifecycle';
import { fromStored, userTags, type ManagedObject } from '../model/managed-object';
import { generateKeyPair } from '../crypto/keygen';
import { checkKeyPairCost } from '../limits';
import { storeKeyPair } from './create';
import { GENERATED } from '../model/protection';
import { newObject, touch } from './new-object';
import { read } from './payload';
import { hsmWrappingKeyOf } from '../hsm/key-wrapping';
import { isRetiredGeneration, nextGenerationAttributes, retiredAttributes, rotateNameOf, generationOf } from '../model/keyset';
import { checkWrappingKey, kmsWrappingKeyOf, unwrapAtRest, wrapAtRest } from '../model/kms-wrapping';
import { KEY_WRAPPING_DATA, registeredWrapping, rewrapRegistered } from '../model/registered-wrapped';
import { symmetricKeyOf } from '../model/key-objects';
import { presentUid } from '../access/uid-scope';

/**
 * ReKey and ReKeyKeyPair as Cosmian KMS has them (documentation/docs/kmip_support/key_rotation/index.md;
 * crate/server/src/core/operations/rekey/{common,symmetric,keypair}.rs):
 * - the source must be Active, Deactivated or Compromised, and the newest generation of its key set;
 * - the request may not change the algorithm, the length or the curve;
 * - the replacement gets a fresh UID (`k@N` in key set `k`), the Name, ReplacedObjectLink to the
 *   old key, ActivationDate = now + Offset (an Interval), and the next generation of the set;
 * - the old key gets ReplacementObjectLink, loses its Name and becomes Deactivated (KMIP 2.1 §4.57
 *   transition 6), so Locate by Name finds the replacement only and Encrypt falls to it;
 * - a wrapped key's replacement is wrapped by the same key, and re-keying a wrapping key re-wraps
 *   the keys of its owner that it wraps.
 * Cosmian reports its refusals as KmsError::InvalidRequest, which its message.rs turns into
 * ResultReason Operation_Not_Supported with the message "Invalid Request: …": so do we.
 */

/** Attributes a replacement does not take from the original: identity, dates, state, links, the set bookkeeping. */
const NOT_INHERITED = new Set([
  'UniqueIdentifier', 'InitialDate', 'LastChangeDate', 'ActivationDate', 'DeactivationDate', 'DestroyDate', 'CompromiseDate',
  'CompromiseOccurrenceDate', 'Link', 'State', 'RotateName', 'RotateGeneration', 'RotateLatest', 'RotateDate', 'RotateInterval', 'RotateOffset',
  // A key that arrived wrapped is replaced by a fresh key made here: it did not arrive, wrapped or not.
  'KeyWrappingData',
]);

function invalidRequest(message: string): KmipError {
  return new KmipError('Operation_Not_Supported', `Invalid Request: ${message}`);
}

/** KMIP 2.1 §6.1.46: Offset is an Interval; an Integer (what several clients send) is read the same. */
function offsetOf(p: TtlvStructure): number | undefined {
  const n = child(p, 'Offset');
  if (n === undefined) return undefined;
  if (n.type === 'Interval' || n.type === 'Integer') return n.value;
  if (n.type === 'LongInteger' && n.value >= 0n && n.value <= 0xffffffffn) return Number(n.value);
  throw new KmipError('Invalid_Field', `Offset must be an Interval, not ${n.type}`);
}

/** Only a key in service can be rotated, and only the newest generation of a set (Cosmian retrieve_eligible_keys and the non-latest guard). */
function checkRotatable(o: ManagedObject, ctx: OperationContext, operation: string): void {
  const state = effectiveState(o, ctx.now());
  const shown = presentUid(o.uid, ctx.user);
  if (state !== 'Active' && state !== 'Deactivated' && state !== 'Compromised') {
    throw invalidRequest(`key '${shown}' is in state '${state}' — only Active, Deactivated, or Compromised keys can be rotated`);
  }
  if (isRetiredGeneration(o.attributes)) {
    throw invalidRequest(`${operation}: key '${shown}' is not the latest in its keyset — only the latest generation can be rotated`);
  }
}

function curveOf(attrs: TtlvNode | AttributeList | undefined): string | undefined {
  const list = Array.isArray(attrs) ? attrs : children(attrs);
  const curve = child(getAttr(list, 'CryptographicDomainParameters'), 'RecommendedCurve');
  return curve === undefined ? undefined : String(curve.value);
}

/** A re-key renews a key; a different algorithm, size or curve is a new key (Cosmian validate_no_crypto_param_change). */
function checkNoCryptoChange(existing: AttributeList, requested: Array<TtlvStructure | undefined>, operation: string): void {
  for (const attrs of requested) {
    if (attrs === undefined) continue;
    const list = children(attrs);
    const algorithm = getAttr(list, 'CryptographicAlgorithm');
    if (algorithm !== undefined && String(algorithm.value) !== textAttr(existing, 'CryptographicAlgorithm')) {
      throw invalidRequest(`${operation}: changing the cryptographic algorithm is not allowed. Use Create/CreateKeyPair for a different algorithm.`);
    }
    const curve = curveOf(list);
    if (curve !== undefined && curveOf(existing) !== undefined && curve !== curveOf(existing)) {
      throw invalidRequest(`${operation}: changing the recommended curve is not allowed. Use Create/CreateKeyPair for a different curve.`);
    }
    const length = intAttr(list, 'CryptographicLength');
    const existingLength = intAttr(existing, 'CryptographicLength');
    if (length !== undefined && existingLength !== undefined && length !== existingLength) {
      throw invalidRequest(`${operation}: changing the cryptographic length is not allowed. Use Create/CreateKeyPair for a different key size.`);
    }
  }
}

/**
 * The replacement's attributes: the original's descriptive ones (Name included: it moves to the
 * replacement), ActivationDate = now + Offset, and a DeactivationDate shifted by as much as the
 * activation moved when the original had both (KMIP 1.4 §4.4 Table 172).
 */
function inherited(o: ManagedObject, now: number, offset: number | undefined, uid: string | undefined): TtlvStructure {
  const keep = o.attributes.filter((n) => !NOT_INHERITED.has(n.tag));
  const activation = now + (offset ?? 0);
  const oldActivation = dateAttr(o.attributes, 'ActivationDate');
  const oldDeactivation = dateAttr(o.attributes, 'DeactivationDate');
  const deactivation = oldActivation !== undefined && oldDeactivation !== undefined && oldDeactivation > oldActivation
    ? oldDeactivation + (activation - oldActivation)
    : undefined;
  return T.struct('Attributes', [
    ...keep,
    T.date('ActivationDate', activation),
    deactivation !== undefined ? T.date('DeactivationDate', deactivation) : undefined,
    uid !== undefined ? T.text('UniqueIdentifier', uid) : undefined,
  ]);
}

/** Generation N of set `k` is `k@N` (Cosmian's SQL key set UID scheme); a key outside a set gets a fresh UID. */
function replacementUid(o: ManagedObject): string | undefined {
  const name = rotateNameOf(o.attributes);
  return name === undefined ? undefined : `${name}@${generationOf(o.attributes) + 1}`;
}

/**
 * The replacement belongs to the original's owner and is shared exactly as the original is:
 * a grantee with `rekey` renews the owner's key, it does not take it over, and keeps the rights
 * it had (and no more) on the new key.
 */
async function carryGrants(ctx: OperationContext, fromUid: string, toUid: string): Promise<void> {
  const byUser = new Map<string, string[]>();
  for (const g of await ctx.store.grantsOf(fromUid)) byUser.set(g.user, [...(byUser.get(g.user) ?? []), g.operation]);
  for (const [user, operations] of byUser) await ctx.store.grant(toUid, user, operations);
}

/** The replaced key: ReplacementObjectLink, no Name, no longer the newest of its set, Deactivated if it was Active. */
async function retire(ctx: OperationContext, old: ManagedObject, newUid: string): Promise<void> {
  const now = ctx.now();
  let attributes = withoutAttr(old.attributes, 'Name');
  attributes = [...attributes.filter((n) => !(n.tag === 'Link' && String(child(n, 'LinkType')?.value) === 'ReplacementObjectLink')), linkAttribute('ReplacementObjectLink', newUid)];
  attributes = retiredAttributes(attributes);
  let state = old.state;
  if (effectiveState(old, now) === 'Active') {
    state = 'Deactivated';
    attributes = withAttr(attributes, T.date('DeactivationDate', now));
  }
  await ctx.save(touch({ ...old, state, attributes }, now));
}

/**
 * Re-keying a wrapping key re-wraps, under the replacement, the keys of the wrapping key's owner
 * that it wraps (Cosmian rewrap_dependants, which skips other owners' keys: those stay wrapped by
 * the old key, which still unwraps them). A key that fails is left as it was.
 */
async function rewrapDependants(ctx: OperationContext, old: ManagedObject, replacement: ManagedObject): Promise<void> {
  const oldBytes = symmetricKeyOf(old);
  const newBytes = symmetricKeyOf(replacement);
  for (const uid of await ctx.store.locate({ wrappedBy: [old.uid], owner: old.owner })) {
    const stored = await ctx.store.get(uid);
    if (!stored?.material || stored.owner !== old.owner) continue;
    const o = fromStored(stored);
    if (kmsWrappingKeyOf(o.attributes) !== old.uid) continue;
    // A key that arrived wrapped is re-wrapped with the mode it came with, its KeyWrappingData now naming the replacement.
    const arrived = registeredWrapping(o.attributes);
    let material: Buffer;
    let arrivedData: TtlvNode | undefined;
    try {
      if (arrived) {
        const rewrapped = rewrapRegistered(arrived, `object ${o.uid}`, old.uid, oldBytes, replacement.uid, newBytes, stored.material);
        material = rewrapped.wrapped;
        arrivedData = rewrapped.data;
      } else {
        material = wrapAtRest(newBytes, unwrapAtRest(oldBytes, stored.material));
      }
    } catch {
      continue;
    }
    const attributes = [...o.attributes.filter((n) => !(n.tag === 'Link' && String(child(n, 'LinkType')?.value) === 'WrappingKeyLink') && !(arrivedData && n.tag === KEY_WRAPPING_DATA)),
      linkAttribute('WrappingKeyLink', replacement.uid), ...(arrivedData ? [arrivedData] : [])];
    await ctx.save({ ...o, attributes, material });
  }
}

export async function reKey(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const old = await ctx.load(uid);
  if (old.objectType !== 'SymmetricKey') throw new KmipError('Invalid_Object_Type', 'ReKey renews symmetric keys; use ReKeyKeyPair for key pairs');
  checkRotatable(old, ctx, 'ReKey');
  checkNoCryptoChange(old.attributes, [read.struct(p, 'Attributes')], 'ReKey');
  const bits = intAttr(old.attributes, 'CryptographicLength') ?? 256;
  const now = ctx.now();
  // A key stored wrapped (by an HSM key or a KMS key) is replaced by one wrapped by the same key.
  const hsmKek = hsmWrappingKeyOf(old.attributes);
  const kmsKek = kmsWrappingKeyOf(old.attributes);
  const wrappingLink = hsmKek ?? kmsKek;
  const fresh = {
    ...newObject(ctx, 'SymmetricKey', inherited(old, now, offsetOf(p), replacementUid(old)), randomBytes(bits / 8),
      [linkAttribute('ReplacedObjectLink', uid), ...nextGenerationAttributes(old.attributes, now), ...(wrappingLink !== undefined ? [linkAttribute('WrappingKeyLink', wrappingLink)] : [])],
      GENERATED, userTags(old)),
    owner: old.owner,
  };
  if (kmsKek !== undefined) {
    // Fail before anything is written when the wrapping key can no longer wrap.
    const wrapping = await ctx.load(kmsKek, 'any').catch(() => undefined);
    if (wrapping) checkWrappingKey(wrapping, effectiveState(wrapping, now));
  }
  const newUid = await ctx.insert(fresh);
  await carryGrants(ctx, uid, newUid);
  await retire(ctx, old, newUid);
  if ((await ctx.store.locate({ wrappedBy: [uid], owner: old.owner })).length > 0) {
    await rewrapDependants(ctx, old, await ctx.load(newUid, 'any'));
  }
  return T.struct('ReKeyResponse', [T.text('UniqueIdentifier', newUid)]);
}

export async function reKeyKeyPair(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p, 'PrivateKeyUniqueIdentifier');
  const oldPriv = await ctx.load(uid);
  if (oldPriv.objectType !== 'PrivateKey') throw new KmipError('Invalid_Object_Type', 'ReKeyKeyPair takes a private key');
  checkRotatable(oldPriv, ctx, 'ReKeyKeyPair');
  const oldPubUid = linkedId(oldPriv.attributes, 'PublicKeyLink');
  // Cosmian RotationCandidate::public_key_uid: the pair is found through the private key's link.
  if (oldPubUid === undefined) throw invalidRequest('ReKeyKeyPair: the private key has no PublicKeyLink. Cannot determine the paired public key.');
  checkNoCryptoChange(oldPriv.attributes, [read.struct(p, 'CommonAttributes'), read.struct(p, 'PrivateKeyAttributes'), read.struct(p, 'PublicKeyAttributes')], 'ReKeyKeyPair');
  const oldPub = await ctx.load(oldPubUid, 'any');
  const now = ctx.now();
  const offset = offsetOf(p);
  const privAttrs = inherited(oldPriv, now, offset, replacementUid(oldPriv));
  const pubAttrs = inherited(oldPub, now, offset, undefined);
  const spec = keyPairSpec(privAttrs.value);
  checkKeyPairCost(spec.generate, ctx.limits);
  const pair = await generateKeyPair(spec.generate);
  const fresh = await storeKeyPair(ctx, privAttrs, pubAttrs, pair.privateKey, pair.publicKey, spec.attributes, {
    priv: [linkAttribute('ReplacedObjectLink', uid), ...nextGenerationAttributes(oldPriv.attributes, now)],
    pub: [linkAttribute('ReplacedObjectLink', oldPubUid), ...nextGenerationAttributes(oldPub.attributes, now)],
  }, oldPriv.owner);
  await carryGrants(ctx, uid, fresh.priv);
  await carryGrants(ctx, oldPubUid, fresh.pub);
  await retire(ctx, oldPriv, fresh.priv);
  await retire(ctx, oldPub, fresh.pub);
  return T.struct('ReKeyKeyPairResponse', [T.text('PrivateKeyUniqueIdentifier', fresh.priv), T.text('PublicKeyUniqueIdentifier', fresh.pub)]);
}
