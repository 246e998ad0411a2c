import type { KmipOperations } from '../kmip/client-operations';
import type { ModuleConfig, SlotConfig } from './config';
import { CKF, CKR, CKU } from './constants';
import { fail, kmipFailure } from './errors';
import { configuredCredentials, credentialsFromPin, KmsConnection } from './kms-connection';
import { ObjectStore } from './object-store';

export type LoginState = 'public' | 'user' | 'so';

/**
 * One slot and its token: a KMS (with failover URLs), the credentials that reach it, the
 * login state shared by all of the application's sessions, and the object cache.
 */
export class Slot {
  readonly store: ObjectStore;
  private connection: KmsConnection | undefined;
  login: LoginState = 'public';

  constructor(readonly config: SlotConfig, private readonly module: ModuleConfig) {
    this.store = new ObjectStore(() => this.kms(), config.cacheTtlMs);
    if (config.login !== 'pin-is-token' && config.login !== 'pin-unlocks-key') {
      this.connection = new KmsConnection(config.urls, config, module, configuredCredentials(config));
    }
  }

  get id(): number {
    return this.config.id;
  }

  get loginRequired(): boolean {
    return this.config.login !== 'none';
  }

  /** The KMS, as far as the current login allows: without credentials there is none. */
  kms(): KmipOperations {
    if (!this.connection) fail(CKR.USER_NOT_LOGGED_IN, `slot ${this.id}: log in first; the PIN is the KMS credential`);
    return this.connection;
  }

  /** Whether objects can be listed at all: tokens whose credential is the PIN show nothing before login. */
  get canSee(): boolean {
    return this.connection !== undefined;
  }

  tokenFlags(): number {
    let flags = CKF.RNG | CKF.TOKEN_INITIALIZED | CKF.USER_PIN_INITIALIZED;
    if (this.loginRequired) flags |= CKF.LOGIN_REQUIRED;
    return flags;
  }

  /**
   * Checks the PIN the way the login mode says, and proves the resulting credentials with
   * one KMIP request, so a wrong token fails here with CKR_PIN_INCORRECT and not on the
   * first operation.
   */
  async logIn(userType: number, pin: string): Promise<void> {
    if (userType !== CKU.USER && userType !== CKU.SO && userType !== CKU.CONTEXT_SPECIFIC) {
      fail(CKR.USER_TYPE_INVALID, `user type ${userType}`);
    }
    if (userType === CKU.CONTEXT_SPECIFIC) {
      if (this.login === 'public') fail(CKR.USER_NOT_LOGGED_IN, 'context-specific login needs a logged-in user');
      return;
    }
    if (this.login !== 'public') {
      fail(this.login === (userType === CKU.SO ? 'so' : 'user') ? CKR.USER_ALREADY_LOGGED_IN : CKR.USER_ANOTHER_ALREADY_LOGGED_IN, 'already logged in');
    }
    if (this.config.login === 'pin-is-token' || this.config.login === 'pin-unlocks-key') {
      const candidate = new KmsConnection(this.config.urls, this.config, this.module, credentialsFromPin(this.config, pin));
      try {
        await candidate.locate({ maximumItems: 1 });
      } catch (e) {
        await candidate.close();
        throw kmipFailure(e, 'login');
      }
      const previous = this.connection;
      this.connection = candidate;
      this.store.invalidate();
      if (previous) await previous.close();
    }
    this.login = userType === CKU.SO ? 'so' : 'user';
  }

  async logOut(): Promise<void> {
    if (this.login === 'public') fail(CKR.USER_NOT_LOGGED_IN, 'not logged in');
    this.login = 'public';
    if (this.config.login === 'pin-is-token' || this.config.login === 'pin-unlocks-key') {
      const previous = this.connection;
      this.connection = undefined;
      this.store.invalidate();
      if (previous) await previous.close();
    }
  }

  async close(): Promise<void> {
    this.login = 'public';
    this.store.invalidate();
    const previous = this.connection;
    this.connection = undefined;
    if (previous) await previous.close().catch(() => undefined);
  }
}

