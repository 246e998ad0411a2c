import { createHash, randomBytes } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import { HsmError, toHsmError } from './errors';
import { findKeyHandle, findPublicKeyHandle, keyTypeOf, privateLabel, type HsmKeyClass, type HsmKeyType } from './keys';
import {
  CBC_IV_BYTES, GCM_IV_BYTES, GCM_TAG_BYTES, cbcMechanism, gcmMechanism, oaepMechanism, pkcs7Pad, pkcs7Unpad, pssSha256Mechanism,
  type CipherAlgorithm, type SignatureAlgorithm,
} from './mechanisms';
import type { HsmSlot, OaepHash } from './slot';

export interface CipherOptions {
  /** AES-GCM: 12 bytes, AES-CBC: 16 bytes; random from the host RNG when omitted (as Cosmian). */
  iv?: Buffer;
  /** AES-GCM only. */
  aad?: Buffer;
  /** RSA-OAEP: one the start-up probe found; the best one by default. */
  oaepHash?: OaepHash;
}

/** Room for any RSA output up to 8192 bits, and any ECDSA signature. */
const ASYMMETRIC_OUT = 1024;

type Direction = 'encrypt' | 'decrypt' | 'sign';

/** One call on one key: which key, what it must be, and what is being done. */
interface KeyCall {
  slot: HsmSlot;
  label: string;
  operation: string;
  direction: Direction;
  keyClass: HsmKeyClass;
  keyType: HsmKeyType;
  mechanism: pkcs11.Mechanism;
  input: Buffer;
  outLength: number;
}

/**
 * Encrypts on the HSM. Output layouts are Cosmian's, so its ciphertexts and ours are
 * interchangeable: AES-GCM iv(12)‖ciphertext‖tag(16), AES-CBC iv(16)‖ciphertext, RSA the
 * bare block. The key never leaves the token.
 */
export function encrypt(slot: HsmSlot, label: string, algorithm: CipherAlgorithm, data: Buffer, options: CipherOptions = {}): Buffer {
  const base = { slot, label, operation: `encrypt ${algorithm}`, direction: 'encrypt' as const };
  const context = { operation: base.operation, slot: slot.id, label };
  switch (algorithm) {
    case 'AES-GCM': {
      const iv = options.iv ?? randomBytes(GCM_IV_BYTES);
      if (iv.length !== GCM_IV_BYTES) throw new HsmError('INVALID_ARGUMENT', context, `AES-GCM takes a ${GCM_IV_BYTES}-byte IV`);
      const body = call({ ...base, keyClass: 'secret', keyType: 'AES', mechanism: gcmMechanism(iv, options.aad), input: data, outLength: data.length + GCM_TAG_BYTES });
      return Buffer.concat([iv, body]);
    }
    case 'AES-CBC': {
      const iv = options.iv ?? randomBytes(CBC_IV_BYTES);
      if (iv.length !== CBC_IV_BYTES) throw new HsmError('INVALID_ARGUMENT', context, `AES-CBC takes a ${CBC_IV_BYTES}-byte IV`);
      const padded = pkcs7Pad(data);
      try {
        return Buffer.concat([iv, call({ ...base, keyClass: 'secret', keyType: 'AES', mechanism: cbcMechanism(iv), input: padded, outLength: padded.length })]);
      } finally {
        padded.fill(0);
      }
    }
    case 'RSA-OAEP':
      return call({ ...base, keyClass: 'public', keyType: 'RSA', mechanism: oaepMechanism(oaepHashFor(slot, options.oaepHash, context)), input: data, outLength: ASYMMETRIC_OUT });
    case 'RSA-PKCS1':
      return call({ ...base, keyClass: 'public', keyType: 'RSA', mechanism: { mechanism: pkcs11.CKM_RSA_PKCS }, input: data, outLength: ASYMMETRIC_OUT });
  }
  return unknownAlgorithm(algorithm, context);
}

