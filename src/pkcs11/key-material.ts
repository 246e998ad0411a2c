import { createPublicKey, X509Certificate } from 'node:crypto';
import { CKK } from './constants';

/**
 * The ASN.1 parser is loaded on first use: most applications never read a certificate's
 * subject, and every module load (C_Initialize) would otherwise pay for it.
 */
function asn1(): { AsnConvert: typeof import('@peculiar/asn1-schema').AsnConvert; Certificate: typeof import('@peculiar/asn1-x509').Certificate } {
  const { AsnConvert } = require('@peculiar/asn1-schema') as typeof import('@peculiar/asn1-schema');
  const { Certificate } = require('@peculiar/asn1-x509') as typeof import('@peculiar/asn1-x509');
  return { AsnConvert, Certificate };
}

/**
 * What PKCS#11 shows of public key material and certificates, read from SPKI and X.509
 * DER. Private key material never reaches the module: a private key's public attributes
 * come from its public half.
 */

/** DER OIDs for CKA_EC_PARAMS, by OpenSSL curve name (as Node reports it). */
const CURVES: ReadonlyArray<{ node: string; kmip: string; oid: string; bits: number }> = [
  { node: 'prime256v1', kmip: 'P256', oid: '06082a8648ce3d030107', bits: 256 },
  { node: 'secp384r1', kmip: 'P384', oid: '06052b81040022', bits: 384 },
  { node: 'secp521r1', kmip: 'P521', oid: '06052b81040023', bits: 521 },
  { node: 'secp256k1', kmip: 'SECP256K1', oid: '06052b8104000a', bits: 256 },
  { node: 'ed25519', kmip: 'CURVEED25519', oid: '06032b6570', bits: 255 },
  { node: 'ed448', kmip: 'CURVEED448', oid: '06032b6571', bits: 448 },
  { node: 'x25519', kmip: 'CURVE25519', oid: '06032b656e', bits: 255 },
];

/** CKA_EC_PARAMS → KMIP RecommendedCurve; also accepts the printable-string form of 3.0 for Edwards curves. */
export function curveFromEcParams(params: Uint8Array): { kmip: string; bits: number } | undefined {
  const hex = Buffer.from(params).toString('hex');
  const byOid = CURVES.find((c) => c.oid === hex);
  if (byOid) return byOid;
  const text = params[0] === 0x13 ? Buffer.from(params.subarray(2)).toString('latin1') : '';
  if (text === 'edwards25519') return CURVES.find((c) => c.node === 'ed25519');
  if (text === 'edwards448') return CURVES.find((c) => c.node === 'ed448');
  return undefined;
}

export function ecParamsForKmipCurve(kmip: string): Buffer | undefined {
  const c = CURVES.find((x) => x.kmip === kmip);
  return c ? Buffer.from(c.oid, 'hex') : undefined;
}

/** DER OCTET STRING around bytes (CKA_EC_POINT). */
export function derOctetString(bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x04]), derLength(bytes.length), bytes]);
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** DER INTEGER from big-endian magnitude bytes as X.509 stores them (CKA_SERIAL_NUMBER). */
function derInteger(content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x02]), derLength(content.length), content]);
}

export interface PublicKeyInfo {
  spki: Buffer;
  keyType: number;
  bits: number;
  modulus?: Buffer;
  publicExponent?: Buffer;
  ecParams?: Buffer;
  /** CKA_EC_POINT: a DER OCTET STRING of the encoded point. */
  ecPoint?: Buffer;
}

export function describePublicKey(spki: Buffer): PublicKeyInfo {
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const jwk = key.export({ format: 'jwk' });
  const b64 = (v: string | undefined): Buffer => Buffer.from(v ?? '', 'base64url');
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const modulus = b64(jwk.n);
      return { spki, keyType: CKK.RSA, bits: key.asymmetricKeyDetails?.modulusLength ?? modulus.length * 8, modulus, publicExponent: b64(jwk.e) };
    }
    case 'ec': {
      const curve = CURVES.find((c) => c.node === key.asymmetricKeyDetails?.namedCurve);
      const point = Buffer.concat([Buffer.from([0x04]), b64(jwk.x), b64(jwk.y)]);
      return { spki, keyType: CKK.EC, bits: curve?.bits ?? 0, ...(curve ? { ecParams: Buffer.from(curve.oid, 'hex') } : {}), ecPoint: derOctetString(point) };
    }
    case 'ed25519':
    case 'ed448':
    case 'x25519': {
      const curve = CURVES.find((c) => c.node === key.asymmetricKeyType) as (typeof CURVES)[number];
      return {
        spki, keyType: key.asymmetricKeyType === 'x25519' ? CKK.EC_MONTGOMERY : CKK.EC_EDWARDS, bits: curve.bits,
        ecParams: Buffer.from(curve.oid, 'hex'), ecPoint: derOctetString(b64(jwk.x)),
      };
    }
    default:
      return { spki, keyType: CKK.GENERIC_SECRET, bits: 0 };
  }
}

export interface CertificateInfo {
  der: Buffer;
  subject: Buffer;
  issuer: Buffer;
  serialNumber: Buffer;
  publicKey: PublicKeyInfo;
}

export function describeCertificate(der: Buffer): CertificateInfo {
  const { AsnConvert, Certificate } = asn1();
  const parsed = AsnConvert.parse(der, Certificate);
  const tbs = parsed.tbsCertificate;
  const spki = new X509Certificate(der).publicKey.export({ format: 'der', type: 'spki' });
  return {
    der,
    subject: Buffer.from(AsnConvert.serialize(tbs.subject)),
    issuer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    serialNumber: derInteger(new Uint8Array(tbs.serialNumber)),
    publicKey: describePublicKey(spki),
  };
}
