import { randomBytes, timingSafeEqual } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { hash as digest, type HashAlgorithm } from './digest';

/**
 * The RSA encodings node:crypto does not expose on the paths we need: PKCS#1 v1.5
 * decryption (refused by Node 20 since CVE-2023-46809) and PSS over a precomputed digest.
 * The decoders fold every check into one verdict so that the amount of work does not
 * depend on where a malformed block goes wrong.
 */

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1, and the SHA-3 / SHA-512/t OIDs). */
export const DIGEST_INFO: Readonly<Record<HashAlgorithm, Buffer>> = {
  SHA1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  SHA224: Buffer.from('302d300d06096086480165030402040500041c', 'hex'),
  SHA256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  SHA384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  SHA512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
  SHA512_224: Buffer.from('302d300d06096086480165030402050500041c', 'hex'),
  SHA512_256: Buffer.from('3031300d060960864801650304020605000420', 'hex'),
  SHA3_224: Buffer.from('302d300d06096086480165030402070500041c', 'hex'),
  SHA3_256: Buffer.from('3031300d060960864801650304020805000420', 'hex'),
  SHA3_384: Buffer.from('3041300d060960864801650304020905000430', 'hex'),
  SHA3_512: Buffer.from('3051300d060960864801650304020a05000440', 'hex'),
};

export function mgf1(seed: Buffer, length: number, hashAlg: HashAlgorithm): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  for (let counter = 0; total < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter, 0);
    const block = digest(hashAlg, Buffer.concat([seed, c]));
    out.push(block);
    total += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** 1 when the byte is zero, else 0, without a branch. */
const isZero = (x: number): number => (((x | -x) >>> 31) & 1) ^ 1;
/** 1 when a < b for small non-negative integers, without a branch. */
const lessThan = (a: number, b: number): number => ((a - b) >>> 31) & 1;

/** RFC 8017 §7.2.2 EME-PKCS1-v1_5 decoding: 00 02 PS(≥ 8 non-zero bytes) 00 M. */
export function pkcs1Type2Unpad(em: Buffer): Buffer | undefined {
  let bad = (em[0] as number) | ((em[1] as number) ^ 2);
  let found = 0;
  let separator = 0;
  for (let i = 2; i < em.length; i++) {
    const zero = isZero(em[i] as number);
    const first = zero & (found ^ 1);
    separator |= -first & i;
    found |= zero;
  }
  bad |= found ^ 1;
  bad |= lessThan(separator, 10);
  return bad === 0 ? em.subarray(separator + 1) : undefined;
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) for a precomputed digest. */
export function pssEncode(mHash: Buffer, h: HashAlgorithm, saltLength: number, modBits: number): Buffer {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = mHash.length;
  if (emLen < hLen + saltLength + 2) throw new KmipError('Bad_Cryptographic_Parameters', 'the RSA key is too small for this PSS salt length');
  const salt = randomBytes(saltLength);
  const hh = digest(h, Buffer.concat([Buffer.alloc(8), mHash, salt]));
  const db = Buffer.concat([Buffer.alloc(emLen - saltLength - hLen - 2), Buffer.from([1]), salt]);
  const masked = xor(db, mgf1(hh, db.length, h));
  masked[0] = (masked[0] as number) & (0xff >> (8 * emLen - emBits));
  return Buffer.concat([masked, hh, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2); saltLength undefined accepts any salt length. */
export function pssVerify(mHash: Buffer, em: Buffer, h: HashAlgorithm, modBits: number, saltLength?: number): boolean {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = mHash.length;
  // The raw RSA output is k bytes; when emBits is a multiple of 8 it has one leading zero.
  if (em.length > emLen && em.subarray(0, em.length - emLen).some((b) => b !== 0)) return false;
  const body = em.subarray(em.length - emLen);
  if (body.length !== emLen || emLen < hLen + 2 || body[emLen - 1] !== 0xbc) return false;
  const masked = body.subarray(0, emLen - hLen - 1);
  const hh = body.subarray(emLen - hLen - 1, emLen - 1);
  if (((masked[0] as number) & ~(0xff >> (8 * emLen - emBits)) & 0xff) !== 0) return false;
  const db = xor(masked, mgf1(hh, masked.length, h));
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  const one = db.indexOf(1);
  if (one < 0 || db.subarray(0, one).some((b) => b !== 0)) return false;
  const salt = db.subarray(one + 1);
  if (saltLength !== undefined && salt.length !== saltLength) return false;
  return timingSafeEqual(digest(h, Buffer.concat([Buffer.alloc(8), mHash, salt])), hh);
}
