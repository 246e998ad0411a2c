import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';

/**
 * Key formats KMIP names, as plain data. Node's JWK export and import carry every component
 * we need (RSA CRT values, EC coordinates and private scalar, OKP keys), so the transparent
 * forms go through JWK and the DER forms through node's own encoders.
 */

export type PrivateKeyFormat = 'PKCS8' | 'PKCS1' | 'ECPrivateKey' | 'Raw' | 'TransparentRSAPrivateKey' | 'TransparentECPrivateKey';
export type PublicKeyFormat = 'SPKI' | 'PKCS1' | 'Raw' | 'TransparentRSAPublicKey' | 'TransparentECPublicKey';
export type OkpKind = 'Ed25519' | 'Ed448' | 'X25519' | 'X448';

export interface TransparentRsaPrivate {
  modulus: bigint; privateExponent: bigint; publicExponent: bigint; p: bigint; q: bigint;
  primeExponentP: bigint; primeExponentQ: bigint; crtCoefficient: bigint;
}
export interface TransparentRsaPublic { modulus: bigint; publicExponent: bigint }
export interface TransparentEcPrivate { curve: string; d: bigint }
export interface TransparentEcPublic { curve: string; q: Buffer }

const JWK_CURVE: Readonly<Record<string, { crv: string; bytes: number }>> = {
  P256: { crv: 'P-256', bytes: 32 }, P384: { crv: 'P-384', bytes: 48 }, P521: { crv: 'P-521', bytes: 66 }, SECP256K1: { crv: 'secp256k1', bytes: 32 },
};
const KMIP_CURVE: Readonly<Record<string, string>> = { 'P-256': 'P256', 'P-384': 'P384', 'P-521': 'P521', secp256k1: 'SECP256K1' };

const b64 = (b: Buffer): string => b.toString('base64url');
const unb64 = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');

function toBig(s: string | undefined): bigint {
  const b = unb64(s);
  return b.length === 0 ? 0n : BigInt('0x' + b.toString('hex'));
}

function fromBig(n: bigint, bytes?: number): string {
  if (n < 0n) throw new KmipError('Invalid_Field', 'key components cannot be negative');
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const b = Buffer.from(hex, 'hex');
  return b64(bytes !== undefined && b.length < bytes ? Buffer.concat([Buffer.alloc(bytes - b.length), b]) : b);
}

function invalid(what: string): KmipError {
  return new KmipError('Invalid_Field', `the key material is not a valid ${what}`);
}

function attempt<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KmipError) throw e;
    throw invalid(what);
  }
}

export function importPrivateKey(format: PrivateKeyFormat, material: Buffer | TransparentRsaPrivate | TransparentEcPrivate, okp?: OkpKind): KeyObject {
  return attempt(`${format} private key`, () => {
    switch (format) {
      case 'PKCS8':
        return createPrivateKey({ key: material as Buffer, format: 'der', type: 'pkcs8' });
      case 'PKCS1':
        return createPrivateKey({ key: material as Buffer, format: 'der', type: 'pkcs1' });
      case 'ECPrivateKey':
        return createPrivateKey({ key: material as Buffer, format: 'der', type: 'sec1' });
      case 'Raw': {
        if (!okp) throw new KmipError('Invalid_Field', 'a Raw private key needs its algorithm');
        // JWK import would need the public half too; RFC 8410 PKCS#8 carries the seed alone.
        return createPrivateKey({ key: okpPkcs8(okp, material as Buffer), format: 'der', type: 'pkcs8' });
      }
      case 'TransparentRSAPrivateKey': {
        const r = material as TransparentRsaPrivate;
        const jwk: JsonWebKey = { kty: 'RSA', n: fromBig(r.modulus), e: fromBig(r.publicExponent), d: fromBig(r.privateExponent), p: fromBig(r.p), q: fromBig(r.q), dp: fromBig(r.primeExponentP), dq: fromBig(r.primeExponentQ), qi: fromBig(r.crtCoefficient) };
        return createPrivateKey({ key: jwk, format: 'jwk' });
      }
      case 'TransparentECPrivateKey': {
        const ec = material as TransparentEcPrivate;
        const curve = JWK_CURVE[ec.curve];
        if (!curve) throw new KmipError('Feature_Not_Supported', `curve ${ec.curve} is not supported`);
        // Node needs the public point with the scalar: derive it through a PKCS#8 round trip.
        const d = Buffer.from(fromBig(ec.d, curve.bytes), 'base64url');
        return createPrivateKey({ key: ecPkcs8(ec.curve, d), format: 'der', type: 'pkcs8' });
      }
    }
  });
}

