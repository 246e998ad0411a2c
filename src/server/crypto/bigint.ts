import { KmipError } from '../../kmip/errors';

/** Unsigned big-endian bytes ⇄ bigint, the shape KMIP BigInteger fields and JWK use. */

export function bigFromBytes(b: Buffer): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + b.toString('hex'));
}

/** Left-pads to `bytes` when given: fixed-size fields (EC scalars) must keep leading zeros. */
export function bigToBytes(n: bigint, bytes?: number): Buffer {
  if (n < 0n) throw new KmipError('Invalid_Field', 'key components cannot be negative');
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const b = n === 0n ? Buffer.alloc(0) : Buffer.from(hex, 'hex');
  if (bytes === undefined || b.length === bytes) return b;
  if (b.length > bytes) throw new KmipError('Invalid_Field', `a key component is longer than ${bytes} bytes`);
  return Buffer.concat([Buffer.alloc(bytes - b.length), b]);
}

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = ((base % mod) + mod) % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}

export function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [((a % m) + m) % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new KmipError('Invalid_Field', 'the key components are inconsistent');
  return ((s0 % m) + m) % m;
}

export function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a < 0n ? -a : a, b < 0n ? -b : b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}
