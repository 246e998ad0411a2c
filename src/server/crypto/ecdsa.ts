import { sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { KmipError } from '../../kmip/errors';
import { weierstrassByNode, type WeierstrassCurve } from './curves';
import { digestLength, hash as digest, nodeHash, type HashAlgorithm } from './digest';

/**
 * ECDSA, DER-encoded signatures.
 *
 * Nonce choice: secp256k1 always, and every curve when the caller supplies the digest,
 * sign with RFC 6979 deterministic nonces (@noble/curves) in low-S form — what Cosmian's
 * Rust k256/p256 stack produces, so the KAT signatures match byte for byte. NIST curves over
 * raw data use OpenSSL's randomized nonces: several times faster, and a hedged nonce is as
 * safe. RFC 6979 needs no entropy at signing time, so both are sound choices; neither leaks
 * the key through a bad RNG.
 */

type Signer = typeof secp256k1;
const NOBLE: Readonly<Record<WeierstrassCurve, Signer>> = {
  P256: p256 as unknown as Signer,
  P384: p384 as unknown as Signer,
  P521: p521 as unknown as Signer,
  SECP256K1: secp256k1,
};

export type EcdsaHash = HashAlgorithm | 'None';

function curveOf(key: KeyObject): { curve: WeierstrassCurve; bytes: number } {
  if (key.asymmetricKeyType !== 'ec') throw new KmipError('Bad_Cryptographic_Parameters', `ECDSA needs an EC key, not ${key.asymmetricKeyType ?? key.type}`);
  const info = weierstrassByNode(key.asymmetricKeyDetails?.namedCurve);
  return { curve: info.kmip, bytes: info.bytes };
}

/** The value ECDSA signs: the caller's digest, or the hash of the data. */
function messageHash(input: { data?: Buffer; digested?: Buffer }, h: EcdsaHash): Buffer {
  if (input.digested) {
    // 'None': a digest of any length (PKCS#11 CKM_ECDSA); FIPS 186 truncates it to the order size.
    if (h !== 'None' && input.digested.length !== digestLength(h)) {
      throw new KmipError('Invalid_Field', `a ${h} digest is ${digestLength(h)} bytes, not ${input.digested.length}`);
    }
    if (input.digested.length === 0) throw new KmipError('Invalid_Field', 'an empty digest cannot be signed');
    return input.digested;
  }
  if (h === 'None') throw new KmipError('Bad_Cryptographic_Parameters', 'ECDSA over data needs a hashing algorithm');
  return digest(h, input.data ?? Buffer.alloc(0));
}

function scalar(key: KeyObject, bytes: number): Buffer {
  const d = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
  return d.length >= bytes ? d : Buffer.concat([Buffer.alloc(bytes - d.length), d]);
}

function point(key: KeyObject): Buffer {
  const j = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(j.x ?? '', 'base64url'), Buffer.from(j.y ?? '', 'base64url')]);
}

export function ecdsaSign(key: KeyObject, input: { data?: Buffer; digested?: Buffer }, h: EcdsaHash): Buffer {
  const { curve, bytes } = curveOf(key);
  if (!input.digested && curve !== 'SECP256K1' && h !== 'None') {
    try {
      return nodeSign(nodeHash(h), input.data ?? Buffer.alloc(0), { key, dsaEncoding: 'der' });
    } catch {
      throw new KmipError('Cryptographic_Failure', 'ECDSA signing failed');
    }
  }
  const sig = NOBLE[curve].sign(messageHash(input, h), scalar(key, bytes), { lowS: true, prehash: false });
  return Buffer.from(sig.toDERRawBytes());
}

/** Accepts high-S signatures: other signers (OpenSSL) do not normalize. */
export function ecdsaVerify(key: KeyObject, input: { data?: Buffer; digested?: Buffer }, h: EcdsaHash, signature: Buffer): boolean {
  const { curve } = curveOf(key);
  if (!input.digested && h !== 'None') {
    try {
      return nodeVerify(nodeHash(h), input.data ?? Buffer.alloc(0), { key, dsaEncoding: 'der' }, signature);
    } catch {
      return false;
    }
  }
  const msg = messageHash(input, h);
  try {
    return NOBLE[curve].verify(signature, msg, point(key), { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}
