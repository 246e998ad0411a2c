import { CKO, CKR } from './constants';
import { ConfigError, loadModuleConfig, type ModuleConfig } from './config';
import { fail } from './errors';
import { HandleTable } from './handles';
import type { KmsObject } from './kms-object';
import { isPrivate, objectContext, type ObjectContext } from './object-attributes';
import { Session } from './session';
import { Slot } from './slot';

export interface HostInfo {
  ulongSize: number;
  pointerSize: number;
  littleEndian: boolean;
  hosting: string;
}

/** The module's whole state between C_Initialize and C_Finalize, shared by every call. */
export class Token {
  config: ModuleConfig | undefined;
  /** Why there are no slots, when the configuration could not be read (shown by doctor). */
  configError: string | undefined;
  host: HostInfo = { ulongSize: 8, pointerSize: 8, littleEndian: true, hosting: '' };
  slots: Slot[] = [];
  readonly sessions = new Map<number, Session>();
  readonly handles = new HandleTable();
  private nextSession = 1;

  /**
   * A configuration error does not fail C_Initialize: the module shows no slots and logs why.
   * handleBase: a restarted child runtime numbers its sessions and objects above the ones
   * its predecessor gave out, so an old handle never names something new.
   */
  initialize(host: HostInfo, handleBase = 0, env: NodeJS.ProcessEnv = process.env): void {
    this.host = host;
    this.handles.rebase(handleBase);
    this.nextSession = Math.max(this.nextSession, handleBase + 1);
    try {
      this.config = loadModuleConfig(env);
      this.configError = undefined;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.config = undefined;
      this.configError = e.message;
    }
    const config = this.config;
    this.slots = config ? config.slots.map((s) => new Slot(s, config)) : [];
  }

  async finalize(): Promise<void> {
    const closing = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of closing) s.endOperations();
    await Promise.all(this.slots.map((s) => s.close()));
    this.slots = [];
    this.handles.clear();
  }

  slot(id: number): Slot {
    const slot = this.slots[id];
    if (!slot || id < 0) fail(CKR.SLOT_ID_INVALID, `no slot ${id}`);
    return slot;
  }

  session(handle: number): Session {
    const s = this.sessions.get(handle);
    if (!s) fail(CKR.SESSION_HANDLE_INVALID, `no session ${handle}`);
    return s;
  }

  openSession(slot: Slot, flags: number): Session {
    const session = new Session(this.nextSession++, slot, flags);
    this.sessions.set(session.handle, session);
    return session;
  }

  sessionsOf(slot: Slot): Session[] {
    return [...this.sessions.values()].filter((s) => s.slot === slot);
  }

  isSessionObject(slot: Slot, uid: string): boolean {
    return this.sessionsOf(slot).some((s) => s.sessionObjects.has(uid));
  }

  /** Private objects are out of sight until the user logs in, where the token needs a login. */
  visible(session: Session, cls: number, object?: KmsObject): boolean {
    if (!session.slot.loginRequired || session.slot.login !== 'public') return true;
    if (object) return !isPrivate({ cls, object });
    return cls === CKO.PUBLIC_KEY || cls === CKO.CERTIFICATE;
  }

  contextFor(session: Session, object: KmsObject): ObjectContext | undefined {
    return objectContext(object, session.slot.store, !this.isSessionObject(session.slot, object.uid));
  }

  /** The object behind a handle, as this session may see it; otherwise the given invalid-handle rv. */
  async resolve(session: Session, handle: number, invalid: number = CKR.OBJECT_HANDLE_INVALID): Promise<ObjectContext> {
    const ref = this.handles.resolve(handle);
    if (!ref || ref.slotId !== session.slot.id) fail(invalid, `no object ${handle} in this slot`);
    let object: KmsObject;
    try {
      object = await session.slot.store.get(ref.uid, invalid === CKR.KEY_HANDLE_INVALID ? 'key' : 'object');
    } catch (e) {
      if (e instanceof Error && 'rv' in e && (e as { rv: number }).rv === invalid) this.handles.retire(handle);
      throw e;
    }
    // KMIP keeps a destroyed object's metadata (GetAttributes still answers): for PKCS#11 it is gone.
    if (object.state === 'Destroyed' || object.state === 'Destroyed_Compromised') {
      this.handles.retire(handle);
      session.slot.store.invalidate(object.uid);
      fail(invalid, `object ${handle} was destroyed`);
    }
    const context = this.contextFor(session, object);
    if (!context || !this.visible(session, context.cls, context.object)) fail(invalid, `object ${handle} is not visible here`);
    return context;
  }

  handleFor(session: Session, uid: string): number {
    return this.handles.handleFor(session.slot.id, uid);
  }
}
