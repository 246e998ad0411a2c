import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { bigFromBytes, bigToBytes } from './bigint';
import { OKP, okpByKmipCurve, okpByNode, weierstrass, type OkpKind } from './curves';
import { ecPkcs8, okpPkcs8 } from './key-der';
import { recoverCrt } from './rsa-crt';

/**
 * Key formats KMIP names, as plain data. Node's JWK export and import carry every component
 * we need (RSA CRT values, EC coordinates and private scalar, OKP keys), so the transparent
 * forms go through JWK and the DER forms through node's own encoders.
 */

export type { OkpKind } from './curves';
export { describeKey, publicFromPrivate, type KeyDescription } from './describe';
export { curveFromOid, curveOid } from './curves';

export type PrivateKeyFormat = 'PKCS8' | 'PKCS1' | 'ECPrivateKey' | 'Raw' | 'TransparentRSAPrivateKey' | 'TransparentECPrivateKey';
/** 'SPKI' is what KMIP calls X509 for a public key. */
export type PublicKeyFormat = 'SPKI' | 'PKCS1' | 'Raw' | 'TransparentRSAPublicKey' | 'TransparentECPublicKey';

export interface TransparentRsaPrivate {
  modulus: bigint; privateExponent: bigint; publicExponent: bigint; p: bigint; q: bigint;
  primeExponentP: bigint; primeExponentQ: bigint; crtCoefficient: bigint;
}
/** On import the CRT values may be absent (KMIP makes them optional): they are recomputed. */
export type TransparentRsaPrivateInput = Pick<TransparentRsaPrivate, 'modulus' | 'privateExponent' | 'publicExponent'> & Partial<TransparentRsaPrivate>;
export interface TransparentRsaPublic { modulus: bigint; publicExponent: bigint }
/** curve: KMIP name (P256, P384, P521, SECP256K1). */
export interface TransparentEcPrivate { curve: string; d: bigint }
/** q: the uncompressed point for Weierstrass curves; the raw key for CURVE25519 / CURVEED25519 / CURVE448 / CURVEED448. */
export interface TransparentEcPublic { curve: string; q: Buffer }

export type PrivateMaterial = Buffer | TransparentRsaPrivate | TransparentEcPrivate;
export type PublicMaterial = Buffer | TransparentRsaPublic | TransparentEcPublic;

const b64 = (b: Buffer): string => b.toString('base64url');
const unb64 = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');
const big64 = (s: string | undefined): bigint => bigFromBytes(unb64(s));
const b64big = (n: bigint): string => b64(bigToBytes(n));

function invalid(what: string): KmipError {
  return new KmipError('Invalid_Field', `the key material is not a valid ${what}`);
}

function wrongKind(format: string, expected: string): KmipError {
  return new KmipError('Key_Format_Type_Not_Supported', `${format} is for ${expected} keys`);
}

/** Node's parse errors may quote the input: replace them so no key bytes reach a message. */
function attempt<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KmipError) throw e;
    throw invalid(what);
  }
}

function asBuffer(material: unknown, format: string): Buffer {
  if (!Buffer.isBuffer(material)) throw new KmipError('Invalid_Field', `${format} key material is a byte string`);
  return material;
}

function rsaPrivateJwk(r: TransparentRsaPrivateInput): JsonWebKey {
  const crt = r.p !== undefined && r.q !== undefined && r.primeExponentP !== undefined && r.primeExponentQ !== undefined && r.crtCoefficient !== undefined
    ? { p: r.p, q: r.q, dp: r.primeExponentP, dq: r.primeExponentQ, qi: r.crtCoefficient }
    : recoverCrt(r.modulus, r.publicExponent, r.privateExponent);
  if (crt.p * crt.q !== r.modulus) throw invalid('RSA private key (P × Q ≠ modulus)');
  return {
    kty: 'RSA', n: b64big(r.modulus), e: b64big(r.publicExponent), d: b64big(r.privateExponent),
    p: b64big(crt.p), q: b64big(crt.q), dp: b64big(crt.dp), dq: b64big(crt.dq), qi: b64big(crt.qi),
  };
}

