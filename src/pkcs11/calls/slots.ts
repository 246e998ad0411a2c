import { CKF, CKR, CKS, CKU } from '../constants';
import { fail } from '../errors';
import { MECHANISMS, mechanismSpec } from '../mechanisms';
import type { Session } from '../session';
import type { Token } from '../token';
import type { CallOutcome, OutBuffer } from '../types';

/** Slots, tokens, mechanisms, sessions and login (PKCS#11 2.40 sections 5.5 to 5.6). */

const VERSION = { major: 0, minor: 1 };
const MAX_PIN_LENGTH = 8192; // JWTs used as PINs run to a few kilobytes

export function listOf(out: OutBuffer, items: number[]): CallOutcome {
  if (!out.present) return { rv: CKR.OK, outputs: [{ count: items.length }] };
  if (out.capacity < items.length) return { rv: CKR.BUFFER_TOO_SMALL, outputs: [{ count: items.length }] };
  return { rv: CKR.OK, outputs: [{ count: items.length, items }] };
}

export function getSlotList(token: Token, _tokenPresent: number, out: OutBuffer): CallOutcome {
  // Every slot always holds its token.
  return listOf(out, token.slots.map((s) => s.id));
}

export function getSlotInfo(token: Token, slotId: number): CallOutcome {
  const slot = token.slot(slotId);
  const url = slot.config.urls[0] ?? '';
  return {
    rv: CKR.OK,
    outputs: [`p11kms KMIP slot ${slot.id} (${url})`, 'p11kms', CKF.TOKEN_PRESENT | CKF.HW_SLOT, VERSION.major, VERSION.minor, VERSION.major, VERSION.minor],
  };
}

export function getTokenInfo(token: Token, slotId: number): CallOutcome {
  const slot = token.slot(slotId);
  const sessions = token.sessionsOf(slot);
  const unavailable = -1;
  return {
    rv: CKR.OK,
    outputs: [
      slot.config.label, 'p11kms', 'KMIP 2.1', slot.config.serial,
      slot.tokenFlags(),
      0, sessions.length, 0, sessions.filter((s) => s.readWrite).length,
      MAX_PIN_LENGTH, slot.loginRequired ? 1 : 0,
      unavailable, unavailable, unavailable, unavailable,
      VERSION.major, VERSION.minor, VERSION.major, VERSION.minor,
      '',
    ],
  };
}

export function getMechanismList(token: Token, slotId: number, out: OutBuffer): CallOutcome {
  token.slot(slotId);
  return listOf(out, MECHANISMS.map((m) => m.type));
}

export function getMechanismInfo(token: Token, slotId: number, type: number): CallOutcome {
  token.slot(slotId);
  const spec = mechanismSpec(type);
  if (!spec) fail(CKR.MECHANISM_INVALID, `mechanism 0x${type.toString(16)}`);
  return { rv: CKR.OK, outputs: [spec.minKeySize, spec.maxKeySize, spec.flags] };
}

/** The KMS is initialised with its own tools; a PKCS#11 application cannot wipe it. */
export function initToken(token: Token, slotId: number): CallOutcome {
  const slot = token.slot(slotId);
  if (token.sessionsOf(slot).length > 0) fail(CKR.SESSION_EXISTS, 'sessions are open on this token');
  fail(CKR.FUNCTION_NOT_SUPPORTED, 'a KMS token cannot be re-initialised through PKCS#11');
}

export function initPin(token: Token, sessionHandle: number): CallOutcome {
  const session = token.session(sessionHandle);
  if (session.state() !== CKS.RW_SO_FUNCTIONS) fail(CKR.USER_NOT_LOGGED_IN, 'C_InitPIN needs the SO logged in, in a read-write session');
  fail(CKR.FUNCTION_NOT_SUPPORTED, 'the user PIN is a KMS credential, managed by the KMS');
}

