import { createCipheriv, createDecipheriv, createHash, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist';
import { edwardsToMontgomeryPriv, edwardsToMontgomeryPub, x25519 } from '@noble/curves/ed25519';
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa';
import { blake2b } from '@noble/hashes/blake2b';
import { KmipError } from '../../kmip/errors';

/**
 * ECIES as Cosmian's KMS does it for Encrypt/Decrypt with an EC public/private key
 * (Cosmian/kms crate/crypto/src/crypto/elliptic_curves/ecies/):
 *
 * - NIST curves (standard_curves.rs): R = rG, S = rQ; key = SHAKE(S compressed), IV =
 *   SHAKE(R compressed ‖ Q compressed), AES-GCM without AAD; the ciphertext is
 *   R compressed ‖ ct ‖ tag(16). P-256 uses SHAKE128 and AES-128-GCM, P-384 and P-521
 *   SHAKE256 and AES-256-GCM. Other curves (secp256k1) are refused, as there.
 * - Curve25519 (salsa_sealbox.rs): libsodium's crypto_box_seal, X25519 + XSalsa20-Poly1305,
 *   nonce = BLAKE2b-192(epk ‖ pk); Ed25519 keys are first mapped to X25519 (the birational map
 *   for the public key, the clamped SHA-512 of the seed for the private key, as libsodium's
 *   crypto_sign_ed25519_*_to_curve25519).
 */

type NistCurve = typeof p256 | typeof p384 | typeof p521;

interface NistSuite {
  curve: NistCurve;
  xof: 'shake128' | 'shake256';
  aes: 'aes-128-gcm' | 'aes-256-gcm';
  keyBytes: number;
  /** Compressed point: one prefix byte and the x coordinate. */
  pointBytes: number;
}

const NIST: Readonly<Record<string, NistSuite>> = {
  prime256v1: { curve: p256, xof: 'shake128', aes: 'aes-128-gcm', keyBytes: 16, pointBytes: 33 },
  secp384r1: { curve: p384, xof: 'shake256', aes: 'aes-256-gcm', keyBytes: 32, pointBytes: 49 },
  secp521r1: { curve: p521, xof: 'shake256', aes: 'aes-256-gcm', keyBytes: 32, pointBytes: 67 },
};

const GCM_NONCE = 12;
const TAG = 16;
const X25519_BYTES = 32;

const failed = (): KmipError => new KmipError('Cryptographic_Failure', 'ECIES: Decryption error: invalid ciphertext');

function xof(kind: NistSuite['xof'], length: number, ...parts: Uint8Array[]): Buffer {
  const h = createHash(kind, { outputLength: length });
  for (const p of parts) h.update(p);
  return h.digest();
}

function jwkBytes(key: KeyObject, field: 'x' | 'y' | 'd'): Buffer {
  const v = key.export({ format: 'jwk' })[field];
  if (typeof v !== 'string') throw new KmipError('Invalid_Field', `the key has no ${field} component`);
  return Buffer.from(v, 'base64url');
}

function compressedPublic(pub: KeyObject): Buffer {
  const y = jwkBytes(pub, 'y');
  return Buffer.concat([Buffer.from([(y[y.length - 1] & 1) === 1 ? 3 : 2]), jwkBytes(pub, 'x')]);
}

function nistSuite(key: KeyObject): NistSuite {
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  const suite = NIST[curve];
  if (!suite) throw new KmipError('Bad_Cryptographic_Parameters', `ECIES: Unsupported curve: ${curve}`);
  return suite;
}

/** Whether Cosmian encrypts to this kind of public key with ECIES. */
export function isEciesKey(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' || key.asymmetricKeyType === 'x25519' || key.asymmetricKeyType === 'ed25519';
}

export function eciesEncrypt(publicKey: KeyObject, plaintext: Buffer): Buffer {
  const pub = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  if (pub.asymmetricKeyType === 'ec') return nistEncrypt(pub, plaintext);
  return sealBox(montgomeryPublic(pub), plaintext);
}

export function eciesDecrypt(privateKey: KeyObject, ciphertext: Buffer): Buffer {
  if (privateKey.type !== 'private') throw new KmipError('Bad_Cryptographic_Parameters', 'ECIES decryption needs the private key');
  if (privateKey.asymmetricKeyType === 'ec') return nistDecrypt(privateKey, ciphertext);
  return sealOpen(montgomeryPrivate(privateKey), ciphertext);
}

function nistEncrypt(pub: KeyObject, plaintext: Buffer): Buffer {
  const suite = nistSuite(pub);
  const q = compressedPublic(pub);
  const r = suite.curve.utils.randomPrivateKey();
  const rPoint = suite.curve.getPublicKey(r, true);
  const shared = suite.curve.getSharedSecret(r, q, true);
  const key = xof(suite.xof, suite.keyBytes, shared);
  const iv = xof(suite.xof, GCM_NONCE, rPoint, q);
  const c = createCipheriv(suite.aes, key, iv, { authTagLength: TAG });
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([rPoint, ct, c.getAuthTag()]);
}

function nistDecrypt(priv: KeyObject, ciphertext: Buffer): Buffer {
  const suite = nistSuite(priv);
  if (ciphertext.length <= suite.pointBytes + TAG) throw failed();
  const rPoint = ciphertext.subarray(0, suite.pointBytes);
  const ct = ciphertext.subarray(suite.pointBytes, ciphertext.length - TAG);
  const tag = ciphertext.subarray(ciphertext.length - TAG);
  let shared: Uint8Array;
  try {
    shared = suite.curve.getSharedSecret(jwkBytes(priv, 'd'), rPoint, true);
  } catch {
    throw failed();
  }
  const key = xof(suite.xof, suite.keyBytes, shared);
  const iv = xof(suite.xof, GCM_NONCE, rPoint, compressedPublic(createPublicKey(priv)));
  try {
    const d = createDecipheriv(suite.aes, key, iv, { authTagLength: TAG });
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]);
  } catch {
    throw failed();
  }
}