function ecPrivateKey(ec: TransparentEcPrivate): KeyObject {
  const curve = weierstrass(ec.curve);
  // OpenSSL would take d ≥ n as is: a different key in disguise.
  if (ec.d <= 0n || ec.d >= curve.order) throw invalid(`${curve.kmip} private scalar (outside [1, n − 1])`);
  const derived = createPrivateKey({ key: ecPkcs8(curve.kmip, bigToBytes(ec.d, curve.bytes)), format: 'der', type: 'pkcs8' });
  const jwk = derived.export({ format: 'jwk' });
  // Re-import with the derived point, so later DER exports carry the public key as usual.
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

/** okp: which Edwards/Montgomery algorithm a 'Raw' seed belongs to (Raw carries no OID). */
export function importPrivateKey(format: PrivateKeyFormat, material: Buffer | TransparentRsaPrivateInput | TransparentEcPrivate, okp?: OkpKind): KeyObject {
  return attempt(`${format} private key`, () => {
    switch (format) {
      case 'PKCS8':
        return createPrivateKey({ key: asBuffer(material, format), format: 'der', type: 'pkcs8' });
      case 'PKCS1':
        return createPrivateKey({ key: asBuffer(material, format), format: 'der', type: 'pkcs1' });
      case 'ECPrivateKey':
        return createPrivateKey({ key: asBuffer(material, format), format: 'der', type: 'sec1' });
      case 'Raw':
        if (!okp) throw new KmipError('Invalid_Field', 'a Raw private key needs its algorithm');
        return createPrivateKey({ key: okpPkcs8(okp, asBuffer(material, format)), format: 'der', type: 'pkcs8' });
      case 'TransparentRSAPrivateKey':
        return createPrivateKey({ key: rsaPrivateJwk(material as TransparentRsaPrivateInput), format: 'jwk' });
      case 'TransparentECPrivateKey':
        return ecPrivateKey(material as TransparentEcPrivate);
    }
  });
}

export function exportPrivateKey(key: KeyObject, format: 'PKCS8' | 'PKCS1' | 'ECPrivateKey' | 'Raw'): Buffer;
export function exportPrivateKey(key: KeyObject, format: 'TransparentRSAPrivateKey'): TransparentRsaPrivate;
export function exportPrivateKey(key: KeyObject, format: 'TransparentECPrivateKey'): TransparentEcPrivate;
export function exportPrivateKey(key: KeyObject, format: PrivateKeyFormat): PrivateMaterial;
export function exportPrivateKey(key: KeyObject, format: PrivateKeyFormat): PrivateMaterial {
  if (key.type !== 'private') throw new KmipError('Invalid_Object_Type', 'not a private key');
  const type = key.asymmetricKeyType;
  switch (format) {
    case 'PKCS8':
      return key.export({ format: 'der', type: 'pkcs8' });
    case 'PKCS1':
      if (type !== 'rsa') throw wrongKind(format, 'RSA');
      return key.export({ format: 'der', type: 'pkcs1' });
    case 'ECPrivateKey':
      if (type !== 'ec') throw wrongKind(format, 'EC');
      return key.export({ format: 'der', type: 'sec1' });
    case 'Raw':
      if (!okpByNode(type)) throw wrongKind('Raw', 'Edwards or Montgomery');
      return unb64(key.export({ format: 'jwk' }).d);
    case 'TransparentRSAPrivateKey': {
      if (type !== 'rsa') throw wrongKind(format, 'RSA');
      const j = key.export({ format: 'jwk' });
      return {
        modulus: big64(j.n), publicExponent: big64(j.e), privateExponent: big64(j.d), p: big64(j.p), q: big64(j.q),
        primeExponentP: big64(j.dp), primeExponentQ: big64(j.dq), crtCoefficient: big64(j.qi),
      };
    }
    case 'TransparentECPrivateKey': {
      if (type !== 'ec') throw wrongKind(format, 'EC');
      const j = key.export({ format: 'jwk' });
      return { curve: weierstrass(j.crv ?? '').kmip, d: big64(j.d) };
    }
  }
}

function ecPublicKey(ec: TransparentEcPublic): KeyObject {
  const okp = okpByKmipCurve(ec.curve);
  if (okp) {
    if (ec.q.length !== okp.publicBytes) throw invalid(`${okp.kind} public key (${okp.publicBytes} bytes)`);
    return createPublicKey({ key: { kty: 'OKP', crv: okp.kind, x: b64(ec.q) }, format: 'jwk' });
  }
  const curve = weierstrass(ec.curve);
  // Compressed points would need a square root mod p; Cosmian sends uncompressed ones.
  if (ec.q.length !== 1 + 2 * curve.bytes || ec.q[0] !== 4) throw invalid('uncompressed EC point');
  return createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x: b64(ec.q.subarray(1, 1 + curve.bytes)), y: b64(ec.q.subarray(1 + curve.bytes)) }, format: 'jwk' });
}

