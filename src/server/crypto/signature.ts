import { constants, publicDecrypt, sign as nodeSign, verify as nodeVerify, timingSafeEqual, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { digestLength, hash as digest, nodeHash, type HashAlgorithm } from './digest';
import { ecdsaSign, ecdsaVerify } from './ecdsa';
import { hashAsync, OFFLOAD_MIN_BYTES, rsaPrivateRaw } from './offload';
import { modulusBytes, requireRsa } from './rsa';
import { DIGEST_INFO, pssEncode, pssVerify } from './rsa-padding';

export type SignatureScheme = 'RSA_PKCS1v15' | 'RSA_PSS' | 'ECDSA' | 'EdDSA';

export interface SignParams {
  scheme: SignatureScheme;
  /**
   * RSA_PKCS1v15 with 'None': `digested` is a complete DigestInfo, signed as is (PKCS#11
   * CKM_RSA_PKCS). ECDSA with 'None': `digested` is a digest of any length (CKM_ECDSA).
   * Default SHA256 for RSA; ECDSA over data needs one.
   */
  hash?: HashAlgorithm | 'None';
  /** PSS only; default: the hash length. */
  saltLength?: number;
}

/** Exactly one of the two: the message, or its digest computed by the caller. */
export type SignInput = { data?: Buffer; digested?: Buffer };

const bad = (msg: string): KmipError => new KmipError('Bad_Cryptographic_Parameters', msg);
const EMPTY = Buffer.alloc(0);

function checkInput(input: SignInput): void {
  if (input.data && input.digested) throw new KmipError('Invalid_Field', 'give the data or its digest, not both');
}

function requireType(key: KeyObject, scheme: SignatureScheme): void {
  const t = key.asymmetricKeyType;
  if (scheme === 'RSA_PKCS1v15' || scheme === 'RSA_PSS') return requireRsa(key, scheme);
  if (scheme === 'ECDSA' && t !== 'ec') throw bad(`ECDSA needs an EC key, not ${t ?? key.type}`);
  if (scheme === 'EdDSA' && t !== 'ed25519' && t !== 'ed448') throw bad(`EdDSA needs an Ed25519 or Ed448 key, not ${t ?? key.type}`);
}

function rsaHash(p: SignParams): HashAlgorithm {
  if (p.hash === 'None') throw bad(`${p.scheme} needs a hashing algorithm here`);
  return p.hash ?? 'SHA256';
}

function givenDigest(d: Buffer, h: HashAlgorithm): Buffer {
  if (d.length !== digestLength(h)) throw new KmipError('Invalid_Field', `a ${h} digest is ${digestLength(h)} bytes, not ${d.length}`);
  return d;
}

/** PKCS#1 v1.5 signs T = DigestInfo; with hash None the caller supplies T. */
function digestInfo(input: SignInput, p: SignParams): Buffer {
  if (p.hash === 'None') {
    if (!input.digested) throw bad('PKCS#1 v1.5 without a hash signs a DigestInfo given as the digest');
    return input.digested;
  }
  const h = p.hash ?? 'SHA256';
  const d = input.digested ? givenDigest(input.digested, h) : digest(h, input.data ?? EMPTY);
  return Buffer.concat([DIGEST_INFO[h], d]);
}

function pssSalt(p: SignParams, h: HashAlgorithm): number {
  const s = p.saltLength ?? digestLength(h);
  if (!Number.isInteger(s) || s < 0) throw bad(`a PSS salt length is a non-negative integer, not ${s}`);
  return s;
}

/** RSA signing over data on libuv's thread pool: a 4096-bit signature costs milliseconds. */
function poolSign(alg: string, data: Buffer, key: KeyObject, options: { padding: number; saltLength?: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    nodeSign(alg, data, { key, ...options }, (err, sig) => (err ? reject(new KmipError('Cryptographic_Failure', 'RSA signing failed')) : resolve(sig)));
  });
}

function poolVerify(alg: string, data: Buffer, key: KeyObject, options: { padding: number; saltLength?: number }, signature: Buffer): Promise<boolean> {
  return new Promise((resolve) => nodeVerify(alg, data, { key, ...options }, signature, (err, ok) => resolve(!err && ok)));
}

const isLarge = (input: SignInput): boolean => input.data !== undefined && input.data.length >= OFFLOAD_MIN_BYTES;

/** ECDSA over a large message: the hash (the costly part) on a worker thread, then the signature over that digest, the same value. */
async function ecdsaInput(input: SignInput, h: HashAlgorithm | 'None' | undefined): Promise<SignInput> {
  if (!isLarge(input) || h === undefined || h === 'None') return input;
  return { digested: await hashAsync(h, input.data as Buffer) };
}

