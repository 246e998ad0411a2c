import { createPublicKey, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { okpByNode, weierstrassByNode, type OkpKind, type WeierstrassCurve } from './curves';

export interface KeyDescription {
  algorithm: 'RSA' | 'EC' | OkpKind;
  /**
   * RSA: modulus bits. EC: the curve's size (256/384/521/256). Ed25519/X25519: 256 and
   * Ed448/X448: 448, the sizes Cosmian reports as CryptographicLength (not 255).
   */
  bits: number;
  curve?: WeierstrassCurve;
}

/** What a KeyObject is, in KMIP terms, so callers need not read node's key details. */
export function describeKey(key: KeyObject): KeyDescription {
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'rsa-pss') {
    return { algorithm: 'RSA', bits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
  }
  if (type === 'ec') {
    const curve = weierstrassByNode(key.asymmetricKeyDetails?.namedCurve);
    return { algorithm: 'EC', bits: curve.bits, curve: curve.kmip };
  }
  const okp = okpByNode(type);
  if (okp) return { algorithm: okp.kind, bits: okp.bits };
  throw new KmipError('Feature_Not_Supported', `unsupported key type ${type ?? key.type}`);
}

export function publicFromPrivate(key: KeyObject): KeyObject {
  if (key.type !== 'private') throw new KmipError('Invalid_Object_Type', 'not a private key');
  return createPublicKey(key);
}
