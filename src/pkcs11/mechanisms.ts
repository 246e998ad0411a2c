import { CKF, CKK, CKM } from './constants';

/**
 * The one table of mechanisms: what C_GetMechanismList lists, what C_GetMechanismInfo
 * reports (true key sizes: bits for RSA and EC, bytes for AES and generic secrets, as
 * PKCS#11 counts them), which key types each accepts, and how each becomes a KMIP request.
 */

export type HashName = 'SHA1' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512';

/** Node's name for a hash, its output length and the KMIP HashingAlgorithm spelling. */
export const HASHES: Readonly<Record<HashName, { node: string; length: number; kmip: string }>> = {
  SHA1: { node: 'sha1', length: 20, kmip: 'SHA1' },
  SHA224: { node: 'sha224', length: 28, kmip: 'SHA224' },
  SHA256: { node: 'sha256', length: 32, kmip: 'SHA256' },
  SHA384: { node: 'sha384', length: 48, kmip: 'SHA384' },
  SHA512: { node: 'sha512', length: 64, kmip: 'SHA512' },
};

/** CKM_SHA* (digest) and CKG_MGF1_* values name hashes in OAEP and PSS parameters. */
export const HASH_BY_MECHANISM: ReadonlyMap<number, HashName> = new Map([
  [CKM.SHA_1, 'SHA1'], [CKM.SHA224, 'SHA224'], [CKM.SHA256, 'SHA256'], [CKM.SHA384, 'SHA384'], [CKM.SHA512, 'SHA512'],
]);
export const HASH_BY_MGF: ReadonlyMap<number, HashName> = new Map([
  [0x1, 'SHA1'], [0x5, 'SHA224'], [0x2, 'SHA256'], [0x3, 'SHA384'], [0x4, 'SHA512'],
]);

export type CipherKind =
  | { family: 'aes'; mode: 'GCM' | 'CBC' | 'ECB' | 'CTR' | 'NISTKeyWrap' | 'AESKeyWrapPadding'; padding: 'None' | 'PKCS5' }
  | { family: 'rsa'; padding: 'PKCS1v15' | 'OAEP' };

export type SignatureKind =
  | { family: 'rsa-pkcs1'; hash?: HashName }
  | { family: 'rsa-pss'; hash?: HashName }
  | { family: 'ecdsa'; hash?: HashName }
  | { family: 'eddsa' }
  | { family: 'hmac'; hash: HashName };

export interface MechanismSpec {
  type: number;
  minKeySize: number;
  maxKeySize: number;
  flags: number;
  keyTypes: readonly number[];
  cipher?: CipherKind;
  signature?: SignatureKind;
  digest?: HashName;
  /** Which generator: symmetric key (with its KMIP algorithm) or key pair. */
  generates?: 'aes' | 'generic-secret' | 'rsa' | 'ec' | 'edwards';
  derives?: 'ecdh1' | 'hkdf';
}

const EC_FLAGS = CKF.EC_F_P | CKF.EC_OID | CKF.EC_UNCOMPRESS;
const AES = [CKK.AES];
const RSA = [CKK.RSA];
const EC = [CKK.EC];
const HMAC_KEYS = [CKK.GENERIC_SECRET, CKK.SHA_1_HMAC, CKK.SHA224_HMAC, CKK.SHA256_HMAC, CKK.SHA384_HMAC, CKK.SHA512_HMAC];
const CRYPT = CKF.ENCRYPT | CKF.DECRYPT;
const SIGN = CKF.SIGN | CKF.VERIFY;
const WRAP = CKF.WRAP | CKF.UNWRAP;

const aes = (type: number, mode: Extract<CipherKind, { family: 'aes' }>['mode'], padding: 'None' | 'PKCS5', flags: number): MechanismSpec =>
  ({ type, minKeySize: 16, maxKeySize: 32, flags, keyTypes: AES, cipher: { family: 'aes', mode, padding } });
const rsaSign = (type: number, family: 'rsa-pkcs1' | 'rsa-pss', hash?: HashName): MechanismSpec =>
  ({ type, minKeySize: 1024, maxKeySize: 4096, flags: SIGN, keyTypes: RSA, signature: hash ? { family, hash } : { family } });
const ecdsa = (type: number, hash?: HashName): MechanismSpec =>
  ({ type, minKeySize: 256, maxKeySize: 521, flags: SIGN | EC_FLAGS, keyTypes: EC, signature: hash ? { family: 'ecdsa', hash } : { family: 'ecdsa' } });
const hmac = (type: number, hash: HashName): MechanismSpec =>
  ({ type, minKeySize: 1, maxKeySize: 512, flags: SIGN, keyTypes: HMAC_KEYS, signature: { family: 'hmac', hash } });
const digest = (type: number, hash: HashName): MechanismSpec =>
  ({ type, minKeySize: 0, maxKeySize: 0, flags: CKF.DIGEST, keyTypes: [], digest: hash });

