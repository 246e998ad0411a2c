import { constants, publicEncrypt, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { digestLength, nodeHash, type HashAlgorithm } from './digest';
import { rsaPrivateRaw } from './offload';
import { pkcs1Type2Unpad } from './rsa-padding';

export interface RsaEncryption {
  padding: 'PKCS1v15' | 'OAEP';
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
  if (p.padding !== 'PKCS1v15' && p.padding !== 'OAEP') throw new KmipError('Bad_Cryptographic_Parameters', `RSA padding ${String(p.padding)} is not supported`);
  if (p.padding === 'PKCS1v15' && p.label) throw new KmipError('Bad_Cryptographic_Parameters', 'a label only goes with OAEP');
}

export function rsaEncrypt(publicKey: KeyObject, data: Buffer, p: RsaEncryption): Buffer {
  requireRsa(publicKey, 'RSA encryption');
  checkPadding(p);
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
