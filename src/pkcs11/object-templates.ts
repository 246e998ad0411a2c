import { createECDH, createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import {
  certificateObject, privateKeyObject, publicKeyObject, secretDataObject, symmetricKeyObject, USAGE_MASK,
  type KmipObject, type ObjectAttributes,
} from '../kmip/requests';
import { CKA, CKC, CKK, CKO, CKR } from './constants';
import { fail } from './errors';
import { curveFromEcParams } from './key-material';
import { APPLICATION_TAG_PREFIX, FALSE_TAG_PREFIX, ID_TAG_PREFIX, LOCAL_TAG } from './kms-object';
import type { Template } from './template';

/**
 * Standard PKCS#11 templates → KMIP. Only standard attributes are read: whatever
 * pkcs11-tool, OpenSSL or SunPKCS11 send must be enough. Attributes KMIP has no place for
 * (CKA_ID, CKA_APPLICATION) travel as p11kms tags.
 */

/** Attributes every template may carry for any object. */
const STORAGE = [CKA.CLASS, CKA.TOKEN, CKA.PRIVATE, CKA.MODIFIABLE, CKA.COPYABLE, CKA.DESTROYABLE, CKA.LABEL, CKA.UNIQUE_ID];
const KEY_COMMON = [...STORAGE, CKA.KEY_TYPE, CKA.ID, CKA.START_DATE, CKA.END_DATE, CKA.DERIVE, CKA.LOCAL, CKA.ALLOWED_MECHANISMS, CKA.KEY_GEN_MECHANISM];
const USAGE_ATTRIBUTES = [CKA.ENCRYPT, CKA.DECRYPT, CKA.SIGN, CKA.VERIFY, CKA.WRAP, CKA.UNWRAP, CKA.SIGN_RECOVER, CKA.VERIFY_RECOVER];
const PROTECTION = [CKA.SENSITIVE, CKA.EXTRACTABLE, CKA.ALWAYS_SENSITIVE, CKA.NEVER_EXTRACTABLE, CKA.WRAP_WITH_TRUSTED, CKA.ALWAYS_AUTHENTICATE, CKA.TRUSTED, CKA.WRAP_TEMPLATE, CKA.UNWRAP_TEMPLATE, CKA.DERIVE_TEMPLATE];

export const SECRET_KEY_ATTRIBUTES: ReadonlySet<number> = new Set([...KEY_COMMON, ...USAGE_ATTRIBUTES, ...PROTECTION, CKA.VALUE, CKA.VALUE_LEN, CKA.CHECK_VALUE]);
export const PUBLIC_KEY_ATTRIBUTES: ReadonlySet<number> = new Set([...KEY_COMMON, ...USAGE_ATTRIBUTES, CKA.TRUSTED, CKA.SUBJECT, CKA.PUBLIC_KEY_INFO, CKA.MODULUS, CKA.MODULUS_BITS, CKA.PUBLIC_EXPONENT, CKA.EC_PARAMS, CKA.EC_POINT, CKA.WRAP_TEMPLATE]);
export const PRIVATE_KEY_ATTRIBUTES: ReadonlySet<number> = new Set([...KEY_COMMON, ...USAGE_ATTRIBUTES, ...PROTECTION, CKA.SUBJECT, CKA.PUBLIC_KEY_INFO, CKA.MODULUS, CKA.PUBLIC_EXPONENT, CKA.PRIVATE_EXPONENT, CKA.PRIME_1, CKA.PRIME_2, CKA.EXPONENT_1, CKA.EXPONENT_2, CKA.COEFFICIENT, CKA.EC_PARAMS, CKA.VALUE]);
const CERTIFICATE_ATTRIBUTES: ReadonlySet<number> = new Set([...STORAGE, CKA.CERTIFICATE_TYPE, CKA.TRUSTED, CKA.CERTIFICATE_CATEGORY, CKA.CHECK_VALUE, CKA.START_DATE, CKA.END_DATE, CKA.PUBLIC_KEY_INFO, CKA.SUBJECT, CKA.ID, CKA.ISSUER, CKA.SERIAL_NUMBER, CKA.VALUE, CKA.URL, CKA.HASH_OF_SUBJECT_PUBLIC_KEY, CKA.HASH_OF_ISSUER_PUBLIC_KEY, CKA.JAVA_MIDP_SECURITY_DOMAIN, CKA.NAME_HASH_ALGORITHM]);
const DATA_ATTRIBUTES: ReadonlySet<number> = new Set([...STORAGE, CKA.APPLICATION, CKA.OBJECT_ID, CKA.VALUE]);

/** KMIP usage mask from CKA_ENCRYPT, CKA_SIGN...; undefined when the template names none. */
export function usageMask(t: Template): number | undefined {
  const bits: Array<[number, number]> = [
    [CKA.ENCRYPT, USAGE_MASK.Encrypt], [CKA.DECRYPT, USAGE_MASK.Decrypt], [CKA.SIGN, USAGE_MASK.Sign | USAGE_MASK.MACGenerate],
    [CKA.VERIFY, USAGE_MASK.Verify | USAGE_MASK.MACVerify], [CKA.WRAP, USAGE_MASK.WrapKey], [CKA.UNWRAP, USAGE_MASK.UnwrapKey],
    [CKA.DERIVE, USAGE_MASK.DeriveKey | USAGE_MASK.KeyAgreement],
  ];
  if (!bits.some(([type]) => t.has(type))) return undefined;
  return bits.reduce((mask, [type, bit]) => (t.bool(type) ? mask | bit : mask), 0);
}

const FLAG_ATTRIBUTES: ReadonlyArray<[number, string]> = [
  [CKA.PRIVATE, 'private'], [CKA.MODIFIABLE, 'modifiable'], [CKA.COPYABLE, 'copyable'], [CKA.DESTROYABLE, 'destroyable'],
];

/**
 * Label, tags (the slot's filter, CKA_ID, CKA_APPLICATION, storage flags set to FALSE, and
 * whether the module generated the key) and protection for a new object.
 */
export function commonAttributes(t: Template, slotTags: readonly string[], generated = false): ObjectAttributes {
  const tags = [...slotTags];
  for (const [type, name] of FLAG_ATTRIBUTES) if (t.bool(type) === false) tags.push(FALSE_TAG_PREFIX + name);
  if (generated) tags.push(LOCAL_TAG);
  const id = t.bytes(CKA.ID);
  if (id !== undefined && id.length > 0) tags.push(ID_TAG_PREFIX + id.toString('hex'));
  const application = t.string(CKA.APPLICATION);
  if (application) tags.push(APPLICATION_TAG_PREFIX + application);
  const a: ObjectAttributes = { tags };
  const label = t.string(CKA.LABEL);
  if (label !== undefined) a.label = label;
  const sensitive = t.bool(CKA.SENSITIVE);
  const extractable = t.bool(CKA.EXTRACTABLE);
  if (sensitive !== undefined) a.sensitive = sensitive;
  if (extractable !== undefined) a.extractable = extractable;
  return a;
}

function required(t: Template, type: number, what: string): Buffer {
  const v = t.bytes(type);
  if (v === undefined) fail(CKR.TEMPLATE_INCOMPLETE, `${what} needs ${type === CKA.VALUE ? 'CKA_VALUE' : `attribute 0x${type.toString(16)}`}`);
  return v;
}

const b64 = (b: Buffer): string => b.toString('base64url');

/** CKA_EC_POINT is a DER OCTET STRING; some applications pass the bare point. */
function unwrapPoint(point: Buffer): Buffer {
  if (point[0] === 0x04 && point.length > 2) {
    const lengthByte = point[1] as number;
    const headerLength = lengthByte & 0x80 ? 2 + (lengthByte & 0x7f) : 2;
    const length = lengthByte & 0x80 ? point.subarray(2, headerLength).reduce((n, b) => n * 256 + b, 0) : lengthByte;
    if (headerLength + length === point.length) return point.subarray(headerLength);
  }
  return point;
}

const JWK_CURVE: Readonly<Record<string, { jwk: string; node: string; bytes: number }>> = {
  P256: { jwk: 'P-256', node: 'prime256v1', bytes: 32 },
  P384: { jwk: 'P-384', node: 'secp384r1', bytes: 48 },
  P521: { jwk: 'P-521', node: 'secp521r1', bytes: 66 },
  SECP256K1: { jwk: 'secp256k1', node: 'secp256k1', bytes: 32 },
};

function publicKeyDer(t: Template, keyType: number): { der: Buffer; algorithm: string } {
  if (keyType === CKK.RSA) {
    const jwk: JsonWebKey = { kty: 'RSA', n: b64(required(t, CKA.MODULUS, 'an RSA public key')), e: b64(required(t, CKA.PUBLIC_EXPONENT, 'an RSA public key')) };
    return { der: createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'spki' }), algorithm: 'RSA' };
  }
  const curve = curveFromEcParams(required(t, CKA.EC_PARAMS, 'an EC public key'));
  if (!curve) fail(CKR.ATTRIBUTE_VALUE_INVALID, 'unsupported CKA_EC_PARAMS');
  const point = unwrapPoint(required(t, CKA.EC_POINT, 'an EC public key'));
  if (keyType === CKK.EC_EDWARDS) {
    const crv = curve.kmip === 'CURVEED448' ? 'Ed448' : 'Ed25519';
    return { der: createPublicKey({ key: { kty: 'OKP', crv, x: b64(point) }, format: 'jwk' }).export({ format: 'der', type: 'spki' }), algorithm: crv };
  }
  const c = JWK_CURVE[curve.kmip];
  if (!c || point[0] !== 0x04 || point.length !== 1 + 2 * c.bytes) fail(CKR.ATTRIBUTE_VALUE_INVALID, 'CKA_EC_POINT must be an uncompressed point on the curve');
  const jwk: JsonWebKey = { kty: 'EC', crv: c.jwk, x: b64(point.subarray(1, 1 + c.bytes)), y: b64(point.subarray(1 + c.bytes)) };
  return { der: createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'spki' }), algorithm: 'EC' };
}

