import { constants, diffieHellman, publicDecrypt, publicEncrypt, randomBytes, sign as nodeSign, verify as nodeVerify, timingSafeEqual, type KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { KmipError } from '../../kmip/errors';
import { NODE_HASH, hash as digest, type HashAlgorithm } from './digest';
import { rsaPrivateRaw } from './offload';

export interface RsaEncryption {
  padding: 'PKCS1v15' | 'OAEP';
  oaepHash?: HashAlgorithm;
  label?: Buffer;
}

export type SignatureScheme = 'RSA_PKCS1v15' | 'RSA_PSS' | 'ECDSA' | 'EdDSA';

export interface SignParams {
  scheme: SignatureScheme;
  /** 'None' with RSA_PKCS1v15 and digested input: the input is a DigestInfo, signed as is. */
  hash?: HashAlgorithm | 'None';
  saltLength?: number;
}

export type SignInput = { data?: Buffer; digested?: Buffer };

const bad = (msg: string): KmipError => new KmipError('Bad_Cryptographic_Parameters', msg);

// ---- RSA encryption ---------------------------------------------------------------------

function modulusBytes(key: KeyObject): number {
  return Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
}

export function rsaEncrypt(publicKey: KeyObject, data: Buffer, p: RsaEncryption): Buffer {
  try {
    if (p.padding === 'PKCS1v15') return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, data);
    return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH[p.oaepHash ?? 'SHA256'], ...(p.label ? { oaepLabel: p.label } : {}) }, data);
  } catch {
    throw new KmipError('Invalid_Field', `the data is too long for RSA ${p.padding} with this key`);
  }
}

/**
 * Both paddings are removed here: Node 20 refuses PKCS#1 v1.5 decryption since
 * CVE-2023-46809 (the Marvin attack). Both fail with the same error and no detail, so a
 * caller learns nothing about why a ciphertext was rejected.
 */
export async function rsaDecrypt(privateKey: KeyObject, data: Buffer, p: RsaEncryption): Promise<Buffer> {
  const k = modulusBytes(privateKey);
  if (data.length !== k) throw new KmipError('Cryptographic_Failure', 'RSA decryption failed');
  if (p.padding === 'OAEP') return oaepDecrypt(privateKey, data, p);
  const em = await rsaPrivateRaw('privateDecrypt', privateKey, data, constants.RSA_NO_PADDING);
  const message = pkcs1Type2Unpad(em);
  if (!message) throw new KmipError('Cryptographic_Failure', 'RSA decryption failed');
  return message;
}

async function oaepDecrypt(privateKey: KeyObject, data: Buffer, p: RsaEncryption): Promise<Buffer> {
  // The raw RSA step runs off the event loop; the OAEP decoding is done here.
  const em = await rsaPrivateRaw('privateDecrypt', privateKey, data, constants.RSA_NO_PADDING);
  const out = oaepUnpad(em, p.oaepHash ?? 'SHA256', p.label ?? Buffer.alloc(0));
  if (!out) throw new KmipError('Cryptographic_Failure', 'RSA decryption failed');
  return out;
}

function mgf1(seed: Buffer, length: number, hashAlg: HashAlgorithm): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  for (let counter = 0; total < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter, 0);
    const block = digest(hashAlg, Buffer.concat([seed, c]));
    out.push(block);
    total += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** RFC 8017 §7.1.2, with every check folded into one verdict at the end. */
function oaepUnpad(em: Buffer, hashAlg: HashAlgorithm, label: Buffer): Buffer | undefined {
  const hLen = digest(hashAlg, Buffer.alloc(0)).length;
  if (em.length < 2 * hLen + 2) return undefined;
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = xor(maskedSeed, mgf1(maskedDb, hLen, hashAlg));
  const db = xor(maskedDb, mgf1(seed, maskedDb.length, hashAlg));
  const lHash = digest(hashAlg, label);
  let good = em[0] === 0 && timingSafeEqual(db.subarray(0, hLen), lHash) ? 1 : 0;
  let separator = -1;
  for (let i = hLen; i < db.length; i++) {
    if (separator < 0 && db[i] === 1) separator = i;
    else if (separator < 0 && db[i] !== 0) good = 0;
  }
  if (separator < 0) good = 0;
  return good ? db.subarray(separator + 1) : undefined;
}