export function importPublicKey(format: PublicKeyFormat, material: PublicMaterial, okp?: OkpKind): KeyObject {
  return attempt(`${format} public key`, () => {
    switch (format) {
      case 'SPKI':
        return createPublicKey({ key: asBuffer(material, format), format: 'der', type: 'spki' });
      case 'PKCS1':
        return createPublicKey({ key: asBuffer(material, format), format: 'der', type: 'pkcs1' });
      case 'Raw': {
        if (!okp) throw new KmipError('Invalid_Field', 'a Raw public key needs its algorithm');
        const raw = asBuffer(material, format);
        if (raw.length !== OKP[okp].publicBytes) throw invalid(`${okp} public key (${OKP[okp].publicBytes} bytes)`);
        return createPublicKey({ key: { kty: 'OKP', crv: okp, x: b64(raw) }, format: 'jwk' });
      }
      case 'TransparentRSAPublicKey': {
        const r = material as TransparentRsaPublic;
        return createPublicKey({ key: { kty: 'RSA', n: b64big(r.modulus), e: b64big(r.publicExponent) }, format: 'jwk' });
      }
      case 'TransparentECPublicKey':
        return ecPublicKey(material as TransparentEcPublic);
    }
  });
}

export function exportPublicKey(key: KeyObject, format: 'SPKI' | 'PKCS1' | 'Raw'): Buffer;
export function exportPublicKey(key: KeyObject, format: 'TransparentRSAPublicKey'): TransparentRsaPublic;
export function exportPublicKey(key: KeyObject, format: 'TransparentECPublicKey'): TransparentEcPublic;
export function exportPublicKey(key: KeyObject, format: PublicKeyFormat): PublicMaterial;
export function exportPublicKey(key: KeyObject, format: PublicKeyFormat): PublicMaterial {
  // A private KeyObject exports its public half through createPublicKey.
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.type !== 'public') throw new KmipError('Invalid_Object_Type', 'not an asymmetric key');
  const type = pub.asymmetricKeyType;
  const okp = okpByNode(type);
  switch (format) {
    case 'SPKI':
      return pub.export({ format: 'der', type: 'spki' });
    case 'PKCS1':
      if (type !== 'rsa') throw wrongKind(format, 'RSA');
      return pub.export({ format: 'der', type: 'pkcs1' });
    case 'Raw':
      if (!okp) throw wrongKind('Raw', 'Edwards or Montgomery');
      return unb64(pub.export({ format: 'jwk' }).x);
    case 'TransparentRSAPublicKey': {
      if (type !== 'rsa') throw wrongKind(format, 'RSA');
      const j = pub.export({ format: 'jwk' });
      return { modulus: big64(j.n), publicExponent: big64(j.e) };
    }
    case 'TransparentECPublicKey': {
      const j = pub.export({ format: 'jwk' });
      if (okp) return { curve: okp.kmipCurve, q: unb64(j.x) };
      if (type !== 'ec') throw wrongKind(format, 'EC, Edwards or Montgomery');
      const curve = weierstrass(j.crv ?? '');
      return { curve: curve.kmip, q: Buffer.concat([Buffer.from([4]), bigToBytes(big64(j.x), curve.bytes), bigToBytes(big64(j.y), curve.bytes)]) };
    }
  }
}
