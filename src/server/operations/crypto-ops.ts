import { COSMIAN_FAILURES, KmipError, NO_VALID_KEY_REASONS } from '../../kmip/errors';
import { T, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { textAttr } from '../model/attributes';
import { hashName, hmacHash, rsaEncryptionChoice, signatureChoice, symmetricChoice } from '../model/crypto-params';
import { keyKind, privateKeyOf, publicKeyOf, symmetricKeyOf } from '../model/key-objects';
import { requireUsableState, type Usage } from '../model/lifecycle';
import type { ManagedObject } from '../model/managed-object';
import { USAGE, requireUsage } from '../model/usage';
import {
  hashAsync, hmacAsync, hmacVerifyAsync, randomBytes, rsaDecrypt, rsaEncrypt, sign as signData, symmetricDecryptAsync,
  symmetricEncryptAsync, verify as verifySignature, type SymmetricParams,
} from '../crypto';
import { eciesDecrypt, eciesEncrypt, isEciesKey } from '../crypto/ecies';
import { read, readCryptoParams, required, type CryptoParams } from './payload';

const MAX_RNG_BYTES = 1024 * 1024;

function rejectStreaming(p: TtlvStructure): void {
  if (read.bool(p, 'InitIndicator') || read.bool(p, 'FinalIndicator') === false || p.value.some((n) => n.tag === 'CorrelationValue')) {
    throw new KmipError('Feature_Not_Supported', 'multi-part (InitIndicator/CorrelationValue) operations are not supported; send the whole data');
  }
}

function keyAlgorithm(o: ManagedObject): string {
  return textAttr(o.attributes, 'CryptographicAlgorithm') ?? '';
}

/** The engine's view of an Encrypt/Decrypt request on a symmetric key. */
function symmetricRequest(p: TtlvStructure, o: ManagedObject, params: CryptoParams, data: Buffer): SymmetricParams {
  const iv = read.bytes(p, 'IVCounterNonce');
  const aad = read.bytes(p, 'AuthenticatedEncryptionAdditionalData');
  return {
    ...symmetricChoice(params, keyAlgorithm(o)),
    key: symmetricKeyOf(o),
    data,
    ...(iv ? { iv } : {}),
    ...(aad ? { aad } : {}),
    ...(params.tagLength !== undefined ? { tagLength: params.tagLength } : {}),
  };
}

/**
 * The common start of every cryptographic operation: the key, in a state and with a usage mask
 * that allow it. To a KMIP 2.1 client (Cosmian's dialect), a key that is missing, in the wrong
 * state or whose usage mask forbids the operation is one answer, "no valid key"
 * (COSMIAN_FAILURES.noValidKey), and why it was refused goes to the log. KMIP 1.x and 2.0
 * clients (storage arrays, PyKMIP) get the precise reason their version defines, as the KMIP
 * error-handling tables give it (1.4 §11: Permission Denied for a wrong state).
 */
function speaksCosmianDialect(ctx: OperationContext): boolean {
  return ctx.protocolMajor > 2 || (ctx.protocolMajor === 2 && ctx.protocolMinor >= 1);
}

async function usableKey(p: TtlvStructure, ctx: OperationContext, usage: Usage, operation: string, mask: number, resolved?: string): Promise<{ uid: string; o: ManagedObject }> {
  rejectStreaming(p);
  try {
    const uid = resolved ?? await ctx.resolveUid(p);
    const o = await ctx.load(uid);
    requireUsableState(o, usage, ctx.now());
    requireUsage(o, operation, mask);
    return { uid, o };
  } catch (e) {
    if (!(e instanceof KmipError && NO_VALID_KEY_REASONS.has(e.reason)) || !speaksCosmianDialect(ctx)) throw e;
    const asked = read.text(p, 'UniqueIdentifier') ?? ctx.idPlaceholder ?? '';
    throw COSMIAN_FAILURES.noValidKey(operation, asked, e.detail ?? e.message);
  }
}

/**
 * Decrypt, SignatureVerify and MACVerify with the bare name of a key set try each generation,
 * newest first, until one succeeds (Cosmian walk_keyset_chain, "try-each keyset decryption"):
 * data protected before a ReKey still opens. A verification succeeds when it answers Valid.
 * Anything else names one key, which is used as it is.
 */
async function withEachGeneration(p: TtlvStructure, ctx: OperationContext, run: (uid: string) => Promise<TtlvStructure>): Promise<TtlvStructure> {
  const candidates = await ctx.resolveUidCandidates(p);
  if (candidates.length === 1) return run(candidates[0] as string);
  let firstError: unknown;
  let firstAnswer: TtlvStructure | undefined;
  for (const uid of candidates) {
    try {
      const answer = await run(uid);
      const validity = answer.value.find((n) => n.tag === 'ValidityIndicator');
      if (validity === undefined || validity.value === 'Valid') return answer;
      firstAnswer ??= answer;
    } catch (e) {
      firstError ??= e;
    }
  }
  if (firstAnswer !== undefined) return firstAnswer;
  throw firstError;
}

function isSymmetric(o: ManagedObject): boolean {
  return o.objectType === 'SymmetricKey';
}

export async function encrypt(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const { uid, o } = await usableKey(p, ctx, 'protect', 'Encrypt', USAGE.Encrypt | USAGE.WrapKey);
  const params = readCryptoParams(p);
  const data = read.bytes(p, 'Data');
  if (data === undefined) throw COSMIAN_FAILURES.missingData('Encrypt', 'data to encrypt');
  if (isSymmetric(o)) {
    const out = await symmetricEncryptAsync(symmetricRequest(p, o, params, data));
    return T.struct('EncryptResponse', [
      T.text('UniqueIdentifier', uid),
      T.bytes('Data', out.data),
      out.iv ? T.bytes('IVCounterNonce', out.iv) : undefined,
      out.tag ? T.bytes('AuthenticatedEncryptionTag', out.tag) : undefined,
    ]);
  }
  const key = publicKeyOf(o);
  // EC, X25519 and Ed25519 keys encrypt with ECIES, as in Cosmian's encrypt_with_pkey: no IV or tag is returned.
  if (isEciesKey(key)) {
    // Cosmian encrypts with public keys and certificates only; a private key here is a mistaken UID.
    if (o.objectType === 'PrivateKey') throw new KmipError('Bad_Cryptographic_Parameters', `ECIES encrypts to a public key or certificate; ${uid} is a private key`);
    return T.struct('EncryptResponse', [T.text('UniqueIdentifier', uid), T.bytes('Data', eciesEncrypt(key, data))]);
  }
  if (keyKind(key).kind !== 'RSA') throw new KmipError('Bad_Cryptographic_Parameters', `cannot encrypt with a ${keyKind(key).kind} key`);
  const out = await rsaEncrypt(key, data, rsaEncryptionChoice(params));
  return T.struct('EncryptResponse', [T.text('UniqueIdentifier', uid), T.bytes('Data', out)]);
}

export function decrypt(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  return withEachGeneration(p, ctx, (resolved) => decryptWith(p, ctx, resolved));
}

async function decryptWith(p: TtlvStructure, ctx: OperationContext, resolved: string): Promise<TtlvStructure> {
  const { uid, o } = await usableKey(p, ctx, 'process', 'Decrypt', USAGE.Decrypt | USAGE.UnwrapKey, resolved);
  const params = readCryptoParams(p);
  const data = required(read.bytes(p, 'Data'), 'Data');
  if (isSymmetric(o)) {
    const tag = read.bytes(p, 'AuthenticatedEncryptionTag');
    const plain = await symmetricDecryptAsync({ ...symmetricRequest(p, o, params, data), ...(tag ? { tag } : {}) });
    return T.struct('DecryptResponse', [T.text('UniqueIdentifier', uid), T.bytes('Data', plain)]);
  }
  const key = privateKeyOf(o);
  if (isEciesKey(key)) return T.struct('DecryptResponse', [T.text('UniqueIdentifier', uid), T.bytes('Data', eciesDecrypt(key, data))]);
  const plain = await rsaDecrypt(key, data, rsaEncryptionChoice(params));
  return T.struct('DecryptResponse', [T.text('UniqueIdentifier', uid), T.bytes('Data', plain)]);
}

function signInput(p: TtlvStructure): { data?: Buffer; digested?: Buffer } {
  const data = read.bytes(p, 'Data');
  const digested = read.bytes(p, 'DigestedData');
  if (!data && !digested) throw new KmipError('Missing_Data', 'missing Data or DigestedData');
  return digested ? { digested } : { data: data as Buffer };
}

export async function sign(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const { uid, o } = await usableKey(p, ctx, 'protect', 'Sign', USAGE.Sign);
  const key = privateKeyOf(o);
  const kind = keyKind(key);
  const input = signInput(p);
  const choice = signatureChoice(readCryptoParams(p), kind.kind, kind.bits, input.digested !== undefined);
  const signature = await signData(key, input, choice);
  return T.struct('SignResponse', [T.text('UniqueIdentifier', uid), T.bytes('SignatureData', signature)]);
}

export function signatureVerify(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  return withEachGeneration(p, ctx, (resolved) => signatureVerifyWith(p, ctx, resolved));
}

async function signatureVerifyWith(p: TtlvStructure, ctx: OperationContext, resolved: string): Promise<TtlvStructure> {
  const { uid, o } = await usableKey(p, ctx, 'process', 'SignatureVerify', USAGE.Verify, resolved);
  const key = publicKeyOf(o);
  const kind = keyKind(key);
  const input = signInput(p);
  const signature = required(read.bytes(p, 'SignatureData'), 'SignatureData');
  const choice = signatureChoice(readCryptoParams(p), kind.kind, kind.bits, input.digested !== undefined);
  const valid = await verifySignature(key, input, signature, choice);
  return T.struct('SignatureVerifyResponse', [T.text('UniqueIdentifier', uid), T.enum('ValidityIndicator', valid ? 'Valid' : 'Invalid')]);
}

export async function mac(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const { uid, o } = await usableKey(p, ctx, 'protect', 'MAC', USAGE.MACGenerate);
  const data = required(read.bytes(p, 'Data'), 'Data');
  const out = await hmacAsync(hmacHash(readCryptoParams(p), keyAlgorithm(o)), symmetricKeyOf(o), data);
  return T.struct('MACResponse', [T.text('UniqueIdentifier', uid), T.bytes('MACData', out)]);
}

export function macVerify(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  return withEachGeneration(p, ctx, (resolved) => macVerifyWith(p, ctx, resolved));
}

async function macVerifyWith(p: TtlvStructure, ctx: OperationContext, resolved: string): Promise<TtlvStructure> {
  const { uid, o } = await usableKey(p, ctx, 'process', 'MACVerify', USAGE.MACVerify, resolved);
  const data = required(read.bytes(p, 'Data'), 'Data');
  const expected = required(read.bytes(p, 'MACData'), 'MACData');
  const valid = await hmacVerifyAsync(hmacHash(readCryptoParams(p), keyAlgorithm(o)), symmetricKeyOf(o), data, expected);
  return T.struct('MACVerifyResponse', [T.text('UniqueIdentifier', uid), T.enum('ValidityIndicator', valid ? 'Valid' : 'Invalid')]);
}

export async function hash(p: TtlvStructure, _ctx: OperationContext): Promise<TtlvStructure> {
  rejectStreaming(p);
  const params = readCryptoParams(p);
  const algorithm = hashName(required(params.hashing, 'CryptographicParameters.HashingAlgorithm'), 'SHA256');
  const data = required(read.bytes(p, 'Data'), 'Data');
  return T.struct('HashResponse', [T.bytes('Data', await hashAsync(algorithm, data))]);
}

export async function rngRetrieve(p: TtlvStructure, _ctx: OperationContext): Promise<TtlvStructure> {
  const length = required(read.int(p, 'DataLength'), 'DataLength');
  if (length <= 0 || length > MAX_RNG_BYTES) throw new KmipError('Invalid_Field', `DataLength must be between 1 and ${MAX_RNG_BYTES}`);
  return T.struct('RNGRetrieveResponse', [T.bytes('Data', randomBytes(length))]);
}

/**
 * RNGSeed (KMIP 2.1 §6.1.53, 1.x §4.36): the seed is accepted and DataLength says how much, as
 * the spec has it. OpenSSL's generator reseeds itself from the OS and takes no caller entropy,
 * so nothing is mixed in: the bytes are counted, never stored or logged. (Cosmian 5.11 names the
 * count AmountOfSeedData in JSON, reads DataLength too.)
 */
export async function rngSeed(p: TtlvStructure, _ctx: OperationContext): Promise<TtlvStructure> {
  const seed = required(read.bytes(p, 'Data'), 'Data');
  return T.struct('RNGSeedResponse', [T.int('DataLength', seed.length)]);
}
