import { T, child, children, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import { KmipError } from '../../kmip/errors';

/**
 * A KMIP attribute list: the children of an Attributes structure. Standard attributes are
 * stored as their own TTLV nodes; Cosmian's tag vendor attribute is kept apart (as the
 * object's tag list) because Locate indexes it and GetAttributes returns it only on request.
 */
export type AttributeList = TtlvNode[];

export const VENDOR_ID = process.env['KMS_VENDOR_IDENTIFICATION'] ?? 'cosmian';

/** Attributes a single object may carry several times. */
const MULTI_VALUED = new Set(['Name', 'Link', 'ObjectGroup', 'AlternativeName', 'KeyValueLocation', 'ApplicationSpecificInformation', 'Attribute', 'VendorAttribute', 'ContactInformation', 'NistKeyType']);

/** Attributes the server owns; clients may read but not set them. */
export const READ_ONLY = new Set([
  'UniqueIdentifier', 'ObjectType', 'State', 'InitialDate', 'LastChangeDate', 'DestroyDate', 'CompromiseOccurrenceDate',
  'CompromiseDate', 'Digest', 'AlwaysSensitive', 'NeverExtractable', 'Fresh', 'OriginalCreationDate', 'RandomNumberGenerator',
  'CertificateType', 'CertificateLength', 'X509CertificateIdentifier', 'X509CertificateSubject', 'X509CertificateIssuer',
  'CertificateIdentifier', 'CertificateSubject', 'CertificateIssuer', 'DigitalSignatureAlgorithm',
  // Not KMIP attributes: fields of the object's structure the server keeps (managed-object.ts OBJECT_FIELDS).
  'KeyWrappingData', 'SplitKeyParts', 'KeyPartIdentifier', 'SplitKeyThreshold', 'SplitKeyMethod', 'PrimeFieldSize',
  // Key sets (model/keyset.ts): only ReKey writes these.
  'RotateGeneration', 'RotateLatest', 'RotateDate',
]);

export function isMultiValued(tag: string): boolean {
  return MULTI_VALUED.has(tag);
}

export function getAttr(list: AttributeList, tag: string): TtlvNode | undefined {
  return list.find((n) => n.tag === tag);
}

export function getAll(list: AttributeList, tag: string): TtlvNode[] {
  return list.filter((n) => n.tag === tag);
}

export function withAttr(list: AttributeList, node: TtlvNode): AttributeList {
  return [...list.filter((n) => n.tag !== node.tag), node];
}

export function withoutAttr(list: AttributeList, tag: string): AttributeList {
  return list.filter((n) => n.tag !== tag);
}

export function textAttr(list: AttributeList, tag: string): string | undefined {
  const n = getAttr(list, tag);
  return n && (n.type === 'TextString' || n.type === 'Enumeration') ? String(n.value) : undefined;
}

export function intAttr(list: AttributeList, tag: string): number | undefined {
  const n = getAttr(list, tag);
  return n && (n.type === 'Integer' || n.type === 'Interval') ? n.value : undefined;
}

export function dateAttr(list: AttributeList, tag: string): number | undefined {
  const n = getAttr(list, tag);
  return n && n.type === 'DateTime' ? n.value : undefined;
}

export function boolAttr(list: AttributeList, tag: string): boolean | undefined {
  const n = getAttr(list, tag);
  return n && n.type === 'Boolean' ? n.value : undefined;
}

export function names(list: AttributeList): string[] {
  return getAll(list, 'Name')
    .map((n) => child(n, 'NameValue'))
    .filter((v): v is TtlvNode => v !== undefined && v.type === 'TextString')
    .map((v) => String(v.value));
}

export function linkAttribute(type: string, uid: string): TtlvStructure {
  return T.struct('Link', [T.enum('LinkType', type), T.text('LinkedObjectIdentifier', uid)]);
}

export function links(list: AttributeList): Array<{ type: string; uid: string }> {
  return getAll(list, 'Link').flatMap((l) => {
    const type = child(l, 'LinkType');
    const id = child(l, 'LinkedObjectIdentifier');
    return type && id ? [{ type: String(type.value), uid: String(id.value) }] : [];
  });
}

export function linkedId(list: AttributeList, type: string): string | undefined {
  return links(list).find((l) => l.type === type)?.uid;
}

// The Name attribute's shape is the client's: one builder for both sides of the wire.
export { nameAttribute } from '../../kmip/requests';

/** A vendor attribute as Cosmian writes it: flat {VendorIdentification, AttributeName, AttributeValue}. */
export function vendorAttribute(name: string, value: TtlvNode): TtlvStructure {
  return T.struct('Attribute', [
    T.text('VendorIdentification', VENDOR_ID),
    T.text('AttributeName', name),
    { ...value, tag: 'AttributeValue' } as TtlvNode,
  ]);
}

/** Tags under this server's vendor identification (KMS_VENDOR_IDENTIFICATION may change it). */
export function tagsAttribute(tags: string[]): TtlvStructure {
  return vendorAttribute('tag', T.text('AttributeValue', JSON.stringify(tags)));
}

function isVendorTagAttr(n: TtlvNode): boolean {
  if (n.tag !== 'Attribute' && n.tag !== 'VendorAttribute') return false;
  const name = child(n, 'AttributeName');
  return name !== undefined && name.value === 'tag';
}

/** Splits an incoming Attributes structure into standard attributes and user tags. */
export function splitAttributes(attrs: TtlvNode | undefined): { list: AttributeList; tags: string[] } {
  const list: AttributeList = [];
  const tags: string[] = [];
  for (const n of children(attrs)) {
    if (isVendorTagAttr(n)) {
      tags.push(...parseTagValue(child(n, 'AttributeValue')));
    } else {
      list.push(n);
    }
  }
  return { list, tags };
}

/** Tags arrive as a JSON array in a TextString (Cosmian) or, from older clients, in a ByteString. */
export function parseTagValue(v: TtlvNode | undefined): string[] {
  if (!v) return [];
  let text: string;
  if (v.type === 'TextString') text = v.value;
  else if (v.type === 'ByteString') text = Buffer.from(v.value).toString('utf8');
  else throw new KmipError('Invalid_Attribute_Value', 'the tag attribute must be a JSON array of strings');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KmipError('Invalid_Attribute_Value', 'the tag attribute must be a JSON array of strings');
  }
  if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) {
    throw new KmipError('Invalid_Attribute_Value', 'the tag attribute must be a JSON array of strings');
  }
  return parsed as string[];
}

/** User tags may not use the underscore prefix reserved for system tags. */
export function checkUserTags(tags: string[]): void {
  for (const t of tags) {
    if (t.length === 0) throw new KmipError('Invalid_Attribute_Value', 'empty tag');
    if (t.startsWith('_')) throw new KmipError('Invalid_Attribute_Value', `user tags cannot start with an underscore: ${t}`);
  }
}

/** Cosmian's system tags, added by the server from the object type. */
export function systemTag(objectType: string): string | undefined {
  switch (objectType) {
    case 'SymmetricKey': return '_kk';
    case 'PrivateKey': return '_sk';
    case 'PublicKey': return '_pk';
    case 'Certificate': return '_cert';
    case 'SecretData': return '_sd';
    case 'OpaqueObject': return '_oo';
    case 'SplitKey': return '_spk';
    default: return undefined;
  }
}
