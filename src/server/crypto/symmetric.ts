import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import { gcmsiv } from '@noble/ciphers/aes';
import { KmipError } from '../../kmip/errors';
import { chachaDecrypt, chachaEncrypt } from './chacha';
import { bad, checkTag, failed, invalid, ivOf, run, type SymmetricMode, type SymmetricParams, type SymmetricResult } from './symmetric-common';

export type { SymmetricAlgorithm, SymmetricMode, SymmetricParams, SymmetricResult } from './symmetric-common';

/**
 * Symmetric encryption, one call per message (no streaming). Defaults follow Cosmian:
 * AES mode GCM with a fresh 12-byte IV and a 16-byte tag; CBC and ECB pad with PKCS#5
 * unless told 'None' (the NIST KAT vectors say PaddingMethod None explicitly); a missing
 * IV is generated on encryption and returned, and required on decryption. Padding is
 * ignored by the modes that do not pad (stream, AEAD, key wrap).
 */

const RFC3394_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const RFC5649_IV = Buffer.from('A65959A6', 'hex');

/** Names arrive from KMIP enumerations through another layer: refuse unknown ones plainly. */
function checkNames(p: SymmetricParams): void {
  if (!['AES', 'ChaCha20Poly1305', 'ChaCha20'].includes(p.algorithm)) throw new KmipError('Feature_Not_Supported', `algorithm ${String(p.algorithm)} is not supported`);
  if (p.algorithm === 'AES' && p.mode !== undefined && !MODES.includes(p.mode)) throw new KmipError('Feature_Not_Supported', `AES mode ${String(p.mode)} is not supported`);
  if (p.padding !== undefined && p.padding !== 'None' && p.padding !== 'PKCS5') throw bad(`padding ${String(p.padding)} is not supported`);
}

const MODES: readonly SymmetricMode[] = ['GCM', 'CBC', 'ECB', 'CTR', 'XTS', 'GCMSIV', 'NISTKeyWrap', 'AESKeyWrapPadding'];

/** XTS needs two independent AES keys; OpenSSL refuses equal halves (IEEE 1619 §5.1). */
function xtsKey(key: Buffer): Buffer {
  if (key.length !== 32 && key.length !== 64) throw bad(`an AES-XTS key is 32 or 64 bytes (two AES keys), not ${key.length}`);
  if (key.subarray(0, key.length / 2).equals(key.subarray(key.length / 2))) throw bad('the two halves of an AES-XTS key must differ');
  return key;
}

function aesBits(key: Buffer): number {
  if (![16, 24, 32].includes(key.length)) throw bad(`an AES key is 16, 24 or 32 bytes, not ${key.length}`);
  return key.length * 8;
}

function tagLengthOf(p: SymmetricParams): number {
  const n = p.tagLength ?? 16;
  if (!Number.isInteger(n) || n < 12 || n > 16) throw bad(`the tag length must be 12 to 16 bytes, not ${n}`);
  return n;
}

export function symmetricEncrypt(p: SymmetricParams): SymmetricResult {
  checkNames(p);
  if (p.algorithm !== 'AES') return chachaEncrypt(p);
  const mode = p.mode ?? 'GCM';
  switch (mode) {
    case 'GCM': {
      const bits = aesBits(p.key);
      const iv = p.iv ?? randomBytes(12);
      if (iv.length === 0) throw invalid('a GCM IV cannot be empty');
      const tagLength = tagLengthOf(p);
      const c = createCipheriv(`aes-${bits}-gcm` as CipherGCMTypes, p.key, iv, { authTagLength: tagLength });
      if (p.aad) c.setAAD(p.aad);
      const data = run(c, p.data, 'AES-GCM encryption');
      return { data, iv, tag: c.getAuthTag() };
    }
    case 'CBC':
    case 'ECB': {
      const bits = aesBits(p.key);
      const pad = (p.padding ?? 'PKCS5') === 'PKCS5';
      if (!pad && p.data.length % 16 !== 0) throw invalid(`without padding, ${mode} data must be a multiple of 16 bytes`);
      const iv = mode === 'CBC' ? ivOf(p, 16, 'AES-CBC') : null;
      const c = createCipheriv(`aes-${bits}-${mode.toLowerCase()}`, p.key, iv).setAutoPadding(pad);
      return { data: run(c, p.data, `AES-${mode}`), ...(iv ? { iv } : {}) };
    }
    case 'CTR': {
      const bits = aesBits(p.key);
      const iv = ivOf(p, 16, 'AES-CTR');
      return { data: run(createCipheriv(`aes-${bits}-ctr`, p.key, iv), p.data, 'AES-CTR'), iv };
    }
    case 'XTS': {
      const key = xtsKey(p.key);
      if (p.data.length < 16) throw invalid('AES-XTS needs at least 16 bytes of data');
      const iv = ivOf(p, 16, 'AES-XTS');
      return { data: run(createCipheriv(key.length === 32 ? 'aes-128-xts' : 'aes-256-xts', key, iv), p.data, 'AES-XTS'), iv };
    }
    case 'GCMSIV': {
      if (p.key.length !== 16 && p.key.length !== 32) throw bad(`an AES-GCM-SIV key is 16 or 32 bytes, not ${p.key.length}`);
      if (p.tagLength !== undefined && p.tagLength !== 16) throw bad('the AES-GCM-SIV tag is 16 bytes');
      const iv = ivOf(p, 12, 'AES-GCM-SIV');
      const sealed = Buffer.from(gcmsiv(p.key, iv, p.aad).encrypt(p.data));
      return { data: sealed.subarray(0, sealed.length - 16), iv, tag: sealed.subarray(sealed.length - 16) };
    }
    case 'NISTKeyWrap': {
      const bits = aesBits(p.key);
      if (p.data.length < 16 || p.data.length % 8 !== 0) throw invalid('RFC 3394 wraps at least 16 bytes, in multiples of 8; use AESKeyWrapPadding otherwise');
      return { data: run(createCipheriv(`id-aes${bits}-wrap`, p.key, RFC3394_IV), p.data, 'AES key wrap') };
    }
    case 'AESKeyWrapPadding': {
      const bits = aesBits(p.key);
      if (p.data.length === 0) throw invalid('nothing to wrap');
      return { data: run(createCipheriv(`id-aes${bits}-wrap-pad`, p.key, RFC5649_IV), p.data, 'AES key wrap with padding') };
    }
  }
}

