import { T, child, type TtlvNode, type TtlvStructure } from '../kmip/ttlv';

/**
 * The shapes of Cosmian KMS 4.x, for the clients written against it (cloudproof_js 9.x
 * `KmsClient`, the 4.x Rust client). Those clients write "type":"Structure" on every
 * Structure (json-codec.ts StructureStyle 'typed'); a request written so is read as 4.x wrote
 * it and answered as 4.x answered. Clients that leave "type" off get today's Cosmian shapes,
 * untouched.
 *
 * What 4.x did differently, from Cosmian/kms of that era:
 * - every Rust `Vec` field was one Structure named after the field holding elements of the
 *   same name (crate/kmip/src/kmip/ttlv/serializer.rs, `serialize_seq`: "give the same tag as
 *   tag of the parent"): `Link:[Link,Link]`, `VendorAttributes:[VendorAttributes,…]`, and in
 *   Locate's answer `UniqueIdentifier:[UniqueIdentifier,…]`;
 * - `Attributes` was a struct of ten fields (crate/kmip/src/kmip/kmip_types.rs, `struct
 *   Attributes`), and its clients read nothing else: cloudproof_js 9.x's `fromTTLV` throws on
 *   any other tag, on DateTime, Boolean and LongInteger values, and on enumerations it does
 *   not know (State);
 * - the object in a Get answer was tagged `Object` (cloudproof_js `toTTLV`: "KMIP spec expect
 *   to still be Object"), not with its object type;
 * - a wrapped key kept a KeyValue Structure, its KeyMaterial the wrapped bytes beside its
 *   Attributes (KMIP's No Encoding form); today's Cosmian makes the whole KeyValue a
 *   ByteString. cloudproof_js `importKey` refuses a wrapped key without those Attributes;
 * - Revoke's `RevocationReason` was a bare TextString or enumeration, not a Structure;
 * - `CryptographicUsageMask` was sent as an Enumeration holding the bit mask;
 * - every object was stored Active from its creation (crate/server/src/database/sqlite.rs of
 *   that era, `create_`: `.bind(StateEnumeration::Active.to_string())`), and those clients
 *   have no Activate to call: an object they create or import without an ActivationDate gets
 *   one, now, so that what they make is usable as it was on 4.x.
 */

/** The fields of 4.x's `Attributes`, less ActivationDate (see below). */
const KMS4_ATTRIBUTES = new Set([
  'CryptographicAlgorithm',
  'CryptographicLength',
  'CryptographicDomainParameters',
  'CryptographicParameters',
  'CryptographicUsageMask',
  'KeyFormatType',
  'Link',
  'ObjectType',
  'VendorAttributes',
]);
// ActivationDate is left out: 4.x held it as epoch milliseconds in a LongInteger, which its
// JavaScript client cannot read either, and a DateTime would make that client throw.

/** Tags a managed object takes in a Get or Export answer today; 4.x called each of them `Object`. */
const OBJECT_TAGS = new Set(['Certificate', 'CertificateRequest', 'SymmetricKey', 'PublicKey', 'PrivateKey', 'SplitKey', 'Template', 'SecretData', 'OpaqueObject', 'PGPKey']);

/** Answers whose payload carries the object itself. */
const OBJECT_ANSWERS = new Set(['GetResponse', 'ExportResponse']);

// ---- requests: 4.x shapes to today's -------------------------------------------------------

/** Operations that make an object, and the Attributes structure that describes it. */
const CREATING: Readonly<Record<string, string>> = { Create: 'Attributes', Import: 'Attributes', Register: 'Attributes', CreateKeyPair: 'CommonAttributes' };

/**
 * A 4.x request (a bare operation or a RequestMessage) as today's handlers read it, at `now`
 * (seconds): shapes that are already today's pass unchanged, and an object it creates without
 * an ActivationDate is given `now`.
 */
