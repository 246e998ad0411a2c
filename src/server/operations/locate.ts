import { KmipError } from '../../kmip/errors';
import { T, ttlvEqual, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { getAll, names as nameValues, splitAttributes, textAttr, intAttr } from '../model/attributes';
import { effectiveState } from '../model/lifecycle';
import { fullAttributes } from '../model/managed-object';
import { read } from './payload';
import { locateHsmKeys } from './hsm-ops';

const MAX_LOCATE_ITEMS = 1000;

/** Filters the store can answer from its indexes; the rest are compared attribute by attribute. */
const INDEXED = new Set(['ObjectType', 'CryptographicAlgorithm', 'CryptographicLength', 'Name', 'State']);

export async function locate(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const maximum = read.int(p, 'MaximumItems');
  const offset = read.int(p, 'OffsetItems') ?? 0;
  if (maximum !== undefined && maximum < 0) throw new KmipError('Invalid_Field', 'MaximumItems cannot be negative');
  if (offset < 0) throw new KmipError('Invalid_Field', 'OffsetItems cannot be negative');
  const { list, tags } = splitAttributes(read.struct(p, 'Attributes'));
  const wantedState = textAttr(list, 'State');
  const query = {
    ...optional('objectType', textAttr(list, 'ObjectType')),
    ...optional('algorithm', textAttr(list, 'CryptographicAlgorithm')),
    ...optional('length', intAttr(list, 'CryptographicLength')),
    names: nameValues(list),
    tags,
  };
  // The caller's own objects, then those granted to it: any grant makes an object locatable.
  // But a Name picks a key (a PKCS#11 label, a LUKS token's key): when the caller owns any
  // object of that Name, in any state, objects of others with the same Name are left out, so a
  // shared one can neither make the caller's lookup ambiguous nor take its place once it is
  // destroyed.
  const ownsName = query.names.length > 0 && (await ctx.store.locate({ owner: ctx.user, names: query.names })).length > 0;
  const candidates = ownsName ? await ctx.store.locate({ ...query, owner: ctx.user }) : await ctx.visible(query);
  const others = list.filter((n) => !INDEXED.has(n.tag));
  const now = ctx.now();
  const matches: string[] = [];
  for (const uid of candidates) {
    const o = await ctx.load(uid, 'any');
    const state = effectiveState(o, now);
    if (wantedState !== undefined ? state !== wantedState : state === 'Destroyed' || state === 'Destroyed_Compromised') continue;
    const attrs = fullAttributes(o);
    if (others.every((wanted) => getAll(attrs, wanted.tag).some((have) => matchesFilter(have, wanted)))) matches.push(uid);
  }
  // HSM keys come after the database's, and only when no tag is asked for: they carry none.
  if (tags.length === 0) {
    matches.push(...locateHsmKeys(ctx, (attrs) => list.every((wanted) => getAll(attrs, wanted.tag).some((have) => matchesFilter(have, wanted)))));
  }
  const limit = Math.min(maximum ?? MAX_LOCATE_ITEMS, MAX_LOCATE_ITEMS);
  const page = matches.slice(offset, offset + limit);
  return T.struct('LocateResponse', [
    T.int('LocatedItems', matches.length),
    ...page.map((uid) => T.text('UniqueIdentifier', uid)),
  ]);
}

/** A structure filter matches when every field it names is present and equal (partial match). */
function matchesFilter(have: TtlvNode, wanted: TtlvNode): boolean {
  if (wanted.type !== 'Structure' || have.type !== 'Structure') return ttlvEqual(have, wanted);
  return wanted.value.every((w) => have.value.some((h) => matchesFilter(h, w)));
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