export const MECHANISMS: readonly MechanismSpec[] = [
  { type: CKM.AES_KEY_GEN, minKeySize: 16, maxKeySize: 32, flags: CKF.GENERATE, keyTypes: AES, generates: 'aes' },
  aes(CKM.AES_GCM, 'GCM', 'None', CRYPT),
  aes(CKM.AES_CBC, 'CBC', 'None', CRYPT | WRAP),
  aes(CKM.AES_CBC_PAD, 'CBC', 'PKCS5', CRYPT | WRAP),
  aes(CKM.AES_ECB, 'ECB', 'None', CRYPT | WRAP),
  aes(CKM.AES_CTR, 'CTR', 'None', CRYPT),
  aes(CKM.AES_KEY_WRAP, 'NISTKeyWrap', 'None', CRYPT | WRAP),
  aes(CKM.AES_KEY_WRAP_PAD, 'AESKeyWrapPadding', 'None', CRYPT | WRAP),

  { type: CKM.RSA_PKCS_KEY_PAIR_GEN, minKeySize: 1024, maxKeySize: 4096, flags: CKF.GENERATE_KEY_PAIR, keyTypes: RSA, generates: 'rsa' },
  { type: CKM.RSA_PKCS, minKeySize: 1024, maxKeySize: 4096, flags: CRYPT | SIGN | WRAP, keyTypes: RSA, cipher: { family: 'rsa', padding: 'PKCS1v15' }, signature: { family: 'rsa-pkcs1' } },
  { type: CKM.RSA_PKCS_OAEP, minKeySize: 1024, maxKeySize: 4096, flags: CRYPT | WRAP, keyTypes: RSA, cipher: { family: 'rsa', padding: 'OAEP' } },
  rsaSign(CKM.RSA_PKCS_PSS, 'rsa-pss'),
  rsaSign(CKM.SHA1_RSA_PKCS, 'rsa-pkcs1', 'SHA1'),
  rsaSign(CKM.SHA224_RSA_PKCS, 'rsa-pkcs1', 'SHA224'),
  rsaSign(CKM.SHA256_RSA_PKCS, 'rsa-pkcs1', 'SHA256'),
  rsaSign(CKM.SHA384_RSA_PKCS, 'rsa-pkcs1', 'SHA384'),
  rsaSign(CKM.SHA512_RSA_PKCS, 'rsa-pkcs1', 'SHA512'),
  rsaSign(CKM.SHA1_RSA_PKCS_PSS, 'rsa-pss', 'SHA1'),
  rsaSign(CKM.SHA224_RSA_PKCS_PSS, 'rsa-pss', 'SHA224'),
  rsaSign(CKM.SHA256_RSA_PKCS_PSS, 'rsa-pss', 'SHA256'),
  rsaSign(CKM.SHA384_RSA_PKCS_PSS, 'rsa-pss', 'SHA384'),
  rsaSign(CKM.SHA512_RSA_PKCS_PSS, 'rsa-pss', 'SHA512'),

  { type: CKM.EC_KEY_PAIR_GEN, minKeySize: 256, maxKeySize: 521, flags: CKF.GENERATE_KEY_PAIR | EC_FLAGS, keyTypes: EC, generates: 'ec' },
  ecdsa(CKM.ECDSA),
  ecdsa(CKM.ECDSA_SHA1, 'SHA1'),
  ecdsa(CKM.ECDSA_SHA224, 'SHA224'),
  ecdsa(CKM.ECDSA_SHA256, 'SHA256'),
  ecdsa(CKM.ECDSA_SHA384, 'SHA384'),
  ecdsa(CKM.ECDSA_SHA512, 'SHA512'),
  { type: CKM.ECDH1_DERIVE, minKeySize: 256, maxKeySize: 521, flags: CKF.DERIVE | EC_FLAGS, keyTypes: EC, derives: 'ecdh1' },
  { type: CKM.EC_EDWARDS_KEY_PAIR_GEN, minKeySize: 255, maxKeySize: 448, flags: CKF.GENERATE_KEY_PAIR, keyTypes: [CKK.EC_EDWARDS], generates: 'edwards' },
  { type: CKM.EDDSA, minKeySize: 255, maxKeySize: 448, flags: SIGN, keyTypes: [CKK.EC_EDWARDS], signature: { family: 'eddsa' } },

  { type: CKM.GENERIC_SECRET_KEY_GEN, minKeySize: 1, maxKeySize: 512, flags: CKF.GENERATE, keyTypes: [CKK.GENERIC_SECRET], generates: 'generic-secret' },
  hmac(CKM.SHA_1_HMAC, 'SHA1'),
  hmac(CKM.SHA224_HMAC, 'SHA224'),
  hmac(CKM.SHA256_HMAC, 'SHA256'),
  hmac(CKM.SHA384_HMAC, 'SHA384'),
  hmac(CKM.SHA512_HMAC, 'SHA512'),
  { type: CKM.HKDF_DERIVE, minKeySize: 1, maxKeySize: 512, flags: CKF.DERIVE, keyTypes: [CKK.GENERIC_SECRET, CKK.HKDF, CKK.AES], derives: 'hkdf' },

  digest(CKM.SHA_1, 'SHA1'),
  digest(CKM.SHA224, 'SHA224'),
  digest(CKM.SHA256, 'SHA256'),
  digest(CKM.SHA384, 'SHA384'),
  digest(CKM.SHA512, 'SHA512'),
];

const BY_TYPE: ReadonlyMap<number, MechanismSpec> = new Map(MECHANISMS.map((m) => [m.type, m]));

export function mechanismSpec(type: number): MechanismSpec | undefined {
  return BY_TYPE.get(type);
}