export function fromKms4Request(node: TtlvNode, now: number): TtlvNode {
  const reshaped = reshape(node);
  if (reshaped.type !== 'Structure') return reshaped;
  if (reshaped.tag !== 'RequestMessage') return activeFromCreation(reshaped.tag, reshaped, now);
  return {
    ...reshaped,
    value: reshaped.value.map((item) => {
      if (item.type !== 'Structure' || item.tag !== 'BatchItem') return item;
      const operation = String(child(item, 'Operation')?.value ?? '');
      return { ...item, value: item.value.map((n) => (n.tag === 'RequestPayload' && n.type === 'Structure' ? activeFromCreation(operation, n, now) : n)) };
    }),
  };
}

function activeFromCreation(operation: string, payload: TtlvStructure, now: number): TtlvStructure {
  const field = CREATING[operation];
  if (field === undefined) return payload;
  const attributes = child(payload, field);
  if (attributes === undefined) return { ...payload, value: [...payload.value, T.struct(field, [T.date('ActivationDate', now)])] };
  if (attributes.type !== 'Structure' || child(attributes, 'ActivationDate') !== undefined) return payload;
  return { ...payload, value: payload.value.map((n) => (n === attributes ? { ...attributes, value: [...attributes.value, T.date('ActivationDate', now)] } : n)) };
}

function reshape(node: TtlvNode): TtlvNode {
  if (node.type !== 'Structure') return node;
  const reshaped = { ...node, value: node.value.flatMap(requestChild) };
  return node.tag === 'KeyBlock' ? wrappedKeyValueAsBytes(reshaped) : reshaped;
}

/** A wrapped KeyBlock in 4.x's form (KeyValue {KeyMaterial: wrapped bytes, Attributes}) in today's: KeyValue is the wrapped bytes. */
function wrappedKeyValueAsBytes(block: TtlvStructure): TtlvStructure {
  const keyValue = child(block, 'KeyValue');
  const material = child(keyValue, 'KeyMaterial');
  if (child(block, 'KeyWrappingData') === undefined || keyValue?.type !== 'Structure' || material?.type !== 'ByteString') return block;
  return { ...block, value: block.value.map((n) => (n === keyValue ? T.bytes('KeyValue', material.value) : n)) };
}

function requestChild(n: TtlvNode): TtlvNode[] {
  // A Vec: its elements take the field's place, one by one. VendorAttributes held VendorAttribute elements.
  if (isVec(n)) {
    const element = n.tag === 'VendorAttributes' ? 'VendorAttribute' : n.tag;
    return n.value.map((e) => reshape({ ...e, tag: element }));
  }
  if (n.tag === 'RevocationReason' && n.type === 'TextString') {
    return [T.struct('RevocationReason', [T.enum('RevocationReasonCode', 'Unspecified'), T.text('RevocationMessage', n.value)])];
  }
  if (n.tag === 'RevocationReason' && n.type === 'Enumeration') {
    return [T.struct('RevocationReason', [T.enum('RevocationReasonCode', n.value)])];
  }
  if (n.tag === 'CryptographicUsageMask' && n.type === 'Enumeration' && typeof n.value === 'number') {
    return [T.int('CryptographicUsageMask', n.value | 0)];
  }
  return [reshape(n)];
}

/** A Structure all of whose (one or more) children are Structures of its own tag: how 4.x wrote a Vec. */
function isVec(n: TtlvNode): n is TtlvStructure {
  return n.type === 'Structure' && n.value.length > 0 && n.value.every((c) => c.tag === n.tag && c.type === 'Structure');
}

// ---- responses: today's shapes to 4.x's ----------------------------------------------------

/** A bare answer (`CreateResponse`, …) or a ResponseMessage, in 4.x's shapes. */
export function toKms4Response(node: TtlvStructure): TtlvStructure {
  if (node.tag !== 'ResponseMessage') return answer(node.tag, node);
  return { ...node, value: node.value.map((item) => (item.tag === 'BatchItem' && item.type === 'Structure' ? batchItem(item) : item)) };
}

function batchItem(item: TtlvStructure): TtlvStructure {
  const operation = child(item, 'Operation');
  const name = operation ? `${String(operation.value)}Response` : '';
  return { ...item, value: item.value.map((n) => (n.tag === 'ResponsePayload' && n.type === 'Structure' ? answer(name, n) : n)) };
}

