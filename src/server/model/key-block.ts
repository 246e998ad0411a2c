import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import {
  exportPrivateKey, exportPublicKey, importPrivateKey, importPublicKey,
  type PrivateKeyFormat, type PublicKeyFormat, type TransparentEcPrivate, type TransparentEcPublic,
  type TransparentRsaPrivate, type TransparentRsaPublic,
} from '../crypto/formats';
import { keyKind } from './key-objects';
import { describeKey } from '../crypto/describe';
import { okpByNode } from '../crypto/curves';

/**
 * KMIP KeyBlocks ⇄ canonical key material. Register/Import accept every format KMIP
 * defines for the key type; Get/Export render any of them on request.
 */

const RSA_PRIVATE_FIELDS = [
  ['Modulus', 'modulus'], ['PrivateExponent', 'privateExponent'], ['PublicExponent', 'publicExponent'], ['P', 'p'], ['Q', 'q'],
  ['PrimeExponentP', 'primeExponentP'], ['PrimeExponentQ', 'primeExponentQ'], ['CRTCoefficient', 'crtCoefficient'],
] as const;

function bigField(node: TtlvNode | undefined, tag: string): bigint {
  const n = child(node, tag);
  if (!n) throw new KmipError('Missing_Data', `missing ${tag} in the key material`);
  if (n.type === 'BigInteger' || n.type === 'LongInteger') return n.value;
  if (n.type === 'Integer') return BigInt(n.value);
  if (n.type === 'ByteString') return n.value.length === 0 ? 0n : BigInt('0x' + Buffer.from(n.value).toString('hex'));
  throw new KmipError('Invalid_Field', `${tag} must be a BigInteger`);
}

function bytesOf(node: TtlvNode | undefined, what: string): Buffer {
  if (!node || node.type !== 'ByteString') throw new KmipError('Invalid_Field', `${what} must be a ByteString`);
  return Buffer.from(node.value);
}

export interface ParsedKeyBlock {
  format: string;
  algorithm?: string;
  length?: number;
  /** KeyMaterial as sent: a ByteString or a Transparent* structure. */
  material: TtlvNode;
}

export function readKeyBlock(object: TtlvNode): ParsedKeyBlock {
  const block = child(object, 'KeyBlock');
  if (!block) throw new KmipError('Missing_Data', 'missing KeyBlock');
  const format = child(block, 'KeyFormatType');
  if (!format) throw new KmipError('Missing_Data', 'missing KeyFormatType');
  if (child(block, 'KeyWrappingData')) {
    throw new KmipError('Key_Wrap_Type_Not_Supported', 'importing wrapped keys is not supported; unwrap them first');
  }
  const value = child(block, 'KeyValue');
  if (!value) throw new KmipError('Key_Value_Not_Present', 'missing KeyValue');
  const material = value.type === 'ByteString' ? value : child(value, 'KeyMaterial');
  if (!material) throw new KmipError('Key_Value_Not_Present', 'missing KeyMaterial');
  const algorithm = child(block, 'CryptographicAlgorithm');
  const length = child(block, 'CryptographicLength');
  return {
    format: String(format.value),
    ...(algorithm ? { algorithm: String(algorithm.value) } : {}),
    ...(length && length.type === 'Integer' ? { length: length.value } : {}),
    material,
  };
}

export function symmetricFromBlock(b: ParsedKeyBlock): Buffer {
  if (b.format === 'Raw' || b.format === 'Opaque') return bytesOf(b.material, 'KeyMaterial');
  if (b.format === 'TransparentSymmetricKey') return bytesOf(child(b.material, 'Key'), 'Key');
  throw new KmipError('Key_Format_Type_Not_Supported', `a symmetric key cannot be in ${b.format} format`);
}

export function privateKeyFromBlock(b: ParsedKeyBlock): KeyObject {
  switch (b.format) {
    case 'PKCS8':
    case 'PKCS1':
    case 'ECPrivateKey':
      return importPrivateKey(b.format, bytesOf(b.material, 'KeyMaterial'));
    case 'Raw':
      return importPrivateKey('Raw', bytesOf(b.material, 'KeyMaterial'), edwardsKind(b.algorithm));
    case 'TransparentRSAPrivateKey': {
      const fields = Object.fromEntries(RSA_PRIVATE_FIELDS.map(([tag, key]) => [key, bigField(b.material, tag)])) as unknown as TransparentRsaPrivate;
      return importPrivateKey('TransparentRSAPrivateKey', fields);
    }
    case 'TransparentECPrivateKey': {
      const curve = child(b.material, 'RecommendedCurve');
      if (!curve) throw new KmipError('Missing_Data', 'missing RecommendedCurve');
      return importPrivateKey('TransparentECPrivateKey', { curve: String(curve.value), d: bigField(b.material, 'D') } as TransparentEcPrivate);
    }
    default:
      throw new KmipError('Key_Format_Type_Not_Supported', `a private key cannot be in ${b.format} format`);
  }
}

