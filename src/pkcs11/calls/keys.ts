import { randomBytes } from 'node:crypto';
import { T } from '../../kmip/ttlv';
import { objectAttributes, symmetricKeyObject, type CryptoParams, type KeyPairSpec } from '../../kmip/requests';
import { readUniqueIdentifier } from '../../kmip/responses';
import { CKA, CKD, CKF, CKK, CKO, CKR, CKZ } from '../constants';
import { fail, kmipFailure } from '../errors';
import { curveFromEcParams } from '../key-material';
import { HASH_BY_MECHANISM, HASH_BY_MGF, HASHES, mechanismSpec } from '../mechanisms';
import { readAttribute } from '../object-attributes';
import { commonAttributes, PRIVATE_KEY_ATTRIBUTES, PUBLIC_KEY_ATTRIBUTES, SECRET_KEY_ATTRIBUTES, usageMask } from '../object-templates';
import { Template } from '../template';
import type { Token } from '../token';
import type { CallOutcome, Mechanism, OutBuffer, RawAttribute } from '../types';
import { deliver } from '../operations/output';
import { adopt, checkWritable } from './objects';

/** Key generation, wrapping, derivation and random numbers, all done on the KMS (section 5.14). */

function secretKeyTemplate(raw: RawAttribute[], ulongSize: number, keyType: number): { template: Template; bytes: number } {
  const template = Template.decode(raw, ulongSize);
  template.allowOnly(SECRET_KEY_ATTRIBUTES, 'a secret key');
  template.expect(CKA.CLASS, CKO.SECRET_KEY);
  template.expect(CKA.KEY_TYPE, keyType);
  if (template.has(CKA.VALUE)) fail(CKR.TEMPLATE_INCONSISTENT, 'a generated key has no CKA_VALUE in its template');
  const bytes = template.ulong(CKA.VALUE_LEN);
  if (bytes === undefined) fail(CKR.TEMPLATE_INCOMPLETE, 'CKA_VALUE_LEN is required');
  if (keyType === CKK.AES && ![16, 24, 32].includes(bytes)) fail(CKR.ATTRIBUTE_VALUE_INVALID, 'an AES key is 16, 24 or 32 bytes');
  if (bytes < 1 || bytes > 512) fail(CKR.ATTRIBUTE_VALUE_INVALID, `CKA_VALUE_LEN ${bytes}`);
  return { template, bytes };
}

export async function generateKey(token: Token, sessionHandle: number, mechanism: Mechanism, raw: RawAttribute[]): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const spec = mechanismSpec(mechanism.type);
  if (spec?.generates !== 'aes' && spec?.generates !== 'generic-secret') fail(CKR.MECHANISM_INVALID, `mechanism 0x${mechanism.type.toString(16)} does not generate keys`);
  if (mechanism.parameter.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'key generation takes no parameter');
  const aes = spec.generates === 'aes';
  const { template, bytes } = secretKeyTemplate(raw, token.host.ulongSize, aes ? CKK.AES : CKK.GENERIC_SECRET);
  const isTokenObject = checkWritable(token, session, template, CKO.SECRET_KEY);
  const mask = usageMask(template);
  try {
    const uid = await session.slot.kms().create({
      algorithm: aes ? 'AES' : 'HMACSHA256',
      length: bytes * 8,
      ...commonAttributes(template, session.slot.config.tags, true),
      // A key made on the KMS stays there unless the application asks otherwise.
      sensitive: template.bool(CKA.SENSITIVE) ?? true,
      ...(mask !== undefined ? { usageMask: mask } : {}),
    });
    return { rv: CKR.OK, outputs: [adopt(token, session, uid, isTokenObject)] };
  } catch (e) {
    throw kmipFailure(e, 'create');
  }
}