export function symmetricDecrypt(p: SymmetricParams & { tag?: Buffer }): Buffer {
  checkNames(p);
  if (p.algorithm !== 'AES') return chachaDecrypt(p);
  const mode = p.mode ?? 'GCM';
  const needIv = (): Buffer => {
    if (!p.iv) throw new KmipError('Missing_Initialization_Vector', `AES-${mode} decryption needs the IV`);
    return p.iv;
  };
  switch (mode) {
    case 'GCM': {
      const bits = aesBits(p.key);
      const iv = needIv();
      if (!p.tag) throw new KmipError('Missing_Data', 'AES-GCM decryption needs the AuthenticatedEncryptionTag');
      if (iv.length === 0) throw invalid('a GCM IV cannot be empty');
      const tag = checkTag(p.tag, (n) => n >= 12 && n <= 16 && (p.tagLength === undefined || n === p.tagLength), 'AES-GCM');
      const tagLength = tag.length;
      const d = createDecipheriv(`aes-${bits}-gcm` as CipherGCMTypes, p.key, iv, { authTagLength: tagLength });
      d.setAuthTag(p.tag);
      if (p.aad) d.setAAD(p.aad);
      return run(d, p.data, 'AES-GCM authentication');
    }
    case 'CBC':
    case 'ECB': {
      const bits = aesBits(p.key);
      if (p.data.length % 16 !== 0) throw invalid(`${mode} ciphertext must be a multiple of 16 bytes`);
      const iv = mode === 'CBC' ? needIv() : null;
      if (iv && iv.length !== 16) throw invalid(`AES-CBC needs a 16-byte IV, not ${iv.length}`);
      const d = createDecipheriv(`aes-${bits}-${mode.toLowerCase()}`, p.key, iv).setAutoPadding((p.padding ?? 'PKCS5') === 'PKCS5');
      return run(d, p.data, `AES-${mode} decryption (padding)`);
    }
    case 'CTR': {
      const bits = aesBits(p.key);
      const iv = needIv();
      if (iv.length !== 16) throw invalid(`AES-CTR needs a 16-byte counter block, not ${iv.length}`);
      return run(createDecipheriv(`aes-${bits}-ctr`, p.key, iv), p.data, 'AES-CTR');
    }
    case 'XTS': {
      const key = xtsKey(p.key);
      const iv = needIv();
      if (iv.length !== 16 || p.data.length < 16) throw invalid('AES-XTS needs a 16-byte tweak and at least 16 bytes');
      return run(createDecipheriv(key.length === 32 ? 'aes-128-xts' : 'aes-256-xts', key, iv), p.data, 'AES-XTS');
    }
    case 'GCMSIV': {
      if (p.key.length !== 16 && p.key.length !== 32) throw bad('an AES-GCM-SIV key is 16 or 32 bytes');
      const iv = needIv();
      if (iv.length !== 12) throw invalid(`AES-GCM-SIV needs a 12-byte nonce, not ${iv.length}`);
      if (!p.tag) throw new KmipError('Missing_Data', 'AES-GCM-SIV decryption needs the AuthenticatedEncryptionTag');
      const tag = checkTag(p.tag, (n) => n === 16, 'AES-GCM-SIV');
      try {
        return Buffer.from(gcmsiv(p.key, iv, p.aad).decrypt(Buffer.concat([p.data, tag])));
      } catch {
        throw failed('AES-GCM-SIV authentication failed');
      }
    }
    case 'NISTKeyWrap': {
      const bits = aesBits(p.key);
      if (p.data.length < 24 || p.data.length % 8 !== 0) throw failed('not an RFC 3394 wrapped key');
      return run(createDecipheriv(`id-aes${bits}-wrap`, p.key, RFC3394_IV), p.data, 'AES key unwrap (integrity check)');
    }
    case 'AESKeyWrapPadding': {
      const bits = aesBits(p.key);
      if (p.data.length < 16 || p.data.length % 8 !== 0) throw failed('not an RFC 5649 wrapped key');
      return run(createDecipheriv(`id-aes${bits}-wrap-pad`, p.key, RFC5649_IV), p.data, 'AES key unwrap with padding (integrity check)');
    }
  }
}