export function publicKeyFromBlock(b: ParsedKeyBlock): KeyObject {
  switch (b.format) {
    case 'X509':
    case 'PKCS1':
      return importPublicKey(b.format === 'X509' ? 'SPKI' : 'PKCS1', bytesOf(b.material, 'KeyMaterial'));
    case 'Raw':
      return importPublicKey('Raw', bytesOf(b.material, 'KeyMaterial'), edwardsKind(b.algorithm));
    case 'TransparentRSAPublicKey':
      return importPublicKey('TransparentRSAPublicKey', { modulus: bigField(b.material, 'Modulus'), publicExponent: bigField(b.material, 'PublicExponent') });
    case 'TransparentECPublicKey': {
      const curve = child(b.material, 'RecommendedCurve');
      if (!curve) throw new KmipError('Missing_Data', 'missing RecommendedCurve');
      return importPublicKey('TransparentECPublicKey', { curve: String(curve.value), q: bytesOf(child(b.material, 'QString'), 'QString') } as TransparentEcPublic);
    }
    default:
      throw new KmipError('Key_Format_Type_Not_Supported', `a public key cannot be in ${b.format} format`);
  }
}

function edwardsKind(algorithm: string | undefined): 'Ed25519' | 'Ed448' | 'X25519' | 'X448' {
  if (algorithm === 'Ed25519' || algorithm === 'Ed448' || algorithm === 'X25519' || algorithm === 'X448') return algorithm;
  throw new KmipError('Key_Format_Type_Not_Supported', 'a Raw asymmetric key needs CryptographicAlgorithm Ed25519, Ed448, X25519 or X448');
}

/** KMIP's name for a key's curve, for Transparent EC formats and attributes. */
export function curveName(key: KeyObject): string | undefined {
  return describeKey(key).curve ?? okpByNode(key.asymmetricKeyType)?.kmipCurve;
}

/** The format Get uses when the request names none: Cosmian's defaults. */
export function defaultFormat(objectType: string, key?: KeyObject): string {
  if (objectType === 'SymmetricKey' || objectType === 'SecretData') return 'Raw';
  const kind = key ? keyKind(key).kind : 'RSA';
  if (objectType === 'PrivateKey') return kind === 'RSA' ? 'PKCS1' : kind === 'EC' ? 'TransparentECPrivateKey' : 'PKCS8';
  return kind === 'RSA' ? 'PKCS1' : kind === 'EC' ? 'TransparentECPublicKey' : 'X509';
}

export function symmetricKeyMaterial(format: string, key: Buffer): TtlvNode {
  if (format === 'Raw') return T.bytes('KeyMaterial', key);
  if (format === 'TransparentSymmetricKey') return T.struct('KeyMaterial', [T.bytes('Key', key)]);
  throw new KmipError('Key_Format_Type_Not_Supported', `a symmetric key cannot be exported as ${format}`);
}

export function privateKeyMaterial(format: string, pkcs8: Buffer): TtlvNode {
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  switch (format) {
    case 'PKCS8':
      return T.bytes('KeyMaterial', pkcs8);
    case 'PKCS1':
    case 'ECPrivateKey':
    case 'Raw':
      return T.bytes('KeyMaterial', exportPrivateKey(key, format as PrivateKeyFormat) as Buffer);
    case 'TransparentRSAPrivateKey': {
      const rsa = exportPrivateKey(key, 'TransparentRSAPrivateKey') as TransparentRsaPrivate;
      return T.struct('KeyMaterial', RSA_PRIVATE_FIELDS.map(([tag, k]) => T.big(tag, rsa[k])));
    }
    case 'TransparentECPrivateKey': {
      const ec = exportPrivateKey(key, 'TransparentECPrivateKey') as TransparentEcPrivate;
      return T.struct('KeyMaterial', [T.enum('RecommendedCurve', ec.curve), T.big('D', ec.d)]);
    }
    default:
      throw new KmipError('Key_Format_Type_Not_Supported', `a private key cannot be exported as ${format}`);
  }
}

export function publicKeyMaterial(format: string, spki: Buffer): TtlvNode {
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  switch (format) {
    case 'X509':
      return T.bytes('KeyMaterial', spki);
    case 'PKCS1':
    case 'Raw':
      return T.bytes('KeyMaterial', exportPublicKey(key, format as PublicKeyFormat) as Buffer);
    case 'TransparentRSAPublicKey': {
      const rsa = exportPublicKey(key, 'TransparentRSAPublicKey') as TransparentRsaPublic;
      return T.struct('KeyMaterial', [T.big('Modulus', rsa.modulus), T.big('PublicExponent', rsa.publicExponent)]);
    }
    case 'TransparentECPublicKey': {
      const ec = exportPublicKey(key, 'TransparentECPublicKey') as TransparentEcPublic;
      return T.struct('KeyMaterial', [T.enum('RecommendedCurve', ec.curve), T.bytes('QString', ec.q)]);
    }
    default:
      throw new KmipError('Key_Format_Type_Not_Supported', `a public key cannot be exported as ${format}`);
  }
}

export function keyBlock(format: string, material: TtlvNode, attributes: TtlvNode[] | undefined, algorithm: TtlvNode | undefined, length: TtlvNode | undefined): TtlvStructure {
  return T.struct('KeyBlock', [
    T.enum('KeyFormatType', format),
    T.struct('KeyValue', [material, attributes ? T.struct('Attributes', attributes) : undefined]),
    algorithm,
    length,
  ]);
}