/** RSA, EC on the NIST curves and secp256k1, and Ed25519/Ed448, from standard templates. */
function keyPairSpec(kind: string, pub: Template, priv: Template): Pick<KeyPairSpec, 'algorithm' | 'length' | 'curve'> {
  if (kind === 'rsa') {
    const bits = pub.ulong(CKA.MODULUS_BITS);
    if (bits === undefined) fail(CKR.TEMPLATE_INCOMPLETE, 'CKA_MODULUS_BITS is required');
    if (bits < 1024 || bits > 4096 || bits % 8 !== 0) fail(CKR.KEY_SIZE_RANGE, `an RSA modulus of ${bits} bits`);
    const exponent = pub.bytes(CKA.PUBLIC_EXPONENT);
    if (exponent && BigInt(`0x${exponent.toString('hex') || '0'}`) !== 65537n) fail(CKR.ATTRIBUTE_VALUE_INVALID, 'the public exponent must be 65537');
    return { algorithm: 'RSA', length: bits };
  }
  const params = pub.bytes(CKA.EC_PARAMS) ?? priv.bytes(CKA.EC_PARAMS);
  if (kind === 'edwards') {
    const curve = params ? curveFromEcParams(params) : { kmip: 'CURVEED25519', bits: 255 };
    if (curve?.kmip !== 'CURVEED25519' && curve?.kmip !== 'CURVEED448') fail(CKR.CURVE_NOT_SUPPORTED, 'Edwards keys are Ed25519 or Ed448');
    return { algorithm: curve.kmip === 'CURVEED448' ? 'Ed448' : 'Ed25519' };
  }
  if (!params) fail(CKR.TEMPLATE_INCOMPLETE, 'CKA_EC_PARAMS is required');
  const curve = curveFromEcParams(params);
  if (!curve || !['P256', 'P384', 'P521', 'SECP256K1'].includes(curve.kmip)) fail(CKR.CURVE_NOT_SUPPORTED, 'EC keys are on P-256, P-384, P-521 or secp256k1');
  return { algorithm: 'EC', curve: curve.kmip, length: curve.bits };
}

export async function generateKeyPair(token: Token, sessionHandle: number, mechanism: Mechanism, rawPublic: RawAttribute[], rawPrivate: RawAttribute[]): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const spec = mechanismSpec(mechanism.type);
  if (spec?.generates !== 'rsa' && spec?.generates !== 'ec' && spec?.generates !== 'edwards') fail(CKR.MECHANISM_INVALID, `mechanism 0x${mechanism.type.toString(16)} does not generate key pairs`);
  if (mechanism.parameter.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'key pair generation takes no parameter');
  const pub = Template.decode(rawPublic, token.host.ulongSize);
  const priv = Template.decode(rawPrivate, token.host.ulongSize);
  pub.allowOnly(PUBLIC_KEY_ATTRIBUTES, 'a public key template');
  priv.allowOnly(PRIVATE_KEY_ATTRIBUTES, 'a private key template');
  pub.expect(CKA.CLASS, CKO.PUBLIC_KEY);
  priv.expect(CKA.CLASS, CKO.PRIVATE_KEY);
  const publicToken = checkWritable(token, session, pub, CKO.PUBLIC_KEY);
  const privateToken = checkWritable(token, session, priv, CKO.PRIVATE_KEY);
  const keyPair = keyPairSpec(spec.generates, pub, priv);
  // One CKA_ID and one label for both halves: whichever template names them.
  const shared = Template.decode([...rawPublic.filter((a) => a.type === CKA.ID || a.type === CKA.LABEL), ...rawPrivate.filter((a) => a.type === CKA.ID || a.type === CKA.LABEL)], token.host.ulongSize);
  const common = commonAttributes(shared, session.slot.config.tags, true);
  const privateMask = usageMask(priv);
  const publicMask = usageMask(pub);
  const extractable = priv.bool(CKA.EXTRACTABLE);
  try {
    const ids = await session.slot.kms().createKeyPair({
      ...keyPair,
      ...(common.label !== undefined ? { label: common.label } : {}),
      tags: common.tags ?? [],
      ...(privateMask !== undefined ? { privateUsageMask: privateMask } : {}),
      ...(publicMask !== undefined ? { publicUsageMask: publicMask } : {}),
      sensitive: priv.bool(CKA.SENSITIVE) ?? true,
      ...(extractable !== undefined ? { extractable } : {}),
    });
    return { rv: CKR.OK, outputs: [adopt(token, session, ids.publicKeyId, publicToken), adopt(token, session, ids.privateKeyId, privateToken)] };
  } catch (e) {
    throw kmipFailure(e, 'create');
  }
}

