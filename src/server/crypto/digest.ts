import { createHash, createHmac, hkdfSync, pbkdf2 as nodePbkdf2, timingSafeEqual } from 'node:crypto';
import { KmipError } from '../../kmip/errors';

export type HashAlgorithm = 'SHA1' | 'SHA224' | 'SHA256' | 'SHA384' | 'SHA512' | 'SHA3_224' | 'SHA3_256' | 'SHA3_384' | 'SHA3_512';

/** Engine hash names → OpenSSL digest names. */
export const NODE_HASH: Readonly<Record<HashAlgorithm, string>> = {
  SHA1: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512',
  SHA3_224: 'sha3-224', SHA3_256: 'sha3-256', SHA3_384: 'sha3-384', SHA3_512: 'sha3-512',
};

export function hash(alg: HashAlgorithm, data: Buffer): Buffer {
  return createHash(NODE_HASH[alg]).update(data).digest();
}

export function hmac(alg: HashAlgorithm, key: Buffer, data: Buffer): Buffer {
  return createHmac(NODE_HASH[alg], key).update(data).digest();
}

export function hmacVerify(alg: HashAlgorithm, key: Buffer, data: Buffer, expected: Buffer): boolean {
  const actual = hmac(alg, key, data);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function hkdf(alg: HashAlgorithm, ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  try {
    return Buffer.from(hkdfSync(NODE_HASH[alg], ikm, salt, info, length));
  } catch {
    throw new KmipError('Invalid_Field', `HKDF cannot produce ${length} bytes with ${alg}`);
  }
}

/** On the thread pool: high iteration counts must not stall the event loop. */
export function pbkdf2(alg: HashAlgorithm, password: Buffer, salt: Buffer, iterations: number, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    nodePbkdf2(password, salt, iterations, length, NODE_HASH[alg], (err, key) => (err ? reject(new KmipError('Cryptographic_Failure', 'PBKDF2 failed')) : resolve(key)));
  });
}
