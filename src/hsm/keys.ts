import { createPublicKey, type KeyObject } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import { HsmError } from './errors';
import type { HsmSlot } from './slot';

export type HsmKeyClass = 'secret' | 'private' | 'public';
export type HsmKeyType = 'AES' | 'RSA' | 'EC';
export type AesBits = 128 | 256;
export type RsaBits = 2048 | 3072 | 4096;
export type EcCurve = 'P-256' | 'P-384';

/** What GetAttributes and Locate need. Never the key value: there is no function that returns one. */
export interface HsmKeyInfo {
  slot: number;
  label: string;
  keyClass: HsmKeyClass;
  keyType: HsmKeyType;
  /** AES key length, RSA modulus length or EC field size, in bits. */
  bits: number;
  /** Public keys have none of these four. */
  sensitive?: boolean;
  extractable?: boolean;
  /** The HSM's CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE: the KMS shows them as AlwaysSensitive and NeverExtractable. */
  alwaysSensitive?: boolean;
  neverExtractable?: boolean;
}

export interface HsmKeyPair {
  privateKey: HsmKeyInfo;
  publicKey: HsmKeyInfo;
}

/** Cosmian names a key pair's public half after the private key's ID plus this suffix. */
export const PUBLIC_KEY_SUFFIX = '_pk';

const CLASS_CODES: Readonly<Record<HsmKeyClass, number>> = {
  secret: pkcs11.CKO_SECRET_KEY, private: pkcs11.CKO_PRIVATE_KEY, public: pkcs11.CKO_PUBLIC_KEY,
};
const KEY_TYPES = new Map<number, HsmKeyType>([[pkcs11.CKK_AES, 'AES'], [pkcs11.CKK_RSA, 'RSA'], [pkcs11.CKK_EC, 'EC']]);

/** DER-encoded curve OIDs (CKA_EC_PARAMS) and their sizes. */
const CURVES: Readonly<Record<EcCurve, { oid: Buffer; bits: number }>> = {
  'P-256': { oid: Buffer.from('06082a8648ce3d030107', 'hex'), bits: 256 },
  'P-384': { oid: Buffer.from('06052b81040022', 'hex'), bits: 384 },
};

// CK_ULONG and CK_BBOOL arrive as native-endian buffers: 8-byte little-endian on x86-64 and arm64.
const ulong = (b: Buffer): number => b.readUIntLE(0, Math.min(b.length, 6));
const bool = (b: Buffer): boolean => b.length > 0 && b[0] !== 0;

