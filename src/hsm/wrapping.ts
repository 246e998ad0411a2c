import { decrypt, encrypt } from './crypto';
import type { HsmInstance } from './instance';
import type { UnwrappedKeyCache } from './key-cache';

/** An AES key-encryption key on the HSM: the slot and label of `hsm::<slot>::<label>`. */
export interface KekRef {
  slot: number;
  label: string;
}

/**
 * KMS keys at rest, wrapped by an HSM key. The wrapped form is Cosmian's: the key bytes go
 * through C_Encrypt with AES-GCM on the HSM (not C_WrapKey, so any secret, not only a
 * PKCS#11 key, can be wrapped) and are stored as iv(12)‖ciphertext‖tag(16): 60 bytes for
 * an AES-256 key.
 */
export class HsmKeyWrapper {
  private calls = 0;

  constructor(private readonly hsm: HsmInstance, readonly cache: UnwrappedKeyCache) {}

  /** How many times this wrapper called the HSM; with the cache's hit counter it shows what the cache saved. */
  get hsmCalls(): number {
    return this.calls;
  }

  wrap(kek: KekRef, keyBytes: Buffer): Buffer {
    this.calls++;
    return encrypt(this.hsm.slot(kek.slot), kek.label, 'AES-GCM', keyBytes);
  }

  /**
   * The key bytes, from the cache when these exact wrapped bytes were unwrapped before,
   * else from the HSM. The caller owns the returned buffer and should zero it when done;
   * the cache keeps its own copy.
   */
  unwrap(uid: string, kek: KekRef, wrapped: Buffer): Buffer {
    const cached = this.cache.get(uid, wrapped);
    if (cached) return Buffer.from(cached);
    this.calls++;
    const plain = decrypt(this.hsm.slot(kek.slot), kek.label, 'AES-GCM', wrapped);
    const copy = Buffer.from(plain);
    this.cache.set(uid, wrapped, plain);
    return copy;
  }

  /**
   * Re-wraps under a new KEK (re-keying the KEK). The plaintext exists only between the two
   * HSM calls and is zeroed after. Given the UID, the cached entry is dropped at once;
   * without it, the old entry can no longer be hit (its fingerprint is of the old wrapped
   * bytes) and ages out.
   */
  rewrap(wrapped: Buffer, oldKek: KekRef, newKek: KekRef, uid?: string): Buffer {
    this.calls++;
    const plain = decrypt(this.hsm.slot(oldKek.slot), oldKek.label, 'AES-GCM', wrapped);
    try {
      return this.wrap(newKek, plain);
    } finally {
      plain.fill(0);
      if (uid !== undefined) this.cache.invalidate(uid);
    }
  }
}
