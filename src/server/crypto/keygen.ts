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

const OKP_TYPE: Readonly<Record<'Ed25519' | 'Ed448' | 'X25519' | 'X448', string>> = { Ed25519: 'ed25519', Ed448: 'ed448', X25519: 'x25519', X448: 'x448' };

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
    if (spec.kind === 'RSA') nodeGenerateKeyPair('rsa', { modulusLength: spec.bits, publicExponent: spec.publicExponent ?? 65537 }, cb);
    else if (spec.kind === 'EC') nodeGenerateKeyPair('ec', { namedCurve: NODE_CURVE[spec.curve] }, cb);
    else nodeGenerateKeyPair(OKP_TYPE[spec.kind] as 'ed25519', {}, cb);
  });
}
