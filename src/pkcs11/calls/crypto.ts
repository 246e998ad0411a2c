import { CKA, CKF, CKK, CKO, CKR } from '../constants';
import { fail } from '../errors';
import { mechanismSpec, type MechanismSpec } from '../mechanisms';
import { readAttribute, type ObjectContext } from '../object-attributes';
import { CipherOperation, type CipherDirection } from '../operations/cipher';
import { DigestOperation } from '../operations/digest';
import { deliver } from '../operations/output';
import { SignatureOperation, type SignatureDirection } from '../operations/signature';
import type { Session } from '../session';
import type { Token } from '../token';
import type { CallOutcome, Mechanism, OutBuffer } from '../types';

/**
 * Encrypt, decrypt, digest, sign and verify (PKCS#11 2.40 sections 5.8 to 5.13). The state
 * rules: a second Init while one is active is CKR_OPERATION_ACTIVE; any error ends the
 * operation; a length query or a short buffer does not; a delivered result does.
 */

type OperationName = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'digest';

const USAGE: Readonly<Record<Exclude<OperationName, 'digest'>, { flag: number; attribute: number; classes: readonly number[] }>> = {
  encrypt: { flag: CKF.ENCRYPT, attribute: CKA.ENCRYPT, classes: [CKO.SECRET_KEY, CKO.PUBLIC_KEY] },
  decrypt: { flag: CKF.DECRYPT, attribute: CKA.DECRYPT, classes: [CKO.SECRET_KEY, CKO.PRIVATE_KEY] },
  sign: { flag: CKF.SIGN, attribute: CKA.SIGN, classes: [CKO.SECRET_KEY, CKO.PRIVATE_KEY] },
  verify: { flag: CKF.VERIFY, attribute: CKA.VERIFY, classes: [CKO.SECRET_KEY, CKO.PUBLIC_KEY] },
};

function end(session: Session, name: OperationName): void {
  session[name]?.clear();
  session[name] = undefined;
}

/** Runs a step of an active operation; an error (not a length query) ends it. */
async function step<T>(session: Session, name: OperationName, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (e) {
    end(session, name);
    throw e;
  }
}

function active<K extends OperationName>(session: Session, name: K): NonNullable<Session[K]> {
  const op = session[name];
  if (!op) fail(CKR.OPERATION_NOT_INITIALIZED, `no ${name} operation`);
  return op as NonNullable<Session[K]>;
}

/** Checks that a key may do this operation with this mechanism; returns the mechanism's spec. */
async function checkKey(context: ObjectContext, mechanism: Mechanism, name: Exclude<OperationName, 'digest'>): Promise<MechanismSpec> {
  const usage = USAGE[name];
  const spec = mechanismSpec(mechanism.type);
  if (!spec || (spec.flags & usage.flag) === 0) fail(CKR.MECHANISM_INVALID, `mechanism 0x${mechanism.type.toString(16)} cannot ${name}`);
  if (!usage.classes.includes(context.cls) || !spec.keyTypes.includes(context.keyType)) fail(CKR.KEY_TYPE_INCONSISTENT, `a key of class ${context.cls} and type 0x${context.keyType.toString(16)} cannot ${name} with mechanism 0x${mechanism.type.toString(16)}`);
  const allowed = await readAttribute(context, usage.attribute);
  if ('value' in allowed && allowed.value.value === false) fail(CKR.KEY_FUNCTION_NOT_PERMITTED, `the key's CKA_${name.toUpperCase()} is false`);
  const bits = keyBits(context);
  const size = spec.keyTypes.includes(CKK.AES) || spec.keyTypes.includes(CKK.GENERIC_SECRET) ? Math.ceil(bits / 8) : bits;
  if (bits > 0 && spec.maxKeySize > 0 && (size < spec.minKeySize || size > spec.maxKeySize)) fail(CKR.KEY_SIZE_RANGE, `a ${bits}-bit key`);
  return spec;
}

/** Key size in bits: the modulus, the curve's field, or the secret's length. */
function keyBits(context: ObjectContext): number {
  const o = context.object;
  if (context.keyType === CKK.EC_EDWARDS) return o.algorithm === 'Ed448' || o.curve === 'CURVEED448' ? 448 : 255;
  return o.length ?? 0;
}