/** One operation's answer; `name` says which (a batch item's payload is tagged ResponsePayload). */
function answer(name: string, payload: TtlvStructure): TtlvStructure {
  let value = payload.value.map(responseNode);
  if (OBJECT_ANSWERS.has(name)) {
    const objectType = child(payload, 'ObjectType');
    value = value.map((n) => (OBJECT_TAGS.has(n.tag) && n.type === 'Structure' ? kms4Object(n, objectType) : n));
  }
  if (name === 'LocateResponse') value = asVec(value, 'UniqueIdentifier', 'UniqueIdentifier');
  return { ...payload, value };
}

function kms4Object(object: TtlvStructure, objectType: TtlvNode | undefined): TtlvStructure {
  return { ...object, tag: 'Object', value: object.value.map((n) => (n.tag === 'KeyBlock' && n.type === 'Structure' ? wrappedKeyValueAsStructure(n, objectType) : n)) };
}

/**
 * Today's wrapped KeyBlock (KeyValue: the wrapped bytes) in 4.x's form: KeyValue {KeyMaterial:
 * the same bytes, Attributes}, the Attributes being what the KeyBlock itself says of the key.
 */
function wrappedKeyValueAsStructure(block: TtlvStructure, objectType: TtlvNode | undefined): TtlvStructure {
  const keyValue = child(block, 'KeyValue');
  if (keyValue?.type !== 'ByteString') return block;
  const described = ['CryptographicAlgorithm', 'CryptographicLength', 'KeyFormatType'].map((tag) => child(block, tag));
  const attributes = T.struct('Attributes', [objectType, ...described]);
  return { ...block, value: block.value.map((n) => (n === keyValue ? T.struct('KeyValue', [T.bytes('KeyMaterial', keyValue.value), attributes]) : n)) };
}

function responseNode(n: TtlvNode): TtlvNode {
  if (n.type !== 'Structure') return n;
  if (n.tag === 'Attributes') return kms4Attributes(n);
  return { ...n, value: n.value.map(responseNode) };
}

function kms4Attributes(attrs: TtlvStructure): TtlvStructure {
  const vendor = attrs.value.filter(isVendorAttribute).map(kms4VendorAttribute);
  const kept = attrs.value.filter((n) => KMS4_ATTRIBUTES.has(n.tag) && n.tag !== 'VendorAttributes').map(responseNode);
  const withVendor = vendor.length > 0 ? [...kept, T.struct('VendorAttributes', vendor)] : kept;
  return { ...attrs, value: asVec(withVendor, 'Link', 'Link') };
}

/** 4.x's VendorAttribute held its value as bytes (`attribute_value: Vec<u8>`): today's TextString value (the tag list) goes back to its UTF-8. */
function kms4VendorAttribute(v: TtlvStructure): TtlvStructure {
  return {
    ...v,
    tag: 'VendorAttributes',
    value: v.value.map((n) => (n.tag === 'AttributeValue' && n.type === 'TextString' ? T.bytes('AttributeValue', Buffer.from(n.value, 'utf8')) : n)),
  };
}

/** A vendor attribute in any of today's spellings (Attribute, VendorAttribute) or inside 4.x's own wrapper. */
function isVendorAttribute(n: TtlvNode): n is TtlvStructure {
  return (n.tag === 'VendorAttribute' || n.tag === 'Attribute') && n.type === 'Structure' && child(n, 'VendorIdentification') !== undefined;
}

/** The nodes tagged `element` gathered into one Structure `field`, where the first of them stood. */
function asVec(nodes: TtlvNode[], field: string, element: string): TtlvNode[] {
  const elements = nodes.filter((n) => n.tag === element);
  if (elements.length === 0) return nodes;
  const at = nodes.findIndex((n) => n.tag === element);
  const rest = nodes.filter((n) => n.tag !== element);
  rest.splice(at, 0, T.struct(field, elements.map((e) => ({ ...e, tag: element }))));
  return rest;
}
