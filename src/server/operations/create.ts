import { randomBytes, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { T, child, children, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { intAttr, linkAttribute, splitAttributes, textAttr, type AttributeList } from '../model/attributes';
import { keyPairSpec, symmetricKeyBits } from '../model/algorithms';
import { generateKeyPair } from '../crypto/keygen';
import { GENERATED } from '../model/protection';
import { checkKeyPairCost } from '../limits';
import { newObject } from './new-object';
import { read, required } from './payload';

export async function create(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const objectType = required(read.enum(p, 'ObjectType'), 'ObjectType');
  const attrs = read.struct(p, 'Attributes') ?? T.struct('Attributes', []);
  if (child(p, 'ProtectionStorageMasks')) {
    throw new KmipError('Feature_Not_Supported', 'ProtectionStorageMasks are not supported');
  }
  const { list } = splitAttributes(attrs);
  let material: Buffer;
  let server: TtlvNode[];
  if (objectType === 'SymmetricKey') {
    const algorithm = required(textAttr(list, 'CryptographicAlgorithm'), 'CryptographicAlgorithm');
    const bits = symmetricKeyBits(algorithm, intAttr(list, 'CryptographicLength'));
    material = randomBytes(bits / 8);
    server = [T.int('CryptographicLength', bits), T.enum('KeyFormatType', 'TransparentSymmetricKey')];
  } else if (objectType === 'SecretData') {
    const bits = intAttr(list, 'CryptographicLength') ?? 256;
    if (bits <= 0 || bits % 8 !== 0 || bits > 65536) throw new KmipError('Invalid_Attribute_Value', 'secret data length must be a positive multiple of 8 bits');
    material = randomBytes(bits / 8);
    server = [];
  } else {
    throw new KmipError('Invalid_Object_Type', `Create cannot make a ${objectType}; use CreateKeyPair or Register`);
  }
  const o = newObject(ctx, objectType, attrs, material, server, GENERATED);
  const uid = await ctx.insert(o);
  return T.struct('CreateResponse', [T.enum('ObjectType', objectType), T.text('UniqueIdentifier', uid)]);
}

/** Merges CommonAttributes with the private- or public-specific ones (specific wins). */
function mergeAttributes(common: TtlvStructure | undefined, specific: TtlvStructure | undefined): TtlvStructure {
  const specificTags = new Set(children(specific).filter((n) => n.tag !== 'Attribute' && n.tag !== 'Name' && n.tag !== 'Link').map((n) => n.tag));
  return T.struct('Attributes', [...children(common).filter((n) => !specificTags.has(n.tag)), ...children(specific)]);
}

export async function createKeyPair(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const common = read.struct(p, 'CommonAttributes');
  const privAttrs = mergeAttributes(common, read.struct(p, 'PrivateKeyAttributes'));
  const pubAttrs = mergeAttributes(common, read.struct(p, 'PublicKeyAttributes'));
  const spec = keyPairSpec(splitAttributes(privAttrs).list);
  checkKeyPairCost(spec.generate, ctx.limits);
  const pair = await generateKeyPair(spec.generate);
  const { priv, pub } = await storeKeyPair(ctx, privAttrs, pubAttrs, pair.privateKey, pair.publicKey, spec.attributes);
  return T.struct('CreateKeyPairResponse', [
    T.text('PrivateKeyUniqueIdentifier', priv),
    T.text('PublicKeyUniqueIdentifier', pub),
  ]);
}

/** Stores a linked private/public pair; the public UID is the private UID + "_pk", as Cosmian does. */
export async function storeKeyPair(
  ctx: OperationContext,
  privAttrs: TtlvStructure,
  pubAttrs: TtlvStructure,
  privateKey: KeyObject,
  publicKey: KeyObject,
  algorithmAttributes: AttributeList,
  extraLinks: { priv: TtlvNode[]; pub: TtlvNode[] } = { priv: [], pub: [] },
  owner: string = ctx.user,
): Promise<{ priv: string; pub: string }> {
  // Both halves are placed before either is built, so that their links name where the other is stored.
  const requested = textAttr(splitAttributes(privAttrs).list, 'UniqueIdentifier');
  const privUid = requested !== undefined ? await ctx.placeUid(requested) : ctx.newUid();
  const pubUid = requested !== undefined ? await ctx.placeUid(`${requested}_pk`) : `${privUid}_pk`;
  const withUid = (attrs: TtlvStructure, uid: string): TtlvStructure =>
    T.struct('Attributes', [...attrs.value.filter((n) => n.tag !== 'UniqueIdentifier'), T.text('UniqueIdentifier', uid)]);
  const priv = newObject(
    ctx,
    'PrivateKey',
    withUid(privAttrs, privUid),
    privateKey.export({ format: 'der', type: 'pkcs8' }),
    [...algorithmAttributes, T.enum('KeyFormatType', 'PKCS8'), linkAttribute('PublicKeyLink', pubUid), ...extraLinks.priv],
    GENERATED,
  );
  const pub = newObject(
    ctx,
    'PublicKey',
    withUid(pubAttrs, pubUid),
    publicKey.export({ format: 'der', type: 'spki' }),
    [...algorithmAttributes, T.enum('KeyFormatType', 'X509'), linkAttribute('PrivateKeyLink', privUid), ...extraLinks.pub],
    GENERATED,
  );
  const [privStored, pubStored] = await Promise.all([ctx.insert({ ...priv, owner }), ctx.insert({ ...pub, owner })]);
  return { priv: privStored, pub: pubStored };
}
