import { T, child, type TtlvNode, type TtlvStructure } from '../kmip/ttlv';
import { enumCode, normalizeEnum } from '../kmip/enums';
import { tagCode } from '../kmip/tags';
import { KmipError } from '../kmip/errors';
import { isMultiValued } from './model/attributes';

/**
 * KMIP 1.x payloads carry attributes as {AttributeName "Cryptographic Algorithm", AttributeValue}
 * inside TemplateAttribute structures; 2.x carries them as tagged nodes inside Attributes.
 * The operations speak 2.x, so 1.x requests are translated on the way in and responses on
 * the way out. This is what PyKMIP, VMware, MySQL and Percona clients send.
 */

/** "Cryptographic Algorithm" → "CryptographicAlgorithm". */
function attributeTag(name: string): string {
  if (name === 'X.509 Certificate Identifier') return 'X509CertificateIdentifier';
  return name.replace(/[^A-Za-z0-9]/g, '');
}

/** "CryptographicAlgorithm" → "Cryptographic Algorithm". */
function attributeName(tag: string): string {
  return tag.replace(/([a-z0-9])([A-Z])/g, '$1 $2');
}

/** One 1.x Attribute → the 2.x attribute node; enumerations are re-read under their real tag. */
function fromV1Attribute(a: TtlvNode): TtlvNode | undefined {
  const name = child(a, 'AttributeName');
  const value = child(a, 'AttributeValue');
  if (!name || name.type !== 'TextString' || !value) return undefined;
  if (name.value.startsWith('x-') || name.value.startsWith('y-')) {
    return T.struct('Attribute', [T.text('VendorIdentification', 'x'), T.text('AttributeName', name.value), value]);
  }
  const tag = attributeTag(name.value);
  if (value.type === 'Enumeration') return { tag, type: 'Enumeration', value: normalizeEnum(tag, value.value) };
  return { ...value, tag } as TtlvNode;
}

function attributesFrom(nodes: TtlvNode[], tag = 'Attributes'): TtlvStructure {
  const converted: TtlvNode[] = [];
  for (const n of nodes) {
    if (n.tag === 'Attribute') {
      const c = fromV1Attribute(n);
      if (c) converted.push(c);
    } else if (n.tag === 'Name') {
      converted.push(n);
    }
  }
  return T.struct(tag, converted);
}

/** TemplateAttribute{Name*, Attribute*} → Attributes{...}. */
function templateToAttributes(template: TtlvNode | undefined, tag = 'Attributes'): TtlvStructure | undefined {
  if (!template || template.type !== 'Structure') return undefined;
  return attributesFrom(template.value, tag);
}

const TEMPLATE_RENAMES: Readonly<Record<string, string>> = {
  TemplateAttribute: 'Attributes',
  CommonTemplateAttribute: 'CommonAttributes',
  PrivateKeyTemplateAttribute: 'PrivateKeyAttributes',
  PublicKeyTemplateAttribute: 'PublicKeyAttributes',
};

export function fromKmip1Request(operation: string, payload: TtlvStructure): TtlvStructure {
  const out: TtlvNode[] = [];
  const looseAttributes: TtlvNode[] = [];
  for (const n of payload.value) {
    const renamed = TEMPLATE_RENAMES[n.tag];
    if (renamed) {
      const converted = templateToAttributes(n, renamed);
      if (converted) out.push(converted);
    } else if (n.tag === 'Attribute' || (operation === 'Locate' && n.tag === 'Name')) {
      looseAttributes.push(n);
    } else if (n.tag === 'AttributeName' && n.type === 'TextString') {
      out.push(T.enum('AttributeReference', attributeTag(n.value)));
    } else {
      out.push(n);
    }
  }
  if (operation === 'Locate') out.push(attributesFrom(looseAttributes));
  else if (looseAttributes.length > 0) {
    // AddAttribute / ModifyAttribute / DeleteAttribute carry one attribute.
    const converted = attributesFrom(looseAttributes).value;
    const holder = operation === 'DeleteAttribute' ? 'CurrentAttribute' : 'NewAttribute';
    if (converted[0]) out.push(T.struct(holder, [converted[0]]));
  }
  if ((operation === 'Create' || operation === 'Register') && !out.some((n) => n.tag === 'Attributes')) out.push(T.struct('Attributes', []));
  return T.struct(payload.tag, out);
}

