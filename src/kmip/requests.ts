import { T, type TtlvNode, type TtlvStructure } from './ttlv';

/**
 * Pure builders: operation parameters → bare KMIP 2.1 operations in Cosmian's exact JSON
 * shape (enum variant names, flat vendor `Attribute` for tags, the object tagged with its
 * type). The HTTP client, the socket client, the CLI and the PKCS#11 token share them so
 * every caller speaks the same dialect.
 */

/** KMIP CryptographicUsageMask bits (Integer bit mask on the wire, never symbolic names). */
export const USAGE_MASK = {
  Sign: 0x1, Verify: 0x2, Encrypt: 0x4, Decrypt: 0x8, WrapKey: 0x10, UnwrapKey: 0x20,
  MACGenerate: 0x80, MACVerify: 0x100, DeriveKey: 0x200, KeyAgreement: 0x800,
  CertificateSign: 0x1000, CRLSign: 0x2000, Authenticate: 0x100000, Unrestricted: 0x200000,
} as const;

export const COSMIAN_VENDOR = 'cosmian';

export interface ObjectAttributes {
  label?: string;
  tags?: string[];
  usageMask?: number;
  /** Seconds or a Date. Omitted means now (so the key is Active); null leaves the object PreActive. */
  activationDate?: Date | number | null;
  sensitive?: boolean;
  extractable?: boolean;
  /** Lets the caller choose the UID, as Cosmian's Attributes.UniqueIdentifier does. */
  uniqueIdentifier?: string;
}

function defined(nodes: Array<TtlvNode | undefined>): TtlvNode[] {
  return nodes.filter((n): n is TtlvNode => n !== undefined);
}

export function toKmipSeconds(date: Date | number): number {
  return typeof date === 'number' ? Math.floor(date) : Math.floor(date.getTime() / 1000);
}

function activationNode(date: Date | number | null | undefined): TtlvNode | undefined {
  if (date === null) return undefined;
  return T.date('ActivationDate', toKmipSeconds(date ?? new Date()));
}

/** Cosmian's tag extension: one flat Attribute whose TextString value is a JSON array. */
export function tagsAttribute(tags: readonly string[]): TtlvStructure {
  return T.struct('Attribute', [
    T.text('VendorIdentification', COSMIAN_VENDOR),
    T.text('AttributeName', 'tag'),
    T.text('AttributeValue', JSON.stringify(tags)),
  ]);
}

export function nameAttribute(label: string): TtlvStructure {
  return T.struct('Name', [T.text('NameValue', label), T.enum('NameType', 'UninterpretedTextString')]);
}

/**
 * Shared tail of every Attributes structure. Order: standard scalars, ActivationDate, Name,
 * tags — the order of Cosmian's recorded vectors, so byte-for-byte comparisons hold.
 */
function commonAttributeNodes(a: ObjectAttributes): TtlvNode[] {
  return defined([
    a.usageMask !== undefined ? T.int('CryptographicUsageMask', a.usageMask) : undefined,
    a.sensitive !== undefined ? T.bool('Sensitive', a.sensitive) : undefined,
    a.extractable !== undefined ? T.bool('Extractable', a.extractable) : undefined,
    a.uniqueIdentifier !== undefined ? T.text('UniqueIdentifier', a.uniqueIdentifier) : undefined,
    activationNode(a.activationDate),
    a.label !== undefined ? nameAttribute(a.label) : undefined,
    a.tags && a.tags.length > 0 ? tagsAttribute(a.tags) : undefined,
  ]);
}

function algorithmNodes(algorithm: string | undefined, length: number | undefined, curve?: string): TtlvNode[] {
  return defined([
    algorithm !== undefined ? T.enum('CryptographicAlgorithm', algorithm) : undefined,
    length !== undefined ? T.int('CryptographicLength', length) : undefined,
    curve !== undefined ? T.struct('CryptographicDomainParameters', [T.enum('RecommendedCurve', curve)]) : undefined,
  ]);
}

export interface SymmetricKeySpec extends ObjectAttributes {
  /** AES, ChaCha20, HMACSHA256, … (Cosmian variant names). */
  algorithm: string;
  length?: number;
}

