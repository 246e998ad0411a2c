import { KmipError } from '../../kmip/errors';
import { gcd, modInverse, modPow } from './bigint';

/**
 * KMIP lets a TransparentRSAPrivateKey carry only (n, e, d), but node (OpenSSL) imports RSA
 * private keys with their CRT values only. The primes follow from n, e, d (NIST SP 800-56B
 * rev. 2, appendix C): ed − 1 is a multiple of λ(n), so a random base yields a non-trivial
 * square root of 1 modulo n, whose gcd with n is a factor.
 */

export interface RsaCrt {
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qi: bigint;
}

export function recoverCrt(n: bigint, e: bigint, d: bigint): RsaCrt {
  const k = e * d - 1n;
  if (k <= 0n || n <= 3n) throw invalid();
  let t = 0n;
  let r = k;
  while ((r & 1n) === 0n) {
    r >>= 1n;
    t++;
  }
  if (t === 0n) throw invalid();
  // Small fixed bases suffice in practice: each succeeds with probability ≥ 1/2.
  for (let g = 2n; g < 200n; g++) {
    let y = modPow(g, r, n);
    if (y === 1n || y === n - 1n) continue;
    for (let i = 1n; i <= t; i++) {
      const x = (y * y) % n;
      if (x === 1n) {
        const p = gcd(y - 1n, n);
        if (p === 1n || p === n) break;
        return crtOf(p, n / p, d);
      }
      if (x === n - 1n) break;
      y = x;
    }
  }
  throw invalid();
}

function crtOf(a: bigint, b: bigint, d: bigint): RsaCrt {
  // PKCS#1 convention: p > q (qi = q⁻¹ mod p works either way, but match OpenSSL output).
  const [p, q] = a > b ? [a, b] : [b, a];
  return { p, q, dp: d % (p - 1n), dq: d % (q - 1n), qi: modInverse(q, p) };
}

function invalid(): KmipError {
  return new KmipError('Invalid_Field', 'the RSA private key components are inconsistent');
}
