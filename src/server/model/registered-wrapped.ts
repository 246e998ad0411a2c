import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import { getAttr, type AttributeList } from './attributes';
import type { ManagedObject } from './managed-object';

/**
 * Keys registered already wrapped (a KeyBlock carrying KeyWrappingData, KMIP 1.4 §2.1.3), as
 * PyKMIP's pie objects send them: the wrapped bytes are stored as they came, with their
 * KeyWrappingData kept in the attribute list under its own tag (never shown by GetAttributes,
 * see fullAttributes), and Get without a wrapping specification returns them as registered,
 * as PyKMIP's server does. The KMS does not unwrap them: they cannot be used for cryptography
 * here, and Get cannot re-wrap or unwrap them.
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

/** Refuses to use wrapped bytes as if they were the key. */
export function requireUnwrapped(o: ManagedObject): void {
  if (registeredWrapping(o.attributes)) {
    throw new KmipError('Key_Value_Not_Present', `object ${o.uid} was registered wrapped; this server keeps it wrapped and cannot use it`);
  }
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
