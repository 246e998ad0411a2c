import type { KeyObject } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { splitAttributes, textAttr } from '../model/attributes';
import { CURVES } from '../model/algorithms';
import { curveName, privateKeyFromBlock, publicKeyFromBlock, readKeyBlock, symmetricFromBlock } from '../model/key-block';
import { keyKind } from '../model/key-objects';
import type { ManagedObject, ObjectType } from '../model/managed-object';
import { SUPPLIED } from '../model/protection';
import { KEY_WRAPPING_DATA, readWrappedBlock } from '../model/registered-wrapped';
import { newObject } from './new-object';
import { read, required } from './payload';

const OBJECT_TYPES = new Set<string>(['SymmetricKey', 'PrivateKey', 'PublicKey', 'Certificate', 'SecretData', 'OpaqueObject', 'SplitKey']);

/** The fields of a SplitKey structure besides its KeyBlock (KMIP 1.4 §2.2.5), kept as the server's own (OBJECT_FIELDS). */
const SPLIT_KEY_FIELDS = ['SplitKeyParts', 'KeyPartIdentifier', 'SplitKeyThreshold', 'SplitKeyMethod', 'PrimeFieldSize'] as const;

function splitKeyFields(node: TtlvNode): TtlvNode[] {
  const out: TtlvNode[] = [];
  for (const tag of SPLIT_KEY_FIELDS) {
    const n = child(node, tag);
    if (!n) {
      if (tag === 'PrimeFieldSize') continue;
      throw new KmipError('Missing_Data', `a SplitKey needs ${tag}`);
    }
    out.push(n);
  }
  return out;
}

/** Clients may tag the object with its type (Cosmian) or with "Object" (older docs). */
function objectNode(p: TtlvStructure, objectType: string): TtlvNode {
  const node = child(p, objectType) ?? child(p, 'Object');
  if (!node) throw new KmipError('Missing_Data', `missing the ${objectType} object`);
  return node;
}

/** Attributes that describe an asymmetric key, computed from the key itself so they cannot lie. */
function asymmetricAttributes(key: KeyObject, requestedAlgorithm: string | undefined): TtlvNode[] {
  const kind = keyKind(key);
  const curve = curveName(key);
  const algorithm = kind.kind === 'RSA' ? 'RSA' : kind.kind === 'EC' ? (requestedAlgorithm === 'ECDSA' || requestedAlgorithm === 'ECDH' ? requestedAlgorithm : 'EC') : kind.kind === 'X25519' || kind.kind === 'X448' ? 'ECDH' : kind.kind;
  const nodes: Array<TtlvNode | undefined> = [
    T.enum('CryptographicAlgorithm', algorithm),
    T.int('CryptographicLength', kind.bits),
    kind.kind !== 'RSA' && curve ? T.struct('CryptographicDomainParameters', [T.int('Qlength', CURVES[curve]?.bits ?? kind.bits), T.enum('RecommendedCurve', curve)]) : undefined,
  ];
  return nodes.filter((n): n is TtlvNode => n !== undefined);
}

const WRAPPABLE = new Set<string>(['SymmetricKey', 'PrivateKey', 'PublicKey', 'SecretData', 'SplitKey']);

/**
 * A key that arrives wrapped is kept as it came (src/server/model/registered-wrapped.ts): its
 * algorithm and length cannot be read from the bytes, so they come from the KeyBlock or the
 * template, as PyKMIP's server takes them.
 */
function materializeWrapped(objectType: ObjectType, node: TtlvNode, list: ReturnType<typeof splitAttributes>['list']): { material: Buffer; server: TtlvNode[] } | undefined {
  const wrapped = readWrappedBlock(node);
  if (!wrapped) return undefined;
  if (!WRAPPABLE.has(objectType)) throw new KmipError('Invalid_Object_Type', `a ${objectType} cannot be registered wrapped`);
  const algorithm = wrapped.algorithm ?? textAttr(list, 'CryptographicAlgorithm');
  const length = wrapped.length ?? list.find((n) => n.tag === 'CryptographicLength')?.value;
  const secretType = child(node, 'SecretDataType');
  const server: Array<TtlvNode | undefined> = [
      algorithm !== undefined ? T.enum('CryptographicAlgorithm', algorithm) : undefined,
      typeof length === 'number' ? T.int('CryptographicLength', length) : undefined,
      T.enum('KeyFormatType', wrapped.format),
      objectType === 'SecretData' ? T.enum('SecretDataType', secretType && secretType.type === 'Enumeration' ? secretType.value : 'Password') : undefined,
      T.struct(KEY_WRAPPING_DATA, wrapped.data.value),
      ...(objectType === 'SplitKey' ? splitKeyFields(node) : []),
  ];
  return { material: wrapped.wrapped, server: server.filter((n): n is TtlvNode => n !== undefined) };
}

