import { KmipError } from '../../kmip/errors';
import type { CryptoParams } from '../operations/payload';

/**
 * The one table that turns KMIP CryptographicParameters into what the crypto engine
 * needs, with defaults taken from the key when the request leaves them out.
 */

/** Hash names as the crypto engine spells them. */
export type HashName = 'SHA1' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512' | 'SHA3_224' | 'SHA3_256' | 'SHA3_384' | 'SHA3_512';

/** KMIP HashingAlgorithm (Cosmian spells SHA3-256 "SHA3256"; OASIS "SHA3_256") → engine name. */
const HASHES: Readonly<Record<string, HashName>> = {
  SHA1: 'SHA1', SHA224: 'SHA224', SHA256: 'SHA256', SHA384: 'SHA384', SHA512: 'SHA512',
  SHA3224: 'SHA3_224', SHA3256: 'SHA3_256', SHA3384: 'SHA3_384', SHA3512: 'SHA3_512',
  SHA3_224: 'SHA3_224', SHA3_256: 'SHA3_256', SHA3_384: 'SHA3_384', SHA3_512: 'SHA3_512',
};

export function hashName(value: string | undefined, fallback: HashName): HashName {
  if (value === undefined) return fallback;
  const name = HASHES[value];
  if (!name) throw new KmipError('Bad_Cryptographic_Parameters', `unsupported hashing algorithm ${value}`);
  return name;
}

export type SignatureScheme = 'RSA_PKCS1v15' | 'RSA_PSS' | 'ECDSA' | 'EdDSA';

const SIGNATURE_ALGORITHMS: Readonly<Record<string, { scheme: SignatureScheme; hash?: HashName }>> = {
  SHA1WithRSAEncryption: { scheme: 'RSA_PKCS1v15', hash: 'SHA1' },
  SHA224WithRSAEncryption: { scheme: 'RSA_PKCS1v15', hash: 'SHA224' },
  SHA256WithRSAEncryption: { scheme: 'RSA_PKCS1v15', hash: 'SHA256' },
  SHA384WithRSAEncryption: { scheme: 'RSA_PKCS1v15', hash: 'SHA384' },
  SHA512WithRSAEncryption: { scheme: 'RSA_PKCS1v15', hash: 'SHA512' },
  SHA3256WithRSAEncryption: { scheme: 'RSA_PKCS1v15', hash: 'SHA3_256' },
  SHA3384WithRSAEncryption: { scheme: 'RSA_PKCS1v15', hash: 'SHA3_384' },
  SHA3512WithRSAEncryption: { scheme: 'RSA_PKCS1v15', hash: 'SHA3_512' },
  RSASSAPSS: { scheme: 'RSA_PSS' },
  ECDSAWithSHA1: { scheme: 'ECDSA', hash: 'SHA1' },
  ECDSAWithSHA224: { scheme: 'ECDSA', hash: 'SHA224' },
  ECDSAWithSHA256: { scheme: 'ECDSA', hash: 'SHA256' },
  ECDSAWithSHA384: { scheme: 'ECDSA', hash: 'SHA384' },
  ECDSAWithSHA512: { scheme: 'ECDSA', hash: 'SHA512' },
  ECDSAWithSHA3256: { scheme: 'ECDSA', hash: 'SHA3_256' },
  ECDSAWithSHA3384: { scheme: 'ECDSA', hash: 'SHA3_384' },
  ECDSAWithSHA3512: { scheme: 'ECDSA', hash: 'SHA3_512' },
};

export interface SignatureChoice {
  scheme: SignatureScheme;
  hash: HashName | 'None';
  saltLength?: number;
}

/**
 * keyKind is 'RSA', 'EC' (with its curve size) or 'Ed25519'/'Ed448'. Defaults: RSA PKCS#1 v1.5
 * with SHA-256; ECDSA with the hash that matches the curve; pure EdDSA.
 */
export function signatureChoice(params: CryptoParams, keyKind: string, curveBits: number, digested: boolean): SignatureChoice {
  if (keyKind === 'Ed25519' || keyKind === 'Ed448') return { scheme: 'EdDSA', hash: 'None' };
  const named = params.signatureAlgorithm !== undefined ? SIGNATURE_ALGORITHMS[params.signatureAlgorithm] : undefined;
  if (params.signatureAlgorithm !== undefined && !named) {
    throw new KmipError('Bad_Cryptographic_Parameters', `unsupported digital signature algorithm ${params.signatureAlgorithm}`);
  }
  let scheme: SignatureScheme;
  if (named) scheme = named.scheme;
  else if (keyKind === 'RSA') scheme = params.padding === 'PSS' ? 'RSA_PSS' : 'RSA_PKCS1v15';
  else scheme = 'ECDSA';
  if ((scheme === 'ECDSA') !== (keyKind === 'EC')) {
    throw new KmipError('Bad_Cryptographic_Parameters', `${params.signatureAlgorithm ?? scheme} does not fit a ${keyKind} key`);
  }
  const curveHash: HashName = curveBits > 384 ? 'SHA512' : curveBits > 256 ? 'SHA384' : 'SHA256';
  const fallback: HashName = scheme === 'ECDSA' ? curveHash : 'SHA256';
  // With DigestedData and no hash named, PKCS#1 v1.5 signs the caller's DigestInfo as is (PKCS#11 CKM_RSA_PKCS).
  const hash = named?.hash ?? (digested && params.hashing === undefined && scheme === 'RSA_PKCS1v15' ? 'None' : hashName(params.hashing, fallback));
  return { scheme, hash, ...(params.saltLength !== undefined ? { saltLength: params.saltLength } : {}) };
}

