import type { KeyObject } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { linkAttribute, linkedId, splitAttributes, textAttr } from '../model/attributes';
import { CURVES } from '../model/algorithms';
import { curveName, privateKeyFromBlock, publicKeyFromBlock, readKeyBlock, symmetricFromBlock } from '../model/key-block';
import { keyKind } from '../model/key-objects';
import type { ManagedObject, ObjectType } from '../model/managed-object';
import { SUPPLIED } from '../model/protection';
import { KEY_WRAPPING_DATA, clearKeyBlock, keyWrapModeOf, readWrappedBlock, unwrapRegistered, wrappingKeyNamed, type WrappedBlock } from '../model/registered-wrapped';
import { effectiveState } from '../model/lifecycle';
import { USAGE, requireUsage } from '../model/usage';
import { privateKeyOf, symmetricKeyOf } from '../model/key-objects';
import { rsaEncryptionChoice } from '../model/crypto-params';
import { rsaDecrypt } from '../crypto';
import { newObject } from './new-object';
import { read, readCryptoParams, required } from './payload';

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

/**
 * A KMS key that can unwrap a key arriving wrapped. `keepable`: an AES key wrap, which the
 * at-rest mechanism (kms-wrapping.ts) can also undo on each use; an RSA wrap is undone on import only.
 */
interface Unwrapper {
  key: ManagedObject;
  keepable: boolean;
  unwrap(wrapped: Buffer): Promise<Buffer>;
}

/** Loads a key to unwrap with: its owner, or a caller granted `decrypt` or `get` (Cosmian unwrap.rs). */
async function loadForUnwrap(ctx: OperationContext, uid: string, named: string): Promise<ManagedObject> {
  return ctx.load(uid, 'decrypt').catch(async (e: unknown) => {
    if (!(e instanceof KmipError) || e.reason !== 'Permission_Denied') throw e;
    return ctx.load(uid, 'get').catch(() => {
      throw new KmipError('Permission_Denied', `${ctx.user} may not unwrap with ${named}: unwrapping needs decrypt or get on the wrapping key`);
    });
  });
}

/** What may unwrap: an Active key that allows UnwrapKey (or Decrypt), as Cosmian checks the unwrapping key. */
function checkUnwrappingKey(ctx: OperationContext, key: ManagedObject, named: string): void {
  const state = effectiveState(key, ctx.now());
  if (state !== 'Active') throw new KmipError('Wrong_Key_Lifecycle_State', `the wrapping key ${named} is ${state}; unwrapping needs an Active key`);
  requireUsage(key, 'UnwrapKey', USAGE.UnwrapKey | USAGE.Decrypt);
}

/**
 * The KMS key a wrapped block names, if the caller may unwrap with it. As Cosmian's unwrap
 * (crate/server/src/core/wrapping/unwrap.rs): the key must be Active, allow UnwrapKey, and a
 * caller who does not own it needs `decrypt` or `get` on it; a public key or certificate stands
 * for the private key it links to. AES key wrap (RFC 3394/5649) under an AES key, or RSA
 * (OAEP, PKCS#1 v1.5, RSA AES key wrap) under an RSA private key. A key the caller cannot see
 * (unknown, another user's and not shared, hsm::) gives undefined: the block is then kept as it
 * came, unusable, unless unwrapping was asked for.
 */
async function unwrapperFor(ctx: OperationContext, wrapped: WrappedBlock, unwrapAsked: boolean): Promise<Unwrapper | undefined> {
  const named = wrappingKeyNamed(wrapped.data);
  const unreachable = (why: string, reason = 'Item_Not_Found'): undefined => {
    if (unwrapAsked) throw new KmipError(reason, `cannot unwrap on import (KeyWrapType NotWrapped): ${why}`);
    return undefined;
  };
  if (named === undefined) return unreachable('the KeyWrappingData names no EncryptionKeyInformation.UniqueIdentifier');
  if (named.startsWith('hsm::')) return unreachable(`keys wrapped by an HSM key (${named}) are not unwrapped on import`, 'Feature_Not_Supported');
  let key: ManagedObject;
  try {
    key = await loadForUnwrap(ctx, await ctx.resolveUid(T.struct('Attributes', [T.text('UniqueIdentifier', named)])), named);
    if (key.objectType === 'PublicKey' || key.objectType === 'Certificate') {
      const privateUid = linkedId(key.attributes, 'PrivateKeyLink');
      if (privateUid === undefined) return unreachable(`${named} is a ${key.objectType} without a PrivateKeyLink`);
      key = await loadForUnwrap(ctx, privateUid, named);
    }
  } catch (e) {
    if (e instanceof KmipError && (e.reason === 'Item_Not_Found' || e.reason === 'Object_Not_Found')) return unreachable(`the wrapping key ${named} is not found`);
    throw e;
  }
  const mode = keyWrapModeOf(wrapped.data);
  if (key.objectType === 'SymmetricKey' && (textAttr(key.attributes, 'CryptographicAlgorithm') ?? 'AES') === 'AES' && mode !== undefined) {
    checkUnwrappingKey(ctx, key, named);
    const kek = key;
    return { key, keepable: true, unwrap: async (bytes) => unwrapRegistered('the key being registered', kek.uid, symmetricKeyOf(kek), mode, bytes) };
  }
  if (key.objectType === 'PrivateKey' && textAttr(key.attributes, 'CryptographicAlgorithm') === 'RSA' && unwrapAsked) {
    checkUnwrappingKey(ctx, key, named);
    const choice = rsaEncryptionChoice(readCryptoParams(child(wrapped.data, 'EncryptionKeyInformation')));
    const privateKey = privateKeyOf(key);
    return {
      key,
      keepable: false,
      unwrap: (bytes) => rsaDecrypt(privateKey, bytes, choice).catch((e: unknown) => {
        if (!(e instanceof KmipError) || e.reason !== 'Cryptographic_Failure') throw e;
        throw new KmipError('Cryptographic_Failure', `the key being registered does not unwrap under ${named} (RSA ${choice.padding}): wrong wrapping key or altered bytes`);
      }),
    };
  }
  if (!unwrapAsked) return undefined;
  throw new KmipError('Feature_Not_Supported', `keys are unwrapped on import with AES key wrap (RFC 3394 or RFC 5649) under an AES key, or under an RSA private key; ${named} is a ${key.objectType}`);
}

