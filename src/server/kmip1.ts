import { T, child, type TtlvNode, type TtlvStructure } from '../kmip/ttlv';
import { enumCode, normalizeEnum } from '../kmip/enums';
import { tagCode } from '../kmip/tags';

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

/** A 2.x attribute node → the 1.x Attribute{AttributeName, AttributeValue}. */
function toV1Attribute(n: TtlvNode): TtlvNode {
  const value: TtlvNode = n.type === 'Enumeration'
    ? { tag: 'AttributeValue', type: 'Enumeration', value: enumCode(n.tag, n.value) ?? 0 }
    : ({ ...n, tag: 'AttributeValue' } as TtlvNode);
  return T.struct('Attribute', [T.text('AttributeName', attributeName(n.tag)), value]);
}

/** Attributes a 1.x client of this minor version knows; newer ones are dropped, as Cosmian does. */
const V2_ONLY = new Set(['Sensitive', 'AlwaysSensitive', 'Extractable', 'NeverExtractable', 'ShortUniqueIdentifier', 'CertificateAttributes', 'Attribute', 'KeyFormatType', 'NistKeyType', 'ProtectionLevel', 'ProtectionPeriod', 'QuantumSafe', 'RotateAutomatic', 'RotateDate', 'RotateGeneration', 'RotateInterval', 'RotateName', 'RotateOffset']);

export function toKmip1Response(operation: string, response: TtlvStructure, minor: number): TtlvStructure {
  const out: TtlvNode[] = [];
  for (const n of response.value) {
    if (n.tag === 'Attributes' && n.type === 'Structure') {
      if (operation === 'GetAttributes') {
        out.push(...n.value.filter((a) => !V2_ONLY.has(a.tag) && !(minor === 0 && a.tag === 'InitialDate')).map(toV1Attribute));
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

/**
 * A ResultReason a KMIP 1.x client can read. Object_Not_Found, Cosmian's reason for a missing
 * object (COSMIAN_FAILURES.objectNotFound), is new in KMIP 2.0; 1.x says Item_Not_Found.
 */
export function toKmip1Reason(reason: string): string {
  return reason === 'Object_Not_Found' ? 'Item_Not_Found' : reason;
}
