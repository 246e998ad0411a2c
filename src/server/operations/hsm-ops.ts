import { KmipError } from '../../kmip/errors';
import { nameAttribute } from '../../kmip/requests';
import { T, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import { createAesKey, createRsaKeyPair, destroyKey, listKeys, readPublicKey, PUBLIC_KEY_SUFFIX, type HsmKeyInfo } from '../../hsm/keys';
import type { OperationContext } from '../context';
import { hsmToKmip, type HsmKeyRoute, type HsmRegistry } from '../hsm/hsm-registry';
import { intAttr, linkAttribute, splitAttributes, textAttr } from '../model/attributes';
import { keyBlock, publicKeyMaterial } from '../model/key-block';
import { hsmDecryptOp, hsmEncryptOp, hsmSignOp, keyInfo } from './hsm-crypto-ops';
import { read, required } from './payload';
import { hsmReKey } from './hsm-rekey';

/**
 * KMIP operations on keys that live in an HSM (UIDs hsm::…, ../shared/reference/hsm-model.md
 * §1 and §3). Nothing about these keys is in the database: every answer comes from the token.
 */

const HSM_PREFIX = 'hsm::';

/** Operations that name the new key's UID in their attributes rather than in the payload. */
const ATTRIBUTE_UID_OPERATIONS: Readonly<Record<string, readonly string[]>> = {
  Create: ['Attributes'],
  Register: ['Attributes'],
  CreateKeyPair: ['PrivateKeyAttributes', 'CommonAttributes'],
};

function attributeUid(p: TtlvStructure, holders: readonly string[]): string | undefined {
  for (const holder of holders) {
    const uid = textAttr(splitAttributes(child(p, holder)).list, 'UniqueIdentifier');
    if (uid !== undefined) return uid;
  }
  return undefined;
}

/** The hsm:: UID a request is about, or undefined when it concerns the database. */
export function hsmUidOf(operation: string, p: TtlvStructure, ctx: OperationContext): string | undefined {
  const holders = ATTRIBUTE_UID_OPERATIONS[operation];
  const node: TtlvNode | undefined = holders ? undefined : child(p, 'UniqueIdentifier');
  const uid = holders ? attributeUid(p, holders) : node?.type === 'TextString' ? node.value : node === undefined ? ctx.idPlaceholder : undefined;
  return uid !== undefined && uid.startsWith(HSM_PREFIX) ? uid : undefined;
}

/** What an operation on an HSM key may need besides its payload: the caller and the store (ReKey), the other generations (Decrypt). */
export interface HsmOperationEnv {
  ctx: OperationContext;
  hsm: HsmRegistry;
}

type HsmHandler = (p: TtlvStructure, route: HsmKeyRoute, env: HsmOperationEnv) => TtlvStructure | Promise<TtlvStructure>;

const HANDLERS: Readonly<Record<string, HsmHandler>> = {
  Create: hsmCreate,
  CreateKeyPair: hsmCreateKeyPair,
  // A base UID encrypts and signs with the newest generation; Decrypt tries them all.
  Encrypt: (p, route, { hsm }) => hsmEncryptOp(p, hsm.latest(route)),
  Decrypt: (p, route, { hsm }) => hsmDecryptOp(p, hsm.generations(route)),
  Sign: (p, route, { hsm }) => hsmSignOp(p, hsm.latest(route)),
  ReKey: hsmReKey,
  GetAttributes: hsmGetAttributes,
  Get: (p, route) => hsmGet(p, route, false),
  Export: (p, route) => hsmGet(p, route, true),
  Destroy: hsmDestroy,
};

/**
 * Runs an operation on an HSM key. Only the key's HSM admins may do anything with it: this
 * KMS has no grants on HSM keys yet, and Cosmian gives non-admins only what they are granted.
 */
export async function runHsmOperation(operation: string, p: TtlvStructure, uid: string, ctx: OperationContext, hsm: HsmRegistry | undefined): Promise<TtlvStructure> {
  if (!hsm) throw new KmipError('Item_Not_Found', `no HSM is configured; ${uid} cannot be served`);
  const route = hsm.route(uid);
  if (!hsm.isAdmin(ctx.user, route.config)) {
    throw new KmipError('Permission_Denied', `${ctx.user} is not an admin of HSM ${route.config.prefix}; ${operation} on ${uid} is refused`);
  }
  const handler = HANDLERS[operation];
  if (!handler) throw new KmipError('Feature_Not_Supported', `${operation} is not supported on HSM keys`);
  try {
    return await handler(p, route, { ctx, hsm });
  } catch (e) {
    throw hsmToKmip(e);
  }
}

function hsmCreate(p: TtlvStructure, route: HsmKeyRoute): TtlvStructure {
  const objectType = required(read.enum(p, 'ObjectType'), 'ObjectType');
  if (objectType !== 'SymmetricKey') throw new KmipError('Invalid_Object_Type', `the HSM creates symmetric keys only, not ${objectType}`);
  const { list } = splitAttributes(read.struct(p, 'Attributes'));
  const algorithm = textAttr(list, 'CryptographicAlgorithm') ?? 'AES';
  const bits = intAttr(list, 'CryptographicLength') ?? 256;
  if (algorithm !== 'AES' || (bits !== 128 && bits !== 256)) {
    throw new KmipError('Invalid_Attribute_Value', `the HSM creates AES-128 or AES-256 keys, not ${algorithm}-${bits}`);
  }
  createAesKey(route.slot, route.label, bits);
  return T.struct('CreateResponse', [T.enum('ObjectType', 'SymmetricKey'), T.text('UniqueIdentifier', route.uid)]);
}

function hsmCreateKeyPair(p: TtlvStructure, route: HsmKeyRoute): TtlvStructure {
  const attributes = [read.struct(p, 'CommonAttributes'), read.struct(p, 'PrivateKeyAttributes')].flatMap((a) => splitAttributes(a).list);
  const algorithm = textAttr(attributes, 'CryptographicAlgorithm') ?? 'RSA';
  const bits = intAttr(attributes, 'CryptographicLength') ?? 2048;
  if (algorithm !== 'RSA' || (bits !== 2048 && bits !== 3072 && bits !== 4096)) {
    throw new KmipError('Invalid_Attribute_Value', `the HSM creates RSA 2048, 3072 or 4096 key pairs, not ${algorithm}-${bits}`);
  }
  if (route.label.endsWith(PUBLIC_KEY_SUFFIX)) throw new KmipError('Invalid_Attribute_Value', `a private key UID cannot end in ${PUBLIC_KEY_SUFFIX}`);
  createRsaKeyPair(route.slot, route.label, bits);
  return T.struct('CreateKeyPairResponse', [
    T.text('PrivateKeyUniqueIdentifier', route.uid),
    T.text('PublicKeyUniqueIdentifier', route.uid + PUBLIC_KEY_SUFFIX),
  ]);
}

const privateLabelUid = (publicUid: string): string => publicUid.slice(0, -PUBLIC_KEY_SUFFIX.length);

const OBJECT_TYPES = { secret: 'SymmetricKey', private: 'PrivateKey', public: 'PublicKey' } as const;
const ALGORITHMS = { AES: 'AES', RSA: 'RSA', EC: 'EC' } as const;

function attributesOf(route: HsmKeyRoute, info: HsmKeyInfo): TtlvNode[] {
  const nodes: Array<TtlvNode | undefined> = [
    T.enum('ObjectType', OBJECT_TYPES[info.keyClass]),
    T.enum('CryptographicAlgorithm', ALGORITHMS[info.keyType]),
    T.int('CryptographicLength', info.bits),
    nameAttribute(info.label),
    info.sensitive !== undefined ? T.bool('Sensitive', info.sensitive) : undefined,
    info.extractable !== undefined ? T.bool('Extractable', info.extractable) : undefined,
    info.alwaysSensitive !== undefined ? T.bool('AlwaysSensitive', info.alwaysSensitive) : undefined,
    info.neverExtractable !== undefined ? T.bool('NeverExtractable', info.neverExtractable) : undefined,
    T.enum('State', 'Active'),
    T.text('UniqueIdentifier', route.uid),
    // The halves of a pair find each other by Cosmian's `_pk` naming; PKCS#11 hosts then see one CKA_ID for both.
    info.keyClass === 'private' ? linkAttribute('PublicKeyLink', route.uid + PUBLIC_KEY_SUFFIX) : undefined,
    info.keyClass === 'public' && route.uid.endsWith(PUBLIC_KEY_SUFFIX) ? linkAttribute('PrivateKeyLink', privateLabelUid(route.uid)) : undefined,
  ];
  return nodes.filter((n): n is TtlvNode => n !== undefined);
}

/**
 * The HSM keys a Locate finds: only on the HSMs the caller administers (this KMS has no grants
 * on HSM keys), and only those whose attributes pass `accept`. A filter on something an HSM key
 * does not have (tags, links, a usage mask) therefore never returns one: asking for a name
 * cannot reveal the KEK to someone who may not use it (Cosmian issue #935).
 */
export function locateHsmKeys(ctx: OperationContext, accept: (attributes: TtlvNode[]) => boolean): string[] {
  const hsm = ctx.hsm;
  if (!hsm) return [];
  const found = new Set<string>();
  for (const slotRoute of hsm.slotsAdministeredBy(ctx.user)) {
    let keys: HsmKeyInfo[];
    try {
      keys = listKeys(slotRoute.slot);
    } catch {
      continue; // GET /hsm/status reports the unreachable slot; Locate still answers for the others
    }
    for (const info of keys) {
      const route = hsm.withLabel(slotRoute, info.label);
      if (accept(attributesOf(route, info))) found.add(route.uid);
    }
  }
  return [...found];
}

function hsmGetAttributes(p: TtlvStructure, route: HsmKeyRoute): TtlvStructure {
  const all = attributesOf(route, keyInfo(route));
  const refs = p.value.filter((n) => n.tag === 'AttributeReference' && (n.type === 'Enumeration' || n.type === 'TextString')).map((n) => String(n.value));
  const selected = refs.length === 0 ? all : all.filter((n) => refs.includes(n.tag));
  return T.struct('GetAttributesResponse', [T.text('UniqueIdentifier', route.uid), T.struct('Attributes', selected)]);
}

/** Public keys leave the HSM as SPKI; secret and private keys never do (src/hsm has no function that reads them). */
function hsmGet(p: TtlvStructure, route: HsmKeyRoute, exporting: boolean): TtlvStructure {
  if (read.struct(p, 'KeyWrappingSpecification')) throw new KmipError('Feature_Not_Supported', 'wrapped export of HSM keys is not supported');
  const info = keyInfo(route);
  if (info.keyClass !== 'public') throw new KmipError('Sensitive', `${route.uid} is an HSM ${OBJECT_TYPES[info.keyClass]}: its value never leaves the HSM`);
  const key = readPublicKey(route.slot, route.label);
  // SPKI unless asked otherwise: the form every verifier reads (database keys default to Cosmian's PKCS1).
  const format = read.enum(p, 'KeyFormatType') ?? 'X509';
  const spki = key.export({ format: 'der', type: 'spki' });
  const attributes = attributesOf(route, info);
  const object = T.struct('PublicKey', [keyBlock(format, publicKeyMaterial(format, spki), undefined,
    T.enum('CryptographicAlgorithm', ALGORITHMS[info.keyType]), T.int('CryptographicLength', info.bits))]);
  return T.struct(exporting ? 'ExportResponse' : 'GetResponse', [
    T.enum('ObjectType', 'PublicKey'),
    T.text('UniqueIdentifier', route.uid),
    exporting ? T.struct('Attributes', attributes) : undefined,
    object,
  ]);
}

function hsmDestroy(_p: TtlvStructure, route: HsmKeyRoute): TtlvStructure {
  destroyKey(route.slot, route.label);
  return T.struct('DestroyResponse', [T.text('UniqueIdentifier', route.uid)]);
}