/** Decrypts what encrypt() produced (or Cosmian's HSM store did). */
export function decrypt(slot: HsmSlot, label: string, algorithm: CipherAlgorithm, data: Buffer, options: Omit<CipherOptions, 'iv'> = {}): Buffer {
  const base = { slot, label, operation: `decrypt ${algorithm}`, direction: 'decrypt' as const };
  const context = { operation: base.operation, slot: slot.id, label };
  switch (algorithm) {
    case 'AES-GCM': {
      if (data.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw new HsmError('INVALID_ARGUMENT', context, 'shorter than iv‖tag');
      const mechanism = gcmMechanism(data.subarray(0, GCM_IV_BYTES), options.aad);
      return call({ ...base, keyClass: 'secret', keyType: 'AES', mechanism, input: data.subarray(GCM_IV_BYTES), outLength: data.length });
    }
    case 'AES-CBC': {
      const body = data.subarray(CBC_IV_BYTES);
      if (data.length < CBC_IV_BYTES * 2 || body.length % CBC_IV_BYTES !== 0) throw new HsmError('INVALID_ARGUMENT', context, 'not iv‖ciphertext in 16-byte blocks');
      const padded = call({ ...base, keyClass: 'secret', keyType: 'AES', mechanism: cbcMechanism(data.subarray(0, CBC_IV_BYTES)), input: body, outLength: body.length });
      const plain = pkcs7Unpad(padded);
      if (!plain) {
        padded.fill(0);
        throw new HsmError('CKR_ENCRYPTED_DATA_INVALID', context, 'bad PKCS#7 padding');
      }
      return plain;
    }
    case 'RSA-OAEP':
      return call({ ...base, keyClass: 'private', keyType: 'RSA', mechanism: oaepMechanism(oaepHashFor(slot, options.oaepHash, context)), input: data, outLength: ASYMMETRIC_OUT });
    case 'RSA-PKCS1':
      return call({ ...base, keyClass: 'private', keyType: 'RSA', mechanism: { mechanism: pkcs11.CKM_RSA_PKCS }, input: data, outLength: ASYMMETRIC_OUT });
  }
  return unknownAlgorithm(algorithm, context);
}

/**
 * Signs with the private key. RSA signatures are the usual big-endian block; ECDSA is
 * r‖s (IEEE P1363), what PKCS#11 returns and what node:crypto verifies with
 * dsaEncoding 'ieee-p1363'.
 */
export function sign(slot: HsmSlot, label: string, algorithm: SignatureAlgorithm, data: Buffer): Buffer {
  const base = { slot, label, operation: `sign ${algorithm}`, direction: 'sign' as const, keyClass: 'private' as const, outLength: ASYMMETRIC_OUT };
  switch (algorithm) {
    case 'RSA-PKCS1-SHA256':
      return call({ ...base, keyType: 'RSA', mechanism: { mechanism: pkcs11.CKM_SHA256_RSA_PKCS }, input: data });
    case 'RSA-PSS-SHA256':
      return call({ ...base, keyType: 'RSA', mechanism: pssSha256Mechanism(), input: data });
    case 'ECDSA-SHA256':
      // Hash-and-sign when the token has it; otherwise hash here and sign the digest,
      // which every ECDSA token supports (SoftHSM2 2.6.1 has only CKM_ECDSA).
      if (slot.hasMechanism(pkcs11.CKM_ECDSA_SHA256)) return call({ ...base, keyType: 'EC', mechanism: { mechanism: pkcs11.CKM_ECDSA_SHA256 }, input: data });
      return call({ ...base, keyType: 'EC', mechanism: { mechanism: pkcs11.CKM_ECDSA }, input: createHash('sha256').update(data).digest() });
  }
  return unknownAlgorithm(algorithm, { operation: base.operation, slot: slot.id, label });
}

/**
 * Finds the key and runs one single-part operation on it, in one pooled session. The output
 * buffer is sized so that no length query is needed. On failure the cause is worked out
 * after the fact, so the usual path costs no extra HSM round trip.
 */
function call(c: KeyCall): Buffer {
  const context = { operation: c.operation, slot: c.slot.id, label: c.label };
  if (!c.slot.hasMechanism(c.mechanism.mechanism)) {
    throw new HsmError('CKR_MECHANISM_INVALID', context, `the token does not list mechanism 0x${c.mechanism.mechanism.toString(16)}`);
  }
  return c.slot.withSession(context, (session, p11) => {
    const key = c.keyClass === 'public'
      ? findPublicKeyHandle(c.slot, session, p11, c.label)
      : findKeyHandle(c.slot, session, p11, c.keyClass === 'private' ? privateLabel(c.label) : c.label, c.keyClass);
    try {
      return run(p11, session, c, key);
    } catch (e) {
      throw explain(e, c, session, p11, key);
    }
  });
}

function run(p11: pkcs11.PKCS11, session: Buffer, c: KeyCall, key: Buffer): Buffer {
  const out = Buffer.alloc(c.outLength);
  switch (c.direction) {
    case 'encrypt':
      p11.C_EncryptInit(session, c.mechanism, key);
      // pkcs11js passes an empty buffer as a NULL pointer, which SoftHSM2 answers with
      // CKR_ARGUMENTS_BAD; an empty AES-GCM plaintext (tag only) goes through C_EncryptFinal.
      return c.input.length === 0 ? p11.C_EncryptFinal(session, out) : p11.C_Encrypt(session, c.input, out);
    case 'decrypt':
      p11.C_DecryptInit(session, c.mechanism, key);
      return p11.C_Decrypt(session, c.input, out);
    case 'sign':
      p11.C_SignInit(session, c.mechanism, key);
      return p11.C_Sign(session, c.input, out);
  }
}

/** Vendors' "it failed" for a ciphertext that does not decrypt under this key. */
const BAD_CIPHERTEXT = new Set(['CKR_GENERAL_ERROR', 'CKR_FUNCTION_FAILED', 'CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE']);

/**
 * Turns a vendor's vague failure into a precise one. SoftHSM2 2.6.1 answers both a GCM tag
 * that does not verify and an RSA key used for ECDSA with CKR_GENERAL_ERROR; the server has
 * to tell a client "wrong key type" or "cannot decrypt", not "general error".
 */
function explain(e: unknown, c: KeyCall, session: Buffer, p11: pkcs11.PKCS11, key: Buffer): HsmError {
  const context = { operation: c.operation, slot: c.slot.id, label: c.label };
  const err = toHsmError(e, context);
  let actual: HsmKeyType | undefined;
  try {
    actual = keyTypeOf(session, p11, key);
  } catch {
    return err; // the session or device itself is gone: the original error says so
  }
  if (actual !== c.keyType) {
    return new HsmError('CKR_KEY_TYPE_INCONSISTENT', { ...context, rv: err.rv }, `a ${actual ?? 'foreign'} key cannot do ${c.operation}`);
  }
  if (c.direction === 'decrypt' && BAD_CIPHERTEXT.has(err.code)) {
    return new HsmError('CKR_ENCRYPTED_DATA_INVALID', { ...context, rv: err.rv },
      `the ciphertext does not decrypt under this key (wrong key, tampered data or AAD; the library said ${err.code})`);
  }
  return err;
}

function oaepHashFor(slot: HsmSlot, requested: OaepHash | undefined, context: { operation: string; slot: number; label: string }): OaepHash {
  const hash = requested ?? slot.oaepHashes[0];
  if (hash === undefined || !slot.oaepHashes.includes(hash)) {
    const found = slot.oaepHashes.length > 0 ? slot.oaepHashes.join(', ') : 'none';
    throw new HsmError('NOT_SUPPORTED', context, `RSA-OAEP with ${requested ?? 'any hash'} is not supported by this token (probe found: ${found})`);
  }
  return hash;
}

function unknownAlgorithm(algorithm: never, context: { operation: string; slot: number; label: string }): never {
  throw new HsmError('NOT_SUPPORTED', context, `unknown algorithm ${String(algorithm)}`);
}