export function exportPrivateKey(key: KeyObject, format: PrivateKeyFormat): Buffer | TransparentRsaPrivate | TransparentEcPrivate {
  const type = key.asymmetricKeyType;
  switch (format) {
    case 'PKCS8':
      return key.export({ format: 'der', type: 'pkcs8' });
    case 'PKCS1':
      if (type !== 'rsa') throw new KmipError('Key_Format_Type_Not_Supported', 'PKCS1 is for RSA keys');
      return key.export({ format: 'der', type: 'pkcs1' });
    case 'ECPrivateKey':
      if (type !== 'ec') throw new KmipError('Key_Format_Type_Not_Supported', 'ECPrivateKey is for EC keys');
      return key.export({ format: 'der', type: 'sec1' });
    case 'Raw': {
      if (!type || !['ed25519', 'ed448', 'x25519', 'x448'].includes(type)) throw new KmipError('Key_Format_Type_Not_Supported', 'Raw private keys are Edwards or Montgomery keys');
      return unb64(key.export({ format: 'jwk' }).d);
    }
    case 'TransparentRSAPrivateKey': {
      if (type !== 'rsa') throw new KmipError('Key_Format_Type_Not_Supported', 'TransparentRSAPrivateKey is for RSA keys');
      const j = key.export({ format: 'jwk' });
      return { modulus: toBig(j.n), publicExponent: toBig(j.e), privateExponent: toBig(j.d), p: toBig(j.p), q: toBig(j.q), primeExponentP: toBig(j.dp), primeExponentQ: toBig(j.dq), crtCoefficient: toBig(j.qi) };
    }
    case 'TransparentECPrivateKey': {
      if (type !== 'ec') throw new KmipError('Key_Format_Type_Not_Supported', 'TransparentECPrivateKey is for EC keys');
      const j = key.export({ format: 'jwk' });
      return { curve: KMIP_CURVE[j.crv ?? ''] ?? String(j.crv), d: toBig(j.d) };
    }
  }
}

export function importPublicKey(format: PublicKeyFormat, material: Buffer | TransparentRsaPublic | TransparentEcPublic, okp?: OkpKind): KeyObject {
  return attempt(`${format} public key`, () => {
    switch (format) {
      case 'SPKI':
        return createPublicKey({ key: material as Buffer, format: 'der', type: 'spki' });
      case 'PKCS1':
        return createPublicKey({ key: material as Buffer, format: 'der', type: 'pkcs1' });
      case 'Raw':
        if (!okp) throw new KmipError('Invalid_Field', 'a Raw public key needs its algorithm');
        return createPublicKey({ key: { kty: 'OKP', crv: okp, x: b64(material as Buffer) }, format: 'jwk' });
      case 'TransparentRSAPublicKey': {
        const r = material as TransparentRsaPublic;
        return createPublicKey({ key: { kty: 'RSA', n: fromBig(r.modulus), e: fromBig(r.publicExponent) }, format: 'jwk' });
      }
      case 'TransparentECPublicKey': {
        const ec = material as TransparentEcPublic;
        const curve = JWK_CURVE[ec.curve];
        if (curve) {
          if (ec.q.length !== 1 + 2 * curve.bytes || ec.q[0] !== 4) throw invalid('uncompressed EC point');
          return createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64(ec.q.subarray(1, 1 + curve.bytes)), y: b64(ec.q.subarray(1 + curve.bytes)) }, format: 'jwk' });
        }
        const okpCurve = ({ CURVE25519: 'X25519', CURVEED25519: 'Ed25519', CURVE448: 'X448', CURVEED448: 'Ed448' } as Record<string, string>)[ec.curve];
        if (!okpCurve) throw new KmipError('Feature_Not_Supported', `curve ${ec.curve} is not supported`);
        return createPublicKey({ key: { kty: 'OKP', crv: okpCurve, x: b64(ec.q) }, format: 'jwk' });
      }
    }
  });
}