export type SymmetricMode = 'GCM' | 'CBC' | 'ECB' | 'CTR' | 'XTS' | 'GCMSIV' | 'NISTKeyWrap' | 'AESKeyWrapPadding';

const MODES = new Set<string>(['GCM', 'CBC', 'ECB', 'CTR', 'XTS', 'GCMSIV', 'NISTKeyWrap', 'AESKeyWrapPadding']);

/** AES modes; the default is GCM as in Cosmian. ECB and CBC pad with PKCS#5 unless told otherwise. */
export function symmetricChoice(params: CryptoParams, keyAlgorithm: string): { algorithm: 'AES' | 'ChaCha20Poly1305' | 'ChaCha20'; mode?: SymmetricMode; padding?: 'None' | 'PKCS5' } {
  const algorithm = params.algorithm ?? keyAlgorithm;
  if (algorithm === 'ChaCha20Poly1305' || algorithm === 'ChaCha20') return { algorithm };
  if (algorithm !== 'AES') throw new KmipError('Bad_Cryptographic_Parameters', `cannot encrypt with a ${algorithm} key`);
  const mode = params.mode ?? 'GCM';
  if (!MODES.has(mode)) throw new KmipError('Bad_Cryptographic_Parameters', `unsupported block cipher mode ${mode}`);
  const padding = params.padding;
  if (padding !== undefined && padding !== 'None' && padding !== 'PKCS5') {
    throw new KmipError('Bad_Cryptographic_Parameters', `unsupported padding ${padding} for AES`);
  }
  return { algorithm: 'AES', mode: mode as SymmetricMode, ...(padding ? { padding } : {}) };
}

/**
 * RSA encryption: OAEP with SHA-256 unless PKCS#1 v1.5 or another hash is asked for.
 * CryptographicAlgorithm AES (with OAEP, the default) selects CKM_RSA_AES_KEY_WRAP, the way
 * Cosmian's encrypt_with_rsa does (Cosmian/kms crate/server/src/core/operations/encrypt.rs).
 */
export function rsaEncryptionChoice(params: CryptoParams): { padding: 'PKCS1v15' | 'OAEP' | 'AESKeyWrap'; oaepHash?: HashName; label?: Buffer } {
  const padding = params.padding ?? 'OAEP';
  if (params.algorithm === 'AES') {
    if (padding !== 'OAEP') throw new KmipError('Bad_Cryptographic_Parameters', `Unable to encrypt with RSA AES KEY WRAP: padding method not supported: ${padding}`);
    return { padding: 'AESKeyWrap', oaepHash: hashName(params.hashing, 'SHA256'), ...(params.pSource ? { label: params.pSource } : {}) };
  }
  if (params.algorithm !== undefined && params.algorithm !== 'RSA') {
    throw new KmipError('Bad_Cryptographic_Parameters', `Unable to encrypt with RSA: algorithm not supported for encrypting: ${params.algorithm}`);
  }
  if (padding === 'PKCS1v15') return { padding };
  if (padding !== 'OAEP') throw new KmipError('Bad_Cryptographic_Parameters', `unsupported RSA padding ${padding}`);
  return { padding, oaepHash: hashName(params.hashing, 'SHA256'), ...(params.pSource ? { label: params.pSource } : {}) };
}

const HMAC_HASH: Readonly<Record<string, HashName>> = {
  HMACSHA1: 'SHA1', HMACSHA224: 'SHA224', HMACSHA256: 'SHA256', HMACSHA384: 'SHA384', HMACSHA512: 'SHA512',
  HMACSHA3224: 'SHA3_224', HMACSHA3256: 'SHA3_256', HMACSHA3384: 'SHA3_384', HMACSHA3512: 'SHA3_512',
};

/** The HMAC hash: from the request's algorithm or hash, else from the key's algorithm. */
export function hmacHash(params: CryptoParams, keyAlgorithm: string): HashName {
  const fromAlgorithm = HMAC_HASH[params.algorithm ?? keyAlgorithm];
  if (params.hashing !== undefined) return hashName(params.hashing, 'SHA256');
  if (fromAlgorithm) return fromAlgorithm;
  throw new KmipError('Bad_Cryptographic_Parameters', `a ${keyAlgorithm} key cannot compute a MAC without a hashing algorithm`);
}