export function createSymmetricKeyRequest(spec: SymmetricKeySpec): TtlvStructure {
  return T.struct('Create', [
    T.enum('ObjectType', 'SymmetricKey'),
    T.struct('Attributes', [...algorithmNodes(spec.algorithm, spec.length), ...commonAttributeNodes(spec)]),
  ]);
}

export interface SecretDataSpec extends ObjectAttributes {
  length?: number;
}

export function createSecretDataRequest(spec: SecretDataSpec): TtlvStructure {
  return T.struct('Create', [
    T.enum('ObjectType', 'SecretData'),
    T.struct('Attributes', [...algorithmNodes(undefined, spec.length), ...commonAttributeNodes(spec)]),
  ]);
}

export interface KeyPairSpec extends ObjectAttributes {
  /** RSA, EC, ECDSA, ECDH, Ed25519, Ed448. */
  algorithm: string;
  length?: number;
  /** RecommendedCurve variant: P256, P384, P521, SECP256K1, CURVE25519, CURVEED25519, CURVE448. */
  curve?: string;
  keyFormatType?: string;
  privateUsageMask?: number;
  publicUsageMask?: number;
}

/** Label, tags and dates go in CommonAttributes so both halves carry them; masks differ per half. */
export function createKeyPairRequest(spec: KeyPairSpec): TtlvStructure {
  const shared: ObjectAttributes = {
    ...(spec.label !== undefined ? { label: spec.label } : {}),
    ...(spec.tags !== undefined ? { tags: spec.tags } : {}),
    ...(spec.activationDate !== undefined ? { activationDate: spec.activationDate } : {}),
    ...(spec.extractable !== undefined ? { extractable: spec.extractable } : {}),
    ...(spec.uniqueIdentifier !== undefined ? { uniqueIdentifier: spec.uniqueIdentifier } : {}),
  };
  const common = [
    ...algorithmNodes(spec.algorithm, spec.length, spec.curve),
    spec.keyFormatType !== undefined ? T.enum('KeyFormatType', spec.keyFormatType) : undefined,
    ...commonAttributeNodes(shared),
  ];
  // Sensitive only means something for the private half.
  const privateAttrs = commonAttributeNodes({
    activationDate: null,
    ...(spec.privateUsageMask !== undefined ? { usageMask: spec.privateUsageMask } : {}),
    ...(spec.sensitive !== undefined ? { sensitive: spec.sensitive } : {}),
  });
  const publicAttrs = commonAttributeNodes({
    activationDate: null,
    ...(spec.publicUsageMask !== undefined ? { usageMask: spec.publicUsageMask } : {}),
  });
  return T.struct('CreateKeyPair', [
    T.struct('CommonAttributes', common),
    T.struct('PrivateKeyAttributes', privateAttrs),
    T.struct('PublicKeyAttributes', publicAttrs),
  ]);
}

// ---- Objects for Register / Import --------------------------------------------------------

export type ObjectType = 'SymmetricKey' | 'PrivateKey' | 'PublicKey' | 'Certificate' | 'SecretData' | 'OpaqueObject';

export interface KmipObject {
  objectType: ObjectType;
  node: TtlvStructure;
}

function keyBlock(format: string, material: TtlvNode, algorithm?: string, length?: number): TtlvStructure {
  return T.struct('KeyBlock', [
    T.enum('KeyFormatType', format),
    T.struct('KeyValue', [material]),
    ...algorithmNodes(algorithm, length),
  ]);
}

export function symmetricKeyObject(key: Uint8Array, algorithm = 'AES'): KmipObject {
  const material = T.struct('KeyMaterial', [T.bytes('Key', key)]);
  return { objectType: 'SymmetricKey', node: T.struct('SymmetricKey', [keyBlock('TransparentSymmetricKey', material, algorithm, key.length * 8)]) };
}

/** DER private key; format PKCS8 (default), PKCS1, ECPrivateKey, or PKCS12 (with its password sent separately). */
export function privateKeyObject(der: Uint8Array, format = 'PKCS8', algorithm?: string): KmipObject {
  return { objectType: 'PrivateKey', node: T.struct('PrivateKey', [keyBlock(format, T.bytes('KeyMaterial', der), algorithm)]) };
}