/** EdDSA hashes the whole message twice: a large one goes to libuv's thread pool. */
function pooledEd(privateOrPublic: KeyObject, data: Buffer, signature?: Buffer): Promise<Buffer | boolean> {
  return new Promise((resolve) => {
    if (signature) nodeVerify(null, data, privateOrPublic, signature, (err, ok) => resolve(!err && ok));
    else nodeSign(null, data, privateOrPublic, (err, sig) => resolve(err ? Buffer.alloc(0) : sig));
  });
}

/**
 * ECDSA and EdDSA sign inline: the thread-pool hop costs more than the signature itself.
 * RSA private operations never run on the event loop (thread pool or worker threads).
 */
export async function sign(privateKey: KeyObject, input: SignInput, p: SignParams): Promise<Buffer> {
  checkInput(input);
  requireType(privateKey, p.scheme);
  if (privateKey.type !== 'private') throw bad('signing needs the private key');
  switch (p.scheme) {
    case 'EdDSA':
      if (input.digested) throw bad('EdDSA (pure) signs the message itself, not a digest');
      if (isLarge(input)) {
        const sig = (await pooledEd(privateKey, input.data as Buffer)) as Buffer;
        if (sig.length === 0) throw new KmipError('Cryptographic_Failure', 'EdDSA signing failed');
        return sig;
      }
      return nodeSign(null, input.data ?? EMPTY, privateKey);
    case 'ECDSA':
      return ecdsaSign(privateKey, await ecdsaInput(input, p.hash), p.hash ?? 'None');
    case 'RSA_PKCS1v15': {
      if (!input.digested && p.hash !== 'None') return poolSign(nodeHash(p.hash ?? 'SHA256'), input.data ?? EMPTY, privateKey, { padding: constants.RSA_PKCS1_PADDING });
      const t = digestInfo(input, p);
      if (t.length > modulusBytes(privateKey) - 11) throw new KmipError('Invalid_Field', 'the DigestInfo is too long for this RSA key');
      // privateEncrypt with PKCS1 padding is exactly RSASSA-PKCS1-v1_5 over a given T.
      return rsaPrivateRaw('privateEncrypt', privateKey, t, constants.RSA_PKCS1_PADDING);
    }
    case 'RSA_PSS': {
      const h = rsaHash(p);
      const saltLength = pssSalt(p, h);
      if (!input.digested) return poolSign(nodeHash(h), input.data ?? EMPTY, privateKey, { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      const k = modulusBytes(privateKey);
      const em = pssEncode(givenDigest(input.digested, h), h, saltLength, privateKey.asymmetricKeyDetails?.modulusLength ?? 0);
      return rsaPrivateRaw('privateEncrypt', privateKey, Buffer.concat([Buffer.alloc(k - em.length), em]), constants.RSA_NO_PADDING);
    }
    default:
      throw new KmipError('Feature_Not_Supported', `signature scheme ${String(p.scheme)} is not supported`);
  }
}

/** False for a signature that does not verify; throws only for unusable parameters. */
export async function verify(publicKey: KeyObject, input: SignInput, signature: Buffer, p: SignParams): Promise<boolean> {
  checkInput(input);
  requireType(publicKey, p.scheme);
  switch (p.scheme) {
    case 'EdDSA':
      if (input.digested) throw bad('EdDSA (pure) verifies the message itself, not a digest');
      if (isLarge(input)) return (await pooledEd(publicKey, input.data as Buffer, signature)) as boolean;
      try {
        return nodeVerify(null, input.data ?? EMPTY, publicKey, signature);
      } catch {
        return false;
      }
    case 'ECDSA':
      return ecdsaVerify(publicKey, await ecdsaInput(input, p.hash), p.hash ?? 'None', signature);
    case 'RSA_PKCS1v15': {
      if (!input.digested && p.hash !== 'None') return poolVerify(nodeHash(p.hash ?? 'SHA256'), input.data ?? EMPTY, publicKey, { padding: constants.RSA_PKCS1_PADDING }, signature);
      const expected = digestInfo(input, p);
      try {
        const recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
        return recovered.length === expected.length && timingSafeEqual(recovered, expected);
      } catch {
        return false;
      }
    }
    case 'RSA_PSS': {
      const h = rsaHash(p);
      if (!input.digested) {
        return poolVerify(nodeHash(h), input.data ?? EMPTY, publicKey, { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: p.saltLength ?? constants.RSA_PSS_SALTLEN_AUTO }, signature);
      }
      const mHash = givenDigest(input.digested, h);
      if (signature.length !== modulusBytes(publicKey)) return false;
      try {
        const em = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
        return pssVerify(mHash, em, h, publicKey.asymmetricKeyDetails?.modulusLength ?? 0, p.saltLength);
      } catch {
        return false;
      }
    }
    default:
      throw new KmipError('Feature_Not_Supported', `signature scheme ${String(p.scheme)} is not supported`);
  }
}
