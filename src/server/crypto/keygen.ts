import { generateKeyPair as nodeGenerateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { OKP, WEIERSTRASS, type OkpKind, type WeierstrassCurve } from './curves';

export type KeyPairGeneration =
  | { kind: 'RSA'; bits: number; publicExponent?: number }
  | { kind: 'EC'; curve: WeierstrassCurve }
  | { kind: OkpKind };

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** KMIP curve names → OpenSSL's (kept for callers that predate curves.ts). */
export const NODE_CURVE: Readonly<Record<WeierstrassCurve, string>> = {
  P256: WEIERSTRASS.P256.node, P384: WEIERSTRASS.P384.node, P521: WEIERSTRASS.P521.node, SECP256K1: WEIERSTRASS.SECP256K1.node,
};

export function generateSymmetricKey(bits: number): Buffer {
  if (!Number.isInteger(bits) || bits <= 0 || bits % 8 !== 0 || bits > 65536) {
    throw new KmipError('Invalid_Field', `a symmetric key length is a positive number of whole bytes, not ${bits} bits`);
  }
  return randomBytes(bits / 8);
}

function checkRsa(bits: number, e: number): void {
  // 1024 is still accepted for legacy PKCS#11 clients; above 8192 generation takes minutes.
  if (!Number.isInteger(bits) || bits < 1024 || bits > 8192) throw new KmipError('Invalid_Field', `RSA keys are 1024 to 8192 bits, not ${bits}`);
  if (!Number.isSafeInteger(e) || e < 3 || e % 2 === 0 || e > 0xffffffff) throw new KmipError('Invalid_Field', `an RSA public exponent is an odd number from 3 to 2^32 - 1, not ${e}`);
}

/** On libuv's thread pool: RSA generation takes tens to thousands of milliseconds. */
export function generateKeyPair(spec: KeyPairGeneration): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err) reject(new KmipError('Cryptographic_Failure', 'key pair generation failed'));
      else resolve({ privateKey, publicKey });
    };
    if (spec.kind === 'RSA') {
      const e = spec.publicExponent ?? 65537;
      checkRsa(spec.bits, e);
      nodeGenerateKeyPair('rsa', { modulusLength: spec.bits, publicExponent: e }, cb);
    } else if (spec.kind === 'EC') {
      const curve = WEIERSTRASS[spec.curve];
      if (!curve) throw new KmipError('Feature_Not_Supported', `curve ${String(spec.curve)} is not supported`);
      nodeGenerateKeyPair('ec', { namedCurve: curve.node }, cb);
    } else {
      const okp = OKP[spec.kind];
      if (!okp) throw new KmipError('Feature_Not_Supported', `key type ${String(spec.kind)} is not supported`);
      // node's overloads name each OKP type literally; the runtime value is one of them.
      nodeGenerateKeyPair(okp.node as 'ed25519', {}, cb);
    }
  });
}
