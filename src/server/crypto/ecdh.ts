import { diffieHellman, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';

const AGREEMENT = new Set(['ec', 'x25519', 'x448']);

/** ECDH (NIST curves, secp256k1) and X25519/X448: the raw shared secret (x-coordinate / u). */
export function deriveSharedSecret(privateKey: KeyObject, peerPublicKey: KeyObject): Buffer {
  if (privateKey.type !== 'private' || !AGREEMENT.has(privateKey.asymmetricKeyType ?? '')) {
    throw new KmipError('Bad_Cryptographic_Parameters', 'key agreement needs an EC, X25519 or X448 private key');
  }
  const same = privateKey.asymmetricKeyType === peerPublicKey.asymmetricKeyType
    && privateKey.asymmetricKeyDetails?.namedCurve === peerPublicKey.asymmetricKeyDetails?.namedCurve;
  if (!same) throw new KmipError('Invalid_Field', 'the peer public key is not on the private key\'s curve');
  try {
    return diffieHellman({ privateKey, publicKey: peerPublicKey });
  } catch {
    // X25519/X448 with a low-order peer point yields all zeros, which OpenSSL refuses.
    throw new KmipError('Cryptographic_Failure', 'key agreement failed');
  }
}