/** DER public key; format X509 (SubjectPublicKeyInfo, default) or PKCS1. */
export function publicKeyObject(der: Uint8Array, format = 'X509', algorithm?: string): KmipObject {
  return { objectType: 'PublicKey', node: T.struct('PublicKey', [keyBlock(format, T.bytes('KeyMaterial', der), algorithm)]) };
}

export function certificateObject(der: Uint8Array): KmipObject {
  return { objectType: 'Certificate', node: T.struct('Certificate', [T.enum('CertificateType', 'X509'), T.bytes('CertificateValue', der)]) };
}

/** SecretDataType is Password or Seed in KMIP; see the CLI's data import for which to pick. */
export function secretDataObject(bytes: Uint8Array, secretDataType: 'Password' | 'Seed' = 'Seed'): KmipObject {
  return { objectType: 'SecretData', node: T.struct('SecretData', [T.enum('SecretDataType', secretDataType), keyBlock('Raw', T.bytes('KeyMaterial', bytes))]) };
}

export function objectAttributes(a: ObjectAttributes, extra: TtlvNode[] = []): TtlvStructure {
  return T.struct('Attributes', [...extra, ...commonAttributeNodes(a)]);
}

export function registerRequest(object: KmipObject, attrs: ObjectAttributes = {}): TtlvStructure {
  return T.struct('Register', [T.enum('ObjectType', object.objectType), objectAttributes(attrs), object.node]);
}

export function importRequest(uid: string, object: KmipObject, attrs: ObjectAttributes = {}, replaceExisting = false): TtlvStructure {
  return T.struct('Import', [
    T.text('UniqueIdentifier', uid),
    T.enum('ObjectType', object.objectType),
    T.bool('ReplaceExisting', replaceExisting),
    objectAttributes(attrs),
    object.node,
  ]);
}

// ---- Get / Export -------------------------------------------------------------------------

export interface GetOptions {
  keyFormatType?: string;
  /** Wrap the key under another key before it leaves the server. */
  wrap?: { keyUid: string; params?: CryptoParams };
  /** PKCS#12 export: Cosmian passes the password where the wrapping key UID would go. */
  pkcs12Password?: string;
  /** NotWrapped: a key stored wrapped (by an HSM key) comes back in clear; AsRegistered: as stored. */
  keyWrapType?: 'NotWrapped' | 'AsRegistered';
}

export function getRequest(uid: string, opts: GetOptions = {}, operation: 'Get' | 'Export' = 'Get'): TtlvStructure {
  const format = opts.pkcs12Password !== undefined ? 'PKCS12' : opts.keyFormatType;
  const wrappingKey = opts.pkcs12Password ?? opts.wrap?.keyUid;
  const params = opts.wrap?.params ? cryptographicParameters(opts.wrap.params) : undefined;
  return T.struct(operation, [
    T.text('UniqueIdentifier', uid),
    format !== undefined ? T.enum('KeyFormatType', format) : undefined,
    opts.keyWrapType !== undefined ? T.enum('KeyWrapType', opts.keyWrapType) : undefined,
    wrappingKey !== undefined
      ? T.struct('KeyWrappingSpecification', [
        T.enum('WrappingMethod', 'Encrypt'),
        T.struct('EncryptionKeyInformation', [T.text('UniqueIdentifier', wrappingKey), params]),
      ])
      : undefined,
  ]);
}

// ---- Locate / attributes / lifecycle ------------------------------------------------------

export interface LocateFilter {
  objectType?: string;
  algorithm?: string;
  length?: number;
  name?: string;
  tags?: string[];
  state?: string;
  maximumItems?: number;
  offsetItems?: number;
}

/** Attributes is always sent, empty if need be: Cosmian requires it. */
export function locateRequest(f: LocateFilter = {}): TtlvStructure {
  return T.struct('Locate', [
    f.maximumItems !== undefined ? T.int('MaximumItems', f.maximumItems) : undefined,
    f.offsetItems !== undefined ? T.int('OffsetItems', f.offsetItems) : undefined,
    T.struct('Attributes', [
      f.objectType !== undefined ? T.enum('ObjectType', f.objectType) : undefined,
      ...algorithmNodes(f.algorithm, f.length),
      f.state !== undefined ? T.enum('State', f.state) : undefined,
      f.name !== undefined ? nameAttribute(f.name) : undefined,
      f.tags && f.tags.length > 0 ? tagsAttribute(f.tags) : undefined,
    ]),
  ]);
}

