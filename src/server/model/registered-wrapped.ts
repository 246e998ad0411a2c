import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import { symmetricDecrypt, symmetricEncrypt } from '../crypto';
import { getAttr, intAttr, textAttr, type AttributeList } from './attributes';
import { privateKeyFromBlock, publicKeyFromBlock, readKeyBlock } from './key-block';
import type { ManagedObject } from './managed-object';

/**
 * Keys registered already wrapped (a KeyBlock carrying KeyWrappingData, KMIP 1.4 §2.1.3), as
 * PyKMIP's pie objects and Cosmian's `importKey` send them: the wrapped bytes are stored as they
 * came, with their KeyWrappingData kept in the attribute list under its own tag (never shown by
 * GetAttributes, see fullAttributes), and Get without a wrapping specification returns them as
 * registered, as PyKMIP's and Cosmian's servers do.
 *
 * When the KeyWrappingData names a KMS AES key the registering caller may unwrap with, the
 * object also gets a WrappingKeyLink to it, and operations unwrap it on use like a key wrapped
 * at rest (kms-wrapping.ts, OperationContext.attachUnwrap), with the mode its KeyWrappingData
 * names (RFC 3394 or RFC 5649). Otherwise the server cannot use it (requireUnwrapped).
 */
export const KEY_WRAPPING_DATA = 'KeyWrappingData';

export interface WrappedBlock {
  format: string;
  algorithm: string | undefined;
  length: number | undefined;
  wrapped: Buffer;
  data: TtlvStructure;
}

/** The wrapped content of a KeyBlock with KeyWrappingData, or undefined for a key in clear. */
export function readWrappedBlock(object: TtlvNode): WrappedBlock | undefined {
  const block = child(object, 'KeyBlock');
  const data = child(block, 'KeyWrappingData');
  if (!block || !data) return undefined;
  if (data.type !== 'Structure') throw new KmipError('Invalid_Field', 'KeyWrappingData must be a structure');
  const format = child(block, 'KeyFormatType');
  if (!format) throw new KmipError('Missing_Data', 'missing KeyFormatType');
  const method = child(data, 'WrappingMethod');
  if (!method) throw new KmipError('Missing_Data', 'missing KeyWrappingData.WrappingMethod');
  const value = child(block, 'KeyValue');
  // TTLV encoding wraps the whole KeyValue into a byte string; NoEncoding wraps the KeyMaterial bytes inside a KeyValue structure.
  const wrapped = value?.type === 'ByteString' ? value : child(value, 'KeyMaterial');
  if (!wrapped || wrapped.type !== 'ByteString' || wrapped.value.length === 0) throw new KmipError('Key_Value_Not_Present', 'a wrapped key needs its wrapped bytes as a byte string');
  const algorithm = child(block, 'CryptographicAlgorithm');
  const length = child(block, 'CryptographicLength');
  return {
    format: String(format.value),
    algorithm: algorithm ? String(algorithm.value) : undefined,
    length: length?.type === 'Integer' ? length.value : undefined,
    wrapped: Buffer.from(wrapped.value),
    data,
  };
}

export function registeredWrapping(attributes: AttributeList): TtlvStructure | undefined {
  const n = getAttr(attributes, KEY_WRAPPING_DATA);
  return n?.type === 'Structure' ? n : undefined;
}

/** Refuses to use wrapped bytes as if they were the key; a key the server can unwrap gives its clear bytes. */
export function requireUnwrapped(o: ManagedObject): Buffer | undefined {
  if (!registeredWrapping(o.attributes)) return undefined;
  if (o.unwrapKey) return o.unwrapKey();
  throw new KmipError('Key_Value_Not_Present', `object ${o.uid} was registered wrapped and this server cannot unwrap it on use (its wrapping key is not a KMS AES key the server can reach); it is kept wrapped and cannot be used`);
}

/** The UID of the key a KeyWrappingData says encrypted the bytes (EncryptionKeyInformation). */
export function wrappingKeyNamed(data: TtlvStructure): string | undefined {
  const uid = child(child(data, 'EncryptionKeyInformation'), 'UniqueIdentifier');
  return uid?.type === 'TextString' && uid.value.length > 0 ? uid.value : undefined;
}

export type KeyWrapMode = 'NISTKeyWrap' | 'AESKeyWrapPadding';

/**
 * The AES key wrap a KeyWrappingData names: RFC 3394 (NISTKeyWrap) or RFC 5649
 * (AESKeyWrapPadding, Cosmian's default when no parameters are given, crate/server/src/core/wrapping/wrap.rs).
 * undefined for anything else (another cipher mode, MAC/sign only): the server does not unwrap those.
 */
export function keyWrapModeOf(data: TtlvStructure): KeyWrapMode | undefined {
  if (child(data, 'WrappingMethod')?.value !== 'Encrypt') return undefined;
  const params = child(child(data, 'EncryptionKeyInformation'), 'CryptographicParameters');
  const mode = child(params, 'BlockCipherMode')?.value;
  if (mode === undefined) return 'AESKeyWrapPadding';
  return mode === 'NISTKeyWrap' || mode === 'AESKeyWrapPadding' ? mode : undefined;
}

