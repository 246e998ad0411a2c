import { randomBytes } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { T, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { intAttr, linkAttribute, linkedId, withoutAttr } from '../model/attributes';
import { keyPairSpec } from '../model/algorithms';
import { requireUsableState } from '../model/lifecycle';
import { userTags, type ManagedObject } from '../model/managed-object';
import { generateKeyPair } from '../crypto/keygen';
import { checkKeyPairCost } from '../limits';
import { storeKeyPair } from './create';
import { GENERATED } from '../model/protection';
import { newObject, touch } from './new-object';
import { read } from './payload';
import { hsmWrappingKeyOf } from '../hsm/key-wrapping';

/** Attributes a replacement key inherits: the descriptive ones, not identity, dates or links. */
const NOT_INHERITED = new Set(['UniqueIdentifier', 'InitialDate', 'LastChangeDate', 'ActivationDate', 'DeactivationDate', 'DestroyDate', 'CompromiseDate', 'CompromiseOccurrenceDate', 'Link', 'State']);

function inherited(o: ManagedObject, now: number, offset: number | undefined): TtlvStructure {
  const keep = o.attributes.filter((n) => !NOT_INHERITED.has(n.tag));
  // The replacement is active now (or after Offset seconds), as KMIP ReKey prescribes.
  return T.struct('Attributes', [...keep, T.date('ActivationDate', now + (offset ?? 0))]);
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

async function linkReplacement(ctx: OperationContext, old: ManagedObject, newUid: string): Promise<void> {
  const attributes = [...withoutAttr(old.attributes, 'Link'), ...old.attributes.filter((n) => n.tag === 'Link'), linkAttribute('ReplacementObjectLink', newUid)];
  await ctx.save(touch({ ...old, attributes }, ctx.now()));
}

export async function reKey(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const old = await ctx.load(uid);
  if (old.objectType !== 'SymmetricKey') throw new KmipError('Invalid_Object_Type', 'ReKey renews symmetric keys; use ReKeyKeyPair for key pairs');
  requireUsableState(old, 'read', ctx.now());
  const bits = intAttr(old.attributes, 'CryptographicLength') ?? 256;
  // A key stored wrapped by an HSM key is replaced by one wrapped by the same key.
  const kek = hsmWrappingKeyOf(old.attributes);
  const fresh = {
    ...newObject(ctx, 'SymmetricKey', inherited(old, ctx.now(), read.int(p, 'Offset')), randomBytes(bits / 8),
      [linkAttribute('ReplacedObjectLink', uid), ...(kek !== undefined ? [linkAttribute('WrappingKeyLink', kek)] : [])], GENERATED, userTags(old)),
    owner: old.owner,
  };
  await ctx.insert(fresh);
  await carryGrants(ctx, uid, fresh.uid);
  await linkReplacement(ctx, old, fresh.uid);
  return T.struct('ReKeyResponse', [T.text('UniqueIdentifier', fresh.uid)]);
}

export async function reKeyKeyPair(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p, 'PrivateKeyUniqueIdentifier');
  const oldPriv = await ctx.load(uid);
  if (oldPriv.objectType !== 'PrivateKey') throw new KmipError('Invalid_Object_Type', 'ReKeyKeyPair takes a private key');
  requireUsableState(oldPriv, 'read', ctx.now());
  const oldPubUid = linkedId(oldPriv.attributes, 'PublicKeyLink');
  const oldPub = oldPubUid ? await ctx.load(oldPubUid) : undefined;
  const offset = read.int(p, 'Offset');
  const privAttrs = inherited(oldPriv, ctx.now(), offset);
  const pubAttrs = oldPub ? inherited(oldPub, ctx.now(), offset) : privAttrs;
  const spec = keyPairSpec(privAttrs.value);
  checkKeyPairCost(spec.generate, ctx.limits);
  const pair = await generateKeyPair(spec.generate);
  const replaced = (id: string | undefined): TtlvNode[] => (id ? [linkAttribute('ReplacedObjectLink', id)] : []);
  const fresh = await storeKeyPair(ctx, privAttrs, pubAttrs, pair.privateKey, pair.publicKey, spec.attributes, { priv: replaced(uid), pub: replaced(oldPubUid) }, oldPriv.owner);
  await carryGrants(ctx, uid, fresh.priv);
  if (oldPubUid) await carryGrants(ctx, oldPubUid, fresh.pub);
  await linkReplacement(ctx, oldPriv, fresh.priv);
  if (oldPub) await linkReplacement(ctx, oldPub, fresh.pub);
  return T.struct('ReKeyKeyPairResponse', [T.text('PrivateKeyUniqueIdentifier', fresh.priv), T.text('PublicKeyUniqueIdentifier', fresh.pub)]);
}

