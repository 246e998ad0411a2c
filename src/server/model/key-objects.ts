import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { cachedPrivateKey, cachedPublicKey } from './parse-cache';
import { describeKey } from '../crypto/describe';
import { KmipError } from '../../kmip/errors';
import type { ManagedObject } from './managed-object';
import { requireUnwrapped } from './registered-wrapped';
import { wrappingKeyOf } from './kms-wrapping';

/** What an asymmetric key is, in the terms the signature and curve tables use. */
export interface KeyKind {
  kind: 'RSA' | 'EC' | 'Ed25519' | 'Ed448' | 'X25519' | 'X448';
  bits: number;
}

function material(o: ManagedObject): Buffer {
  const unwrapped = requireUnwrapped(o);
  if (unwrapped) return unwrapped;
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
  const kek = wrappingKeyOf(o.attributes);
  if (kek !== undefined) {
    // Never hand out the wrapped bytes as if they were the key.
    if (!o.unwrapKey) throw new KmipError('Key_Value_Not_Present', `object ${o.uid} is wrapped by ${kek}, which this server cannot reach`);
    return o.unwrapKey();
  }
  return material(o);
}

/** The key's kind and size, from the engine's one curve table. */
export function keyKind(key: KeyObject): KeyKind {
  const d = describeKey(key);
  return { kind: d.algorithm, bits: d.bits };
}