/**
 * A 2.x attribute node → the 1.x Attribute{AttributeName, AttributeIndex, AttributeValue}.
 * The index is given for multi-instance attributes (Name, Link, Object Group…), even 0, as
 * PyKMIP's server does: a client edits or deletes an instance by it (KMIP 1.4 §2.1.1).
 */
function toV1Attribute(n: TtlvNode, index?: number): TtlvNode {
  const value: TtlvNode = n.type === 'Enumeration'
    ? { tag: 'AttributeValue', type: 'Enumeration', value: enumCode(n.tag, n.value) ?? 0 }
    : ({ ...n, tag: 'AttributeValue' } as TtlvNode);
  const indexed = index !== undefined && isMultiValued(n.tag) ? [T.int('AttributeIndex', index)] : [];
  return T.struct('Attribute', [T.text('AttributeName', attributeName(n.tag)), ...indexed, value]);
}

/** 1.x Attributes of a 2.x attribute list, each multi-instance one with its index among its kind. */
function toV1Attributes(nodes: TtlvNode[]): TtlvNode[] {
  const seen = new Map<string, number>();
  return nodes.map((n) => {
    const index = seen.get(n.tag) ?? 0;
    seen.set(n.tag, index + 1);
    return toV1Attribute(n, index);
  });
}

/** Attributes a 1.x client of this minor version knows; newer ones are dropped, as Cosmian does. */
const V2_ONLY = new Set(['Sensitive', 'AlwaysSensitive', 'Extractable', 'NeverExtractable', 'ShortUniqueIdentifier', 'CertificateAttributes', 'Attribute', 'KeyFormatType', 'NistKeyType', 'ProtectionLevel', 'ProtectionPeriod', 'QuantumSafe', 'RotateAutomatic', 'RotateDate', 'RotateGeneration', 'RotateInterval', 'RotateName', 'RotateOffset']);

export function toKmip1Response(operation: string, response: TtlvStructure, minor: number): TtlvStructure {
  const out: TtlvNode[] = [];
  for (const n of response.value) {
    if (n.tag === 'Attributes' && n.type === 'Structure') {
      if (operation === 'GetAttributes') {
        out.push(...toV1Attributes(n.value.filter((a) => !V2_ONLY.has(a.tag) && !(minor === 0 && a.tag === 'InitialDate'))));
      }
      continue;
    }
    if (n.tag === 'LocatedItems' && minor < 3) continue;
    if (n.tag === 'AttributeReference') {
      out.push(T.text('AttributeName', attributeName(String(n.value))));
      continue;
    }
    if (tagCode(n.tag, 1) !== undefined) out.push(stripKeyValueAttributes(n));
  }
  return T.struct(response.tag, out);
}

/** 1.x KeyValue carries no 2.x Attributes structure, and no tag a 1.x client cannot decode. */
function stripKeyValueAttributes(n: TtlvNode): TtlvNode {
  if (n.type !== 'Structure') return n;
  const kept = n.value.filter((c) => tagCode(c.tag, 1) !== undefined && !(n.tag === 'KeyValue' && c.tag === 'Attributes'));
  return T.struct(n.tag, kept.map(stripKeyValueAttributes));
}

/** Runs one 2.x operation for the 1.x translation (the endpoint's audited path). */
export type RunOperation = (operation: string, payload: TtlvStructure) => Promise<TtlvStructure>;

/** The 1.x attribute edits, which name an instance by index and answer with the attribute. */
export const KMIP1_ATTRIBUTE_EDITS = new Set(['AddAttribute', 'ModifyAttribute', 'DeleteAttribute']);

