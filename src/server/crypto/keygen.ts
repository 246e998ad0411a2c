import { generateKeyPair as nodeGenerateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';

export type KeyPairGeneration =
  | { kind: 'RSA'; bits: number; publicExponent?: number }
  | { kind: 'EC'; curve: 'P256' | 'P384' | 'P521' | 'SECP256K1' }
  | { kind: 'Ed25519' | 'Ed448' | 'X25519' | 'X448' };

/** KMIP curve names → OpenSSL's. */
export const NODE_CURVE: Readonly<Record<'P256' | 'P384' | 'P521' | 'SECP256K1', string>> = {
  P256: 'prime256v1', P384: 'secp384r1', P521: 'secp521r1', SECP256K1: 'secp256k1',
};

export function generateSymmetricKey(bits: number): Buffer {
  if (bits <= 0 || bits % 8 !== 0) throw new KmipError('Invalid_Attribute_Value', 'a key length is a positive number of whole bytes');
  return randomBytes(bits / 8);
}

type Pair = { privateKey: KeyObject; publicKey: KeyObject };

function done(resolve: (p: Pair) => void, reject: (e: unknown) => void) {
  return (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
    if (err) reject(new KmipError('Cryptographic_Failure', `key generation failed: ${err.message}`));
    else resolve({ privateKey, publicKey });
  };
}

/** On libuv's thread pool: RSA generation takes tens to hundreds of milliseconds. */
export function generateKeyPair(spec: KeyPairGeneration): Promise<Pair> {
  return new Promise((resolve, reject) => {
    const cb = done(resolve, reject);
    switch (spec.kind) {
      case 'RSA':
        nodeGenerateKeyPair('rsa', { modulusLength: spec.bits, publicExponent: spec.publicExponent ?? 65537 }, cb);
        return;
      case 'EC':
        nodeGenerateKeyPair('ec', { namedCurve: NODE_CURVE[spec.curve] }, cb);
        return;
      case 'Ed25519':
        nodeGenerateKeyPair('ed25519', {}, cb);
        return;
      case 'Ed448':
        nodeGenerateKeyPair('ed448', {}, cb);
        return;
      case 'X25519':
        nodeGenerateKeyPair('x25519', {}, cb);
        return;
      case 'X448':
        nodeGenerateKeyPair('x448', {}, cb);
        return;
    }
  });
}