/** The KMIP parameters of a wrapping mechanism: AES key wrap (RFC 3394/5649), AES-CBC, or RSA. */
function wrapParams(mechanism: Mechanism): CryptoParams {
  const spec = mechanismSpec(mechanism.type);
  const cipher = spec?.cipher;
  if (!spec || !cipher || (spec.flags & CKF.WRAP) === 0) fail(CKR.MECHANISM_INVALID, `mechanism 0x${mechanism.type.toString(16)} does not wrap`);
  const p = mechanism.parameter;
  if (cipher.family === 'rsa') {
    if (cipher.padding === 'PKCS1v15') return { padding: 'PKCS1v15' };
    if (p.kind !== 'oaep') fail(CKR.MECHANISM_PARAM_INVALID, 'CKM_RSA_PKCS_OAEP needs CK_RSA_PKCS_OAEP_PARAMS');
    const hash = HASH_BY_MECHANISM.get(p.hashAlg);
    const mgf = HASH_BY_MGF.get(p.mgf);
    if (!hash || !mgf || (p.source !== 0 && p.source !== CKZ.DATA_SPECIFIED)) fail(CKR.MECHANISM_PARAM_INVALID, 'unsupported OAEP parameters');
    return { padding: 'OAEP', hashing: HASHES[hash].kmip, maskGeneratorHashing: HASHES[mgf].kmip, ...(p.sourceData && p.sourceData.length > 0 ? { pSource: p.sourceData } : {}) };
  }
  if (cipher.mode === 'NISTKeyWrap' || cipher.mode === 'AESKeyWrapPadding') {
    if (p.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'AES key wrap with a non-default IV is not supported');
    return { algorithm: 'AES', mode: cipher.mode };
  }
  fail(CKR.MECHANISM_INVALID, 'wrap with CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD, CKM_RSA_PKCS_OAEP or CKM_RSA_PKCS');
}

/** The KMS wraps the key with the wrapping key itself (KMIP Get with a KeyWrappingSpecification). */
export async function wrapKey(token: Token, sessionHandle: number, mechanism: Mechanism, wrappingHandle: number, keyHandle: number, out: OutBuffer): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const params = wrapParams(mechanism);
  const wrapping = await token.resolve(session, wrappingHandle, CKR.WRAPPING_KEY_HANDLE_INVALID);
  const key = await token.resolve(session, keyHandle, CKR.KEY_HANDLE_INVALID);
  const canWrap = await readAttribute(wrapping, CKA.WRAP);
  if ('value' in canWrap && canWrap.value.value === false) fail(CKR.KEY_FUNCTION_NOT_PERMITTED, 'the wrapping key has CKA_WRAP false');
  if (key.cls !== CKO.SECRET_KEY && key.cls !== CKO.PRIVATE_KEY) fail(CKR.KEY_NOT_WRAPPABLE, 'only secret and private keys are wrapped');
  if (!key.object.extractable) fail(CKR.KEY_UNEXTRACTABLE, 'the key is not extractable');
  try {
    const retrieved = await session.slot.kms().get(key.object.uid, {
      ...(key.cls === CKO.SECRET_KEY ? { keyFormatType: 'Raw' } : { keyFormatType: 'PKCS8' }),
      wrap: { keyUid: wrapping.object.uid, params },
    });
    if (!retrieved.bytes) fail(CKR.DEVICE_ERROR, 'the KMS returned no wrapped key');
    return deliver(out, retrieved.bytes).outcome;
  } catch (e) {
    throw kmipFailure(e, 'key');
  }
}