/** Reads the object of a Register/Import into canonical material and server-computed attributes. */
function materialize(objectType: ObjectType, node: TtlvNode, requested: TtlvNode | undefined): { material: Buffer; server: TtlvNode[] } {
  const { list } = splitAttributes(requested);
  const wrapped = materializeWrapped(objectType, node, list);
  if (wrapped) return wrapped;
  switch (objectType) {
    case 'SymmetricKey': {
      const block = readKeyBlock(node);
      const key = symmetricFromBlock(block);
      const algorithm = block.algorithm ?? textAttr(list, 'CryptographicAlgorithm');
      if (!algorithm) throw new KmipError('Missing_Data', 'missing CryptographicAlgorithm');
      if (algorithm === 'AES' && ![16, 24, 32, 64].includes(key.length)) {
        throw new KmipError('Invalid_Attribute_Value', `an AES key is 16, 24 or 32 bytes (64 for XTS), not ${key.length}`);
      }
      return { material: key, server: [T.enum('CryptographicAlgorithm', algorithm), T.int('CryptographicLength', key.length * 8), T.enum('KeyFormatType', 'TransparentSymmetricKey')] };
    }
    case 'PrivateKey': {
      const block = readKeyBlock(node);
      const key = privateKeyFromBlock(block);
      return {
        material: key.export({ format: 'der', type: 'pkcs8' }),
        // KeyFormatType records the format it came in: a KMIP 1.x Get without a format returns that (get.ts).
        server: [...asymmetricAttributes(key, block.algorithm ?? textAttr(list, 'CryptographicAlgorithm')), T.enum('KeyFormatType', block.format)],
      };
    }
    case 'PublicKey': {
      const block = readKeyBlock(node);
      const key = publicKeyFromBlock(block);
      return {
        material: key.export({ format: 'der', type: 'spki' }),
        server: [...asymmetricAttributes(key, block.algorithm ?? textAttr(list, 'CryptographicAlgorithm')), T.enum('KeyFormatType', block.format)],
      };
    }
    case 'SplitKey': {
      // One share of a key split outside the KMS; stored as its raw bytes, the split fields kept with it.
      const block = readKeyBlock(node);
      const share = symmetricFromBlock(block);
      const algorithm = block.algorithm ?? textAttr(list, 'CryptographicAlgorithm');
      const length = block.length ?? share.length * 8;
      return {
        material: share,
        server: [...(algorithm ? [T.enum('CryptographicAlgorithm', algorithm)] : []), T.int('CryptographicLength', length), T.enum('KeyFormatType', block.format), ...splitKeyFields(node)],
      };
    }
    case 'Certificate': {
      const type = child(node, 'CertificateType');
      const value = child(node, 'CertificateValue');
      if (type && type.value !== 'X509') throw new KmipError('Feature_Not_Supported', `certificate type ${String(type.value)} is not supported`);
      if (!value || value.type !== 'ByteString') throw new KmipError('Missing_Data', 'missing CertificateValue');
      const der = Buffer.from(value.value);
      try {
        new X509Certificate(der);
      } catch {
        throw new KmipError('Invalid_Field', 'CertificateValue is not a DER X.509 certificate');
      }
      return { material: der, server: [T.enum('CertificateType', 'X509')] };
    }
    case 'SecretData': {
      const type = child(node, 'SecretDataType');
      const block = readKeyBlock(node);
      const bytes = block.material.type === 'ByteString' ? Buffer.from(block.material.value) : symmetricFromBlock(block);
      return { material: bytes, server: [T.enum('SecretDataType', type && type.type === 'Enumeration' ? type.value : 'Password')] };
    }
    case 'OpaqueObject': {
      const type = child(node, 'OpaqueDataType');
      const value = child(node, 'OpaqueDataValue');
      if (!value || value.type !== 'ByteString') throw new KmipError('Missing_Data', 'missing OpaqueDataValue');
      return { material: Buffer.from(value.value), server: [T.enum('OpaqueDataType', type && type.type === 'Enumeration' ? type.value : 'Unknown')] };
    }
  }
}

function buildObject(p: TtlvStructure, ctx: OperationContext): ManagedObject {
  const objectType = required(read.enum(p, 'ObjectType'), 'ObjectType');
  if (!OBJECT_TYPES.has(objectType)) throw new KmipError('Invalid_Object_Type', `cannot register a ${objectType}`);
  const attrs = read.struct(p, 'Attributes');
  const { material, server } = materialize(objectType as ObjectType, objectNode(p, objectType), attrs);
  // The bytes were known outside the KMS: never AlwaysSensitive nor NeverExtractable.
  return newObject(ctx, objectType as ObjectType, attrs, material, server, SUPPLIED);
}

export async function register(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.insert(buildObject(p, ctx));
  return T.struct('RegisterResponse', [T.text('UniqueIdentifier', uid)]);
}

/** Import is Register with a caller-chosen UID, optionally replacing what is there. */
export async function importObject(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = required(read.text(p, 'UniqueIdentifier'), 'UniqueIdentifier');
  const replace = read.bool(p, 'ReplaceExisting') ?? false;
  const attrs = T.struct('Attributes', [...(read.struct(p, 'Attributes')?.value ?? []).filter((n) => n.tag !== 'UniqueIdentifier'), T.text('UniqueIdentifier', uid)]);
  const request = T.struct('Import', p.value.map((n) => (n.tag === 'Attributes' ? attrs : n)).concat(read.struct(p, 'Attributes') ? [] : [attrs]));
  const o = buildObject(request, ctx);
  const target = await ctx.resolveText(uid);
  const existing = await ctx.store.get(target);
  // Another user's object is replaced only when asked to and allowed to ("import" granted);
  // otherwise the import lands in the caller's namespace (context.placeUid) and reveals nothing.
  const replacesOthers = existing !== undefined && existing.owner !== ctx.user && replace && (await ctx.grantedOperations(target)).has('import');
  if (existing === undefined || (existing.owner !== ctx.user && !replacesOthers)) {
    const stored = await ctx.insert(o);
    return T.struct('ImportResponse', [T.text('UniqueIdentifier', stored)]);
  }
  if (!replace) throw new KmipError('Object_Already_Exists', `an object with identifier ${uid} already exists; set ReplaceExisting to replace it`);
  const current = await ctx.load(target);
  // A user granted "import" replaces the object; it stays its owner's, with its owner's grants.
  await ctx.save({ ...o, uid: target, owner: current.owner, createdAt: current.createdAt });
  return T.struct('ImportResponse', [T.text('UniqueIdentifier', target)]);
}

