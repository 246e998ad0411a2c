import { KmipError } from '../../kmip/errors';
import { HsmInstance } from '../../hsm/instance';
import { hsmErrorReason, HsmError } from '../../hsm/errors';
import type { HsmSlot } from '../../hsm/slot';
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
  private constructor(
    readonly configs: readonly HsmInstanceConfig[],
    private readonly instances: ReadonlyMap<HsmInstanceConfig, HsmInstance>,
  ) {}

  static open(configs: readonly HsmInstanceConfig[]): HsmRegistry {
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
    return new HsmRegistry(configs, opened);
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
    for (const instance of this.instances.values()) instance.close();
  }
}

/** An HsmError becomes the KMIP reason src/hsm chose for it; anything else passes through. */
export function hsmToKmip(e: unknown): unknown {
  if (e instanceof HsmError) return new KmipError(hsmErrorReason(e), e.message);
  return e;
}
