import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as pkcs11 from 'pkcs11js';
import { HsmError, pkcs11Rv, toHsmError } from './errors';
import type { LoadedLibrary } from './library';

/** Cosmian's convention: this PIN means "do not log in"; an empty PIN logs in with a NULL PIN. */
export const NO_LOGIN = '<NO_LOGIN>';

export interface HsmSlotConfig {
  /** The decimal PKCS#11 slot ID (SoftHSM2 reassigns large ones, e.g. 1667223158). */
  id: number;
  pin: string;
}

export type OaepHash = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

/** The operation and key an error is about, for the message. */
export interface SessionContext {
  operation: string;
  label?: string;
}

const SESSION_FLAGS = pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION;

/** Keys the PIN comparison below; random per process so the tags mean nothing outside it. */
const PIN_TAG_KEY = randomBytes(32);

function pinTag(pin: string): Buffer {
  return createHmac('sha256', PIN_TAG_KEY).update(pin, 'utf8').digest();
}

export function slotHandleId(handle: Buffer): number {
  return Number(handle.readBigUInt64LE(0));
}

/**
 * One configured slot: a session logged in for the slot's lifetime (PKCS#11 login state
 * belongs to the application and token, so every other session shares it), and a small
 * pool of operation sessions.
 *
 * Every pkcs11js call is synchronous and blocks the event loop for as long as the HSM takes
 * (microseconds for SoftHSM2, a network round trip for Proteccio, seconds for an RSA-4096
 * key generation). So each withSession callback is kept to one short operation, and a
 * session is never held across an await: withSession refuses asynchronous callbacks.
 */
export class HsmSlot {
  readonly tokenLabel: string;
  readonly mechanisms: ReadonlySet<number>;
  /** Set by the start-up probe: the OAEP hashes this token accepts, best first. */
  oaepHashes: readonly OaepHash[] = [];
  private readonly loginSession: Buffer;
  private readonly loggedIn: boolean;
  private readonly idle: Buffer[] = [];
  private closed = false;

  private constructor(
    private readonly lib: LoadedLibrary,
    readonly id: number,
    readonly handle: Buffer,
    readonly findBatchSize: number,
    private readonly poolSize: number,
    config: HsmSlotConfig,
  ) {
    const p11 = lib.module;
    const context = { operation: 'open slot', slot: id };
    try {
      const info = p11.C_GetTokenInfo(handle);
      if ((info.flags & pkcs11.CKF_TOKEN_INITIALIZED) === 0) {
        throw new HsmError('CONFIG', context, 'the token in this slot is not initialised');
      }
      this.tokenLabel = info.label.trim();
      this.mechanisms = new Set(p11.C_GetMechanismList(handle));
      this.loginSession = p11.C_OpenSession(handle, SESSION_FLAGS);
    } catch (e) {
      throw toHsmError(e, context);
    }
    try {
      this.loggedIn = this.login(config.pin);
    } catch (e) {
      this.closeQuietly(this.loginSession);
      throw e;
    }
  }

  /** Finds the slot, checks the token, logs in. Fails here, at start-up, not on first use. */
  static open(lib: LoadedLibrary, config: HsmSlotConfig, findBatchSize: number, poolSize: number): HsmSlot {
    const handle = findSlotHandle(lib, config.id);
    return new HsmSlot(lib, config.id, handle, findBatchSize, poolSize, config);
  }

  get pkcs11(): pkcs11.PKCS11 {
    return this.lib.module;
  }

  hasMechanism(mechanism: number): boolean {
    return this.mechanisms.has(mechanism);
  }

