import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { activate as activateObject, destroy as destroyObject, revoke as revokeObject } from '../model/lifecycle';
import { links } from '../model/attributes';
import { touch } from './new-object';
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
  const uids = read.bool(p, 'Cascade') ? await withLinkedKeys(ctx, uid) : [uid];
  for (const id of uids) {
    const o = revokeObject(await ctx.load(id), compromised, ctx.now(), compromiseDate);
    await ctx.save(touch(o, ctx.now()));
  }
  return T.struct('RevokeResponse', [T.text('UniqueIdentifier', uid)]);
}

export async function destroy(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const expected = read.enum(p, 'ExpectedObjectType');
  const remove = read.bool(p, 'Remove') ?? false;
  const uids = read.bool(p, 'Cascade') ? await withLinkedKeys(ctx, uid) : [uid];
  for (const id of uids) {
    const o = await ctx.load(id);
    if (id === uid && expected !== undefined && expected !== o.objectType) {
      throw new KmipError('Invalid_Object_Type', `object ${uid} is a ${o.objectType}, not a ${expected}`);
    }
    const destroyed = destroyObject(o, ctx.now());
    if (remove) await ctx.store.remove(id);
    else await ctx.save(touch(destroyed, ctx.now()));
    // A destroyed object is shared with no one any more; remove() dropped its grants already.
    if (!remove) await ctx.dropGrants(id);
  }
  return T.struct('DestroyResponse', [T.text('UniqueIdentifier', uid)]);
}

/** The object and the other halves of its key pair and certificate chain links. */
async function withLinkedKeys(ctx: OperationContext, uid: string): Promise<string[]> {
  const o = await ctx.load(uid);
  const linked: string[] = [];
  for (const l of links(o.attributes)) {
    if (['PublicKeyLink', 'PrivateKeyLink', 'CertificateLink'].includes(l.type) && (await ctx.store.exists(l.uid))) linked.push(l.uid);
  }
  return [uid, ...linked];
}
