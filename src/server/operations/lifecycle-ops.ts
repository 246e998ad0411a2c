import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { activate as activateObject, destroy as destroyObject, revoke as revokeObject } from '../model/lifecycle';
import { links } from '../model/attributes';
import { touch } from './new-object';
import type { ManagedObject } from '../model/managed-object';
import { read, required } from './payload';

export async function activate(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const o = activateObject(await ctx.load(uid), ctx.now());
  await ctx.save(touch(o, ctx.now()));
  return T.struct('ActivateResponse', [T.text('UniqueIdentifier', uid)]);
}

const COMPROMISE_REASONS = new Set(['KeyCompromise', 'CACompromise']);

export async function revoke(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const reason = required(read.struct(p, 'RevocationReason'), 'RevocationReason');
  const code = child(reason, 'RevocationReasonCode');
  if (!code) throw new KmipError('Missing_Data', 'missing RevocationReasonCode');
  const compromised = COMPROMISE_REASONS.has(String(code.value));
  const compromiseDate = read.date(p, 'CompromiseOccurrenceDate');
  const targets = read.bool(p, 'Cascade') ? await withLinkedKeys(ctx, uid) : [await ctx.load(uid)];
  // Every object is checked before any is changed: a cascade that fails changes nothing.
  const revoked = targets.map((o) => touch(revokeObject(o, compromised, ctx.now(), compromiseDate), ctx.now()));
  for (const o of revoked) await ctx.save(o);
  return T.struct('RevokeResponse', [T.text('UniqueIdentifier', uid)]);
}

export async function destroy(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const expected = read.enum(p, 'ExpectedObjectType');
  const remove = read.bool(p, 'Remove') ?? false;
  const targets = read.bool(p, 'Cascade') ? await withLinkedKeys(ctx, uid) : [await ctx.load(uid)];
  const named = targets[0] as ManagedObject;
  if (expected !== undefined && expected !== named.objectType) {
    throw new KmipError('Invalid_Object_Type', `object ${uid} is a ${named.objectType}, not a ${expected}`);
  }
  // Every object is checked before any is changed: a cascade that fails changes nothing.
  const destroyed = targets.map((o) => touch(destroyObject(o, ctx.now()), ctx.now()));
  for (const o of destroyed) {
    if (remove) await ctx.store.remove(o.uid);
    else await ctx.save(o);
    // A destroyed object is shared with no one any more; remove() dropped its grants already.
    if (!remove) await ctx.dropGrants(o.uid);
  }
  return T.struct('DestroyResponse', [T.text('UniqueIdentifier', uid)]);
}

/**
 * The object and the other halves of its key pair and certificate chain links, each loaded
 * with the right the operation needs. A link to an object the caller cannot see at all is
 * skipped, exactly as a link to nothing, so a Link attribute cannot probe other users' UIDs;
 * one the caller sees but may not change fails the whole request.
 */
async function withLinkedKeys(ctx: OperationContext, uid: string): Promise<ManagedObject[]> {
  const o = await ctx.load(uid);
  const linked: ManagedObject[] = [];
  for (const l of links(o.attributes)) {
    if (!['PublicKeyLink', 'PrivateKeyLink', 'CertificateLink'].includes(l.type) || l.uid === uid) continue;
    try {
      linked.push(await ctx.load(l.uid));
    } catch (e) {
      if (!(e instanceof KmipError && e.reason === 'Object_Not_Found')) throw e;
    }
  }
  return [o, ...linked];
}
