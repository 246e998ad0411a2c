import { createHash, createHmac, hkdfSync, pbkdf2 as nodePbkdf2, timingSafeEqual } from 'node:crypto';
import { KmipError } from '../../kmip/errors';

export type HashAlgorithm =
  | 'SHA1' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512'
  | 'SHA3_224' | 'SHA3_256' | 'SHA3_384' | 'SHA3_512'
  | 'SHA512_224' | 'SHA512_256';

/** Engine hash names → OpenSSL digest names. */
export const NODE_HASH: Readonly<Record<HashAlgorithm, string>> = {
  SHA1: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512',
  SHA3_224: 'sha3-224', SHA3_256: 'sha3-256', SHA3_384: 'sha3-384', SHA3_512: 'sha3-512',
  SHA512_224: 'sha512-224', SHA512_256: 'sha512-256',
};

const LENGTH: Readonly<Record<HashAlgorithm, number>> = {
  SHA1: 20, SHA224: 28, SHA256: 32, SHA384: 48, SHA512: 64,
  SHA3_224: 28, SHA3_256: 32, SHA3_384: 48, SHA3_512: 64, SHA512_224: 28, SHA512_256: 32,
};

/** The names arrive from KMIP enumerations through another layer: check them at runtime too. */
export function nodeHash(alg: HashAlgorithm): string {
  const name = NODE_HASH[alg];
  if (name === undefined) throw new KmipError('Feature_Not_Supported', `hashing algorithm ${String(alg)} is not supported`);
  return name;
}

export function digestLength(alg: HashAlgorithm): number {
  nodeHash(alg);
  return LENGTH[alg];
}

export function hash(alg: HashAlgorithm, data: Buffer): Buffer {
  return createHash(nodeHash(alg)).update(data).digest();
}

export function hmac(alg: HashAlgorithm, key: Buffer, data: Buffer): Buffer {
  return createHmac(nodeHash(alg), key).update(data).digest();
}

/** A truncated MAC (shorter `expected`) is refused rather than compared on its prefix. */
export function hmacVerify(alg: HashAlgorithm, key: Buffer, data: Buffer, expected: Buffer): boolean {
  const actual = hmac(alg, key, data);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function hkdf(alg: HashAlgorithm, ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  const max = 255 * digestLength(alg);
  if (!Number.isInteger(length) || length < 1 || length > max) throw new KmipError('Invalid_Field', `HKDF-${alg} produces 1 to ${max} bytes, not ${length}`);
  if (info.length > 1024) throw new KmipError('Invalid_Field', 'HKDF info is limited to 1024 bytes');
  return Buffer.from(hkdfSync(nodeHash(alg), ikm, salt, info, length));
}

/** On the thread pool: high iteration counts must not stall the event loop. */
export function pbkdf2(alg: HashAlgorithm, password: Buffer, salt: Buffer, iterations: number, length: number): Promise<Buffer> {
  const name = nodeHash(alg);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 0x7fffffff) {
    return Promise.reject(new KmipError('Invalid_Field', `PBKDF2 needs a positive iteration count, not ${iterations}`));
  }
  if (!Number.isSafeInteger(length) || length < 1 || length > 0x7fffffff) {
    return Promise.reject(new KmipError('Invalid_Field', `PBKDF2 cannot produce ${length} bytes`));
  }
  return new Promise((resolve, reject) => {
    nodePbkdf2(password, salt, iterations, length, name, (err, key) => (err ? reject(new KmipError('Cryptographic_Failure', 'PBKDF2 failed')) : resolve(key)));
  });
}

/**
 * NIST SP 800-108 KDF in counter mode with HMAC as the PRF: K(i) = HMAC(key, [i]₃₂ ‖ fixed) for
 * i = 1…n, concatenated and cut to `length`. The 32-bit counter goes before the fixed input and
 * no separate [L] is appended (the fixed input carries whatever the caller puts in it): the
 * layout PyKMIP's server uses (cryptography's KBKDFHMAC with rlen=4, llen=None,
 * location=BeforeFixed, fixed=DerivationData).
 */
export function kbkdfHmacCounter(alg: HashAlgorithm, key: Buffer, fixed: Buffer, length: number): Buffer {
  const blockLength = digestLength(alg);
  const blocks = Math.ceil(length / blockLength);
  if (!Number.isInteger(length) || length < 1 || blocks > 0xffffffff || length > 1 << 20) throw new KmipError('Invalid_Field', `SP 800-108 cannot produce ${length} bytes here`);
  if (fixed.length > 1024) throw new KmipError('Invalid_Field', 'SP 800-108 fixed input is limited to 1024 bytes');
  const out: Buffer[] = [];
  const counter = Buffer.alloc(4);
  for (let i = 1; i <= blocks; i++) {
    counter.writeUInt32BE(i);
    out.push(createHmac(nodeHash(alg), key).update(counter).update(fixed).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}
