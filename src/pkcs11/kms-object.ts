import type { ObjectAttributesView, PlainValue } from '../kmip/responses';
import { CKK, CKO } from './constants';

/**
 * A KMS object as the token knows it: the KMIP attributes it needs, read once by a batched
 * GetAttributes and kept in the slot's cache. The PKCS#11 view of it is in
 * object-attributes.ts.
 */
export interface KmsObject {
  uid: string;
  objectType: string;
  algorithm?: string;
  length?: number;
  curve?: string;
  label?: string;
  tags: string[];
  usageMask?: number;
  sensitive: boolean;
  extractable: boolean;
  state?: string;
  /** KMIP LinkType → linked UID (PublicKeyLink, PrivateKeyLink, CertificateLink...). */
  links: Map<string, string>;
}

/** The attributes asked for in every GetAttributes, so one batch item brings all of them. */
export const OBJECT_ATTRIBUTE_REFERENCES = [
  'ObjectType', 'CryptographicAlgorithm', 'CryptographicLength', 'CryptographicDomainParameters', 'CryptographicUsageMask',
  'Name', 'State', 'Sensitive', 'Extractable', 'Link', 'tag',
] as const;

/** Tags p11kms writes for PKCS#11 attributes KMIP has no place for. */
export const ID_TAG_PREFIX = 'p11kms.id=';
export const APPLICATION_TAG_PREFIX = 'p11kms.application=';

const CLASS_BY_OBJECT_TYPE: Readonly<Record<string, number>> = {
  SymmetricKey: CKO.SECRET_KEY,
  PrivateKey: CKO.PRIVATE_KEY,
  PublicKey: CKO.PUBLIC_KEY,
  Certificate: CKO.CERTIFICATE,
  SecretData: CKO.DATA,
};

export const OBJECT_TYPE_BY_CLASS: ReadonlyMap<number, string> = new Map(
  Object.entries(CLASS_BY_OBJECT_TYPE).map(([type, cls]) => [cls, type]),
);

/** The PKCS#11 class of a KMS object, or undefined for objects the token does not show. */
export function objectClass(o: KmsObject): number | undefined {
  return CLASS_BY_OBJECT_TYPE[o.objectType];
}

export function keyType(o: KmsObject): number {
  const a = o.algorithm ?? '';
  if (a === 'AES') return CKK.AES;
  if (a === 'RSA') return CKK.RSA;
  if (a === 'Ed25519' || a === 'Ed448' || o.curve === 'CURVEED25519' || o.curve === 'CURVEED448') return CKK.EC_EDWARDS;
  if (o.curve === 'CURVE25519' || o.curve === 'CURVE448') return CKK.EC_MONTGOMERY;
  if (a === 'EC' || a === 'ECDSA' || a === 'ECDH') return CKK.EC;
  if (a === 'ChaCha20' || a === 'ChaCha20Poly1305') return CKK.CHACHA20;
  return CKK.GENERIC_SECRET;
}

function text(v: PlainValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: PlainValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function list(v: PlainValue | undefined): PlainValue[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function field(v: PlainValue, name: string): PlainValue | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v[name] : undefined;
}

export function kmsObjectFromAttributes(uid: string, view: ObjectAttributesView): KmsObject {
  const a = view.attributes;
  const names = list(a['Name']).map((n) => text(field(n, 'NameValue'))).filter((n): n is string => n !== undefined);
  const links = new Map<string, string>();
  for (const l of list(a['Link'])) {
    const type = text(field(l, 'LinkType'));
    const target = text(field(l, 'LinkedObjectIdentifier'));
    if (type && target) links.set(type, target);
  }
  const domain = a['CryptographicDomainParameters'];
  const o: KmsObject = {
    uid,
    objectType: text(a['ObjectType']) ?? '',
    tags: view.tags,
    sensitive: a['Sensitive'] === true,
    // KMIP's default for Extractable is true.
    extractable: a['Extractable'] !== false,
    links,
  };
  const algorithm = text(a['CryptographicAlgorithm']);
  const length = num(a['CryptographicLength']);
  const curve = domain !== undefined ? text(field(domain, 'RecommendedCurve')) : undefined;
  const mask = num(a['CryptographicUsageMask']);
  const state = text(a['State']);
  if (algorithm !== undefined) o.algorithm = algorithm;
  if (length !== undefined) o.length = length;
  if (curve !== undefined) o.curve = curve;
  if (names[0] !== undefined) o.label = names[0];
  if (mask !== undefined) o.usageMask = mask;
  if (state !== undefined) o.state = state;
  return o;
}

/** The bytes p11kms stored as CKA_ID, if any. */
export function storedId(o: KmsObject): Buffer | undefined {
  const tag = o.tags.find((t) => t.startsWith(ID_TAG_PREFIX));
  return tag !== undefined ? Buffer.from(tag.slice(ID_TAG_PREFIX.length), 'hex') : undefined;
}

export function storedApplication(o: KmsObject): string | undefined {
  const tag = o.tags.find((t) => t.startsWith(APPLICATION_TAG_PREFIX));
  return tag?.slice(APPLICATION_TAG_PREFIX.length);
}

/** Tags users set, without the ones p11kms uses for its own bookkeeping. */
export function userTags(o: KmsObject): string[] {
  return o.tags.filter((t) => !t.startsWith('p11kms.'));
}
