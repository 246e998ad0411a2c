import { HsmError } from './errors';
import { acquireLibrary, releaseLibrary, type LoadedLibrary } from './library';
import { probeOaepHashes } from './mechanisms';
import { hsmProfile, resolveLibraryPath, vendorEnvironment, type HsmModel, type HsmProfile } from './profiles';
import { HsmSlot, type HsmSlotConfig, type OaepHash } from './slot';

export interface HsmInstanceConfig {
  model: HsmModel;
  slots: HsmSlotConfig[];
  /** Overrides the profile's default and its *_PKCS11_LIB variable. */
  libraryPath?: string;
  /** Vendor variables (SOFTHSM2_CONF, CS_PKCS11_R3_CFG...) set before C_Initialize. */
  environment?: Record<string, string>;
  /** Idle operation sessions kept per slot. Default 4. */
  sessionPoolSize?: number;
  /** Overrides the profile's C_FindObjects batch size. */
  findBatchSize?: number;
}

export interface HsmSlotStatus {
  slot: number;
  tokenLabel: string;
  reachable: boolean;
  error?: string;
  oaepHashes: OaepHash[];
  oaepProbeError?: string;
}

/**
 * One HSM: a vendor library and the slots configured on it, each logged in. Everything that
 * can be wrong with the configuration (library path, environment, slot, PIN) fails in
 * open(), so the server refuses to start instead of failing its first request.
 */
export class HsmInstance {
  private closed = false;

  private constructor(
    readonly profile: HsmProfile,
    private readonly lib: LoadedLibrary,
    private readonly slots: ReadonlyMap<number, HsmSlot>,
    private readonly probeErrors: ReadonlyMap<number, string>,
  ) {}

  static open(config: HsmInstanceConfig): HsmInstance {
    const profile = hsmProfile(config.model);
    if (!profile) throw new HsmError('CONFIG', { operation: 'open HSM' }, `unknown HSM model ${String(config.model)}`);
    if (config.slots.length === 0) throw new HsmError('CONFIG', { operation: 'open HSM' }, 'no slot configured');
    const ids = config.slots.map((s) => s.id);
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate !== undefined) throw new HsmError('CONFIG', { operation: 'open HSM', slot: duplicate }, 'slot configured twice');

    const path = resolveLibraryPath(profile, config.libraryPath);
    const lib = acquireLibrary(path, profile, vendorEnvironment(profile, config.environment));
    const slots = new Map<number, HsmSlot>();
    const probeErrors = new Map<number, string>();
    try {
      for (const slotConfig of config.slots) {
        const slot = HsmSlot.open(lib, slotConfig, config.findBatchSize ?? profile.findBatchSize, config.sessionPoolSize ?? 4);
        slots.set(slot.id, slot);
        const probe = probeOaepHashes(slot);
        slot.oaepHashes = probe.hashes;
        if (probe.error) probeErrors.set(slot.id, probe.error);
      }
    } catch (e) {
      for (const slot of slots.values()) slot.close();
      releaseLibrary(lib);
      throw e;
    }
    return new HsmInstance(profile, lib, slots, probeErrors);
  }

  get model(): HsmModel {
    return this.profile.model;
  }

  get libraryPath(): string {
    return this.lib.path;
  }

  get slotIds(): number[] {
    return [...this.slots.keys()];
  }

  /** A configured slot; only those can be used, as in Cosmian. */
  slot(id: number): HsmSlot {
    if (this.closed) throw new HsmError('CLOSED', { operation: 'slot', slot: id });
    const slot = this.slots.get(id);
    if (!slot) throw new HsmError('CKR_SLOT_ID_INVALID', { operation: 'slot', slot: id }, `not configured on this ${this.model} instance (configured: ${this.slotIds.join(', ')})`);
    return slot;
  }

  /** What GET /hsm/status reports: each slot, and whether its token answers now. */
  status(): HsmSlotStatus[] {
    return [...this.slots.values()].map((slot) => {
      const status: HsmSlotStatus = { slot: slot.id, tokenLabel: slot.tokenLabel, reachable: false, oaepHashes: [...slot.oaepHashes] };
      const probeError = this.probeErrors.get(slot.id);
      if (probeError) status.oaepProbeError = probeError;
      if (this.closed) return { ...status, error: 'instance closed' };
      try {
        this.lib.module.C_GetTokenInfo(slot.handle);
        status.reachable = true;
      } catch (e) {
        status.error = e instanceof Error ? e.message : String(e);
      }
      return status;
    });
  }

  /** Logs out and closes every session, then lets the library go (the registry decides whether to finalise). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots.values()) slot.close();
    releaseLibrary(this.lib);
  }
}
