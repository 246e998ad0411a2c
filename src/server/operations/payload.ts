import { KmipError } from '../../kmip/errors';
import { child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';

/**
 * Typed readers for request payload fields. A field of the wrong TTLV type is an
 * Invalid_Field error naming the field, never a crash further down.
 */
function typed<N extends TtlvNode['type']>(payload: TtlvNode | undefined, tag: string, type: N): Extract<TtlvNode, { type: N }> | undefined {
  const n = child(payload, tag);
  if (n === undefined) return undefined;
  if (n.type !== type) throw new KmipError('Invalid_Field', `${tag} must be of type ${type}, not ${n.type}`);
  return n as Extract<TtlvNode, { type: N }>;
}

export const read = {
  text: (p: TtlvNode | undefined, tag: string): string | undefined => typed(p, tag, 'TextString')?.value,
  int: (p: TtlvNode | undefined, tag: string): number | undefined => typed(p, tag, 'Integer')?.value,
  bool: (p: TtlvNode | undefined, tag: string): boolean | undefined => typed(p, tag, 'Boolean')?.value,
  date: (p: TtlvNode | undefined, tag: string): number | undefined => typed(p, tag, 'DateTime')?.value,
  bytes: (p: TtlvNode | undefined, tag: string): Buffer | undefined => {
    const n = typed(p, tag, 'ByteString');
    // A view, not a copy: the Data of a large Encrypt is megabytes.
    return n ? Buffer.from(n.value.buffer, n.value.byteOffset, n.value.byteLength) : undefined;
  },
  enum: (p: TtlvNode | undefined, tag: string): string | undefined => {
    const n = typed(p, tag, 'Enumeration');
    return n === undefined ? undefined : String(n.value);
  },
  struct: (p: TtlvNode | undefined, tag: string): TtlvStructure | undefined => typed(p, tag, 'Structure'),
};

export function required<V>(value: V | undefined, what: string): V {
  if (value === undefined) throw new KmipError('Missing_Data', `missing ${what}`);
  return value;
}

/** KMIP CryptographicParameters, as the crypto operations consume them. */
export interface CryptoParams {
  algorithm?: string;
  mode?: string;
  padding?: string;
  hashing?: string;
  signatureAlgorithm?: string;
  maskGeneratorHashing?: string;
  tagLength?: number;
  ivLength?: number;
  randomIv?: boolean;
  saltLength?: number;
  pSource?: Buffer;
  initialCounterValue?: number;
}

export function readCryptoParams(p: TtlvNode | undefined): CryptoParams {
  const cp = read.struct(p, 'CryptographicParameters');
  const out: CryptoParams = {};
  if (!cp) return out;
  const set = <K extends keyof CryptoParams>(k: K, v: CryptoParams[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('algorithm', read.enum(cp, 'CryptographicAlgorithm'));
  set('mode', read.enum(cp, 'BlockCipherMode'));
  set('padding', read.enum(cp, 'PaddingMethod'));
  set('hashing', read.enum(cp, 'HashingAlgorithm'));
  set('signatureAlgorithm', read.enum(cp, 'DigitalSignatureAlgorithm'));
  set('maskGeneratorHashing', read.enum(cp, 'MaskGeneratorHashingAlgorithm'));
  set('tagLength', read.int(cp, 'TagLength'));
  set('ivLength', read.int(cp, 'IvLength') ?? read.int(cp, 'IVLength'));
  set('randomIv', read.bool(cp, 'RandomIv') ?? read.bool(cp, 'RandomIV'));
  set('saltLength', read.int(cp, 'SaltLength'));
  set('pSource', read.bytes(cp, 'PSource'));
  set('initialCounterValue', read.int(cp, 'InitialCounterValue'));
  return out;
}