/** A reference is a standard attribute name ("State") or "tag" for Cosmian's vendor tags. */
export function getAttributesRequest(uid: string, references: readonly string[] = []): TtlvStructure {
  return T.struct('GetAttributes', [
    T.text('UniqueIdentifier', uid),
    ...references.map((r) => r === 'tag'
      ? T.struct('AttributeReference', [T.text('VendorIdentification', COSMIAN_VENDOR), T.text('AttributeName', 'tag')])
      : T.enum('AttributeReference', r)),
  ]);
}

export function uidRequest(operation: 'Activate' | 'Destroy', uid: string): TtlvStructure {
  return T.struct(operation, [T.text('UniqueIdentifier', uid)]);
}

export function revokeRequest(uid: string, reasonCode: string, message?: string): TtlvStructure {
  return T.struct('Revoke', [
    T.text('UniqueIdentifier', uid),
    T.struct('RevocationReason', [
      T.enum('RevocationReasonCode', reasonCode),
      message !== undefined ? T.text('RevocationMessage', message) : undefined,
    ]),
  ]);
}

export function destroyRequest(uid: string, remove = false): TtlvStructure {
  return T.struct('Destroy', [T.text('UniqueIdentifier', uid), remove ? T.bool('Remove', true) : undefined]);
}

// ---- Cryptographic operations -------------------------------------------------------------

export interface CryptoParams {
  mode?: string;
  padding?: string;
  signatureAlgorithm?: string;
  hashing?: string;
  algorithm?: string;
  tagLength?: number;
  ivLength?: number;
  saltLength?: number;
  maskGeneratorHashing?: string;
  /** The OAEP label (KMIP 2.1 PSource). */
  pSource?: Uint8Array;
}

/**
 * Field order follows Cosmian's recorded vectors (§2 (b), (e)): the server reads fields by
 * name, so order only matters for comparing with those vectors.
 */
export function cryptographicParameters(p: CryptoParams): TtlvStructure | undefined {
  const nodes = defined([
    p.mode !== undefined ? T.enum('BlockCipherMode', p.mode) : undefined,
    p.padding !== undefined ? T.enum('PaddingMethod', p.padding) : undefined,
    p.signatureAlgorithm !== undefined ? T.enum('DigitalSignatureAlgorithm', p.signatureAlgorithm) : undefined,
    p.hashing !== undefined ? T.enum('HashingAlgorithm', p.hashing) : undefined,
    p.algorithm !== undefined ? T.enum('CryptographicAlgorithm', p.algorithm) : undefined,
    p.ivLength !== undefined ? T.int('IvLength', p.ivLength) : undefined,
    p.tagLength !== undefined ? T.int('TagLength', p.tagLength) : undefined,
    p.saltLength !== undefined ? T.int('SaltLength', p.saltLength) : undefined,
    p.maskGeneratorHashing !== undefined ? T.enum('MaskGeneratorHashingAlgorithm', p.maskGeneratorHashing) : undefined,
    p.pSource !== undefined ? T.bytes('PSource', p.pSource) : undefined,
  ]);
  return nodes.length > 0 ? T.struct('CryptographicParameters', nodes) : undefined;
}

export interface EncryptOptions extends CryptoParams {
  iv?: Uint8Array;
  aad?: Uint8Array;
}

export function encryptRequest(uid: string, data: Uint8Array, o: EncryptOptions = {}): TtlvStructure {
  return T.struct('Encrypt', [
    T.text('UniqueIdentifier', uid),
    cryptographicParameters(o),
    T.bytes('Data', data),
    o.iv ? T.bytes('IVCounterNonce', o.iv) : undefined,
    o.aad ? T.bytes('AuthenticatedEncryptionAdditionalData', o.aad) : undefined,
  ]);
}

export interface DecryptOptions extends EncryptOptions {
  tag?: Uint8Array;
}