/** The object node with its KeyBlock replaced by the clear one. */
function withClearBlock(objectType: ObjectType, node: TtlvNode, wrapped: WrappedBlock, plain: Buffer): TtlvStructure {
  const block = child(node, 'KeyBlock');
  const clear = clearKeyBlock(objectType, wrapped.format, child(block, 'CryptographicAlgorithm'), child(block, 'CryptographicLength'), plain);
  const fields = node.type === 'Structure' ? node.value.filter((n) => n.tag !== 'KeyBlock') : [];
  return T.struct(objectType, [...fields, clear]);
}

async function buildObject(p: TtlvStructure, ctx: OperationContext): Promise<ManagedObject> {
  const objectType = required(read.enum(p, 'ObjectType'), 'ObjectType');
  if (!OBJECT_TYPES.has(objectType)) throw new KmipError('Invalid_Object_Type', `cannot register a ${objectType}`);
  const attrs = read.struct(p, 'Attributes');
  const node = objectNode(p, objectType);
  const wrapped = WRAPPABLE.has(objectType) ? readWrappedBlock(node) : undefined;
  // Cosmian's Import unwraps before storing when KeyWrapType is NotWrapped (crate/server/src/core/operations/import.rs).
  const unwrapAsked = read.enum(p, 'KeyWrapType') === 'NotWrapped';
  const unwrapper = wrapped ? await unwrapperFor(ctx, wrapped, unwrapAsked) : undefined;
  if (wrapped && unwrapper && (unwrapAsked || unwrapper.keepable)) {
    // Unwrapped now in both cases: a wrong wrapping key or altered bytes are refused at once.
    const plain = await unwrapper.unwrap(wrapped.wrapped);
    const clear = materialize(objectType as ObjectType, withClearBlock(objectType as ObjectType, node, wrapped, plain), attrs);
    plain.fill(0);
    // The bytes were known outside the KMS: never AlwaysSensitive nor NeverExtractable.
    if (unwrapAsked) return newObject(ctx, objectType as ObjectType, attrs, clear.material, clear.server, SUPPLIED);
    clear.material.fill(0);
    // Kept wrapped as it came, with what the clear key says about itself, and unwrapped on use (kms-wrapping.ts).
    const server = [...clear.server.filter((n) => n.tag !== 'KeyFormatType'), T.enum('KeyFormatType', wrapped.format), T.struct(KEY_WRAPPING_DATA, wrapped.data.value)];
    const o = newObject(ctx, objectType as ObjectType, attrs, wrapped.wrapped, server, SUPPLIED);
    return { ...o, attributes: [...o.attributes, linkAttribute('WrappingKeyLink', unwrapper.key.uid)] };
  }
  const { material, server } = materialize(objectType as ObjectType, node, attrs);
  // The bytes were known outside the KMS: never AlwaysSensitive nor NeverExtractable.
  return newObject(ctx, objectType as ObjectType, attrs, material, server, SUPPLIED);
}

export async function register(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.insert(await buildObject(p, ctx));
  return T.struct('RegisterResponse', [T.text('UniqueIdentifier', uid)]);
}

/** Import is Register with a caller-chosen UID, optionally replacing what is there. */
export async function importObject(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = required(read.text(p, 'UniqueIdentifier'), 'UniqueIdentifier');
  const replace = read.bool(p, 'ReplaceExisting') ?? false;
  const attrs = T.struct('Attributes', [...(read.struct(p, 'Attributes')?.value ?? []).filter((n) => n.tag !== 'UniqueIdentifier'), T.text('UniqueIdentifier', uid)]);
  const request = T.struct('Import', p.value.map((n) => (n.tag === 'Attributes' ? attrs : n)).concat(read.struct(p, 'Attributes') ? [] : [attrs]));
  const o = await buildObject(request, ctx);
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

