import { KmipError } from '../../kmip/errors';
import { T, child, children, ttlvEqual, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import {
  READ_ONLY, VENDOR_ID, checkUserTags, getAll, isMultiValued, parseTagValue, tagsAttribute, withAttr, withoutAttr,
} from '../model/attributes';
import { fullAttributes, objectTags, userTags, type ManagedObject } from '../model/managed-object';
import { checkLatchEdit, withCheckedProtection } from '../model/protection';
import { touch } from './new-object';
import { wrappingKeyOf } from '../model/kms-wrapping';
import { checkRotateName, rotateNameOf } from '../model/keyset';
import { presentUid } from '../access/uid-scope';

/** Fixed when the object is made; changing them would make the attributes lie about the key. */
const IMMUTABLE = new Set([...READ_ONLY, 'CryptographicAlgorithm', 'CryptographicLength', 'CryptographicDomainParameters', 'KeyFormatType']);

type Reference = { kind: 'standard'; tag: string } | { kind: 'vendor'; vendor: string; name: string };

function readReferences(p: TtlvStructure): Reference[] {
  return p.value.filter((n) => n.tag === 'AttributeReference').map((n): Reference => {
    if (n.type === 'Enumeration' || n.type === 'TextString') return { kind: 'standard', tag: String(n.value) };
    const vendor = child(n, 'VendorIdentification');
    const name = child(n, 'AttributeName');
    if (!vendor || !name) throw new KmipError('Invalid_Field', 'an AttributeReference names a tag or {VendorIdentification, AttributeName}');
    // KMIP 2.0 names a standard attribute by its name with an empty VendorIdentification ("Cryptographic Length").
    if (vendor.value === '' && typeof name.value === 'string') return { kind: 'standard', tag: name.value.replace(/[^A-Za-z0-9]/g, '') };
    return { kind: 'vendor', vendor: String(vendor.value), name: String(name.value) };
  });
}

export async function getAttributes(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const o = await ctx.load(uid);
  const all = fullAttributes(o);
  const refs = readReferences(p);
  let selected: TtlvNode[];
  if (refs.length === 0) {
    // Cosmian returns everything except tags unless tags are asked for by name.
    selected = all;
  } else {
    selected = refs.flatMap((r) => {
      if (r.kind === 'standard') return getAll(all, r.tag);
      if (r.name === 'tag') return [tagsAttribute(userTags(o))];
      return [];
    });
  }
  return T.struct('GetAttributesResponse', [T.text('UniqueIdentifier', uid), T.struct('Attributes', selected)]);
}

export async function getAttributeList(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const o = await ctx.load(uid);
  const tags = [...new Set(fullAttributes(o).map((n) => n.tag))];
  const refs: TtlvNode[] = tags.map((t) => T.enum('AttributeReference', t));
  if (userTags(o).length > 0) {
    refs.push(T.struct('AttributeReference', [T.text('VendorIdentification', VENDOR_ID), T.text('AttributeName', 'tag')]));
  }
  return T.struct('GetAttributeListResponse', [T.text('UniqueIdentifier', uid), ...refs]);
}

/**
 * The attribute carried by NewAttribute/CurrentAttribute: either wrapped (NewAttribute{Name{...}})
 * or, for vendor attributes, flattened (NewAttribute{VendorIdentification, AttributeName, AttributeValue}).
 */
function carriedAttribute(p: TtlvStructure, tag: string): TtlvNode | undefined {
  const holder = child(p, tag);
  if (!holder) return undefined;
  const kids = children(holder);
  if (kids.some((k) => k.tag === 'AttributeName')) return T.struct('Attribute', kids);
  if (kids.length !== 1) throw new KmipError('Invalid_Field', `${tag} must hold exactly one attribute`);
  return kids[0];
}

function vendorTagValue(attr: TtlvNode): string[] | undefined {
  if (attr.tag !== 'Attribute' && attr.tag !== 'VendorAttribute') return undefined;
  const name = child(attr, 'AttributeName');
  if (!name) throw new KmipError('Invalid_Field', 'a vendor attribute needs an AttributeName');
  if (name.value !== 'tag') return undefined;
  const tags = parseTagValue(child(attr, 'AttributeValue'));
  checkUserTags(tags);
  return tags;
}

function checkWritable(attr: TtlvNode): void {
  if (IMMUTABLE.has(attr.tag)) throw new KmipError('Attribute_Read_Only', `${attr.tag} cannot be changed`);
}

async function saveChanged(ctx: OperationContext, before: ManagedObject, o: ManagedObject, response: string, uid: string): Promise<TtlvStructure> {
  // The link to the HSM key a key is stored wrapped by says how to read the stored bytes: never editable.
  if (wrappingKeyOf(before.attributes) !== wrappingKeyOf(o.attributes)) {
    throw new KmipError('Attribute_Read_Only', `the WrappingKeyLink to the key a key is stored wrapped by cannot be added, changed or deleted`);
  }
  // A set's name addresses its generation 0 (model/keyset.ts): Cosmian's rules when a client sets it.
  const rotateName = rotateNameOf(o.attributes);
  if (rotateName !== rotateNameOf(before.attributes)) checkRotateName(rotateName, presentUid(o.uid, o.owner), ctx.operation ?? 'SetAttribute');
  // Sensitive only rises and Extractable only falls, whoever asks and by whichever edit (KMIP 1.x ones included).
  const attributes = withCheckedProtection(o.objectType, before.attributes, o.attributes);
  await ctx.save(touch({ ...o, attributes }, ctx.now()));
  return T.struct(response, [T.text('UniqueIdentifier', uid)]);
}

export async function addAttribute(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const o = await ctx.load(uid);
  const attr = carriedAttribute(p, 'NewAttribute');
  if (!attr) throw new KmipError('Missing_Data', 'missing NewAttribute');
  const tags = vendorTagValue(attr);
  if (tags) return saveChanged(ctx, o, { ...o, tags: objectTags(o.objectType, [...userTags(o), ...tags]) }, 'AddAttributeResponse', uid);
  checkWritable(attr);
  // Adding Extractable=true to a non-extractable key is a loosening first, a duplicate second.
  checkLatchEdit(o.objectType, o.attributes, attr);
  if (!isMultiValued(attr.tag) && getAll(o.attributes, attr.tag).length > 0) {
    throw new KmipError('Attribute_Single_Valued', `${attr.tag} is already set; use SetAttribute or ModifyAttribute`);
  }
  return saveChanged(ctx, o, { ...o, attributes: [...o.attributes, attr] }, 'AddAttributeResponse', uid);
}

export async function setAttribute(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const o = await ctx.load(uid);
  const attr = carriedAttribute(p, 'NewAttribute');
  if (!attr) throw new KmipError('Missing_Data', 'missing NewAttribute');
  const tags = vendorTagValue(attr);
  if (tags) return saveChanged(ctx, o, { ...o, tags: objectTags(o.objectType, tags) }, 'SetAttributeResponse', uid);
  checkWritable(attr);
  if (isMultiValued(attr.tag)) throw new KmipError('Attribute_Single_Valued', `${attr.tag} is multi-valued; use AddAttribute`);
  return saveChanged(ctx, o, { ...o, attributes: withAttr(o.attributes, attr) }, 'SetAttributeResponse', uid);
}

export async function modifyAttribute(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const o = await ctx.load(uid);
  const next = carriedAttribute(p, 'NewAttribute');
  if (!next) throw new KmipError('Missing_Data', 'missing NewAttribute');
  const current = carriedAttribute(p, 'CurrentAttribute');
  const tags = vendorTagValue(next);
  if (tags) return saveChanged(ctx, o, { ...o, tags: objectTags(o.objectType, tags) }, 'ModifyAttributeResponse', uid);
  checkWritable(next);
  const existing = getAll(o.attributes, next.tag);
  if (existing.length === 0) throw new KmipError('Attribute_Not_Found', `${next.tag} is not set`);
  const target = current ? existing.find((e) => ttlvEqual(e, current)) : existing[0];
  if (!target) throw new KmipError('Attribute_Not_Found', `no ${next.tag} with the given current value`);
  const attributes = o.attributes.map((a) => (a === target ? next : a));
  return saveChanged(ctx, o, { ...o, attributes }, 'ModifyAttributeResponse', uid);
}

export async function deleteAttribute(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const o = await ctx.load(uid);
  const current = carriedAttribute(p, 'CurrentAttribute');
  const refs = readReferences(p);
  if (current) {
    const tags = vendorTagValue(current);
    if (tags) {
      const remaining = userTags(o).filter((t) => !tags.includes(t));
      return saveChanged(ctx, o, { ...o, tags: objectTags(o.objectType, remaining) }, 'DeleteAttributeResponse', uid);
    }
    checkWritable(current);
    const idx = o.attributes.findIndex((a) => ttlvEqual(a, current));
    if (idx < 0) throw new KmipError('Attribute_Not_Found', `no ${current.tag} with the given value`);
    const attributes = o.attributes.filter((_, i) => i !== idx);
    return saveChanged(ctx, o, { ...o, attributes }, 'DeleteAttributeResponse', uid);
  }
  const ref = refs[0];
  if (!ref) throw new KmipError('Missing_Data', 'missing CurrentAttribute or AttributeReference');
  if (ref.kind === 'vendor') {
    if (ref.name !== 'tag') throw new KmipError('Attribute_Not_Found', `vendor attribute ${ref.name} is not set`);
    return saveChanged(ctx, o, { ...o, tags: objectTags(o.objectType, []) }, 'DeleteAttributeResponse', uid);
  }
  checkWritable({ tag: ref.tag, type: 'Integer', value: 0 });
  if (getAll(o.attributes, ref.tag).length === 0) throw new KmipError('Attribute_Not_Found', `${ref.tag} is not set`);
  return saveChanged(ctx, o, { ...o, attributes: withoutAttr(o.attributes, ref.tag) }, 'DeleteAttributeResponse', uid);
}

