import { createPublicKey, type KeyObject } from 'node:crypto';
import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { intAttr, splitAttributes, textAttr } from '../model/attributes';
import { symmetricKeyBits } from '../model/algorithms';
import { hashName } from '../model/crypto-params';
import { keyKind, privateKeyOf, symmetricKeyOf } from '../model/key-objects';
import { requireUsableState } from '../model/lifecycle';
import type { ObjectType } from '../model/managed-object';
import { USAGE, requireUsage } from '../model/usage';
import { deriveSharedSecret, digestLength, hkdf, pbkdf2 } from '../crypto';
import { checkPbkdf2Cost } from '../limits';
import { newObject } from './new-object';
import { read, required } from './payload';

/** The peer's public key for ECDH: SPKI DER, or a raw point on the private key's curve. */
function peerPublicKey(data: Buffer, own: KeyObject): KeyObject {
  try {
    return createPublicKey({ key: data, format: 'der', type: 'spki' });
  } catch {
    const jwk = createPublicKey(own).export({ format: 'jwk' });
    const kind = keyKind(own).kind;
    if (kind === 'X25519' || kind === 'X448') {
      return createPublicKey({ key: { kty: 'OKP', crv: jwk.crv, x: data.toString('base64url') }, format: 'jwk' });
    }
    const size = (data.length - 1) / 2;
    if (data[0] !== 0x04 || !Number.isInteger(size)) throw new KmipError('Invalid_Field', 'the peer public key must be SPKI DER or an uncompressed EC point');
    return createPublicKey({
      key: { kty: 'EC', crv: jwk.crv, x: data.subarray(1, 1 + size).toString('base64url'), y: data.subarray(1 + size).toString('base64url') },
      format: 'jwk',
    });
  }
}

export async function deriveKey(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const objectType = (read.enum(p, 'ObjectType') ?? 'SymmetricKey') as ObjectType;
  if (objectType !== 'SymmetricKey' && objectType !== 'SecretData') throw new KmipError('Invalid_Object_Type', 'DeriveKey makes a SymmetricKey or SecretData');
  const baseUid = read.text(p, 'ObjectUniqueIdentifier') ?? await ctx.resolveUid(p);
  const base = await ctx.load(baseUid);
  requireUsableState(base, 'protect', ctx.now());
  requireUsage(base, 'DeriveKey', USAGE.DeriveKey | USAGE.KeyAgreement);
  const method = required(read.enum(p, 'DerivationMethod'), 'DerivationMethod');
  const params = read.struct(p, 'DerivationParameters');
  const hash = hashName(read.enum(child(params, 'CryptographicParameters'), 'HashingAlgorithm'), 'SHA256');
  const attrs = read.struct(p, 'Attributes');
  const { list } = splitAttributes(attrs);
  const algorithm = textAttr(list, 'CryptographicAlgorithm') ?? 'AES';
  const bits = objectType === 'SymmetricKey' ? symmetricKeyBits(algorithm, intAttr(list, 'CryptographicLength')) : intAttr(list, 'CryptographicLength') ?? 256;
  const length = bits / 8;
  const salt = read.bytes(params, 'Salt') ?? Buffer.alloc(0);
  const data = read.bytes(params, 'DerivationData');
  let derived: Buffer;
  switch (method) {
    case 'HKDF':
      derived = hkdf(hash, symmetricKeyOf(base), salt, data ?? Buffer.alloc(0), length);
      break;
    case 'PBKDF2': {
      const iterations = required(read.int(params, 'IterationCount'), 'IterationCount');
      checkPbkdf2Cost(iterations, length, digestLength(hash), ctx.limits);
      derived = await pbkdf2(hash, symmetricKeyOf(base), salt, iterations, length);
      break;
    }
    case 'AsymmetricKey':
    case 'Asymmetric_Key': {
      const own = privateKeyOf(base);
      const secret = deriveSharedSecret(own, peerPublicKey(required(data, 'DerivationData (the peer public key)'), own));
      if (secret.length < length) throw new KmipError('Invalid_Field', `the shared secret is ${secret.length} bytes; ${length} were asked for`);
      derived = secret.subarray(0, length);
      break;
    }
    default:
      throw new KmipError('Feature_Not_Supported', `derivation method ${method} is not supported`);
  }
  const server = objectType === 'SymmetricKey'
    ? [T.enum('CryptographicAlgorithm', algorithm), T.int('CryptographicLength', bits), T.enum('KeyFormatType', 'TransparentSymmetricKey')]
    : [T.enum('SecretDataType', 'Seed')];
  // At least as protected as its base, whatever the template says (src/server/model/protection.ts).
  const o = newObject(ctx, objectType, attrs, derived, server, { kind: 'derived', base });
  const uid = await ctx.insert(o);
  return T.struct('DeriveKeyResponse', [T.text('UniqueIdentifier', uid)]);
}
