import { KmipError } from '../../kmip/errors';

/**
 * The one table of curve names. KMIP, OpenSSL (node), JWK and ASN.1 each spell a curve
 * differently; every conversion in the engine goes through here so they cannot drift apart.
 */

export type WeierstrassCurve = 'P256' | 'P384' | 'P521' | 'SECP256K1';
export type OkpKind = 'Ed25519' | 'Ed448' | 'X25519' | 'X448';

export interface WeierstrassInfo {
  kmip: WeierstrassCurve;
  /** node's namedCurve, as KeyObject.asymmetricKeyDetails reports it. */
  node: string;
  jwk: string;
  /** Dotted form of the namedCurve OID (RFC 5480 / SEC 2). */
  oid: string;
  /** Size of a field element, hence of d, x and y. */
  bytes: number;
  bits: number;
  /** Group order n: a private scalar must lie in [1, n − 1]. */
  order: bigint;
}

export interface OkpInfo {
  kind: OkpKind;
  /** node's asymmetricKeyType. */
  node: 'ed25519' | 'ed448' | 'x25519' | 'x448';
  /** KMIP RecommendedCurve, as Cosmian spells it. */
  kmipCurve: 'CURVEED25519' | 'CURVEED448' | 'CURVE25519' | 'CURVE448';
  oid: string;
  /** Length of the raw private seed (RFC 8032 / RFC 7748). */
  privateBytes: number;
  publicBytes: number;
  /**
   * Nominal strength-bearing size reported as CryptographicLength: 256 and 448, not the
   * 255/448-bit field sizes, because that is what Cosmian and PKCS#11 modules report.
   */
  bits: number;
}

export const WEIERSTRASS: Readonly<Record<WeierstrassCurve, WeierstrassInfo>> = {
  P256: {
    kmip: 'P256', node: 'prime256v1', jwk: 'P-256', oid: '1.2.840.10045.3.1.7', bytes: 32, bits: 256,
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  P384: {
    kmip: 'P384', node: 'secp384r1', jwk: 'P-384', oid: '1.3.132.0.34', bytes: 48, bits: 384,
    order: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  P521: {
    kmip: 'P521', node: 'secp521r1', jwk: 'P-521', oid: '1.3.132.0.35', bytes: 66, bits: 521,
    order: 0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
  SECP256K1: {
    kmip: 'SECP256K1', node: 'secp256k1', jwk: 'secp256k1', oid: '1.3.132.0.10', bytes: 32, bits: 256,
    order: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  },
};

export const OKP: Readonly<Record<OkpKind, OkpInfo>> = {
  Ed25519: { kind: 'Ed25519', node: 'ed25519', kmipCurve: 'CURVEED25519', oid: '1.3.101.112', privateBytes: 32, publicBytes: 32, bits: 256 },
  Ed448: { kind: 'Ed448', node: 'ed448', kmipCurve: 'CURVEED448', oid: '1.3.101.113', privateBytes: 57, publicBytes: 57, bits: 448 },
  X25519: { kind: 'X25519', node: 'x25519', kmipCurve: 'CURVE25519', oid: '1.3.101.110', privateBytes: 32, publicBytes: 32, bits: 256 },
  X448: { kind: 'X448', node: 'x448', kmipCurve: 'CURVE448', oid: '1.3.101.111', privateBytes: 56, publicBytes: 56, bits: 448 },
};

const ALL_W = Object.values(WEIERSTRASS);
const ALL_OKP = Object.values(OKP);

function unsupported(name: string): KmipError {
  return new KmipError('Feature_Not_Supported', `curve ${name} is not supported`);
}

/** Accepts the KMIP name plus the usual aliases (P-256, prime256v1, secp256r1, OID). */
export function weierstrass(name: string): WeierstrassInfo {
  const n = name.toUpperCase().replace(/[-_]/g, '');
  const hit = ALL_W.find((c) => c.kmip === n || c.node.toUpperCase() === n || c.jwk.toUpperCase().replace('-', '') === n || c.oid === name)
    ?? (n === 'SECP256R1' ? WEIERSTRASS.P256 : undefined);
  if (!hit) throw unsupported(name);
  return hit;
}

export function isWeierstrass(name: string): boolean {
  try {
    weierstrass(name);
    return true;
  } catch {
    return false;
  }
}

export function weierstrassByNode(nodeName: string | undefined): WeierstrassInfo {
  const hit = ALL_W.find((c) => c.node === nodeName);
  if (!hit) throw unsupported(nodeName ?? 'unknown');
  return hit;
}

export function okpByNode(type: string | undefined): OkpInfo | undefined {
  return ALL_OKP.find((c) => c.node === type);
}

/** KMIP RecommendedCurve for an Edwards/Montgomery curve (CURVEED25519 …) → its kind. */
export function okpByKmipCurve(curve: string): OkpInfo | undefined {
  return ALL_OKP.find((c) => c.kmipCurve === curve.toUpperCase());
}

/** Any supported curve's OID, by KMIP name or OKP kind. */
export function curveOid(name: string): string {
  const okp = ALL_OKP.find((c) => c.kind === name || c.kmipCurve === name);
  return okp ? okp.oid : weierstrass(name).oid;
}

/** The KMIP curve name (P256 …, or CURVEED25519 …) for a dotted OID. */
export function curveFromOid(oid: string): string {
  const w = ALL_W.find((c) => c.oid === oid);
  if (w) return w.kmip;
  const okp = ALL_OKP.find((c) => c.oid === oid);
  if (okp) return okp.kmipCurve;
  throw unsupported(oid);
}