/**
 * The KMS decrypts the wrapped key with the unwrapping key and the module registers the
 * result as a new key: KMIP Import of wrapped key blocks is not available yet, so the
 * plaintext key passes through the module's memory, and is wiped after use.
 */
export async function unwrapKey(token: Token, sessionHandle: number, mechanism: Mechanism, unwrappingHandle: number, wrapped: Uint8Array | null, raw: RawAttribute[]): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const params = wrapParams(mechanism);
  const unwrapping = await token.resolve(session, unwrappingHandle, CKR.UNWRAPPING_KEY_HANDLE_INVALID);
  const template = Template.decode(raw, token.host.ulongSize);
  template.allowOnly(SECRET_KEY_ATTRIBUTES, 'an unwrapped key');
  template.expect(CKA.CLASS, CKO.SECRET_KEY);
  const keyType = template.ulong(CKA.KEY_TYPE) ?? CKK.GENERIC_SECRET;
  if (keyType !== CKK.AES && keyType !== CKK.GENERIC_SECRET) fail(CKR.TEMPLATE_INCONSISTENT, 'only AES and generic secret keys are unwrapped');
  const isTokenObject = checkWritable(token, session, template, CKO.SECRET_KEY);
  const canUnwrap = await readAttribute(unwrapping, CKA.UNWRAP);
  if ('value' in canUnwrap && canUnwrap.value.value === false) fail(CKR.KEY_FUNCTION_NOT_PERMITTED, 'the unwrapping key has CKA_UNWRAP false');
  const kms = session.slot.kms();
  let plain: Buffer;
  try {
    plain = await kms.decrypt(unwrapping.object.uid, wrapped ?? new Uint8Array(), params);
  } catch (e) {
    const failure = kmipFailure(e, 'decrypt');
    if (failure.rv === CKR.ENCRYPTED_DATA_INVALID || failure.rv === CKR.ENCRYPTED_DATA_LEN_RANGE) fail(CKR.WRAPPED_KEY_INVALID, failure.message);
    throw failure;
  }
  try {
    if (keyType === CKK.AES && ![16, 24, 32].includes(plain.length)) fail(CKR.WRAPPED_KEY_INVALID, 'the unwrapped bytes are not an AES key');
    const expected = template.ulong(CKA.VALUE_LEN);
    if (expected !== undefined && expected !== plain.length) fail(CKR.TEMPLATE_INCONSISTENT, 'CKA_VALUE_LEN does not match the unwrapped key');
    const mask = usageMask(template);
    const uid = await kms.register(symmetricKeyObject(plain, keyType === CKK.AES ? 'AES' : 'HMACSHA256'), {
      ...commonAttributes(template, session.slot.config.tags),
      ...(mask !== undefined ? { usageMask: mask } : {}),
    });
    return { rv: CKR.OK, outputs: [adopt(token, session, uid, isTokenObject)] };
  } catch (e) {
    throw kmipFailure(e, 'create');
  } finally {
    plain.fill(0);
  }
}

