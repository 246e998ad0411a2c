import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { KmipError } from '../../kmip/errors';

/** OpenSSL's CSPRNG; the bound keeps one request from allocating unbounded memory. */
export function randomBytes(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 30) throw new KmipError('Invalid_Field', `cannot produce ${n} random bytes`);
  return nodeRandomBytes(n);
}