/** RFC 8017 §7.2.2: 00 02 PS(≥8 non-zero) 00 M. */
function pkcs1Type2Unpad(em: Buffer): Buffer | undefined {
  let good = em[0] === 0 && em[1] === 2 ? 1 : 0;
  let separator = -1;
  for (let i = 2; i < em.length; i++) {
    if (separator < 0 && em[i] === 0) separator = i;
  }
  if (separator < 10) good = 0;
  return good ? em.subarray(separator + 1) : undefined;
}

// ---- Signatures -------------------------------------------------------------------------

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1, and the SHA-3 OIDs). */
const DIGEST_INFO: Readonly<Record<HashAlgorithm, string>> = {
  SHA1: '3021300906052b0e03021a05000414',
  SHA224: '302d300d06096086480165030402040500041c',
  SHA256: '3031300d060960864801650304020105000420',
  SHA384: '3041300d060960864801650304020205000430',
  SHA512: '3051300d060960864801650304020305000440',
  SHA3_224: '302d300d06096086480165030402070500041c',
  SHA3_256: '3031300d060960864801650304020805000420',
  SHA3_384: '3041300d060960864801650304020905000430',
  SHA3_512: '3051300d060960864801650304020a05000440',
};

function digestOf(input: SignInput, h: HashAlgorithm): Buffer {
  if (input.digested) {
    const expected = digest(h, Buffer.alloc(0)).length;
    if (input.digested.length !== expected) throw new KmipError('Invalid_Field', `a ${h} digest is ${expected} bytes, not ${input.digested.length}`);
    return input.digested;
  }
  return digest(h, input.data ?? Buffer.alloc(0));
}

type SignOptions = { padding?: number; saltLength?: number; dsaEncoding?: 'der' | 'ieee-p1363' };

/** RSA signing goes to the thread pool (about 1 ms per operation); the hop costs more than an ECDSA or EdDSA signature, so those run inline. */
function callbackSign(alg: string | null, data: Buffer, key: KeyObject, options: SignOptions = {}): Promise<Buffer> {
  const input = { key, ...options };
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'rsa-pss') {
    try {
      return Promise.resolve(nodeSign(alg, data, input));
    } catch {
      return Promise.reject(new KmipError('Cryptographic_Failure', 'signing failed'));
    }
  }
  return new Promise((resolve, reject) => nodeSign(alg, data, input, (err, sig) => (err ? reject(new KmipError('Cryptographic_Failure', 'signing failed')) : resolve(sig))));
}

function callbackVerify(alg: string | null, data: Buffer, key: Parameters<typeof nodeVerify>[2], sig: Buffer): Promise<boolean> {
  return new Promise((resolve) => nodeVerify(alg, data, key, sig, (err, ok) => resolve(!err && ok)));
}

type NobleCurve = typeof p256 | typeof secp256k1;

function nobleCurve(key: KeyObject): { curve: NobleCurve; bytes: number } {
  const named = key.asymmetricKeyDetails?.namedCurve;
  switch (named) {
    case 'prime256v1': return { curve: p256, bytes: 32 };
    case 'secp384r1': return { curve: p384 as unknown as NobleCurve, bytes: 48 };
    case 'secp521r1': return { curve: p521 as unknown as NobleCurve, bytes: 66 };
    case 'secp256k1': return { curve: secp256k1, bytes: 32 };
    default: throw new KmipError('Feature_Not_Supported', `unsupported curve ${named ?? 'unknown'}`);
  }
}