/** ECDH1 (CKD_NULL: the shared secret itself) and HKDF, run by the KMS's DeriveKey. */
export async function deriveKey(token: Token, sessionHandle: number, mechanism: Mechanism, baseHandle: number, raw: RawAttribute[]): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const spec = mechanismSpec(mechanism.type);
  if (!spec?.derives) fail(CKR.MECHANISM_INVALID, `mechanism 0x${mechanism.type.toString(16)} does not derive`);
  const base = await token.resolve(session, baseHandle, CKR.KEY_HANDLE_INVALID);
  if (!spec.keyTypes.includes(base.keyType)) fail(CKR.KEY_TYPE_INCONSISTENT, 'the base key does not fit the mechanism');
  const keyType = Template.decode(raw, token.host.ulongSize).ulong(CKA.KEY_TYPE) ?? CKK.GENERIC_SECRET;
  const { template, bytes } = secretKeyTemplate(raw, token.host.ulongSize, keyType);
  const isTokenObject = checkWritable(token, session, template, CKO.SECRET_KEY);
  const p = mechanism.parameter;
  let method: string;
  let parameters;
  if (spec.derives === 'ecdh1') {
    if (p.kind !== 'ecdh1') fail(CKR.MECHANISM_PARAM_INVALID, 'CKM_ECDH1_DERIVE needs CK_ECDH1_DERIVE_PARAMS');
    if (p.kdf !== CKD.NULL || (p.sharedData && p.sharedData.length > 0)) fail(CKR.MECHANISM_PARAM_INVALID, 'only CKD_NULL without shared data');
    method = 'AsymmetricKey';
    parameters = [T.bytes('DerivationData', unwrapOctetString(p.publicData))];
  } else {
    if (p.kind !== 'hkdf' || !p.extract || !p.expand) fail(CKR.MECHANISM_PARAM_INVALID, 'HKDF with extract and expand');
    const hash = HASH_BY_MECHANISM.get(p.prf);
    if (!hash) fail(CKR.MECHANISM_PARAM_INVALID, 'unsupported HKDF hash');
    if (p.saltType === CKF.HKDF_SALT_KEY) fail(CKR.MECHANISM_PARAM_INVALID, 'a salt key is not supported');
    method = 'HKDF';
    parameters = [
      T.struct('CryptographicParameters', [T.enum('HashingAlgorithm', HASHES[hash].kmip)]),
      ...(p.saltType === CKF.HKDF_SALT_DATA && p.salt ? [T.bytes('Salt', p.salt)] : []),
      T.bytes('DerivationData', p.info ?? new Uint8Array()),
    ];
  }
  const mask = usageMask(template);
  const attributes = objectAttributes({ ...commonAttributes(template, session.slot.config.tags), ...(mask !== undefined ? { usageMask: mask } : {}) }, [
    T.enum('CryptographicAlgorithm', keyType === CKK.AES ? 'AES' : 'HMACSHA256'),
    T.int('CryptographicLength', bytes * 8),
  ]);
  try {
    const response = await session.slot.kms().call(T.struct('DeriveKey', [
      T.enum('ObjectType', 'SymmetricKey'),
      T.text('UniqueIdentifier', base.object.uid),
      T.enum('DerivationMethod', method),
      T.struct('DerivationParameters', parameters),
      attributes,
    ]));
    return { rv: CKR.OK, outputs: [adopt(token, session, readUniqueIdentifier(response), isTokenObject)] };
  } catch (e) {
    throw kmipFailure(e, 'key');
  }
}

/** The peer's point may come DER-wrapped (as CKA_EC_POINT is) or bare. */
function unwrapOctetString(data: Uint8Array): Uint8Array {
  if (data[0] === 0x04 && data.length > 2 && (data[1] as number) < 0x80 && data[1] === data.length - 2) return data.subarray(2);
  if (data[0] === 0x04 && data[1] === 0x81 && data.length > 3 && data[2] === data.length - 3) return data.subarray(3);
  return data;
}

export function seedRandom(token: Token, sessionHandle: number): CallOutcome {
  token.session(sessionHandle);
  fail(CKR.RANDOM_SEED_NOT_SUPPORTED, 'the generator seeds itself from the operating system');
}

/** Random bytes from the operating system's CSPRNG: no key is involved, so no KMS round trip. */
/**
 * The answer travels in one response frame (64 MiB at most, src/runtime/frame.ts); a
 * request for more could never be answered, and randomBytes would throw on it.
 */
const MAX_RANDOM_BYTES = 32 * 1024 * 1024;

export function generateRandom(token: Token, sessionHandle: number, out: OutBuffer): CallOutcome {
  token.session(sessionHandle);
  if (out.capacity > MAX_RANDOM_BYTES) fail(CKR.ARGUMENTS_BAD, `${out.capacity} random bytes asked for, at most ${MAX_RANDOM_BYTES} at once`);
  return { rv: CKR.OK, outputs: [{ length: out.capacity, data: randomBytes(out.capacity) }] };
}
