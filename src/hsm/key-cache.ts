import { createHash } from 'node:crypto';

export interface KeyCacheOptions {
  /** Most entries kept; the least recently used goes first. 0 disables the cache. Default 1000 (Cosmian's). */
  maxEntries?: number;
  /** Time to idle: an entry unused this long expires. Default 15 minutes (Cosmian's). */
  idleMs?: number;
  /** Time to live: an entry this old expires however much it is used. Optional; at least idleMs. */
  maxAgeMs?: number;
  /** Zeroizes expired entries this often even when nothing touches the cache. Off by default. */
  sweepIntervalMs?: number;
  /** Milliseconds, monotonic. Injected by tests. */
  now?: () => number;
}

export interface KeyCacheStats {
  hits: number;
  misses: number;
  /** Dropped to make room (LRU). */
  evictions: number;
  /** Dropped by idle or absolute expiry. */
  expirations: number;
  /** Dropped by invalidate(), a changed wrapped form, or clear(). */
  invalidations: number;
  size: number;
}

interface Entry {
  fingerprint: Buffer;
  key: Buffer;
  created: number;
  lastUsed: number;
}

/**
 * Unwrapped KMS keys, so that a busy key costs one HSM call, not one per request.
 * Entries are keyed by UID and carry a fingerprint of the wrapped bytes they came from, so
 * a re-wrapped key (new KEK, new IV) is a miss and never gets the old bytes back. Every way
 * out of the cache (eviction, expiry, invalidation, clear) overwrites the key with zeros.
 *
 * Ownership: set() takes the buffer it is given and zeroes it when the entry goes (at once
 * if it is not kept). get() lends the cached buffer: use it synchronously, or copy it.
 */
export class UnwrappedKeyCache {
  private readonly entries = new Map<string, Entry>(); // iteration order = least recently used first
  private readonly maxEntries: number;
  private readonly idleMs: number;
  private readonly maxAgeMs: number | undefined;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly counts = { hits: 0, misses: 0, evictions: 0, expirations: 0, invalidations: 0 };

  constructor(options: KeyCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1000;
    this.idleMs = options.idleMs ?? 15 * 60_000;
    this.maxAgeMs = options.maxAgeMs;
    this.now = options.now ?? (() => performance.now());
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 0) throw new RangeError('maxEntries must be a whole number ≥ 0');
    if (!(this.idleMs > 0)) throw new RangeError('idleMs must be > 0');
    if (this.maxAgeMs !== undefined && this.maxAgeMs < this.idleMs) throw new RangeError('maxAgeMs must be ≥ idleMs');
    if (options.sweepIntervalMs && this.enabled) {
      this.timer = setInterval(() => this.sweep(), options.sweepIntervalMs);
      this.timer.unref(); // a cache is never a reason to keep the process alive
    }
  }

  get enabled(): boolean {
    return this.maxEntries > 0;
  }

  /** The key unwrapped from exactly these wrapped bytes, if cached and not expired. */
  get(uid: string, wrapped: Buffer): Buffer | undefined {
    const entry = this.entries.get(uid);
    if (!entry) return this.miss();
    const t = this.now();
    if (this.expired(entry, t)) {
      this.drop(uid, entry, 'expirations');
      return this.miss();
    }
    if (!entry.fingerprint.equals(fingerprint(wrapped))) {
      this.drop(uid, entry, 'invalidations');
      return this.miss();
    }
    entry.lastUsed = t;
    this.entries.delete(uid);
    this.entries.set(uid, entry);
    this.counts.hits++;
    return entry.key;
  }

  /** Caches `key` (taking ownership) as the unwrapped form of `wrapped`. */
  set(uid: string, wrapped: Buffer, key: Buffer): void {
    // Cosmian refuses this too: a "wrapped" form equal to the key means it was never wrapped.
    if (wrapped.equals(key)) throw new Error('refusing to cache a key whose wrapped form is the key itself');
    if (!this.enabled) {
      key.fill(0);
      return;
    }
    const old = this.entries.get(uid);
    if (old) this.drop(uid, old, 'invalidations');
    const t = this.now();
    this.entries.set(uid, { fingerprint: fingerprint(wrapped), key, created: t, lastUsed: t });
    this.expireIdle(t);
    while (this.entries.size > this.maxEntries) {
      const [oldestUid, oldest] = this.entries.entries().next().value as [string, Entry];
      this.drop(oldestUid, oldest, 'evictions');
    }
  }

  /** Forgets (and zeroes) a UID's key: call it when the wrapped form changes or the key is destroyed. */
  invalidate(uid: string): boolean {
    const entry = this.entries.get(uid);
    if (!entry) return false;
    this.drop(uid, entry, 'invalidations');
    return true;
  }

  /** Zeroes and forgets every entry (re-keying the KEK, shutdown). */
  clear(): void {
    for (const [uid, entry] of [...this.entries]) this.drop(uid, entry, 'invalidations');
  }

  /** Zeroes every expired entry. Cheap: the cache is bounded. */
  sweep(): void {
    const t = this.now();
    for (const [uid, entry] of [...this.entries]) if (this.expired(entry, t)) this.drop(uid, entry, 'expirations');
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }

  get stats(): KeyCacheStats {
    return { ...this.counts, size: this.entries.size };
  }

  private miss(): undefined {
    this.counts.misses++;
    return undefined;
  }

  private expired(entry: Entry, t: number): boolean {
    if (t - entry.lastUsed >= this.idleMs) return true;
    return this.maxAgeMs !== undefined && t - entry.created >= this.maxAgeMs;
  }

  /** The least recently used entries are first, so idle ones are found without a full scan. */
  private expireIdle(t: number): void {
    for (const [uid, entry] of this.entries) {
      if (t - entry.lastUsed < this.idleMs) return;
      this.drop(uid, entry, 'expirations');
    }
  }

  private drop(uid: string, entry: Entry, reason: 'evictions' | 'expirations' | 'invalidations'): void {
    entry.key.fill(0);
    this.entries.delete(uid);
    this.counts[reason]++;
  }
}

/** Identifies a wrapped form; a hash, so the cache holds nothing that helps an attacker. */
function fingerprint(wrapped: Buffer): Buffer {
  return createHash('sha256').update(wrapped).digest();
}