/** Every handle matching the template, fetched the profile's batch size at a time. */
export function findHandles(slot: HsmSlot, session: Buffer, p11: pkcs11.PKCS11, template: pkcs11.Template): Buffer[] {
  const found: Buffer[] = [];
  p11.C_FindObjectsInit(session, template);
  try {
    for (;;) {
      const batch = p11.C_FindObjects(session, slot.findBatchSize);
      found.push(...batch);
      if (batch.length < slot.findBatchSize) return found;
    }
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

/** The one object of this class with this label; several are an error, as in Cosmian. */
export function findKeyHandle(slot: HsmSlot, session: Buffer, p11: pkcs11.PKCS11, label: string, keyClass: HsmKeyClass): Buffer {
  const handles = findHandles(slot, session, p11, [
    { type: pkcs11.CKA_CLASS, value: CLASS_CODES[keyClass] },
    { type: pkcs11.CKA_LABEL, value: label },
  ]);
  if (handles.length === 1) return handles[0]!;
  const context = { operation: `find ${keyClass} key`, slot: slot.id, label };
  if (handles.length === 0) throw new HsmError('NOT_FOUND', context);
  throw new HsmError('ALREADY_EXISTS', context, `${handles.length} ${keyClass} keys share this label`);
}

/** The public half: `<label>_pk` first, then a public key carrying the label itself. */
export function findPublicKeyHandle(slot: HsmSlot, session: Buffer, p11: pkcs11.PKCS11, label: string): Buffer {
  if (label.endsWith(PUBLIC_KEY_SUFFIX)) return findKeyHandle(slot, session, p11, label, 'public');
  try {
    return findKeyHandle(slot, session, p11, label + PUBLIC_KEY_SUFFIX, 'public');
  } catch (e) {
    if (e instanceof HsmError && e.code === 'NOT_FOUND') return findKeyHandle(slot, session, p11, label, 'public');
    throw e;
  }
}

/** The private half: Cosmian strips `_pk` so a wrapping-key ID naming the public key decrypts with its pair. */
export function privateLabel(label: string): string {
  return label.endsWith(PUBLIC_KEY_SUFFIX) ? label.slice(0, -PUBLIC_KEY_SUFFIX.length) : label;
}

function assertLabelFree(slot: HsmSlot, session: Buffer, p11: pkcs11.PKCS11, operation: string, labels: string[]): void {
  for (const label of labels) {
    if (label === '') throw new HsmError('INVALID_ARGUMENT', { operation, slot: slot.id }, 'a key needs a label');
    if (findHandles(slot, session, p11, [{ type: pkcs11.CKA_LABEL, value: label }]).length > 0) {
      throw new HsmError('ALREADY_EXISTS', { operation, slot: slot.id, label });
    }
  }
}

/**
 * Attributes every key we create shares: on the token, labelled, and CKA_ID = label (as
 * Cosmian). Public keys are not CKA_PRIVATE, so they can be read without a login.
 */
function identity(label: string, isPrivate = true): pkcs11.Template {
  return [
    { type: pkcs11.CKA_TOKEN, value: true },
    { type: pkcs11.CKA_PRIVATE, value: isPrivate },
    { type: pkcs11.CKA_LABEL, value: label },
    { type: pkcs11.CKA_ID, value: Buffer.from(label, 'utf8') },
  ];
}

/**
 * Secret and private keys are created sensitive and not extractable, always: the HSM is
 * there so that these bytes never leave it. (Cosmian defaults to non-sensitive and
 * extractable; we do not.)
 */
const NEVER_LEAVES: pkcs11.Template = [
  { type: pkcs11.CKA_SENSITIVE, value: true },
  { type: pkcs11.CKA_EXTRACTABLE, value: false },
];

export function createAesKey(slot: HsmSlot, label: string, bits: AesBits): HsmKeyInfo {
  const operation = 'createAesKey';
  if (bits !== 128 && bits !== 256) throw new HsmError('INVALID_ARGUMENT', { operation, slot: slot.id, label }, `AES keys are 128 or 256 bits, not ${String(bits)}`);
  slot.withSession({ operation, label }, (session, p11) => {
    assertLabelFree(slot, session, p11, operation, [label]);
    p11.C_GenerateKey(session, { mechanism: pkcs11.CKM_AES_KEY_GEN }, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
      { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_AES },
      { type: pkcs11.CKA_VALUE_LEN, value: bits / 8 },
      ...identity(label),
      ...NEVER_LEAVES,
      { type: pkcs11.CKA_ENCRYPT, value: true },
      { type: pkcs11.CKA_DECRYPT, value: true },
      // Least privilege: the KMS wraps with C_Encrypt, never C_WrapKey; SoftHSM2 would default these to true.
      { type: pkcs11.CKA_WRAP, value: false },
      { type: pkcs11.CKA_UNWRAP, value: false },
    ]);
  });
  return getKeyInfo(slot, label, 'secret');
}

export function createRsaKeyPair(slot: HsmSlot, label: string, bits: RsaBits): HsmKeyPair {
  const operation = 'createRsaKeyPair';
  if (bits !== 2048 && bits !== 3072 && bits !== 4096) throw new HsmError('INVALID_ARGUMENT', { operation, slot: slot.id, label }, `RSA keys are 2048, 3072 or 4096 bits, not ${String(bits)}`);
  return createPair(slot, label, operation, { mechanism: pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN }, [
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
    { type: pkcs11.CKA_MODULUS_BITS, value: bits },
    { type: pkcs11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    { type: pkcs11.CKA_ENCRYPT, value: true },
  ], [
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
    { type: pkcs11.CKA_DECRYPT, value: true },
  ]);
}

/** For ECDSA signing; EC keys are not part of Cosmian's HSM model but cost nothing to allow. */
export function createEcKeyPair(slot: HsmSlot, label: string, curve: EcCurve): HsmKeyPair {
  const operation = 'createEcKeyPair';
  const spec = CURVES[curve];
  if (!spec) throw new HsmError('INVALID_ARGUMENT', { operation, slot: slot.id, label }, `unsupported curve ${String(curve)}`);
  return createPair(slot, label, operation, { mechanism: pkcs11.CKM_EC_KEY_PAIR_GEN }, [
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_EC },
    { type: pkcs11.CKA_EC_PARAMS, value: spec.oid },
  ], [
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_EC },
  ]);
}

