import { randomBytes } from 'node:crypto';
import { KmipError } from '../../kmip/errors';

/** Shapes and checks shared by the AES and ChaCha20 implementations. */

export type SymmetricAlgorithm = 'AES' | 'ChaCha20Poly1305' | 'ChaCha20';
export type SymmetricMode = 'GCM' | 'CBC' | 'ECB' | 'CTR' | 'XTS' | 'GCMSIV' | 'NISTKeyWrap' | 'AESKeyWrapPadding';

export interface SymmetricParams {
  algorithm: SymmetricAlgorithm;
  mode?: SymmetricMode;
  padding?: 'None' | 'PKCS5';
  key: Buffer;
  data: Buffer;
  iv?: Buffer;
  aad?: Buffer;
  tagLength?: number;
}

export interface SymmetricResult {
  data: Buffer;
  iv?: Buffer;
  tag?: Buffer;
}

export const bad = (msg: string): KmipError => new KmipError('Bad_Cryptographic_Parameters', msg);
export const failed = (msg: string): KmipError => new KmipError('Cryptographic_Failure', msg);
export const invalid = (msg: string): KmipError => new KmipError('Invalid_Field', msg);

export function ivOf(p: SymmetricParams, length: number, what: string): Buffer {
  if (p.iv === undefined) return randomBytes(length);
  if (p.iv.length !== length) throw invalid(`${what} needs a ${length}-byte IV, not ${p.iv.length}`);
  return p.iv;
}

/** An AEAD tag of the wrong size is a malformed request, not a forgery. */
export function checkTag(tag: Buffer, allowed: (n: number) => boolean, what: string): Buffer {
  if (!allowed(tag.length)) throw invalid(`a ${what} tag of ${tag.length} bytes is not allowed`);
  return tag;
}

/** Wraps node:crypto so that a failed final() (bad padding, bad tag, bad wrap) is a KMIP error. */
export function run(cipher: { update(b: Buffer): Buffer; final(): Buffer }, data: Buffer, what: string): Buffer {
  try {
    const head = cipher.update(data);
    const tail = cipher.final();
    // Stream and AEAD modes end with nothing: no second copy of megabytes.
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    throw failed(`${what} failed`);
  }
}

