import { KmipError } from '../../kmip/errors';
import { T, type TtlvNode } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { READ_ONLY, checkUserTags, isMultiValued, dateAttr, splitAttributes, textAttr, withAttr, withoutAttr, type AttributeList } from '../model/attributes';
import { initialState } from '../model/lifecycle';
import { isWrappingKeyLink, wrapNewKey } from '../hsm/key-wrapping';
import { objectTags, type ManagedObject, type ObjectType } from '../model/managed-object';
import { withInitialProtection, type Origin } from '../model/protection';
import { checkRotateName, rotateNameOf } from '../model/keyset';

/**
 * Builds a new managed object from client-supplied attributes: drops the attributes the
 * server owns, takes the requested UID if any, sets the dates, the initial state, and the
 * protection history its origin allows (AlwaysSensitive, NeverExtractable).
 */
export function newObject(
  ctx: OperationContext,
  objectType: ObjectType,
  requested: TtlvNode | undefined,
  material: Buffer,
  serverAttributes: TtlvNode[],
  origin: Origin,
  extraTags: string[] = [],
): ManagedObject {
  const split = splitAttributes(requested);
  const tags = split.tags;
  checkUserTags(tags);
  // A symmetric key asked to be wrapped by an HSM key (or under the server KEK) is stored wrapped.
  const wrapped = wrapNewKey(ctx, objectType, split.list, material, serverAttributes);
  const list = wrapped.list;
  material = wrapped.material;
  const rotateName = rotateNameOf(list);
  const now = ctx.now();
  const uid = textAttr(list, 'UniqueIdentifier') ?? ctx.newUid();
  if (uid.length === 0 || uid.length > 1024 || uid.startsWith('[')) {
    throw new KmipError('Invalid_Attribute_Value', 'a UniqueIdentifier must be 1 to 1024 characters and not start with "["');
  }
  // A replacement inherits its set's name (ReKey passes it among the server attributes); a client's must be the key's own UID.
  if (objectType !== 'PublicKey' && !serverAttributes.some((n) => n.tag === 'RotateName')) checkRotateName(rotateName, uid, ctx.operation ?? 'Create');
  let attributes: AttributeList = list.filter((n) => !READ_ONLY.has(n.tag) || n.tag === 'UniqueIdentifier');
  attributes = withoutAttr(attributes, 'UniqueIdentifier');
  for (const n of serverAttributes.filter((a) => !isWrappingKeyLink(a))) attributes = isMultiValued(n.tag) ? [...attributes, n] : withAttr(attributes, n);
  attributes = withInitialProtection(objectType, attributes, origin);
  attributes = withAttr(attributes, T.date('InitialDate', now));
  attributes = withAttr(attributes, T.date('LastChangeDate', now));
  return {
    uid,
    objectType,
    state: initialState(dateAttr(attributes, 'ActivationDate'), now),
    owner: ctx.user,
    attributes,
    tags: objectTags(objectType, [...tags, ...extraTags]),
    material,
    createdAt: now,
    updatedAt: now,
    ...(wrapped.pendingWrap ? { pendingWrap: wrapped.pendingWrap } : {}),
  };
}

export function touch(o: ManagedObject, now: number): ManagedObject {
  return { ...o, attributes: withAttr(o.attributes, T.date('LastChangeDate', now)), updatedAt: now };
}