async function begin(token: Token, sessionHandle: number, mechanism: Mechanism | null, keyHandle: number, name: Exclude<OperationName, 'digest'>): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  if (mechanism === null) {
    // PKCS#11 3.0: Init with a NULL mechanism cancels the active operation.
    end(session, name);
    return { rv: CKR.OK };
  }
  if (session[name]) fail(CKR.OPERATION_ACTIVE, `a ${name} operation is active`);
  const context = await token.resolve(session, keyHandle, CKR.KEY_HANDLE_INVALID);
  const spec = await checkKey(context, mechanism, name);
  const slot = session.slot;
  const local = slot.config.localPublicKeyOps && context.cls === CKO.PUBLIC_KEY ? await slot.store.publicKey(context.object) : undefined;
  const kms = (): ReturnType<typeof slot.kms> => slot.kms();
  if (name === 'encrypt' || name === 'decrypt') {
    if (!spec.cipher) fail(CKR.MECHANISM_INVALID, `mechanism 0x${mechanism.type.toString(16)} is not a cipher`);
    session[name] = new CipherOperation(name as CipherDirection, spec, mechanism, context.object, kms, local);
  } else {
    if (!spec.signature) fail(CKR.MECHANISM_INVALID, `mechanism 0x${mechanism.type.toString(16)} does not sign`);
    session[name] = new SignatureOperation(name as SignatureDirection, spec, mechanism, context.object, kms, keyBits(context), local);
  }
  return { rv: CKR.OK };
}

export const encryptInit = (t: Token, s: number, m: Mechanism | null, k: number): Promise<CallOutcome> => begin(t, s, m, k, 'encrypt');
export const decryptInit = (t: Token, s: number, m: Mechanism | null, k: number): Promise<CallOutcome> => begin(t, s, m, k, 'decrypt');
export const signInit = (t: Token, s: number, m: Mechanism | null, k: number): Promise<CallOutcome> => begin(t, s, m, k, 'sign');
export const verifyInit = (t: Token, s: number, m: Mechanism | null, k: number): Promise<CallOutcome> => begin(t, s, m, k, 'verify');

/** Hands out a result under the buffer rules and ends the operation once delivered. */
function handOut(session: Session, name: OperationName, out: OutBuffer, data: Uint8Array): CallOutcome {
  const { outcome, delivered } = deliver(out, data);
  if (delivered) end(session, name);
  return outcome;
}

async function cipherSingle(token: Token, sessionHandle: number, name: 'encrypt' | 'decrypt', data: Uint8Array, out: OutBuffer): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const op = active(session, name);
  const result = await step(session, name, () => op.run(data));
  return handOut(session, name, out, result);
}

async function cipherUpdate(token: Token, sessionHandle: number, name: 'encrypt' | 'decrypt', data: Uint8Array, out: OutBuffer): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const op = active(session, name);
  // No output buffer is a length query (section 5.2): it reports the length and must not consume the input,
  // or the application's real call that follows would add the same data a second time.
  if (!out.present) return { rv: CKR.OK, outputs: [{ length: 0 }] };
  await step(session, name, () => op.update(data));
  // Output comes at Final: the KMS has no multi-part cipher, and the standard allows an empty update.
  return deliver(out, new Uint8Array()).outcome;
}

async function cipherFinal(token: Token, sessionHandle: number, name: 'encrypt' | 'decrypt', out: OutBuffer): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const op = active(session, name);
  const result = await step(session, name, () => op.finish());
  return handOut(session, name, out, result);
}

export const encrypt = (t: Token, s: number, d: Uint8Array, o: OutBuffer): Promise<CallOutcome> => cipherSingle(t, s, 'encrypt', d, o);
export const encryptUpdate = (t: Token, s: number, d: Uint8Array, o: OutBuffer): Promise<CallOutcome> => cipherUpdate(t, s, 'encrypt', d, o);
export const encryptFinal = (t: Token, s: number, o: OutBuffer): Promise<CallOutcome> => cipherFinal(t, s, 'encrypt', o);
export const decrypt = (t: Token, s: number, d: Uint8Array, o: OutBuffer): Promise<CallOutcome> => cipherSingle(t, s, 'decrypt', d, o);
export const decryptUpdate = (t: Token, s: number, d: Uint8Array, o: OutBuffer): Promise<CallOutcome> => cipherUpdate(t, s, 'decrypt', d, o);
export const decryptFinal = (t: Token, s: number, o: OutBuffer): Promise<CallOutcome> => cipherFinal(t, s, 'decrypt', o);