export function exportPublicKey(key: KeyObject, format: PublicKeyFormat): Buffer | TransparentRsaPublic | TransparentEcPublic {
  const type = key.asymmetricKeyType;
  const j = (): JsonWebKey => key.export({ format: 'jwk' });
  switch (format) {
    case 'SPKI':
      return key.export({ format: 'der', type: 'spki' });
    case 'PKCS1':
      if (type !== 'rsa') throw new KmipError('Key_Format_Type_Not_Supported', 'PKCS1 is for RSA keys');
      return key.export({ format: 'der', type: 'pkcs1' });
    case 'Raw':
      if (!type || !['ed25519', 'ed448', 'x25519', 'x448'].includes(type)) throw new KmipError('Key_Format_Type_Not_Supported', 'Raw public keys are Edwards or Montgomery keys');
      return unb64(j().x);
    case 'TransparentRSAPublicKey': {
      if (type !== 'rsa') throw new KmipError('Key_Format_Type_Not_Supported', 'TransparentRSAPublicKey is for RSA keys');
      const k = j();
      return { modulus: toBig(k.n), publicExponent: toBig(k.e) };
    }
    case 'TransparentECPublicKey': {
      const k = j();
      if (type === 'ec') {
        const curve = KMIP_CURVE[k.crv ?? ''] ?? String(k.crv);
        return { curve, q: Buffer.concat([Buffer.from([4]), unb64(k.x), unb64(k.y)]) };
      }
      const okpName = ({ X25519: 'CURVE25519', Ed25519: 'CURVEED25519', X448: 'CURVE448', Ed448: 'CURVEED448' } as Record<string, string>)[k.crv ?? ''];
      if (!okpName) throw new KmipError('Key_Format_Type_Not_Supported', 'TransparentECPublicKey is for EC keys');
      return { curve: okpName, q: unb64(k.x) };
    }
  }
}

// ---- DER helpers for keys node cannot import from bare scalars --------------------------

const OKP_OID: Readonly<Record<OkpKind, string>> = { X25519: '2b656e', X448: '2b656f', Ed25519: '2b6570', Ed448: '2b6571' };
const OKP_LEN: Readonly<Record<OkpKind, number>> = { X25519: 32, X448: 56, Ed25519: 32, Ed448: 57 };

function der(tag: number, content: Buffer): Buffer {
  const len = content.length;
  const header = len < 0x80 ? Buffer.from([tag, len]) : len < 0x100 ? Buffer.from([tag, 0x81, len]) : Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([header, content]);
}

/** PKCS#8 for an Edwards/Montgomery seed (RFC 8410): the public key is derived on import. */
function okpPkcs8(kind: OkpKind, seed: Buffer): Buffer {
  if (seed.length !== OKP_LEN[kind]) throw invalid(`${kind} private key (${OKP_LEN[kind]} bytes)`);
  return der(0x30, Buffer.concat([
    Buffer.from('020100', 'hex'),
    der(0x30, der(0x06, Buffer.from(OKP_OID[kind], 'hex'))),
    der(0x04, der(0x04, seed)),
  ]));
}

const EC_OID: Readonly<Record<string, string>> = { P256: '2a8648ce3d030107', P384: '2b81040022', P521: '2b81040023', SECP256K1: '2b8104000a' };

/** PKCS#8 with a bare EC scalar (no public point): OpenSSL computes the point on import. */
function ecPkcs8(curve: string, d: Buffer): Buffer {
  const oid = EC_OID[curve];
  if (!oid) throw new KmipError('Feature_Not_Supported', `curve ${curve} is not supported`);
  const ecPrivateKey = der(0x30, Buffer.concat([Buffer.from('020101', 'hex'), der(0x04, d)]));
  return der(0x30, Buffer.concat([
    Buffer.from('020100', 'hex'),
    der(0x30, Buffer.concat([der(0x06, Buffer.from('2a8648ce3d0201', 'hex')), der(0x06, Buffer.from(oid, 'hex'))])),
    der(0x04, ecPrivateKey),
  ]));
}