function createPair(slot: HsmSlot, label: string, operation: string, mechanism: pkcs11.Mechanism,
  publicTemplate: pkcs11.Template, privateTemplate: pkcs11.Template): HsmKeyPair {
  const publicLabel = label + PUBLIC_KEY_SUFFIX;
  slot.withSession({ operation, label }, (session, p11) => {
    assertLabelFree(slot, session, p11, operation, [label, publicLabel]);
    p11.C_GenerateKeyPair(session, mechanism,
      [...publicTemplate, ...identity(publicLabel, false), { type: pkcs11.CKA_VERIFY, value: true }],
      [...privateTemplate, ...identity(label), ...NEVER_LEAVES, { type: pkcs11.CKA_SIGN, value: true }]);
  });
  return { privateKey: getKeyInfo(slot, label, 'private'), publicKey: getKeyInfo(slot, publicLabel, 'public') };
}

/** The key type of a handle, or undefined for a type this module does not handle. */
export function keyTypeOf(session: Buffer, p11: pkcs11.PKCS11, handle: Buffer): HsmKeyType | undefined {
  const [type] = p11.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_KEY_TYPE }]);
  return KEY_TYPES.get(ulong(type!.value));
}

/** Reads the metadata of one object; only attributes that exist for its class are asked for. */
export function readKeyInfo(slot: HsmSlot, session: Buffer, p11: pkcs11.PKCS11, handle: Buffer): HsmKeyInfo {
  const [cls, type, label] = p11.C_GetAttributeValue(session, handle, [
    { type: pkcs11.CKA_CLASS }, { type: pkcs11.CKA_KEY_TYPE }, { type: pkcs11.CKA_LABEL },
  ]).map((a) => a.value);
  const keyClass = (Object.keys(CLASS_CODES) as HsmKeyClass[]).find((k) => CLASS_CODES[k] === ulong(cls!));
  const keyType = KEY_TYPES.get(ulong(type!));
  const text = label!.toString('utf8');
  if (!keyClass || !keyType) throw new HsmError('NOT_SUPPORTED', { operation: 'read key', slot: slot.id, label: text }, 'not an AES, RSA or EC key');
  const info: HsmKeyInfo = { slot: slot.id, label: text, keyClass, keyType, bits: 0 };
  const sizeAttribute = keyType === 'AES' ? pkcs11.CKA_VALUE_LEN : keyType === 'RSA' ? pkcs11.CKA_MODULUS : pkcs11.CKA_EC_PARAMS;
  const protection = keyClass === 'public' ? [] : [pkcs11.CKA_SENSITIVE, pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_ALWAYS_SENSITIVE, pkcs11.CKA_NEVER_EXTRACTABLE].map((type) => ({ type }));
  const [size, sensitive, extractable, alwaysSensitive, neverExtractable] = p11.C_GetAttributeValue(session, handle, [{ type: sizeAttribute }, ...protection]).map((a) => a.value);
  if (keyType === 'AES') info.bits = ulong(size!) * 8;
  else if (keyType === 'RSA') info.bits = size!.length * 8;
  else info.bits = (Object.values(CURVES).find((c) => c.oid.equals(size!)) ?? { bits: 0 }).bits;
  if (sensitive) info.sensitive = bool(sensitive);
  if (extractable) info.extractable = bool(extractable);
  if (alwaysSensitive) info.alwaysSensitive = bool(alwaysSensitive);
  if (neverExtractable) info.neverExtractable = bool(neverExtractable);
  return info;
}

export function getKeyInfo(slot: HsmSlot, label: string, keyClass: HsmKeyClass): HsmKeyInfo {
  return slot.withSession({ operation: 'getKeyInfo', label }, (session, p11) =>
    readKeyInfo(slot, session, p11, findKeyHandle(slot, session, p11, label, keyClass)));
}

/** An AES, RSA or EC key (certificates and data objects have no CKA_KEY_TYPE to ask for). */
function isKey(session: Buffer, p11: pkcs11.PKCS11, handle: Buffer): boolean {
  const [cls] = p11.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_CLASS }]);
  return Object.values(CLASS_CODES).includes(ulong(cls!.value)) && keyTypeOf(session, p11, handle) !== undefined;
}

