import { CKF, CKS } from './constants';
import type { CipherOperation } from './operations/cipher';
import type { DigestOperation } from './operations/digest';
import type { SignatureOperation } from './operations/signature';
import type { Slot } from './slot';

export interface FindState {
  handles: number[];
  next: number;
}

/**
 * A session: its slot, read-only or read-write, at most one operation of each kind (the
 * standard forbids a second Init while one is active), and the session objects it made,
 * which are destroyed on the KMS when it closes.
 */
export class Session {
  find: FindState | undefined;
  encrypt: CipherOperation | undefined;
  decrypt: CipherOperation | undefined;
  sign: SignatureOperation | undefined;
  verify: SignatureOperation | undefined;
  digest: DigestOperation | undefined;
  readonly sessionObjects = new Set<string>();

  constructor(readonly handle: number, readonly slot: Slot, readonly flags: number) {}

  get readWrite(): boolean {
    return (this.flags & CKF.RW_SESSION) !== 0;
  }

  state(): number {
    const login = this.slot.login;
    if (!this.readWrite) return login === 'public' ? CKS.RO_PUBLIC_SESSION : CKS.RO_USER_FUNCTIONS;
    if (login === 'so') return CKS.RW_SO_FUNCTIONS;
    return login === 'user' ? CKS.RW_USER_FUNCTIONS : CKS.RW_PUBLIC_SESSION;
  }

  /** Ends every active operation, wiping what they held. */
  endOperations(): void {
    for (const op of [this.encrypt, this.decrypt, this.sign, this.verify, this.digest]) op?.clear();
    this.encrypt = this.decrypt = this.sign = this.verify = this.digest = undefined;
    this.find = undefined;
  }
}