const ED_PKCS8_PREFIX: Readonly<Record<string, string>> = {
  CURVEED25519: '302e020100300506032b657004220420',
  CURVEED448: '3047020100300506032b6571043b0439',
};

function privateKeyDer(t: Template, keyType: number): { der: Buffer; algorithm: string } {
  if (keyType === CKK.RSA) {
    const part = (type: number): string => b64(required(t, type, 'an RSA private key'));
    const jwk: JsonWebKey = {
      kty: 'RSA', n: part(CKA.MODULUS), e: part(CKA.PUBLIC_EXPONENT), d: part(CKA.PRIVATE_EXPONENT), p: part(CKA.PRIME_1),
      q: part(CKA.PRIME_2), dp: part(CKA.EXPONENT_1), dq: part(CKA.EXPONENT_2), qi: part(CKA.COEFFICIENT),
    };
    return { der: createPrivateKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' }), algorithm: 'RSA' };
  }
  const curve = curveFromEcParams(required(t, CKA.EC_PARAMS, 'an EC private key'));
  if (!curve) fail(CKR.ATTRIBUTE_VALUE_INVALID, 'unsupported CKA_EC_PARAMS');
  const value = required(t, CKA.VALUE, 'an EC private key');
  const edPrefix = ED_PKCS8_PREFIX[curve.kmip];
  if (keyType === CKK.EC_EDWARDS && edPrefix) {
    return { der: Buffer.concat([Buffer.from(edPrefix, 'hex'), value]), algorithm: curve.kmip === 'CURVEED448' ? 'Ed448' : 'Ed25519' };
  }
  const c = JWK_CURVE[curve.kmip];
  if (!c) fail(CKR.ATTRIBUTE_VALUE_INVALID, 'unsupported curve for an EC private key');
  const d = Buffer.concat([Buffer.alloc(Math.max(0, c.bytes - value.length)), value]);
  const ecdh = createECDH(c.node);
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey();
  const jwk: JsonWebKey = { kty: 'EC', crv: c.jwk, d: b64(d), x: b64(point.subarray(1, 1 + c.bytes)), y: b64(point.subarray(1 + c.bytes)) };
  return { der: createPrivateKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' }), algorithm: 'EC' };
}

/** C_CreateObject: the KMIP object to Register for a template, after checking it. */
export function objectFromTemplate(t: Template): KmipObject {
  const cls = t.ulong(CKA.CLASS);
  if (cls === undefined) fail(CKR.TEMPLATE_INCOMPLETE, 'CKA_CLASS is required');
  try {
    switch (cls) {
      case CKO.DATA:
        t.allowOnly(DATA_ATTRIBUTES, 'a data object');
        return secretDataObject(t.bytes(CKA.VALUE) ?? Buffer.alloc(0));
      case CKO.CERTIFICATE:
        t.allowOnly(CERTIFICATE_ATTRIBUTES, 'a certificate');
        t.expect(CKA.CERTIFICATE_TYPE, CKC.X_509);
        return certificateObject(required(t, CKA.VALUE, 'a certificate'));
      case CKO.SECRET_KEY: {
        t.allowOnly(SECRET_KEY_ATTRIBUTES, 'a secret key');
        const keyType = t.ulong(CKA.KEY_TYPE) ?? CKK.GENERIC_SECRET;
        const value = required(t, CKA.VALUE, 'a secret key');
        if (keyType === CKK.AES && ![16, 24, 32].includes(value.length)) fail(CKR.ATTRIBUTE_VALUE_INVALID, 'an AES key is 16, 24 or 32 bytes');
        if (keyType !== CKK.AES && keyType !== CKK.GENERIC_SECRET) fail(CKR.TEMPLATE_INCONSISTENT, 'only AES and generic secret keys');
        return symmetricKeyObject(value, keyType === CKK.AES ? 'AES' : 'HMACSHA256');
      }
      case CKO.PUBLIC_KEY: {
        t.allowOnly(PUBLIC_KEY_ATTRIBUTES, 'a public key');
        const { der, algorithm } = publicKeyDer(t, t.ulong(CKA.KEY_TYPE) ?? CKK.RSA);
        return publicKeyObject(der, 'X509', algorithm);
      }
      case CKO.PRIVATE_KEY: {
        t.allowOnly(PRIVATE_KEY_ATTRIBUTES, 'a private key');
        const { der, algorithm } = privateKeyDer(t, t.ulong(CKA.KEY_TYPE) ?? CKK.RSA);
        return privateKeyObject(der, 'PKCS8', algorithm);
      }
      default:
        return fail(CKR.ATTRIBUTE_VALUE_INVALID, `objects of class 0x${cls.toString(16)} cannot be created here`);
    }
  } catch (e) {
    // Node's key parsers reject inconsistent key material: that is the template's fault.
    if (e instanceof Error && !('rv' in e)) fail(CKR.ATTRIBUTE_VALUE_INVALID, `the key material is not valid: ${e.message}`);
    throw e;
  }
}