/** Unwraps bytes registered wrapped; a failed integrity check says what it means. */
export function unwrapRegistered(what: string, wrappingUid: string, kek: Buffer, mode: KeyWrapMode, wrapped: Buffer): Buffer {
  try {
    return symmetricDecrypt({ algorithm: 'AES', mode, key: kek, data: wrapped });
  } catch (e) {
    if (!(e instanceof KmipError) || e.reason !== 'Cryptographic_Failure') throw e;
    const rfc = mode === 'NISTKeyWrap' ? 'RFC 3394' : 'RFC 5649';
    throw new KmipError('Cryptographic_Failure', `${what} does not unwrap under ${wrappingUid} (${rfc} integrity check failed): wrong wrapping key or altered bytes`);
  }
}

/**
 * The same key wrapped under another KMS key with the same mode (ReKey of its wrapping key, as
 * Cosmian's rewrap_dependants does): the new bytes, and the KeyWrappingData naming the new key.
 */
export function rewrapRegistered(data: TtlvStructure, what: string, oldUid: string, oldKek: Buffer, newUid: string, newKek: Buffer, wrapped: Buffer): { wrapped: Buffer; data: TtlvStructure } {
  const mode = keyWrapModeOf(data);
  if (mode === undefined) throw new KmipError('Feature_Not_Supported', `${what} is not wrapped with AES key wrap`);
  const plain = unwrapRegistered(what, oldUid, oldKek, mode, wrapped);
  try {
    const rewrapped = symmetricEncrypt({ algorithm: 'AES', mode, key: newKek, data: plain }).data;
    const renamed = (n: TtlvNode): TtlvNode => (n.tag === 'EncryptionKeyInformation' && n.type === 'Structure'
      ? T.struct('EncryptionKeyInformation', n.value.map((m) => (m.tag === 'UniqueIdentifier' ? T.text('UniqueIdentifier', newUid) : m)))
      : n);
    return { wrapped: rewrapped, data: T.struct(data.tag, data.value.map(renamed)) };
  } finally {
    plain.fill(0);
  }
}

/**
 * The clear KeyBlock of unwrapped bytes. The bytes are the key in the block's format when that
 * format is a byte string (NoEncoding, KMIP 1.4 §2.1.5); for a Transparent format they are
 * what Get wraps (get.ts): raw bytes for a symmetric key, PKCS#8 for a private key, SPKI for a public one.
 */
export function clearKeyBlock(objectType: string, format: string, algorithm: TtlvNode | undefined, length: TtlvNode | undefined, plain: Buffer): TtlvStructure {
  const transparent = format.startsWith('Transparent');
  const clearFormat = objectType === 'PrivateKey' ? (transparent ? 'PKCS8' : format)
    : objectType === 'PublicKey' ? (transparent || format === 'PKCS8' ? 'X509' : format)
    : objectType === 'SecretData' && format !== 'Opaque' ? 'Raw' : transparent ? 'Raw' : format;
  return T.struct('KeyBlock', [T.enum('KeyFormatType', clearFormat), T.struct('KeyValue', [T.bytes('KeyMaterial', plain)]), algorithm, length]);
}

/** The clear bytes of an unwrapped key in the form the store keeps keys in (raw, PKCS#8, SPKI). */
export function canonicalClear(o: ManagedObject, plain: Buffer): Buffer {
  if (o.objectType !== 'PrivateKey' && o.objectType !== 'PublicKey') return plain;
  const length = intAttr(o.attributes, 'CryptographicLength');
  const block = readKeyBlock(T.struct(o.objectType, [clearKeyBlock(o.objectType, textAttr(o.attributes, 'KeyFormatType') ?? 'PKCS8', getAttr(o.attributes, 'CryptographicAlgorithm'), length !== undefined ? T.int('CryptographicLength', length) : undefined, plain)]));
  return o.objectType === 'PrivateKey'
    ? privateKeyFromBlock(block).export({ format: 'der', type: 'pkcs8' })
    : publicKeyFromBlock(block).export({ format: 'der', type: 'spki' });
}

/** The KeyBlock of a key registered wrapped, exactly as it came. */
export function registeredWrappedBlock(o: ManagedObject, data: TtlvStructure): TtlvStructure {
  if (!o.material) throw new KmipError('Key_Value_Not_Present', `object ${o.uid} has no key material`);
  const noEncoding = child(data, 'EncodingOption')?.value === 'NoEncoding';
  return T.struct('KeyBlock', [
    getAttr(o.attributes, 'KeyFormatType') ?? T.enum('KeyFormatType', 'Raw'),
    noEncoding ? T.struct('KeyValue', [T.bytes('KeyMaterial', o.material)]) : T.bytes('KeyValue', o.material),
    getAttr(o.attributes, 'CryptographicAlgorithm'),
    getAttr(o.attributes, 'CryptographicLength'),
    data,
  ]);
}
