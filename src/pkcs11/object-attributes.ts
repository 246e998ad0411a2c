import { USAGE_MASK } from '../kmip/requests';
import type { AttributeValue } from './attribute-kinds';
import { CKA, CKC, CKK, CKO, CKF } from './constants';
import type { PublicKeyInfo } from './key-material';
import { flag, keyType, LOCAL_TAG, objectClass, storedApplication, storedId, type KmsObject } from './kms-object';
import { MECHANISMS } from './mechanisms';
import type { ObjectStore } from './object-store';

/**
 * The one attribute map: how each PKCS#11 attribute of each object class is read from the
 * KMS object. An attribute that does not belong to the class is `invalid`
 * (CKR_ATTRIBUTE_TYPE_INVALID); secret values the module never discloses are `sensitive`.
 */
export type Outcome = { value: AttributeValue } | { sensitive: true } | { invalid: true };

export interface ObjectContext {
  object: KmsObject;
  cls: number;
  keyType: number;
  /** False for session objects (CKA_TOKEN=FALSE). */
  token: boolean;
  store: ObjectStore;
}

export function objectContext(object: KmsObject, store: ObjectStore, token: boolean): ObjectContext | undefined {
  const cls = objectClass(object);
  if (cls === undefined) return undefined;
  return { object, cls, keyType: keyType(object), token, store };
}

const INVALID: Outcome = { invalid: true };
const SENSITIVE: Outcome = { sensitive: true };
const ulong = (value: number): Outcome => ({ value: { kind: 'ulong', value } });
const bool = (value: boolean): Outcome => ({ value: { kind: 'bool', value } });
const bytes = (value: Uint8Array): Outcome => ({ value: { kind: 'bytes', value } });
const text = (value: string): Outcome => ({ value: { kind: 'string', value } });
const emptyDate: Outcome = { value: { kind: 'date', value: '' } };

const isKey = (c: ObjectContext): boolean => c.cls === CKO.SECRET_KEY || c.cls === CKO.PRIVATE_KEY || c.cls === CKO.PUBLIC_KEY;
const isSecretOrPrivate = (c: ObjectContext): boolean => c.cls === CKO.SECRET_KEY || c.cls === CKO.PRIVATE_KEY;
const isSecretOrPublic = (c: ObjectContext): boolean => c.cls === CKO.SECRET_KEY || c.cls === CKO.PUBLIC_KEY;
const isAsymmetric = (c: ObjectContext): boolean => c.cls === CKO.PRIVATE_KEY || c.cls === CKO.PUBLIC_KEY;

/** Secret and private keys are always private; data objects unless created with CKA_PRIVATE=FALSE. */
export function isPrivate(c: Pick<ObjectContext, 'cls' | 'object'>): boolean {
  if (c.cls === CKO.SECRET_KEY || c.cls === CKO.PRIVATE_KEY) return true;
  return c.cls === CKO.DATA && flag(c.object, 'private');
}

/** A usage the KMS mask allows; no mask (or Unrestricted) allows everything. */
function allows(o: KmsObject, bit: number): boolean {
  const mask = o.usageMask;
  if (mask === undefined || mask === 0 || (mask & USAGE_MASK.Unrestricted) !== 0) return true;
  return (mask & bit) !== 0;
}

function usage(applies: (c: ObjectContext) => boolean, bit: number): (c: ObjectContext) => Outcome {
  return (c) => (applies(c) ? bool(allows(c.object, bit)) : INVALID);
}

/** CKA_ID: what the creator set, else the UID of the private key a key pair shares. */
export function objectId(o: KmsObject): Buffer {
  const stored = storedId(o);
  if (stored) return stored;
  if (o.objectType === 'PublicKey' || o.objectType === 'Certificate') {
    const privateKey = o.links.get('PrivateKeyLink');
    if (privateKey !== undefined) return Buffer.from(privateKey, 'utf8');
    const publicKey = o.links.get('PublicKeyLink');
    if (o.objectType === 'Certificate' && publicKey !== undefined) return Buffer.from(publicKey.replace(/_pk$/, ''), 'utf8');
  }
  return Buffer.from(o.uid, 'utf8');
}

/** The operations a key's usage flags allow, as CKF_ mechanism flags. */
function usageFlags(c: ObjectContext): number {
  const o = c.object;
  let flags = 0;
  if (c.cls !== CKO.PUBLIC_KEY && allows(o, USAGE_MASK.Decrypt)) flags |= CKF.DECRYPT;
  if (c.cls !== CKO.PRIVATE_KEY && allows(o, USAGE_MASK.Encrypt)) flags |= CKF.ENCRYPT;
  if (c.cls !== CKO.PUBLIC_KEY && allows(o, USAGE_MASK.Sign)) flags |= CKF.SIGN;
  if (c.cls !== CKO.PRIVATE_KEY && allows(o, USAGE_MASK.Verify)) flags |= CKF.VERIFY;
  if (c.cls !== CKO.PRIVATE_KEY && allows(o, USAGE_MASK.WrapKey)) flags |= CKF.WRAP;
  if (c.cls !== CKO.PUBLIC_KEY && allows(o, USAGE_MASK.UnwrapKey)) flags |= CKF.UNWRAP;
  if (c.cls !== CKO.PUBLIC_KEY && allows(o, USAGE_MASK.DeriveKey | USAGE_MASK.KeyAgreement)) flags |= CKF.DERIVE;
  return flags;
}