function ecScalar(key: KeyObject, bytes: number): Buffer {
  const d = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
  return d.length >= bytes ? d : Buffer.concat([Buffer.alloc(bytes - d.length), d]);
}

function ecPoint(key: KeyObject): Buffer {
  const j = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(j.x ?? '', 'base64url'), Buffer.from(j.y ?? '', 'base64url')]);
}

/**
 * ECDSA. NIST curves over data use OpenSSL (random k, on the thread pool). A precomputed
 * digest, and every secp256k1 signature, go through @noble/curves with RFC 6979
 * deterministic nonces and low-S form, which is what Cosmian (Rust k256) produces.
 */
async function ecdsaSign(key: KeyObject, input: SignInput, h: HashAlgorithm): Promise<Buffer> {
  const isK1 = key.asymmetricKeyDetails?.namedCurve === 'secp256k1';
  if (!input.digested && !isK1) return callbackSign(NODE_HASH[h], input.data ?? Buffer.alloc(0), key, { dsaEncoding: 'der' });
  const { curve, bytes } = nobleCurve(key);
  const sig = curve.sign(digestOf(input, h), ecScalar(key, bytes), { lowS: true, prehash: false });
  return Buffer.from(sig.toDERRawBytes());
}

async function ecdsaVerify(key: KeyObject, input: SignInput, h: HashAlgorithm, signature: Buffer): Promise<boolean> {
  if (!input.digested) return callbackVerify(NODE_HASH[h], input.data ?? Buffer.alloc(0), { key, dsaEncoding: 'der' }, signature);
  const { curve } = nobleCurve(key);
  try {
    return curve.verify(signature, digestOf(input, h), ecPoint(key), { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) for a precomputed digest. */
function pssEncode(mHash: Buffer, h: HashAlgorithm, saltLength: number, modBits: number): Buffer {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = mHash.length;
  if (emLen < hLen + saltLength + 2) throw bad('the key is too small for this PSS salt length');
  const salt = randomBytes(saltLength);
  const hh = digest(h, Buffer.concat([Buffer.alloc(8), mHash, salt]));
  const db = Buffer.concat([Buffer.alloc(emLen - saltLength - hLen - 2), Buffer.from([1]), salt]);
  const masked = xor(db, mgf1(hh, db.length, h));
  masked[0] = (masked[0] as number) & (0xff >> (8 * emLen - emBits));
  return Buffer.concat([masked, hh, Buffer.from([0xbc])]);
}

function pssVerify(mHash: Buffer, em: Buffer, h: HashAlgorithm, modBits: number): boolean {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = mHash.length;
  const body = em.length > emLen ? em.subarray(em.length - emLen) : em;
  if (body.length !== emLen || body[emLen - 1] !== 0xbc) return false;
  const masked = body.subarray(0, emLen - hLen - 1);
  const hh = body.subarray(emLen - hLen - 1, emLen - 1);
  const db = xor(masked, mgf1(hh, masked.length, h));
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  const one = db.indexOf(1);
  if (one < 0 || db.subarray(0, one).some((b) => b !== 0)) return false;
  const salt = db.subarray(one + 1);
  return timingSafeEqual(digest(h, Buffer.concat([Buffer.alloc(8), mHash, salt])), hh);
}

export async function sign(privateKey: KeyObject, input: SignInput, p: SignParams): Promise<Buffer> {
  switch (p.scheme) {
    case 'EdDSA':
      if (input.digested) throw bad('EdDSA signs the message itself, not a digest');
      return callbackSign(null, input.data ?? Buffer.alloc(0), privateKey);
    case 'ECDSA':
      if (p.hash === undefined || p.hash === 'None') throw bad('ECDSA needs a hashing algorithm');
      return ecdsaSign(privateKey, input, p.hash);
    case 'RSA_PKCS1v15': {
      if (p.hash === 'None') {
        if (!input.digested) throw bad('PKCS#1 v1.5 without a hash signs a DigestInfo given as DigestedData');
        if (input.digested.length > modulusBytes(privateKey) - 11) throw new KmipError('Invalid_Field', 'the DigestInfo is too long for this key');
        return rsaPrivateRaw('privateEncrypt', privateKey, input.digested, constants.RSA_PKCS1_PADDING);
      }
      const h = p.hash ?? 'SHA256';
      if (!input.digested) return callbackSign(NODE_HASH[h], input.data ?? Buffer.alloc(0), privateKey, { padding: constants.RSA_PKCS1_PADDING });
      const info = Buffer.concat([Buffer.from(DIGEST_INFO[h], 'hex'), digestOf(input, h)]);
      return rsaPrivateRaw('privateEncrypt', privateKey, info, constants.RSA_PKCS1_PADDING);
    }
    case 'RSA_PSS': {
      if (p.hash === 'None') throw bad('PSS needs a hashing algorithm');
      const h = p.hash ?? 'SHA256';
      const saltLength = p.saltLength ?? digest(h, Buffer.alloc(0)).length;
      if (!input.digested) return callbackSign(NODE_HASH[h], input.data ?? Buffer.alloc(0), privateKey, { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
      const em = pssEncode(digestOf(input, h), h, saltLength, bits);
      const padded = em.length < modulusBytes(privateKey) ? Buffer.concat([Buffer.alloc(modulusBytes(privateKey) - em.length), em]) : em;
      return rsaPrivateRaw('privateEncrypt', privateKey, padded, constants.RSA_NO_PADDING);
    }
  }
}

export async function verify(publicKey: KeyObject, input: SignInput, signature: Buffer, p: SignParams): Promise<boolean> {
  switch (p.scheme) {
    case 'EdDSA':
      if (input.digested) throw bad('EdDSA verifies the message itself, not a digest');
      return callbackVerify(null, input.data ?? Buffer.alloc(0), publicKey, signature);
    case 'ECDSA':
      if (p.hash === undefined || p.hash === 'None') throw bad('ECDSA needs a hashing algorithm');
      return ecdsaVerify(publicKey, input, p.hash, signature);
    case 'RSA_PKCS1v15': {
      if (p.hash === undefined || p.hash === 'None' || input.digested) {
        const expected = p.hash === undefined || p.hash === 'None'
          ? input.digested
          : Buffer.concat([Buffer.from(DIGEST_INFO[p.hash], 'hex'), digestOf(input, p.hash)]);
        if (!expected) throw bad('PKCS#1 v1.5 without a hash verifies a DigestInfo given as DigestedData');
        try {
          const recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
          return recovered.length === expected.length && timingSafeEqual(recovered, expected);
        } catch {
          return false;
        }
      }
      return callbackVerify(NODE_HASH[p.hash], input.data ?? Buffer.alloc(0), { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    }
    case 'RSA_PSS': {
      if (p.hash === 'None') throw bad('PSS needs a hashing algorithm');
      const h = p.hash ?? 'SHA256';
      if (!input.digested) {
        return callbackVerify(NODE_HASH[h], input.data ?? Buffer.alloc(0), { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: p.saltLength ?? constants.RSA_PSS_SALTLEN_AUTO }, signature);
      }
      try {
        const em = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
        return pssVerify(digestOf(input, h), em, h, publicKey.asymmetricKeyDetails?.modulusLength ?? 0);
      } catch {
        return false;
      }
    }
  }
}

/** ECDH (NIST curves, secp256k1) and X25519/X448: the raw shared secret. */
export function deriveSharedSecret(privateKey: KeyObject, peerPublicKey: KeyObject): Buffer {
  try {
    return diffieHellman({ privateKey, publicKey: peerPublicKey });
  } catch {
    throw new KmipError('Invalid_Field', 'the peer public key does not match the private key type or curve');
  }
}