export function decryptRequest(uid: string, data: Uint8Array, o: DecryptOptions = {}): TtlvStructure {
  return T.struct('Decrypt', [
    T.text('UniqueIdentifier', uid),
    cryptographicParameters(o),
    T.bytes('Data', data),
    o.iv ? T.bytes('IVCounterNonce', o.iv) : undefined,
    o.aad ? T.bytes('AuthenticatedEncryptionAdditionalData', o.aad) : undefined,
    o.tag ? T.bytes('AuthenticatedEncryptionTag', o.tag) : undefined,
  ]);
}

/** What to sign: the message, or a digest the caller computed (PKCS#11 pre-hashed mechanisms). */
export type SignInput = { data: Uint8Array } | { digested: Uint8Array };

function signInputNode(input: SignInput): TtlvNode {
  return 'data' in input ? T.bytes('Data', input.data) : T.bytes('DigestedData', input.digested);
}

export function signRequest(uid: string, input: SignInput, params: CryptoParams = {}): TtlvStructure {
  return T.struct('Sign', [T.text('UniqueIdentifier', uid), cryptographicParameters(params), signInputNode(input)]);
}

export function signatureVerifyRequest(uid: string, input: SignInput, signature: Uint8Array, params: CryptoParams = {}): TtlvStructure {
  return T.struct('SignatureVerify', [
    T.text('UniqueIdentifier', uid),
    cryptographicParameters(params),
    signInputNode(input),
    T.bytes('SignatureData', signature),
  ]);
}

export function macRequest(uid: string, data: Uint8Array, params: CryptoParams = {}): TtlvStructure {
  return T.struct('MAC', [T.text('UniqueIdentifier', uid), cryptographicParameters(params), T.bytes('Data', data)]);
}

export function hashRequest(hashing: string, data: Uint8Array): TtlvStructure {
  return T.struct('Hash', [T.struct('CryptographicParameters', [T.enum('HashingAlgorithm', hashing)]), T.bytes('Data', data)]);
}

export function rngRetrieveRequest(length: number): TtlvStructure {
  return T.struct('RNGRetrieve', [T.int('DataLength', length)]);
}

// ---- Certificates -------------------------------------------------------------------------

export interface CertifySpec {
  /** The public (or private) key of the pair being certified. */
  keyUid: string;
  /** RFC 4514-ish "CN=x,O=y"; carried as the vendor attribute the server reads. */
  subject: string;
  issuer?: { privateKeyUid: string; certificateUid: string };
  days?: number;
  isCa?: boolean;
  tags?: string[];
  label?: string;
}

function vendorAttribute(name: string, value: TtlvNode): TtlvStructure {
  return T.struct('Attribute', [
    T.text('VendorIdentification', COSMIAN_VENDOR),
    T.text('AttributeName', name),
    { ...value, tag: 'AttributeValue' } as TtlvNode,
  ]);
}

function link(type: string, uid: string): TtlvStructure {
  return T.struct('Link', [T.enum('LinkType', type), T.text('LinkedObjectIdentifier', uid)]);
}

export function certifyRequest(spec: CertifySpec): TtlvStructure {
  return T.struct('Certify', [
    T.text('UniqueIdentifier', spec.keyUid),
    T.struct('Attributes', [
      ...(spec.issuer ? [link('PrivateKeyLink', spec.issuer.privateKeyUid), link('CertificateLink', spec.issuer.certificateUid)] : []),
      vendorAttribute('subject_name', T.text('v', spec.subject)),
      spec.days !== undefined ? vendorAttribute('requested_validity_days', T.int('v', spec.days)) : undefined,
      spec.isCa ? vendorAttribute('certificate_extensions', T.text('v', 'basicConstraints=critical,CA:TRUE')) : undefined,
      spec.label !== undefined ? nameAttribute(spec.label) : undefined,
      spec.tags && spec.tags.length > 0 ? tagsAttribute(spec.tags) : undefined,
    ]),
  ]);
}

// ---- Server information -------------------------------------------------------------------

export function queryRequest(functions: readonly string[] = ['QueryOperations', 'QueryObjects', 'QueryServerInformation']): TtlvStructure {
  return T.struct('Query', functions.map((f) => T.enum('QueryFunction', f)));
}

export function discoverVersionsRequest(): TtlvStructure {
  return T.struct('DiscoverVersions', []);
}
