import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { cachedPrivateKey, cachedPublicKey } from './parse-cache';
import { KmipError } from '../../kmip/errors';
import type { ManagedObject } from './managed-object';

/** What an asymmetric key is, in the terms the signature and curve tables use. */
export interface KeyKind {
  kind: 'RSA' | 'EC' | 'Ed25519' | 'Ed448' | 'X25519' | 'X448';
  bits: number;
}

function material(o: ManagedObject): Buffer {
  if (!o.material) throw new KmipError('Key_Value_Not_Present', `object ${o.uid} has no key material`);
  return o.material;
}

export function privateKeyOf(o: ManagedObject): KeyObject {
  if (o.objectType !== 'PrivateKey') throw new KmipError('Invalid_Object_Type', `object ${o.uid} is a ${o.objectType}, not a private key`);
  return cachedPrivateKey(o.uid, material(o));
}

/** The public key of a public key, a certificate, or (derived) a private key. */
export function publicKeyOf(o: ManagedObject): KeyObject {
  switch (o.objectType) {
    case 'PublicKey':
      return cachedPublicKey(o.uid, material(o));
    case 'PrivateKey':
      return createPublicKey(privateKeyOf(o));
    case 'Certificate':
      return new X509Certificate(material(o)).publicKey;
    default:
      throw new KmipError('Invalid_Object_Type', `object ${o.uid} is a ${o.objectType}, not an asymmetric key`);
  }
}

export function symmetricKeyOf(o: ManagedObject): Buffer {
  if (o.objectType !== 'SymmetricKey' && o.objectType !== 'SecretData') {
    throw new KmipError('Invalid_Object_Type', `object ${o.uid} is a ${o.objectType}, not a symmetric key`);
  }
  return material(o);
}

const EC_BITS: Readonly<Record<string, number>> = { prime256v1: 256, secp384r1: 384, secp521r1: 521, secp256k1: 256 };

export function keyKind(key: KeyObject): KeyKind {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (type) {
    case 'rsa':
    case 'rsa-pss':
      return { kind: 'RSA', bits: details.modulusLength ?? 0 };
    case 'ec':
      return { kind: 'EC', bits: EC_BITS[details.namedCurve ?? ''] ?? 0 };
    case 'ed25519':
      return { kind: 'Ed25519', bits: 255 };
    case 'ed448':
      return { kind: 'Ed448', bits: 448 };
    case 'x25519':
      return { kind: 'X25519', bits: 255 };
    case 'x448':
      return { kind: 'X448', bits: 448 };
    default:
      throw new KmipError('Feature_Not_Supported', `unsupported key type ${type ?? 'unknown'}`);
  }
}