/** Every AES, RSA and EC key on the slot's token. */
export function listKeys(slot: HsmSlot): HsmKeyInfo[] {
  return slot.withSession({ operation: 'listKeys' }, (session, p11) =>
    findHandles(slot, session, p11, [{ type: pkcs11.CKA_TOKEN, value: true }])
      .filter((h) => isKey(session, p11, h))
      .map((h) => readKeyInfo(slot, session, p11, h)));
}

/** The token keys carrying this label, of any class (Locate by name). */
export function findKeys(slot: HsmSlot, label: string): HsmKeyInfo[] {
  return slot.withSession({ operation: 'findKeys', label }, (session, p11) =>
    findHandles(slot, session, p11, [{ type: pkcs11.CKA_TOKEN, value: true }, { type: pkcs11.CKA_LABEL, value: label }])
      .filter((h) => isKey(session, p11, h))
      .map((h) => readKeyInfo(slot, session, p11, h)));
}

/**
 * The public key, for local verification and encryption. Public material only: the
 * modulus and exponent, or the EC point, which any token hands out.
 */
export function readPublicKey(slot: HsmSlot, label: string): KeyObject {
  return slot.withSession({ operation: 'readPublicKey', label }, (session, p11) => {
    const handle = findPublicKeyHandle(slot, session, p11, label);
    const info = readKeyInfo(slot, session, p11, handle);
    if (info.keyType === 'RSA') {
      const [n, e] = p11.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_MODULUS }, { type: pkcs11.CKA_PUBLIC_EXPONENT }]);
      return createPublicKey({ key: { kty: 'RSA', n: n!.value.toString('base64url'), e: e!.value.toString('base64url') }, format: 'jwk' });
    }
    const [params, point] = p11.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_EC_PARAMS }, { type: pkcs11.CKA_EC_POINT }]);
    const curve = (Object.keys(CURVES) as EcCurve[]).find((c) => CURVES[c].oid.equals(params!.value));
    if (!curve) throw new HsmError('NOT_SUPPORTED', { operation: 'readPublicKey', slot: slot.id, label }, 'unknown curve');
    const q = uncompressedPoint(point!.value, CURVES[curve].bits / 8);
    const half = (q.length - 1) / 2;
    return createPublicKey({ key: { kty: 'EC', crv: curve, x: q.subarray(1, 1 + half).toString('base64url'), y: q.subarray(1 + half).toString('base64url') }, format: 'jwk' });
  });
}

/** CKA_EC_POINT is a DER OCTET STRING around 04‖x‖y; some tokens give the raw point. */
function uncompressedPoint(value: Buffer, coordinateBytes: number): Buffer {
  const raw = 1 + 2 * coordinateBytes;
  if (value.length === raw && value[0] === 0x04) return value;
  if (value[0] === 0x04 && value[1] === raw && value.length === raw + 2) return value.subarray(2);
  throw new HsmError('NOT_SUPPORTED', { operation: 'readPublicKey' }, 'EC point is not an uncompressed point');
}

/**
 * Destroys the key with this label: a secret key, a lone public key, or both halves of a
 * pair (the private key `label` and its `label_pk`). Returns how many objects went.
 */
export function destroyKey(slot: HsmSlot, label: string): number {
  return slot.withSession({ operation: 'destroyKey', label }, (session, p11) => {
    const onToken = (l: string): Buffer[] => findHandles(slot, session, p11, [{ type: pkcs11.CKA_TOKEN, value: true }, { type: pkcs11.CKA_LABEL, value: l }]);
    const handles = onToken(label).filter((h) => isKey(session, p11, h)); // a certificate sharing the label stays
    if (handles.length === 0) throw new HsmError('NOT_FOUND', { operation: 'destroyKey', slot: slot.id, label });
    // Only a private key drags its `_pk` along: an AES key "x" says nothing about a key "x_pk".
    const isPair = handles.some((h) => ulong(p11.C_GetAttributeValue(session, h, [{ type: pkcs11.CKA_CLASS }])[0]!.value) === pkcs11.CKO_PRIVATE_KEY);
    const publicHalf = isPair ? findHandles(slot, session, p11, [
      { type: pkcs11.CKA_TOKEN, value: true }, { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY }, { type: pkcs11.CKA_LABEL, value: label + PUBLIC_KEY_SUFFIX },
    ]) : [];
    for (const h of [...handles, ...publicHalf]) p11.C_DestroyObject(session, h);
    return handles.length + publicHalf.length;
  });
}