export function setPin(token: Token, sessionHandle: number): CallOutcome {
  const session = token.session(sessionHandle);
  if (!session.readWrite) fail(CKR.SESSION_READ_ONLY, 'C_SetPIN needs a read-write session');
  fail(CKR.FUNCTION_NOT_SUPPORTED, 'the PIN is a KMS credential, managed by the KMS');
}

export function openSession(token: Token, slotId: number, flags: number): CallOutcome {
  const slot = token.slot(slotId);
  if ((flags & CKF.SERIAL_SESSION) === 0) fail(CKR.SESSION_PARALLEL_NOT_SUPPORTED, 'CKF_SERIAL_SESSION must be set');
  if ((flags & CKF.RW_SESSION) === 0 && slot.login === 'so') fail(CKR.SESSION_READ_WRITE_SO_EXISTS, 'the SO is logged in');
  return { rv: CKR.OK, outputs: [token.openSession(slot, flags).handle] };
}

export async function closeSession(token: Token, sessionHandle: number): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  token.sessions.delete(session.handle);
  session.endOperations();
  await destroySessionObjects(session);
  // PKCS#11: closing the application's last session on a token logs it out.
  if (token.sessionsOf(session.slot).length === 0 && session.slot.login !== 'public') await session.slot.logOut().catch(() => undefined);
  return { rv: CKR.OK };
}

export async function closeAllSessions(token: Token, slotId: number): Promise<CallOutcome> {
  const slot = token.slot(slotId);
  for (const s of token.sessionsOf(slot)) await closeSession(token, s.handle);
  return { rv: CKR.OK };
}

/** Session objects live on the KMS only as long as their session. */
async function destroySessionObjects(session: Session): Promise<void> {
  for (const uid of session.sessionObjects) {
    // Best effort: a session object that survives is still only a KMS object.
    await session.slot.store.destroy(uid, undefined).catch(() => undefined);
  }
  session.sessionObjects.clear();
}

export function getSessionInfo(token: Token, sessionHandle: number): CallOutcome {
  const s = token.session(sessionHandle);
  return { rv: CKR.OK, outputs: [s.slot.id, s.state(), s.flags & (CKF.RW_SESSION | CKF.SERIAL_SESSION), 0] };
}

export async function login(token: Token, sessionHandle: number, userType: number, pin: Uint8Array | null): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const slot = session.slot;
  if (userType === CKU.SO && token.sessionsOf(slot).some((s) => !s.readWrite)) {
    fail(CKR.SESSION_READ_ONLY_EXISTS, 'the SO cannot log in while read-only sessions are open');
  }
  if (pin === null && slot.config.login !== 'none') fail(CKR.PIN_INCORRECT, 'this token has no protected authentication path: a PIN is needed');
  await slot.logIn(userType, Buffer.from(pin ?? new Uint8Array()).toString('utf8'));
  slot.store.invalidate();
  return { rv: CKR.OK };
}

export async function logout(token: Token, sessionHandle: number): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  for (const s of token.sessionsOf(session.slot)) s.endOperations();
  await session.slot.logOut();
  return { rv: CKR.OK };
}

export function sessionCancel(token: Token, sessionHandle: number, flags: number): CallOutcome {
  const s = token.session(sessionHandle);
  const all = flags === 0;
  if (all || flags & CKF.ENCRYPT) { s.encrypt?.clear(); s.encrypt = undefined; }
  if (all || flags & CKF.DECRYPT) { s.decrypt?.clear(); s.decrypt = undefined; }
  if (all || flags & CKF.SIGN) { s.sign?.clear(); s.sign = undefined; }
  if (all || flags & CKF.VERIFY) { s.verify?.clear(); s.verify = undefined; }
  if (all || flags & CKF.DIGEST) { s.digest?.clear(); s.digest = undefined; }
  if (all || flags & CKF.FIND_OBJECTS) s.find = undefined;
  return { rv: CKR.OK };
}
