import { KmipError } from './errors';
import { child, childrenByTag, type TtlvNode, type TtlvStructure } from './ttlv';

/**
 * Readers: `<Op>Response` structures → plain data. A response missing a field the operation
 * promises is the server's fault, reported as a KmipError so callers handle one error type.
 */

function malformed(what: string, response: TtlvStructure): KmipError {
  return new KmipError('Invalid_Message', `${response.tag} has no ${what}`);
}

export function readText(response: TtlvStructure, tag: string): string {
  const n = child(response, tag);
  if (!n || (n.type !== 'TextString' && n.type !== 'Enumeration')) throw malformed(tag, response);
  return String(n.value);
}

export function readBytes(response: TtlvStructure, tag: string): Buffer {
  const n = child(response, tag);
  if (!n || n.type !== 'ByteString') throw malformed(tag, response);
  return Buffer.from(n.value);
}

function optionalBytes(response: TtlvStructure, tag: string): Buffer | undefined {
  const n = child(response, tag);
  return n && n.type === 'ByteString' ? Buffer.from(n.value) : undefined;
}

export function readUniqueIdentifier(response: TtlvStructure): string {
  return readText(response, 'UniqueIdentifier');
}

export interface KeyPairIds {
  privateKeyId: string;
  publicKeyId: string;
}

export function readKeyPairIds(response: TtlvStructure): KeyPairIds {
  return { privateKeyId: readText(response, 'PrivateKeyUniqueIdentifier'), publicKeyId: readText(response, 'PublicKeyUniqueIdentifier') };
}

export function readLocatedIds(response: TtlvStructure): string[] {
  return childrenByTag(response, 'UniqueIdentifier').map((n) => String(n.value));
}

export interface EncryptResult {
  data: Buffer;
  iv?: Buffer;
  tag?: Buffer;
}

export function readEncrypt(response: TtlvStructure): EncryptResult {
  const iv = optionalBytes(response, 'IVCounterNonce');
  const tag = optionalBytes(response, 'AuthenticatedEncryptionTag');
  return { data: readBytes(response, 'Data'), ...(iv ? { iv } : {}), ...(tag ? { tag } : {}) };
}

export function readValidity(response: TtlvStructure): boolean {
  return readText(response, 'ValidityIndicator') === 'Valid';
}

export interface ProtocolVersion {
  major: number;
  minor: number;
}

export function readProtocolVersions(response: TtlvStructure): ProtocolVersion[] {
  return childrenByTag(response, 'ProtocolVersion').map((v) => ({
    major: Number(child(v, 'ProtocolVersionMajor')?.value),
    minor: Number(child(v, 'ProtocolVersionMinor')?.value),
  }));
}

export interface QueryResult {
  operations: string[];
  objectTypes: string[];
  vendorIdentification?: string;
  serverInformation?: PlainValue;
}

export function readQuery(response: TtlvStructure): QueryResult {
  const vendor = child(response, 'VendorIdentification');
  const info = child(response, 'ServerInformation');
  return {
    operations: childrenByTag(response, 'Operation').map((n) => String(n.value)),
    objectTypes: childrenByTag(response, 'ObjectType').map((n) => String(n.value)),
    ...(vendor ? { vendorIdentification: String(vendor.value) } : {}),
    ...(info ? { serverInformation: toPlain(info) } : {}),
  };
}

// ---- Plain (JSON-friendly) views of TTLV ---------------------------------------------------

export type PlainValue = string | number | boolean | PlainValue[] | { [tag: string]: PlainValue };

/** Attributes KMIP lets an object carry several times: always arrays, so readers need not guess. */
const MULTI_VALUED = new Set(['Name', 'Link', 'ObjectGroup', 'AlternativeName', 'Attribute', 'NistKeyType']);

/** Repeated tags become arrays; bytes become uppercase hex, dates ISO strings, big numbers decimal strings. */
export function toPlain(node: TtlvNode): PlainValue {
  switch (node.type) {
    case 'Structure': {
      const out: { [tag: string]: PlainValue } = {};
      for (const c of node.value) {
        const v = toPlain(c);
        const prev = out[c.tag];
        if (Array.isArray(prev)) prev.push(v);
        else if (prev !== undefined) out[c.tag] = [prev, v];
        else out[c.tag] = MULTI_VALUED.has(c.tag) ? [v] : v;
      }
      return out;
    }
    case 'ByteString':
      return Buffer.from(node.value).toString('hex').toUpperCase();
    case 'DateTime':
      return new Date(node.value * 1000).toISOString().replace('.000Z', 'Z');
    case 'LongInteger':
    case 'BigInteger':
    case 'DateTimeExtended':
      return node.value.toString();
    default:
      return node.value;
  }
}

