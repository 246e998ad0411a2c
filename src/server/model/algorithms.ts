import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode } from '../../kmip/ttlv';
import { getAttr, intAttr, textAttr, type AttributeList } from './attributes';

/** The one table of curves: KMIP RecommendedCurve name → key kind and size. */
export const CURVES: Readonly<Record<string, { kind: 'EC' | 'Ed25519' | 'Ed448' | 'X25519' | 'X448'; bits: number; ecCurve?: 'P256' | 'P384' | 'P521' | 'SECP256K1' }>> = {
  P256: { kind: 'EC', bits: 256, ecCurve: 'P256' },
  P384: { kind: 'EC', bits: 384, ecCurve: 'P384' },
  P521: { kind: 'EC', bits: 521, ecCurve: 'P521' },
  SECP256K1: { kind: 'EC', bits: 256, ecCurve: 'SECP256K1' },
  CURVE25519: { kind: 'X25519', bits: 256 },
  CURVEED25519: { kind: 'Ed25519', bits: 256 },
  CURVE448: { kind: 'X448', bits: 448 },
  CURVEED448: { kind: 'Ed448', bits: 448 },
};

const HMAC_BITS: Readonly<Record<string, number>> = {
  HMACSHA1: 160, HMACSHA224: 224, HMACSHA256: 256, HMACSHA384: 384, HMACSHA512: 512,
  HMACSHA3224: 224, HMACSHA3256: 256, HMACSHA3384: 384, HMACSHA3512: 512, HMACMD5: 128,
};

/** Validated length of a new symmetric key, from its algorithm and requested length. */
export function symmetricKeyBits(algorithm: string, requested: number | undefined): number {
  if (algorithm === 'AES') {
    const bits = requested ?? 256;
    // 512 bits is two AES-256 keys, for XTS only: Cosmian's `ckms sym keys create --number-of-bits 512`.
    if (![128, 192, 256, 512].includes(bits)) throw new KmipError('Invalid_Attribute_Value', `AES keys are 128, 192, 256 or 512 (XTS) bits, not ${bits}`);
    return bits;
  }
  if (algorithm === 'ChaCha20' || algorithm === 'ChaCha20Poly1305') {
    const bits = requested ?? 256;
    if (bits !== 256) throw new KmipError('Invalid_Attribute_Value', 'ChaCha20 keys are 256 bits');
    return bits;
  }
  const hmac = HMAC_BITS[algorithm];
  if (hmac !== undefined) {
    const bits = requested ?? hmac;
    if (bits < 64 || bits > 4096 || bits % 8 !== 0) throw new KmipError('Invalid_Attribute_Value', 'HMAC keys are 64 to 4096 bits, in whole bytes');
    return bits;
  }
  throw new KmipError('Invalid_Attribute_Value', `cannot create a symmetric key for algorithm ${algorithm}`);
}

export type KeyPairGeneration =
  | { kind: 'RSA'; bits: number; publicExponent?: number }
  | { kind: 'EC'; curve: 'P256' | 'P384' | 'P521' | 'SECP256K1' }
  | { kind: 'Ed25519' | 'Ed448' | 'X25519' | 'X448' };

export function recommendedCurve(list: AttributeList): string | undefined {
  const params = getAttr(list, 'CryptographicDomainParameters');
  const inParams = child(params, 'RecommendedCurve');
  if (inParams) return String(inParams.value);
  return textAttr(list, 'RecommendedCurve');
}

/** What to generate for CreateKeyPair, and the algorithm attributes both halves carry. */
export function keyPairSpec(list: AttributeList): { generate: KeyPairGeneration; attributes: TtlvNode[] } {
  const algorithm = textAttr(list, 'CryptographicAlgorithm');
  if (algorithm === undefined) throw new KmipError('Missing_Data', 'missing CryptographicAlgorithm');
  if (algorithm === 'RSA') {
    const bits = intAttr(list, 'CryptographicLength') ?? 2048;
    if (bits < 1024 || bits > 8192 || bits % 8 !== 0) throw new KmipError('Invalid_Attribute_Value', `RSA keys are 1024 to 8192 bits, not ${bits}`);
    return { generate: { kind: 'RSA', bits }, attributes: [T.enum('CryptographicAlgorithm', 'RSA'), T.int('CryptographicLength', bits)] };
  }
  if (algorithm === 'Ed25519' || algorithm === 'Ed448') {
    const bits = algorithm === 'Ed25519' ? 256 : 448;
    const curve = algorithm === 'Ed25519' ? 'CURVEED25519' : 'CURVEED448';
    return { generate: { kind: algorithm }, attributes: curveAttributes(algorithm, curve, bits) };
  }
  if (algorithm === 'EC' || algorithm === 'ECDSA' || algorithm === 'ECDH') {
    const curveName = recommendedCurve(list) ?? 'P256';
    const curve = CURVES[curveName];
    if (!curve) throw new KmipError('Invalid_Attribute_Value', `unsupported curve ${curveName}`);
    const generate: KeyPairGeneration = curve.kind === 'EC' ? { kind: 'EC', curve: curve.ecCurve as 'P256' } : { kind: curve.kind };
    const alg = curve.kind === 'Ed25519' || curve.kind === 'Ed448' ? curve.kind : algorithm;
    return { generate, attributes: curveAttributes(alg, curveName, curve.bits) };
  }
  throw new KmipError('Invalid_Attribute_Value', `cannot create a key pair for algorithm ${algorithm}`);
}

function curveAttributes(algorithm: string, curve: string, bits: number): TtlvNode[] {
  return [
    T.enum('CryptographicAlgorithm', algorithm),
    T.int('CryptographicLength', bits),
    T.struct('CryptographicDomainParameters', [T.int('Qlength', bits), T.enum('RecommendedCurve', curve)]),
  ];
}