/** Signature lengths are known in advance, so a length query never reaches the KMS. */
async function signOut(token: Token, sessionHandle: number, single: Uint8Array | undefined, out: OutBuffer): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const op = active(session, 'sign');
  const length = op.signatureLength();
  if (!out.present) return { rv: CKR.OK, outputs: [{ length }] };
  if (out.capacity < length) return { rv: CKR.BUFFER_TOO_SMALL, outputs: [{ length }] };
  const signature = await step(session, 'sign', () => op.sign(single));
  return handOut(session, 'sign', out, signature);
}

export const sign = (t: Token, s: number, d: Uint8Array, o: OutBuffer): Promise<CallOutcome> => signOut(t, s, d, o);
export const signFinal = (t: Token, s: number, o: OutBuffer): Promise<CallOutcome> => signOut(t, s, undefined, o);

async function feed(token: Token, sessionHandle: number, name: 'sign' | 'verify' | 'digest', data: Uint8Array): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const op = active(session, name);
  await step(session, name, () => op.update(data));
  return { rv: CKR.OK };
}

export const signUpdate = (t: Token, s: number, d: Uint8Array): Promise<CallOutcome> => feed(t, s, 'sign', d);
export const verifyUpdate = (t: Token, s: number, d: Uint8Array): Promise<CallOutcome> => feed(t, s, 'verify', d);
export const digestUpdate = (t: Token, s: number, d: Uint8Array): Promise<CallOutcome> => feed(t, s, 'digest', d);

/** Verification always ends the operation, whatever the outcome. */
async function check(token: Token, sessionHandle: number, single: Uint8Array | undefined, signature: Uint8Array): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const op = active(session, 'verify');
  try {
    await op.verify(single, signature);
    return { rv: CKR.OK };
  } finally {
    end(session, 'verify');
  }
}

export const verify = (t: Token, s: number, d: Uint8Array, sig: Uint8Array): Promise<CallOutcome> => check(t, s, d, sig);
export const verifyFinal = (t: Token, s: number, sig: Uint8Array): Promise<CallOutcome> => check(t, s, undefined, sig);

export function digestInit(token: Token, sessionHandle: number, mechanism: Mechanism | null): CallOutcome {
  const session = token.session(sessionHandle);
  if (mechanism === null) {
    end(session, 'digest');
    return { rv: CKR.OK };
  }
  if (session.digest) fail(CKR.OPERATION_ACTIVE, 'a digest operation is active');
  const spec = mechanismSpec(mechanism.type);
  if (!spec?.digest) fail(CKR.MECHANISM_INVALID, `mechanism 0x${mechanism.type.toString(16)} is not a digest`);
  if (mechanism.parameter.kind !== 'none') fail(CKR.MECHANISM_PARAM_INVALID, 'digests take no parameter');
  session.digest = new DigestOperation(spec.digest);
  return { rv: CKR.OK };
}

async function digestOut(token: Token, sessionHandle: number, single: Uint8Array | undefined, out: OutBuffer): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const op = active(session, 'digest');
  if (single !== undefined && op.started) {
    end(session, 'digest');
    fail(CKR.OPERATION_ACTIVE, 'C_Digest after C_DigestUpdate');
  }
  if (!out.present) return { rv: CKR.OK, outputs: [{ length: op.length }] };
  if (out.capacity < op.length) return { rv: CKR.BUFFER_TOO_SMALL, outputs: [{ length: op.length }] };
  return handOut(session, 'digest', out, await op.finish(single));
}

export const digest = (t: Token, s: number, d: Uint8Array, o: OutBuffer): Promise<CallOutcome> => digestOut(t, s, d, o);
export const digestFinal = (t: Token, s: number, o: OutBuffer): Promise<CallOutcome> => digestOut(t, s, undefined, o);

/** Only a secret the module may read can be digested; sensitive keys never leave the KMS. */
export async function digestKey(token: Token, sessionHandle: number, keyHandle: number): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const op = active(session, 'digest');
  return step(session, 'digest', async () => {
    const context = await token.resolve(session, keyHandle, CKR.KEY_HANDLE_INVALID);
    if (context.cls !== CKO.SECRET_KEY) fail(CKR.KEY_INDIGESTIBLE, 'only secret keys can be digested');
    const value = await readAttribute(context, CKA.VALUE);
    if (!('value' in value) || value.value.kind !== 'bytes') fail(CKR.KEY_INDIGESTIBLE, 'the key is sensitive or not extractable');
    op.update(value.value.value);
    return { rv: CKR.OK };
  });
}