  /**
   * Runs one short, synchronous piece of PKCS#11 work on a pooled session. A session whose
   * callback threw is closed, not pooled: the standard leaves an operation active after some
   * failures (CKR_BUFFER_TOO_SMALL), and the next C_*Init on it would see CKR_OPERATION_ACTIVE.
   */
  withSession<T>(context: SessionContext, fn: (session: Buffer, p11: pkcs11.PKCS11) => T): T {
    if (this.closed) throw new HsmError('CLOSED', { ...context, slot: this.id });
    const session = this.idle.pop() ?? this.openSession(context);
    let result: T;
    try {
      result = fn(session, this.lib.module);
    } catch (e) {
      this.closeQuietly(session);
      throw toHsmError(e, { ...context, slot: this.id });
    }
    if (result instanceof Promise) {
      this.closeQuietly(session);
      throw new TypeError('HsmSlot.withSession: the callback must be synchronous (a session is never held across an await)');
    }
    if (this.idle.length < this.poolSize) this.idle.push(session);
    else this.closeQuietly(session);
    return result;
  }

  /** Operation sessions currently pooled (for tests and status). */
  get pooledSessions(): number {
    return this.idle.length;
  }

  /** Closes the pool, then logs out if this was the last user of the slot's login. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.idle.splice(0)) this.closeQuietly(s);
    const key = String(this.id);
    const shared = this.lib.logins.get(key);
    if (this.loggedIn && shared) {
      shared.refs--;
      if (shared.refs === 0) {
        this.lib.logins.delete(key);
        try {
          this.lib.module.C_Logout(this.loginSession);
        } catch {
          // Closing the last session logs out anyway.
        }
      }
    }
    this.closeQuietly(this.loginSession);
  }

  private openSession(context: SessionContext): Buffer {
    try {
      return this.lib.module.C_OpenSession(this.handle, SESSION_FLAGS);
    } catch (e) {
      throw toHsmError(e, { operation: `C_OpenSession for ${context.operation}`, slot: this.id });
    }
  }

  private closeQuietly(session: Buffer): void {
    try {
      this.lib.module.C_CloseSession(session);
    } catch {
      // A session the token already dropped (device removed, HSM restarted) needs no closing.
    }
  }

  /**
   * Logs in once per slot and process. Another instance on the same slot shares the login,
   * but only with the same PIN: C_Login on a logged-in token answers
   * CKR_USER_ALREADY_LOGGED_IN without checking the PIN, which would let a wrong one through.
   */
  private login(pin: string): boolean {
    if (pin === NO_LOGIN) return false;
    const key = String(this.id);
    const tag = pinTag(pin);
    const shared = this.lib.logins.get(key);
    if (shared) {
      if (!timingSafeEqual(shared.pinTag, tag)) {
        throw new HsmError('CONFIG', { operation: 'C_Login', slot: this.id }, 'this slot is already logged in by another HSM instance with a different PIN');
      }
      shared.refs++;
      return true;
    }
    try {
      // An empty PIN is a NULL PIN: the token's protected authentication path (PIN pad).
      if (pin === '') this.lib.module.C_Login(this.loginSession, pkcs11.CKU_USER);
      else this.lib.module.C_Login(this.loginSession, pkcs11.CKU_USER, pin);
    } catch (e) {
      if (pkcs11Rv(e) !== pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
        throw toHsmError(e, { operation: 'C_Login', slot: this.id });
      }
    }
    this.lib.logins.set(key, { refs: 1, pinTag: tag });
    return true;
  }
}

/** The slot's handle, or an error that lists the slots that do exist. */
function findSlotHandle(lib: LoadedLibrary, id: number): Buffer {
  const context = { operation: 'C_GetSlotList', slot: id };
  let withToken: Buffer[];
  let all: Buffer[];
  try {
    withToken = lib.module.C_GetSlotList(true);
    all = lib.module.C_GetSlotList(false);
  } catch (e) {
    throw toHsmError(e, context);
  }
  const found = withToken.find((h) => slotHandleId(h) === id);
  if (found) return found;
  const ids = withToken.map(slotHandleId).join(', ') || 'none';
  if (all.some((h) => slotHandleId(h) === id)) {
    throw new HsmError('CKR_TOKEN_NOT_PRESENT', { operation: 'open slot', slot: id }, `no token in this slot of ${lib.path}`);
  }
  throw new HsmError('CKR_SLOT_ID_INVALID', { operation: 'open slot', slot: id }, `no such slot in ${lib.path}; slots with a token: ${ids}`);
}
