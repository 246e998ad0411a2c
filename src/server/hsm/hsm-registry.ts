import { KmipError } from '../../kmip/errors';
import { HsmInstance } from '../../hsm/instance';
import { hsmErrorReason, HsmError } from '../../hsm/errors';
import type { HsmSlot } from '../../hsm/slot';
import { UnwrappedKeyCache, type KeyCacheOptions, type KeyCacheStats } from '../../hsm/key-cache';
import { HsmKeyWrapper } from '../../hsm/wrapping';
import { HsmConfigError, isHsmAdmin, routeHsmUid, type HsmInstanceConfig } from './hsm-config';

/** One hsm:: UID, resolved to the open slot that holds the key. */
export interface HsmKeyRoute {
  uid: string;
  config: HsmInstanceConfig;
  slot: HsmSlot;
  label: string;
}

/** What GET /hsm/status answers for one instance. */
export interface HsmInstanceStatus {
  prefix: string;
  model: string;
  slots: Array<{ id: number; tokenLabel: string; reachable: boolean; error?: string }>;
}

/**
 * The HSM instances a server runs with, opened once at start-up. Opening logs every slot
 * in, so a wrong PIN or a missing token stops the server before it listens.
 */
export class HsmRegistry {
  /** Unwrapped database keys (hsm-model.md §1 "Caches"): one cache per server, shared by every instance's wrapper. */
  readonly unwrappedCache: UnwrappedKeyCache;
  private readonly wrappers = new Map<HsmInstanceConfig, HsmKeyWrapper>();

  private constructor(
    readonly configs: readonly HsmInstanceConfig[],
    private readonly instances: ReadonlyMap<HsmInstanceConfig, HsmInstance>,
    cacheOptions: KeyCacheOptions,
  ) {
    this.unwrappedCache = new UnwrappedKeyCache(cacheOptions);
  }

  static open(configs: readonly HsmInstanceConfig[], cacheOptions: KeyCacheOptions = {}): HsmRegistry {
    const opened = new Map<HsmInstanceConfig, HsmInstance>();
    try {
      for (const config of configs) {
        opened.set(config, HsmInstance.open({
          model: config.model,
          slots: config.slots.map((s) => ({ id: s.id, pin: s.pin })),
          ...(config.library !== undefined ? { libraryPath: config.library } : {}),
        }));
      }
    } catch (e) {
      for (const instance of opened.values()) instance.close();
      throw e;
    }
    try {
      return new HsmRegistry(configs, opened, cacheOptions);
    } catch (e) {
      for (const instance of opened.values()) instance.close();
      throw e;
    }
  }

  /** The wrapper of the instance that holds an HSM key, made on first use. */
  private wrapperFor(route: HsmKeyRoute): HsmKeyWrapper {
    let wrapper = this.wrappers.get(route.config);
    if (!wrapper) {
      const instance = this.instances.get(route.config);
      if (!instance) throw new KmipError('Item_Not_Found', `no open HSM serves ${route.uid}`);
      wrapper = new HsmKeyWrapper(instance, this.unwrappedCache);
      this.wrappers.set(route.config, wrapper);
    }
    return wrapper;
  }

  /** Encrypts a database key's bytes under an HSM AES key: iv‖ciphertext‖tag (src/hsm/wrapping.ts). */
  wrapKey(kekUid: string, keyBytes: Buffer): Buffer {
    const route = this.route(kekUid);
    try {
      return this.wrapperFor(route).wrap({ slot: route.slot.id, label: route.label }, keyBytes);
    } catch (e) {
      throw hsmToKmip(e);
    }
  }

  /** The bytes of database key `uid`, from the cache or from the HSM. The caller should zero them when done. */
  unwrapKey(uid: string, kekUid: string, wrapped: Buffer): Buffer {
    const route = this.route(kekUid);
    try {
      return this.wrapperFor(route).unwrap(uid, { slot: route.slot.id, label: route.label }, wrapped);
    } catch (e) {
      throw hsmToKmip(e);
    }
  }

  /** HSM calls made to wrap or unwrap database keys, and the cache's counters: what the cache saves. */
  wrapStats(): { hsmCalls: number; cache: KeyCacheStats } {
    let hsmCalls = 0;
    for (const w of this.wrappers.values()) hsmCalls += w.hsmCalls;
    return { hsmCalls, cache: this.unwrappedCache.stats };
  }

  /**
   * The slot and label of an hsm:: UID. An hsm:: UID that no instance serves is an error,
   * never a lookup in the database: the caller asked for an HSM key.
   */
  route(uid: string): HsmKeyRoute {
    let routed;
    try {
      routed = routeHsmUid(uid, this.configs);
    } catch (e) {
      if (e instanceof HsmConfigError) throw new KmipError('Item_Not_Found', e.message);
      throw e;
    }
    if (!routed) throw new KmipError('Item_Not_Found', `${uid} is not an HSM key identifier`);
    const instance = this.instances.get(routed.instance);
    if (!instance) throw new KmipError('Item_Not_Found', `no open HSM serves ${uid}`);
    try {
      return { uid, config: routed.instance, slot: instance.slot(routed.slot), label: routed.label };
    } catch (e) {
      throw hsmToKmip(e);
    }
  }

  isAdmin(user: string, config: HsmInstanceConfig): boolean {
    return isHsmAdmin(user, this.configs, config);
  }

  status(): HsmInstanceStatus[] {
    return this.configs.map((config) => {
      const instance = this.instances.get(config);
      const slots = instance ? instance.status().map((s) => ({
        id: s.slot, tokenLabel: s.tokenLabel, reachable: s.reachable, ...(s.error !== undefined ? { error: s.error } : {}),
      })) : [];
      return { prefix: config.prefix, model: config.model, slots };
    });
  }

  close(): void {
    this.unwrappedCache.close();
    for (const instance of this.instances.values()) instance.close();
  }
}

/** An HsmError becomes the KMIP reason src/hsm chose for it; anything else passes through. */
export function hsmToKmip(e: unknown): unknown {
  if (e instanceof HsmError) return new KmipError(hsmErrorReason(e), e.message);
  return e;
}
