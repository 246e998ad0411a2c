import { KmipError } from '../../kmip/errors';
import { T, type TtlvStructure } from '../../kmip/ttlv';
import { decrypt as hsmDecrypt, encrypt as hsmEncrypt, sign as hsmSign, type CipherOptions } from '../../hsm/crypto';
import { findKeys, type HsmKeyInfo } from '../../hsm/keys';
import { CBC_IV_BYTES, GCM_IV_BYTES, GCM_TAG_BYTES, type CipherAlgorithm, type SignatureAlgorithm } from '../../hsm/mechanisms';
import type { OaepHash } from '../../hsm/slot';
import { hsmToKmip, type HsmKeyRoute } from '../hsm/hsm-registry';
import { signatureChoice, symmetricChoice, type HashName } from '../model/crypto-params';
import { read, readCryptoParams, required, type CryptoParams } from './payload';

/**
 * Encrypt, Decrypt and Sign on an HSM key: KMIP CryptographicParameters mapped onto the
 * few mechanisms src/hsm drives. Anything else is Bad_Cryptographic_Parameters, never a
 * silent fallback to another algorithm.
 */

const OAEP_HASHES: Readonly<Partial<Record<HashName, OaepHash>>> = { SHA1: 'SHA-1', SHA256: 'SHA-256', SHA384: 'SHA-384', SHA512: 'SHA-512' };

const bad = (message: string): KmipError => new KmipError('Bad_Cryptographic_Parameters', message);

/** The key behind the label; a private or secret key wins over a public key sharing the label. */
export function keyInfo(route: HsmKeyRoute): HsmKeyInfo {
  const found = findKeys(route.slot, route.label);
  const info = found.find((k) => k.keyClass !== 'public') ?? found[0];
  if (!info) throw new KmipError('Item_Not_Found', `no key labelled "${route.label}" on HSM slot ${route.slot.id}`);
  return info;
}

interface CipherChoice {
  algorithm: CipherAlgorithm;
  options: CipherOptions;
}

function aesChoice(params: CryptoParams, p: TtlvStructure): CipherChoice {
  const { mode, padding } = symmetricChoice(params, 'AES');
  const aad = read.bytes(p, 'AuthenticatedEncryptionAdditionalData');
  const iv = read.bytes(p, 'IVCounterNonce');
  if (mode === 'GCM') {
    if (params.tagLength !== undefined && params.tagLength !== GCM_TAG_BYTES) throw bad(`the HSM computes ${GCM_TAG_BYTES}-byte GCM tags, not ${params.tagLength}`);
    if (iv && iv.length !== GCM_IV_BYTES) throw bad(`the HSM takes a ${GCM_IV_BYTES}-byte GCM IV`);
    return { algorithm: 'AES-GCM', options: { ...(iv ? { iv } : {}), ...(aad ? { aad } : {}) } };
  }
  if (mode === 'CBC') {
    // The HSM layer always pads (PKCS#7, done on the host as Cosmian does).
    if (padding === 'None') throw bad('AES-CBC on the HSM is PKCS#5-padded; PaddingMethod None is not supported');
    if (aad) throw bad('AES-CBC takes no additional authenticated data');
    if (iv && iv.length !== CBC_IV_BYTES) throw bad(`AES-CBC takes a ${CBC_IV_BYTES}-byte IV`);
    return { algorithm: 'AES-CBC', options: iv ? { iv } : {} };
  }
  throw bad(`block cipher mode ${mode ?? 'none'} is not supported on HSM keys (GCM or CBC)`);
}

/** RSA: PKCS#1 v1.5, or OAEP with the hash asked for, or the best one the start-up probe found. */
function rsaChoice(params: CryptoParams, route: HsmKeyRoute): CipherChoice {
  const padding = params.padding ?? 'OAEP';
  if (padding === 'PKCS1v15') return { algorithm: 'RSA-PKCS1', options: {} };
  if (padding !== 'OAEP') throw bad(`RSA padding ${padding} is not supported on HSM keys (OAEP or PKCS1v15)`);
  if (params.pSource && params.pSource.length > 0) throw bad('OAEP labels (PSource) are not supported on HSM keys');
  if (params.hashing === undefined) {
    if (route.slot.oaepHashes.length === 0) throw bad(`HSM slot ${route.slot.id} supports no RSA-OAEP hash`);
    return { algorithm: 'RSA-OAEP', options: {} };
  }
  const hash = OAEP_HASHES[params.hashing.replace(/[-_]/g, '') as HashName];
  if (!hash || !route.slot.oaepHashes.includes(hash)) {
    throw bad(`RSA-OAEP with ${params.hashing} is not supported by HSM slot ${route.slot.id} (it supports: ${route.slot.oaepHashes.join(', ') || 'none'})`);
  }
  if (params.maskGeneratorHashing !== undefined && params.maskGeneratorHashing !== params.hashing) throw bad('the OAEP MGF1 hash must be the OAEP hash');
  return { algorithm: 'RSA-OAEP', options: { oaepHash: hash } };
}

