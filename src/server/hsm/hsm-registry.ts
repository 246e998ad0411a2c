import { KmipError } from '../../kmip/errors';
import { HsmInstance } from '../../hsm/instance';
import { hsmErrorReason, HsmError } from '../../hsm/errors';
import type { HsmSlot } from '../../hsm/slot';
import { UnwrappedKeyCache, type KeyCacheOptions, type KeyCacheStats } from '../../hsm/key-cache';
import { HsmKeyWrapper } from '../../hsm/wrapping';
import { generationLabel, latestGeneration, parseGenerationLabel } from '../../hsm/generations';
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

  /**
   * Encrypts a database key's bytes under an HSM AES key: iv‖ciphertext‖tag (src/hsm/wrapping.ts).
   * A base UID wraps with the key's newest generation, and `kek` names that exact generation:
   * a WrappingKeyLink always names the one key that can unwrap.
   */
  wrapKey(kekUid: string, keyBytes: Buffer): { wrapped: Buffer; kek: string } {
    const route = this.latest(this.route(kekUid));
    try {
      return { wrapped: this.wrapperFor(route).wrap({ slot: route.slot.id, label: route.label }, keyBytes), kek: route.uid };
    } catch (e) {
      throw hsmToKmip(e);
    }
  }

  /** Moves a database key from one HSM KEK to another (re-keying the KEK); drops its cache entry. */
  rewrapKey(uid: string, oldKekUid: string, newKekUid: string, wrapped: Buffer): Buffer {
    const from = this.route(oldKekUid);
    const to = this.route(newKekUid);
    if (from.config !== to.config) throw new KmipError('Feature_Not_Supported', `cannot re-wrap ${uid} from ${oldKekUid} to a key of another HSM`);
    try {
      return this.wrapperFor(from).rewrap(wrapped, { slot: from.slot.id, label: from.label }, { slot: to.slot.id, label: to.label }, uid);
    } catch (e) {
      throw hsmToKmip(e);
    }
  }

  /** The same slot, another label: a generation of the routed key. */
  withLabel(route: HsmKeyRoute, label: string): HsmKeyRoute {
    return { ...route, uid: `${route.config.prefix}::${route.slot.id}::${label}`, label };
  }

  /** The newest generation of a base UID (src/hsm/generations.ts); a UID naming a generation (`@n`, even `@0`) is taken as it is. */
  latest(route: HsmKeyRoute): HsmKeyRoute {
    if (namesGeneration(route)) return route;
    try {
      return this.withLabel(route, generationLabel(route.label, latestGeneration(route.slot, route.label)));
    } catch (e) {
      throw hsmToKmip(e);
    }
  }

  /** Every generation of the routed key, newest first: what Decrypt tries for a base UID. */
  generations(route: HsmKeyRoute): HsmKeyRoute[] {
    if (namesGeneration(route)) return [route];
    const n = parseGenerationLabel(this.latest(route).label).generation ?? 0;
    return Array.from({ length: n + 1 }, (_, i) => this.withLabel(route, generationLabel(route.label, n - i)));
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
      // `<base>@0` is generation 0, whose label is the base itself.
      const { base, generation } = parseGenerationLabel(routed.label);
      return { uid, config: routed.instance, slot: instance.slot(routed.slot), label: generation === 0 ? base : routed.label };
    } catch (e) {
      throw hsmToKmip(e);
    }
  }

  /** Every configured slot of the HSMs `user` administers, as a route with no label yet. */
  slotsAdministeredBy(user: string): HsmKeyRoute[] {
    return this.configs.filter((config) => this.isAdmin(user, config)).flatMap((config) => {
      const instance = this.instances.get(config);
      return instance ? instance.slotIds.map((id) => ({ uid: `${config.prefix}::${id}::`, config, slot: instance.slot(id), label: '' })) : [];
    });
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

/** Whether the UID itself names a generation; route() has already turned `<base>@0` into the label `<base>`. */
function namesGeneration(route: HsmKeyRoute): boolean {
  return parseGenerationLabel(route.uid).generation !== undefined;
}

/** An HsmError becomes the KMIP reason src/hsm chose for it; anything else passes through. */
export function hsmToKmip(e: unknown): unknown {
  if (e instanceof HsmError) return new KmipError(hsmErrorReason(e), e.message);
  return e;
}
