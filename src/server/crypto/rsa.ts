import { constants, createCipheriv, createDecipheriv, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { digestLength, nodeHash, type HashAlgorithm } from './digest';
import { rsaPrivateRaw } from './offload';
import { pkcs1Type2Unpad } from './rsa-padding';

export interface RsaEncryption {
  /** AESKeyWrap: PKCS#11 CKM_RSA_AES_KEY_WRAP, RSA-OAEP of a fresh AES-256 key ‖ RFC 5649 wrap of the data. */
  padding: 'PKCS1v15' | 'OAEP' | 'AESKeyWrap';
  /** OAEP only; also the MGF1 hash. Default SHA256, as Cosmian. */
  oaepHash?: HashAlgorithm;
  label?: Buffer;
}

export function requireRsa(key: KeyObject, what: string): void {
  const t = key.asymmetricKeyType;
  if (t !== 'rsa' && t !== 'rsa-pss') throw new KmipError('Bad_Cryptographic_Parameters', `${what} needs an RSA key, not ${t ?? key.type}`);
}

export function modulusBytes(key: KeyObject): number {
  return Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
}

function checkPadding(p: RsaEncryption): void {
  if (p.padding !== 'PKCS1v15' && p.padding !== 'OAEP' && p.padding !== 'AESKeyWrap') throw new KmipError('Bad_Cryptographic_Parameters', `RSA padding ${String(p.padding)} is not supported`);
  if (p.padding === 'PKCS1v15' && p.label) throw new KmipError('Bad_Cryptographic_Parameters', 'a label only goes with OAEP');
}

export function rsaEncrypt(publicKey: KeyObject, data: Buffer, p: RsaEncryption): Buffer {
  requireRsa(publicKey, 'RSA encryption');
  checkPadding(p);
  if (p.padding === 'AESKeyWrap') return rsaAesKeyWrap(publicKey, data, p);
  const k = modulusBytes(publicKey);
  const hashName = p.padding === 'OAEP' ? nodeHash(p.oaepHash ?? 'SHA256') : undefined;
  // RFC 8017 §7.1.1 / §7.2.1 message limits: k − 2hLen − 2 and k − 11.
  const overhead = p.padding === 'PKCS1v15' ? 11 : 2 + 2 * digestLength(p.oaepHash ?? 'SHA256');
  if (data.length > k - overhead) throw new KmipError('Invalid_Field', `RSA ${p.padding} with this key encrypts at most ${Math.max(0, k - overhead)} bytes`);
  try {
    if (p.padding === 'PKCS1v15') return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, data);
    return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hashName, ...(p.label ? { oaepLabel: p.label } : {}) }, data);
  } catch {
    throw new KmipError('Cryptographic_Failure', `RSA ${p.padding} encryption failed`);
  }
}

/**
 * Private-key operations run on worker threads (node offers no async privateDecrypt).
 * PKCS#1 v1.5 is always decoded here from the raw RSA output: Node 20 refuses
 * RSA_PKCS1_PADDING in privateDecrypt since CVE-2023-46809 (Marvin), and where it does
 * not, OpenSSL's implicit rejection would turn a bad block into random bytes instead of an
 * error. Every rejection, OAEP or v1.5, is the same error without detail.
 */
export async function rsaDecrypt(privateKey: KeyObject, data: Buffer, p: RsaEncryption): Promise<Buffer> {
  requireRsa(privateKey, 'RSA decryption');
  checkPadding(p);
  if (privateKey.type !== 'private') throw new KmipError('Bad_Cryptographic_Parameters', 'RSA decryption needs the private key');
  const k = modulusBytes(privateKey);
  if (p.padding === 'AESKeyWrap') return rsaAesKeyUnwrap(privateKey, data, p, k);
  if (data.length !== k) throw new KmipError('Invalid_Field', `an RSA ciphertext for this key is ${k} bytes, not ${data.length}`);
  if (p.padding === 'OAEP') {
    return rsaPrivateRaw('privateDecrypt', privateKey, data, {
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: nodeHash(p.oaepHash ?? 'SHA256'),
      ...(p.label ? { oaepLabel: p.label } : {}),
    }).catch(() => Promise.reject(decryptionFailed()));
  }
  const em = await rsaPrivateRaw('privateDecrypt', privateKey, data, constants.RSA_NO_PADDING).catch(() => Promise.reject(decryptionFailed()));
  const message = pkcs1Type2Unpad(em);
  if (!message) throw decryptionFailed();
  return message;
}

function decryptionFailed(): KmipError {
  return new KmipError('Cryptographic_Failure', 'RSA decryption failed');
}

const KWP_IV = Buffer.from('A65959A6', 'hex');
/** Cosmian's AES_KWP_KEY_LENGTH: the ephemeral key is always AES-256. */
const EPHEMERAL_AES_BYTES = 32;

/**
 * CKM_RSA_AES_KEY_WRAP as Cosmian builds it (crate/crypto/src/crypto/rsa/ckm_rsa_aes_key_wrap.rs):
 * OAEP with the same hash for the digest and MGF1 and no label, then RFC 5649 of the data
 * under the ephemeral key. The data is any non-empty byte string, not only a key.
 */
function rsaAesKeyWrap(publicKey: KeyObject, data: Buffer, p: RsaEncryption): Buffer {
  if (p.label) throw new KmipError('Bad_Cryptographic_Parameters', 'RSA AES key wrap takes no OAEP label');
  if (data.length === 0) throw new KmipError('Invalid_Field', 'RSA AES key wrap needs data to wrap');
  const kek = randomBytes(EPHEMERAL_AES_BYTES);
  try {
    const encapsulation = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: nodeHash(p.oaepHash ?? 'SHA256') }, kek);
    const c = createCipheriv('id-aes256-wrap-pad', kek, KWP_IV);
    return Buffer.concat([encapsulation, c.update(data), c.final()]);
  } catch {
    throw new KmipError('Cryptographic_Failure', 'RSA AES key wrap failed');
  } finally {
    kek.fill(0);
  }
}

async function rsaAesKeyUnwrap(privateKey: KeyObject, data: Buffer, p: RsaEncryption, k: number): Promise<Buffer> {
  if (p.label) throw new KmipError('Bad_Cryptographic_Parameters', 'RSA AES key wrap takes no OAEP label');
  // RFC 5649 output is at least 16 bytes, in 8-byte blocks.
  const wrapped = data.subarray(k);
  if (data.length <= k || wrapped.length < 16 || wrapped.length % 8 !== 0) {
    throw new KmipError('Invalid_Field', `an RSA AES key wrap ciphertext for this key is ${k} bytes of RSA-OAEP and an RFC 5649 wrap, not ${data.length} bytes`);
  }
  const kek = await rsaPrivateRaw('privateDecrypt', privateKey, data.subarray(0, k), {
    padding: constants.RSA_PKCS1_OAEP_PADDING,
    oaepHash: nodeHash(p.oaepHash ?? 'SHA256'),
  }).catch(() => Promise.reject(decryptionFailed()));
  try {
    const d = createDecipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, KWP_IV);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch {
    throw decryptionFailed();
  } finally {
    kek.fill(0);
  }
}