export interface ObjectAttributesView {
  /** Every returned attribute, repeated ones (Name, Link) as arrays. */
  attributes: { [tag: string]: PlainValue };
  /** Cosmian user tags, when the server returned them. */
  tags: string[];
}

function vendorTags(attrs: TtlvNode | undefined): string[] {
  for (const a of childrenByTag(attrs, 'Attribute')) {
    const value = child(a, 'AttributeValue');
    if (child(a, 'AttributeName')?.value === 'tag' && value?.type === 'TextString') {
      try {
        const parsed: unknown = JSON.parse(value.value);
        if (Array.isArray(parsed)) return parsed.filter((t): t is string => typeof t === 'string');
      } catch {
        // Not Cosmian's JSON array: report no tags rather than fail the whole read.
      }
    }
  }
  return [];
}

export function attributesView(attrs: TtlvNode | undefined): ObjectAttributesView {
  const plain = attrs ? toPlain(attrs) : {};
  const attributes = typeof plain === 'object' && !Array.isArray(plain) ? plain : {};
  delete attributes['Attribute'];
  return { attributes, tags: vendorTags(attrs) };
}

/** GetAttributesResponse (or ExportResponse) → plain attributes and tags. */
export function readAttributes(response: TtlvStructure): ObjectAttributesView {
  return attributesView(child(response, 'Attributes'));
}

// ---- Managed objects (Get / Export) --------------------------------------------------------

export interface RetrievedObject {
  uid: string;
  objectType: string;
  keyFormatType?: string;
  algorithm?: string;
  length?: number;
  /** The key bytes, certificate DER or secret; undefined when the material is a Transparent structure. */
  bytes?: Buffer;
  /** The object as received, for formats this reader does not flatten. */
  object?: TtlvStructure;
  /** The attributes Export (or a KeyValue) carried. */
  attributes?: ObjectAttributesView;
}

function materialBytes(keyBlock: TtlvNode | undefined): Buffer | undefined {
  const value = child(keyBlock, 'KeyValue');
  if (value?.type === 'ByteString') return Buffer.from(value.value);
  const material = child(value, 'KeyMaterial');
  if (material?.type === 'ByteString') return Buffer.from(material.value);
  const key = child(material, 'Key');
  return key?.type === 'ByteString' ? Buffer.from(key.value) : undefined;
}

export function readObject(response: TtlvStructure): RetrievedObject {
  const uid = readUniqueIdentifier(response);
  const objectType = readText(response, 'ObjectType');
  const object = child(response, objectType) ?? child(response, 'Object');
  const exported = child(response, 'Attributes');
  const out: RetrievedObject = { uid, objectType };
  if (exported?.type === 'Structure') out.attributes = readAttributes(response);
  if (!object || object.type !== 'Structure') return out;
  out.object = object;
  if (objectType === 'Certificate') {
    const der = child(object, 'CertificateValue');
    if (der?.type === 'ByteString') out.bytes = Buffer.from(der.value);
    out.keyFormatType = 'X509';
    return out;
  }
  if (objectType === 'OpaqueObject') {
    const v = child(object, 'OpaqueDataValue');
    if (v?.type === 'ByteString') out.bytes = Buffer.from(v.value);
    return out;
  }
  const block = child(object, 'KeyBlock');
  const format = child(block, 'KeyFormatType');
  const algorithm = child(block, 'CryptographicAlgorithm');
  const length = child(block, 'CryptographicLength');
  if (format) out.keyFormatType = String(format.value);
  if (algorithm) out.algorithm = String(algorithm.value);
  if (length?.type === 'Integer') out.length = length.value;
  const bytes = materialBytes(block);
  if (bytes) out.bytes = bytes;
  const inner = child(child(block, 'KeyValue'), 'Attributes');
  if (!out.attributes && inner?.type === 'Structure') out.attributes = attributesView(inner);
  return out;
}