function rawPublic(pub: KeyObject): Buffer {
  return jwkBytes(pub, 'x');
}

function montgomeryPublic(pub: KeyObject): Uint8Array {
  if (pub.asymmetricKeyType === 'x25519') return rawPublic(pub);
  if (pub.asymmetricKeyType === 'ed25519') return edwardsToMontgomeryPub(rawPublic(pub));
  throw new KmipError('Bad_Cryptographic_Parameters', `ECIES does not take a ${pub.asymmetricKeyType ?? 'symmetric'} key`);
}

function montgomeryPrivate(priv: KeyObject): Uint8Array {
  if (priv.asymmetricKeyType === 'x25519') return jwkBytes(priv, 'd');
  if (priv.asymmetricKeyType === 'ed25519') return edwardsToMontgomeryPriv(jwkBytes(priv, 'd'));
  throw new KmipError('Bad_Cryptographic_Parameters', `ECIES does not take a ${priv.asymmetricKeyType ?? 'symmetric'} key`);
}

const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** crypto_box_beforenm: HSalsa20 of the X25519 shared secret with a zero nonce. */
function boxKey(secret: Uint8Array, peer: Uint8Array): Uint8Array {
  const shared = x25519.getSharedSecret(secret, peer);
  const words = new Uint32Array(8);
  const k = new Uint32Array(8);
  const view = new DataView(shared.buffer, shared.byteOffset, shared.byteLength);
  for (let i = 0; i < 8; i++) k[i] = view.getUint32(i * 4, true);
  hsalsa(SIGMA, k, new Uint32Array(4), words);
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, words[i], true);
  return out;
}

function sealNonce(epk: Uint8Array, pk: Uint8Array): Uint8Array {
  return blake2b(Buffer.concat([epk, pk]), { dkLen: 24 });
}

function sealBox(pk: Uint8Array, plaintext: Buffer): Buffer {
  const esk = randomBytes(X25519_BYTES);
  const epk = x25519.getPublicKey(esk);
  let key: Uint8Array;
  try {
    key = boxKey(esk, pk);
  } catch {
    // A low-order public key gives an all-zero secret, which @noble refuses.
    throw new KmipError('Cryptographic_Failure', 'ECIES: encryption failed');
  }
  return Buffer.concat([epk, xsalsa20poly1305(key, sealNonce(epk, pk)).encrypt(plaintext)]);
}

function sealOpen(sk: Uint8Array, ciphertext: Buffer): Buffer {
  if (ciphertext.length < X25519_BYTES + TAG) throw failed();
  const epk = ciphertext.subarray(0, X25519_BYTES);
  const pk = x25519.getPublicKey(sk);
  try {
    return Buffer.from(xsalsa20poly1305(boxKey(sk, epk), sealNonce(epk, pk)).decrypt(ciphertext.subarray(X25519_BYTES)));
  } catch {
    throw failed();
  }
}
