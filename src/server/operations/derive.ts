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
import { deriveSharedSecret, digestLength, hash as digest, hkdf, kbkdfHmacCounter, pbkdf2, symmetricEncryptAsync } from '../crypto';
import { symmetricChoice } from '../model/crypto-params';
import { checkPbkdf2Cost } from '../limits';
import { newObject } from './new-object';
import { read, readCryptoParams, required } from './payload';

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
    // HMAC, HASH, ENCRYPT and NIST800108C as PyKMIP's server computes them
    // (kmip/services/server/crypto/engine.py derive_key in python3-pykmip 0.10), so that a key
    // derived by either server from the same inputs has the same bytes.
    case 'HMAC':
      // PyKMIP's "HMAC" method is HKDF: the DerivationData is HKDF's info, the Salt its salt.
      derived = hkdf(hash, symmetricKeyOf(base), salt, data ?? Buffer.alloc(0), length);
      break;
    case 'HASH':
      // The digest of the base key; DerivationData would be a second input KMIP leaves undefined.
      if (data !== undefined) throw new KmipError('Invalid_Field', 'HASH derivation hashes the base object: give no DerivationData');
      derived = digest(hash, symmetricKeyOf(base));
      break;
    case 'NIST800108C':
      derived = kbkdfHmacCounter(hash, symmetricKeyOf(base), required(data, 'DerivationData'), length);
      break;
    case 'ENCRYPT': {
      // The DerivationData encrypted under the base key with the CryptographicParameters and InitializationVector given.
      const choice = symmetricChoice(readCryptoParams(params), textAttr(base.attributes, 'CryptographicAlgorithm') ?? 'AES');
      const iv = read.bytes(params, 'InitializationVector');
      const out = await symmetricEncryptAsync({ ...choice, key: symmetricKeyOf(base), data: required(data, 'DerivationData'), ...(iv ? { iv } : {}) });
      derived = out.data;
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
  if (derived.length < length) throw new KmipError('Cryptographic_Failure', `derivation method ${method} produced ${derived.length} bytes; ${length} were asked for`);
  derived = derived.subarray(0, length);
  const server = objectType === 'SymmetricKey'
    ? [T.enum('CryptographicAlgorithm', algorithm), T.int('CryptographicLength', bits), T.enum('KeyFormatType', 'TransparentSymmetricKey')]
    : [T.enum('SecretDataType', 'Seed')];
  // At least as protected as its base, whatever the template says (src/server/model/protection.ts).
  const o = newObject(ctx, objectType, attrs, derived, server, { kind: 'derived', base });
  const uid = await ctx.insert(o);
  return T.struct('DeriveKeyResponse', [T.text('UniqueIdentifier', uid)]);
}
