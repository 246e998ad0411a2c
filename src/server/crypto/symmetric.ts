import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import { gcmsiv } from '@noble/ciphers/aes';
import { KmipError } from '../../kmip/errors';

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

const RFC3394_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const RFC5649_IV = Buffer.from('A65959A6', 'hex');

const bad = (msg: string): KmipError => new KmipError('Bad_Cryptographic_Parameters', msg);
const failed = (msg: string): KmipError => new KmipError('Cryptographic_Failure', msg);

function aesBits(key: Buffer): number {
  if (![16, 24, 32].includes(key.length)) throw bad(`an AES key is 16, 24 or 32 bytes, not ${key.length}`);
  return key.length * 8;
}

function ivOf(p: SymmetricParams, length: number, what: string): Buffer {
  if (p.iv === undefined) return randomBytes(length);
  if (p.iv.length !== length) throw new KmipError('Invalid_Field', `${what} needs a ${length}-byte IV, not ${p.iv.length}`);
  return p.iv;
}

function tagLengthOf(p: SymmetricParams): number {
  const n = p.tagLength ?? 16;
  if (!Number.isInteger(n) || n < 12 || n > 16) throw bad(`the tag length must be 12 to 16 bytes, not ${n}`);
  return n;
}

/** Wraps node:crypto so that a failed final() (bad padding, bad tag, bad wrap) is a KMIP error. */
function run(cipher: { update(b: Buffer): Buffer; final(): Buffer }, data: Buffer, what: string): Buffer {
  try {
    return Buffer.concat([cipher.update(data), cipher.final()]);
  } catch {
    throw failed(`${what} failed`);
  }
}

/** ChaCha20 takes a 16-byte counter‖nonce block: an 8- or 12-byte nonce starts at counter 0. */
function chacha20Block(iv: Buffer | undefined): Buffer {
  const nonce = iv ?? randomBytes(12);
  if (nonce.length === 16) return nonce;
  if (nonce.length !== 8 && nonce.length !== 12) throw new KmipError('Invalid_Field', 'a ChaCha20 nonce is 8, 12 or 16 bytes');
  return Buffer.concat([Buffer.alloc(16 - nonce.length), nonce]);
}

export function symmetricEncrypt(p: SymmetricParams): SymmetricResult {
  if (p.algorithm === 'ChaCha20Poly1305') {
    if (p.key.length !== 32) throw bad('a ChaCha20-Poly1305 key is 32 bytes');
    const iv = ivOf(p, 12, 'ChaCha20-Poly1305');
    const c = createCipheriv('chacha20-poly1305', p.key, iv, { authTagLength: 16 });
    if (p.aad) c.setAAD(p.aad, { plaintextLength: p.data.length });
    const data = run(c, p.data, 'ChaCha20-Poly1305 encryption');
    return { data, iv, tag: c.getAuthTag() };
  }
  if (p.algorithm === 'ChaCha20') {
    if (p.key.length !== 32) throw bad('a ChaCha20 key is 32 bytes');
    const iv = p.iv ?? randomBytes(12);
    return { data: run(createCipheriv('chacha20', p.key, chacha20Block(iv)), p.data, 'ChaCha20'), iv };
  }
  const mode = p.mode ?? 'GCM';
  switch (mode) {
    case 'GCM': {
      const bits = aesBits(p.key);
      const iv = p.iv ?? randomBytes(12);
      if (iv.length === 0) throw new KmipError('Invalid_Field', 'a GCM IV cannot be empty');
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
      if (!pad && p.data.length % 16 !== 0) throw new KmipError('Invalid_Field', `without padding, ${mode} data must be a multiple of 16 bytes`);
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
      if (p.key.length !== 32 && p.key.length !== 64) throw bad('an AES-XTS key is 32 or 64 bytes (two AES keys)');
      if (p.data.length < 16) throw new KmipError('Invalid_Field', 'AES-XTS needs at least 16 bytes of data');
      const iv = ivOf(p, 16, 'AES-XTS');
      return { data: run(createCipheriv(p.key.length === 32 ? 'aes-128-xts' : 'aes-256-xts', p.key, iv), p.data, 'AES-XTS'), iv };
    }
    case 'GCMSIV': {
      if (p.key.length !== 16 && p.key.length !== 32) throw bad('an AES-GCM-SIV key is 16 or 32 bytes');
      const iv = ivOf(p, 12, 'AES-GCM-SIV');
      const sealed = Buffer.from(gcmsiv(p.key, iv, p.aad).encrypt(p.data));
      return { data: sealed.subarray(0, sealed.length - 16), iv, tag: sealed.subarray(sealed.length - 16) };
    }
    case 'NISTKeyWrap': {
      const bits = aesBits(p.key);
      if (p.data.length < 16 || p.data.length % 8 !== 0) throw new KmipError('Invalid_Field', 'RFC 3394 wraps at least 16 bytes, in multiples of 8; use AESKeyWrapPadding otherwise');
      return { data: run(createCipheriv(`id-aes${bits}-wrap`, p.key, RFC3394_IV), p.data, 'AES key wrap') };
    }
    case 'AESKeyWrapPadding': {
      const bits = aesBits(p.key);
      if (p.data.length === 0) throw new KmipError('Invalid_Field', 'nothing to wrap');
      return { data: run(createCipheriv(`id-aes${bits}-wrap-pad`, p.key, RFC5649_IV), p.data, 'AES key wrap with padding') };
    }
  }
}