/** The instances of one attribute on an object, in the order GetAttributes lists them (their 1.x indices). */
async function instancesOf(uid: TtlvNode | undefined, tag: string, read: RunOperation): Promise<TtlvNode[]> {
  const got = await read('GetAttributes', T.struct('GetAttributes', [...(uid ? [uid] : []), T.enum('AttributeReference', tag)]));
  const attrs = child(got, 'Attributes');
  return attrs && attrs.type === 'Structure' ? attrs.value.filter((a) => a.tag === tag) : [];
}

function indexOf(node: TtlvNode | undefined): number | undefined {
  return node && node.type === 'Integer' ? node.value : undefined;
}

/**
 * AddAttribute, ModifyAttribute and DeleteAttribute as KMIP 1.x has them (1.4 §4.13–4.15):
 * the request names an instance by AttributeName and AttributeIndex (0 when absent), and the
 * response carries the Attribute added, modified or deleted, with its index. They run as the
 * 2.x operations on the instance's current value, which `read` (GetAttributes) finds.
 */
export async function runKmip1AttributeEdit(operation: string, payload: TtlvStructure, read: RunOperation, edit: RunOperation): Promise<TtlvStructure> {
  const uid = child(payload, 'UniqueIdentifier');
  const uidNodes = uid ? [uid] : [];
  const respond = (done: TtlvStructure, attr: TtlvNode, index: number): TtlvStructure => {
    const doneUid = child(done, 'UniqueIdentifier');
    return T.struct(`${operation}Response`, [...(doneUid ? [doneUid] : []), attr.tag === 'Attribute' ? attr : toV1Attribute(attr, index)]);
  };
  if (operation === 'DeleteAttribute') {
    const name = child(payload, 'AttributeName');
    if (!name || name.type !== 'TextString') throw new KmipError('Missing_Data', 'a KMIP 1.x DeleteAttribute names the attribute (AttributeName)');
    const index = indexOf(child(payload, 'AttributeIndex')) ?? 0;
    const tag = attributeTag(name.value);
    const current = (await instancesOf(uid, tag, read))[index];
    if (!current) throw new KmipError('Item_Not_Found', `no ${name.value} with index ${index}`);
    const done = await edit(operation, T.struct(operation, [...uidNodes, T.struct('CurrentAttribute', [current])]));
    return respond(done, current, index);
  }
  const given = child(payload, 'Attribute');
  const next = given ? fromV1Attribute(given) : undefined;
  if (!given || !next) throw new KmipError('Missing_Data', `a KMIP 1.x ${operation} carries one Attribute {AttributeName, AttributeValue}`);
  if (next.tag === 'Attribute') {
    // A custom (x-/y-) attribute: passed on whole, answered as given.
    const done = await edit(operation, T.struct(operation, [...uidNodes, T.struct('NewAttribute', [next])]));
    return respond(done, given, 0);
  }
  const existing = await instancesOf(uid, next.tag, read);
  if (operation === 'AddAttribute') {
    const done = await edit(operation, T.struct(operation, [...uidNodes, T.struct('NewAttribute', [next])]));
    return respond(done, next, existing.length);
  }
  const askedIndex = indexOf(child(given, 'AttributeIndex'));
  if (askedIndex !== undefined && !isMultiValued(next.tag) && askedIndex !== 0) {
    throw new KmipError('Invalid_Field', `${attributeName(next.tag)} has a single instance; no index ${askedIndex}`);
  }
  const index = askedIndex ?? 0;
  const current = existing[index];
  if (!current) throw new KmipError(existing.length === 0 ? 'Attribute_Not_Found' : 'Item_Not_Found', `no ${attributeName(next.tag)} with index ${index}`);
  const done = await edit(operation, T.struct(operation, [...uidNodes, T.struct('CurrentAttribute', [current]), T.struct('NewAttribute', [next])]));
  return respond(done, next, index);
}
