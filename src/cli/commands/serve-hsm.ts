import type { FlatHsmSettings, HsmInstanceConfig } from '../../server/hsm/hsm-config';
import { resolveServeOptions } from '../../server/config-file';

/** The HSM flags of `p11kms serve`, as commander collects them. */
export interface HsmFlags {
  hsmModel?: string;
  hsmSlot?: string[];
  hsmPassword?: string[];
  hsmAdmin?: string[];
}

/** The flags under hsm-config's names (Cosmian's hsm_model, hsm_slot, hsm_password, hsm_admin). */
export function flatFromFlags(flags: HsmFlags): FlatHsmSettings {
  return { model: flags.hsmModel, slots: flags.hsmSlot, passwords: flags.hsmPassword, admins: flags.hsmAdmin };
}

/**
 * The HSM instances of the flags alone, each falling back to its KMS_HSM_* variable. Loaded
 * only by `serve`, because the HSM profiles pull in the native PKCS#11 binding.
 */
export function hsmFromFlags(flags: HsmFlags, env: Readonly<Record<string, string | undefined>>): HsmInstanceConfig[] {
  return resolveServeOptions({ hsmFlags: flatFromFlags(flags), env }).hsm ?? [];
}