export function symmetricDecrypt(p: SymmetricParams & { tag?: Buffer }): Buffer {
  if (p.algorithm === 'ChaCha20Poly1305') {
    if (p.key.length !== 32) throw bad('a ChaCha20-Poly1305 key is 32 bytes');
    if (!p.iv || !p.tag) throw new KmipError('Missing_Data', 'ChaCha20-Poly1305 decryption needs the nonce and the tag');
    const d = createDecipheriv('chacha20-poly1305', p.key, p.iv, { authTagLength: 16 });
    if (p.tag.length !== 16) throw failed('ChaCha20-Poly1305 authentication failed');
    d.setAuthTag(p.tag);
    if (p.aad) d.setAAD(p.aad, { plaintextLength: p.data.length });
    return run(d, p.data, 'ChaCha20-Poly1305 authentication');
  }
  if (p.algorithm === 'ChaCha20') {
    if (p.key.length !== 32) throw bad('a ChaCha20 key is 32 bytes');
    if (!p.iv) throw new KmipError('Missing_Initialization_Vector', 'ChaCha20 decryption needs the nonce');
    return run(createDecipheriv('chacha20', p.key, chacha20Block(p.iv)), p.data, 'ChaCha20');
  }
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
      const tagLength = p.tagLength ?? p.tag.length;
      if (tagLength < 12 || tagLength > 16 || p.tag.length !== tagLength) throw failed('AES-GCM authentication failed');
      const d = createDecipheriv(`aes-${bits}-gcm` as CipherGCMTypes, p.key, iv, { authTagLength: tagLength });
      d.setAuthTag(p.tag);
      if (p.aad) d.setAAD(p.aad);
      return run(d, p.data, 'AES-GCM authentication');
    }
    case 'CBC':
    case 'ECB': {
      const bits = aesBits(p.key);
      if (p.data.length % 16 !== 0) throw new KmipError('Invalid_Field', `${mode} ciphertext must be a multiple of 16 bytes`);
      const iv = mode === 'CBC' ? needIv() : null;
      if (iv && iv.length !== 16) throw new KmipError('Invalid_Field', 'AES-CBC needs a 16-byte IV');
      const d = createDecipheriv(`aes-${bits}-${mode.toLowerCase()}`, p.key, iv).setAutoPadding((p.padding ?? 'PKCS5') === 'PKCS5');
      return run(d, p.data, `AES-${mode} decryption (padding)`);
    }
    case 'CTR': {
      const bits = aesBits(p.key);
      const iv = needIv();
      if (iv.length !== 16) throw new KmipError('Invalid_Field', 'AES-CTR needs a 16-byte counter block');
      return run(createDecipheriv(`aes-${bits}-ctr`, p.key, iv), p.data, 'AES-CTR');
    }
    case 'XTS': {
      if (p.key.length !== 32 && p.key.length !== 64) throw bad('an AES-XTS key is 32 or 64 bytes (two AES keys)');
      const iv = needIv();
      if (iv.length !== 16 || p.data.length < 16) throw new KmipError('Invalid_Field', 'AES-XTS needs a 16-byte tweak and at least 16 bytes');
      return run(createDecipheriv(p.key.length === 32 ? 'aes-128-xts' : 'aes-256-xts', p.key, iv), p.data, 'AES-XTS');
    }
    case 'GCMSIV': {
      if (p.key.length !== 16 && p.key.length !== 32) throw bad('an AES-GCM-SIV key is 16 or 32 bytes');
      const iv = needIv();
      if (iv.length !== 12) throw new KmipError('Invalid_Field', 'AES-GCM-SIV needs a 12-byte nonce');
      if (!p.tag || p.tag.length !== 16) throw failed('AES-GCM-SIV authentication failed');
      try {
        return Buffer.from(gcmsiv(p.key, iv, p.aad).decrypt(Buffer.concat([p.data, p.tag])));
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