export function allowedMechanisms(c: ObjectContext): number[] {
  const flags = usageFlags(c);
  return MECHANISMS.filter((m) => m.keyTypes.includes(c.keyType) && (m.flags & flags) !== 0).map((m) => m.type);
}

async function publicPart(c: ObjectContext, read: (p: PublicKeyInfo) => Uint8Array | undefined): Promise<Outcome> {
  const info = await c.store.publicKey(c.object);
  const v = info ? read(info) : undefined;
  return v ? bytes(v) : INVALID;
}

type Reader = (c: ObjectContext) => Outcome | Promise<Outcome>;

const READERS: ReadonlyMap<number, Reader> = new Map<number, Reader>([
  // Storage objects
  [CKA.CLASS, (c) => ulong(c.cls)],
  [CKA.TOKEN, (c) => bool(c.token)],
  [CKA.PRIVATE, (c) => bool(isPrivate(c))],
  [CKA.MODIFIABLE, (c) => bool(flag(c.object, 'modifiable'))],
  [CKA.COPYABLE, (c) => bool(flag(c.object, 'copyable') && c.cls !== CKO.PRIVATE_KEY && !(c.cls === CKO.SECRET_KEY && (c.object.sensitive || !c.object.extractable)))],
  [CKA.DESTROYABLE, (c) => bool(flag(c.object, 'destroyable'))],
  [CKA.LABEL, (c) => text(c.object.label ?? '')],
  [CKA.UNIQUE_ID, (c) => text(c.object.uid)],
  // Keys
  [CKA.KEY_TYPE, (c) => (isKey(c) ? ulong(c.keyType) : INVALID)],
  [CKA.ID, (c) => (c.cls === CKO.DATA ? INVALID : bytes(objectId(c.object)))],
  [CKA.START_DATE, (c) => (isKey(c) || c.cls === CKO.CERTIFICATE ? emptyDate : INVALID)],
  [CKA.END_DATE, (c) => (isKey(c) || c.cls === CKO.CERTIFICATE ? emptyDate : INVALID)],
  [CKA.DERIVE, usage(isKey, USAGE_MASK.DeriveKey | USAGE_MASK.KeyAgreement)],
  [CKA.LOCAL, (c) => (isKey(c) ? bool(c.object.tags.includes(LOCAL_TAG)) : INVALID)],
  [CKA.KEY_GEN_MECHANISM, (c) => (isKey(c) ? ulong(-1) : INVALID)],
  [CKA.ALLOWED_MECHANISMS, (c) => (isKey(c) ? { value: { kind: 'mechanisms', value: allowedMechanisms(c) } } : INVALID)],
  [CKA.ENCRYPT, usage(isSecretOrPublic, USAGE_MASK.Encrypt)],
  [CKA.DECRYPT, usage(isSecretOrPrivate, USAGE_MASK.Decrypt)],
  [CKA.SIGN, usage(isSecretOrPrivate, USAGE_MASK.Sign)],
  [CKA.VERIFY, usage(isSecretOrPublic, USAGE_MASK.Verify)],
  [CKA.WRAP, usage(isSecretOrPublic, USAGE_MASK.WrapKey)],
  [CKA.UNWRAP, usage(isSecretOrPrivate, USAGE_MASK.UnwrapKey)],
  [CKA.SIGN_RECOVER, (c) => (c.cls === CKO.PRIVATE_KEY ? bool(false) : INVALID)],
  [CKA.VERIFY_RECOVER, (c) => (c.cls === CKO.PUBLIC_KEY ? bool(false) : INVALID)],
  // Private keys never leave the KMS, whatever their Sensitive attribute says.
  [CKA.SENSITIVE, (c) => (c.cls === CKO.PRIVATE_KEY ? bool(true) : c.cls === CKO.SECRET_KEY ? bool(c.object.sensitive) : INVALID)],
  // The history is the KMS's (AlwaysSensitive, NeverExtractable): a key once readable, or
  // supplied from outside, is never shown as always sensitive, whatever it is now.
  [CKA.ALWAYS_SENSITIVE, (c) => (isSecretOrPrivate(c) ? bool(c.object.alwaysSensitive) : INVALID)],
  [CKA.EXTRACTABLE, (c) => (isSecretOrPrivate(c) ? bool(c.object.extractable) : INVALID)],
  [CKA.NEVER_EXTRACTABLE, (c) => (isSecretOrPrivate(c) ? bool(c.object.neverExtractable) : INVALID)],
  [CKA.WRAP_WITH_TRUSTED, (c) => (isSecretOrPrivate(c) ? bool(false) : INVALID)],
  [CKA.ALWAYS_AUTHENTICATE, (c) => (c.cls === CKO.PRIVATE_KEY ? bool(false) : INVALID)],
  [CKA.TRUSTED, (c) => (isSecretOrPublic(c) || c.cls === CKO.CERTIFICATE ? bool(false) : INVALID)],
  [CKA.VALUE_LEN, (c) => (c.cls === CKO.SECRET_KEY ? ulong(Math.ceil((c.object.length ?? 0) / 8)) : INVALID)],
  [CKA.SUBJECT, async (c) => {
    if (c.cls === CKO.CERTIFICATE) return bytes((await c.store.certificate(c.object)).subject);
    return isAsymmetric(c) ? bytes(new Uint8Array()) : INVALID;
  }],
  [CKA.PUBLIC_KEY_INFO, (c) => (isAsymmetric(c) || c.cls === CKO.CERTIFICATE ? publicPart(c, (p) => p.spki) : INVALID)],
  [CKA.MODULUS, (c) => (isAsymmetric(c) && c.keyType === CKK.RSA ? publicPart(c, (p) => p.modulus) : INVALID)],
  [CKA.PUBLIC_EXPONENT, (c) => (isAsymmetric(c) && c.keyType === CKK.RSA ? publicPart(c, (p) => p.publicExponent) : INVALID)],
  [CKA.MODULUS_BITS, async (c) => {
    if (c.cls !== CKO.PUBLIC_KEY || c.keyType !== CKK.RSA) return INVALID;
    return ulong((await c.store.publicKey(c.object))?.bits ?? c.object.length ?? 0);
  }],
  [CKA.EC_PARAMS, (c) => (isAsymmetric(c) && c.keyType !== CKK.RSA ? publicPart(c, (p) => p.ecParams) : INVALID)],
  [CKA.EC_POINT, (c) => (c.cls === CKO.PUBLIC_KEY && c.keyType !== CKK.RSA ? publicPart(c, (p) => p.ecPoint) : INVALID)],
  [CKA.PRIVATE_EXPONENT, (c) => (c.cls === CKO.PRIVATE_KEY && c.keyType === CKK.RSA ? SENSITIVE : INVALID)],
  [CKA.PRIME_1, (c) => (c.cls === CKO.PRIVATE_KEY && c.keyType === CKK.RSA ? SENSITIVE : INVALID)],
  [CKA.PRIME_2, (c) => (c.cls === CKO.PRIVATE_KEY && c.keyType === CKK.RSA ? SENSITIVE : INVALID)],
  [CKA.EXPONENT_1, (c) => (c.cls === CKO.PRIVATE_KEY && c.keyType === CKK.RSA ? SENSITIVE : INVALID)],
  [CKA.EXPONENT_2, (c) => (c.cls === CKO.PRIVATE_KEY && c.keyType === CKK.RSA ? SENSITIVE : INVALID)],
  [CKA.COEFFICIENT, (c) => (c.cls === CKO.PRIVATE_KEY && c.keyType === CKK.RSA ? SENSITIVE : INVALID)],
  [CKA.VALUE, async (c) => {
    switch (c.cls) {
      case CKO.PRIVATE_KEY: return c.keyType === CKK.RSA ? INVALID : SENSITIVE;
      case CKO.SECRET_KEY: return c.object.sensitive || !c.object.extractable ? SENSITIVE : bytes(await c.store.value(c.object));
      case CKO.DATA: return bytes(await c.store.value(c.object));
      case CKO.CERTIFICATE: return bytes((await c.store.certificate(c.object)).der);
      default: return INVALID;
    }
  }],
  // Certificates
  [CKA.CERTIFICATE_TYPE, (c) => (c.cls === CKO.CERTIFICATE ? ulong(CKC.X_509) : INVALID)],
  [CKA.CERTIFICATE_CATEGORY, (c) => (c.cls === CKO.CERTIFICATE ? ulong(0) : INVALID)],
  [CKA.ISSUER, async (c) => (c.cls === CKO.CERTIFICATE ? bytes((await c.store.certificate(c.object)).issuer) : INVALID)],
  [CKA.SERIAL_NUMBER, async (c) => (c.cls === CKO.CERTIFICATE ? bytes((await c.store.certificate(c.object)).serialNumber) : INVALID)],
  [CKA.URL, (c) => (c.cls === CKO.CERTIFICATE ? text('') : INVALID)],
  [CKA.HASH_OF_SUBJECT_PUBLIC_KEY, (c) => (c.cls === CKO.CERTIFICATE ? bytes(new Uint8Array()) : INVALID)],
  [CKA.HASH_OF_ISSUER_PUBLIC_KEY, (c) => (c.cls === CKO.CERTIFICATE ? bytes(new Uint8Array()) : INVALID)],
  [CKA.JAVA_MIDP_SECURITY_DOMAIN, (c) => (c.cls === CKO.CERTIFICATE ? ulong(0) : INVALID)],
  // Data objects
  [CKA.APPLICATION, (c) => (c.cls === CKO.DATA ? text(storedApplication(c.object) ?? '') : INVALID)],
  [CKA.OBJECT_ID, (c) => (c.cls === CKO.DATA ? bytes(new Uint8Array()) : INVALID)],
]);

export async function readAttribute(c: ObjectContext, type: number): Promise<Outcome> {
  const reader = READERS.get(type);
  return reader ? reader(c) : INVALID;
}