function cipherChoice(p: TtlvStructure, route: HsmKeyRoute, info: HsmKeyInfo): CipherChoice {
  const params = readCryptoParams(p);
  if (info.keyType === 'AES') {
    if (params.algorithm !== undefined && params.algorithm !== 'AES') throw bad(`cannot use an AES key for ${params.algorithm}`);
    return aesChoice(params, p);
  }
  if (info.keyType === 'RSA') {
    if (params.algorithm !== undefined && params.algorithm !== 'RSA') throw bad(`cannot use an RSA key for ${params.algorithm}`);
    return rsaChoice(params, route);
  }
  throw bad(`cannot encrypt with an ${info.keyType} HSM key`);
}

export function hsmEncryptOp(p: TtlvStructure, route: HsmKeyRoute): TtlvStructure {
  const data = required(read.bytes(p, 'Data'), 'Data');
  const { algorithm, options } = cipherChoice(p, route, keyInfo(route));
  const out = hsmEncrypt(route.slot, route.label, algorithm, data, options);
  // Split the HSM layer's iv‖ciphertext‖tag the way database keys answer.
  let fields: Array<ReturnType<typeof T.bytes>>;
  if (algorithm === 'AES-GCM') {
    fields = [T.bytes('Data', out.subarray(GCM_IV_BYTES, out.length - GCM_TAG_BYTES)), T.bytes('IVCounterNonce', out.subarray(0, GCM_IV_BYTES)),
      T.bytes('AuthenticatedEncryptionTag', out.subarray(out.length - GCM_TAG_BYTES))];
  } else if (algorithm === 'AES-CBC') {
    fields = [T.bytes('Data', out.subarray(CBC_IV_BYTES)), T.bytes('IVCounterNonce', out.subarray(0, CBC_IV_BYTES))];
  } else {
    fields = [T.bytes('Data', out)];
  }
  return T.struct('EncryptResponse', [T.text('UniqueIdentifier', route.uid), ...fields]);
}

/**
 * Decrypt with the first of `generations` (newest first) that takes the ciphertext. Only
 * AES-GCM walks the older generations: its tag proves which key was right, whereas a wrong
 * CBC key yields valid-looking padding one time in 256.
 */
export function hsmDecryptOp(p: TtlvStructure, generations: readonly HsmKeyRoute[]): TtlvStructure {
  const [newest, ...older] = generations;
  if (!newest) throw new KmipError('Item_Not_Found', 'no generation of the key is on the HSM');
  try {
    return decryptWith(p, newest);
  } catch (e) {
    const converted = hsmToKmip(e);
    const isGcm = keyInfo(newest).keyType === 'AES' && symmetricChoice(readCryptoParams(p), 'AES').mode === 'GCM';
    if (older.length === 0 || !isGcm || !(converted instanceof KmipError) || converted.reason !== 'Cryptographic_Failure') throw converted;
    return hsmDecryptOp(p, older);
  }
}

function decryptWith(p: TtlvStructure, route: HsmKeyRoute): TtlvStructure {
  const data = required(read.bytes(p, 'Data'), 'Data');
  const { algorithm, options } = cipherChoice(p, route, keyInfo(route));
  const iv = read.bytes(p, 'IVCounterNonce');
  const tag = read.bytes(p, 'AuthenticatedEncryptionTag');
  if (tag && algorithm !== 'AES-GCM') throw bad('an AuthenticatedEncryptionTag needs AES-GCM');
  if (iv && algorithm.startsWith('RSA')) throw bad('RSA takes no IV');
  // Without IVCounterNonce (or the tag) the Data is taken to carry them, in Cosmian's iv‖ct‖tag layout.
  const input = Buffer.concat([iv ?? Buffer.alloc(0), data, tag ?? Buffer.alloc(0)]);
  const { oaepHash, aad } = options;
  const plain = hsmDecrypt(route.slot, route.label, algorithm, input, { ...(oaepHash ? { oaepHash } : {}), ...(aad ? { aad } : {}) });
  return T.struct('DecryptResponse', [T.text('UniqueIdentifier', route.uid), T.bytes('Data', plain)]);
}

export function hsmSignOp(p: TtlvStructure, route: HsmKeyRoute): TtlvStructure {
  if (read.bytes(p, 'DigestedData')) throw bad('signing a pre-computed digest is not supported on HSM keys; send Data');
  const data = required(read.bytes(p, 'Data'), 'Data');
  const info = keyInfo(route);
  if (info.keyType !== 'RSA') throw bad(`signing with an ${info.keyType} HSM key is not supported`);
  const choice = signatureChoice(readCryptoParams(p), 'RSA', info.bits, false);
  if (choice.hash !== 'SHA256') throw bad(`the HSM signs with SHA-256 only, not ${choice.hash}`);
  let algorithm: SignatureAlgorithm;
  if (choice.scheme === 'RSA_PKCS1v15') algorithm = 'RSA-PKCS1-SHA256';
  else if (choice.scheme === 'RSA_PSS') {
    if (choice.saltLength !== undefined && choice.saltLength !== 32) throw bad('RSA-PSS on the HSM uses a 32-byte salt');
    algorithm = 'RSA-PSS-SHA256';
  } else throw bad(`${choice.scheme} does not fit an RSA key`);
  const signature = hsmSign(route.slot, route.label, algorithm, data);
  return T.struct('SignResponse', [T.text('UniqueIdentifier', route.uid), T.bytes('SignatureData', signature)]);
}
