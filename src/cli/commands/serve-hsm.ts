import { flatSettings, hsmInstances, type HsmInstanceConfig } from '../../server/hsm/hsm-config';

/** The HSM flags of `p11kms serve`, as commander collects them. */
export interface HsmFlags {
  hsmModel?: string;
  hsmSlot?: string[];
  hsmPassword?: string[];
  hsmAdmin?: string[];
}

/**
 * The HSM instances `serve` starts with: the flags, each falling back to its KMS_HSM_*
 * variable. Loaded only by `serve`, because the HSM profiles pull in the native PKCS#11 binding.
 */
export function hsmFromFlags(flags: HsmFlags, env: Readonly<Record<string, string | undefined>>): HsmInstanceConfig[] {
  return hsmInstances(flatSettings({
    ...(flags.hsmModel !== undefined ? { model: flags.hsmModel } : {}),
    ...(flags.hsmSlot ? { slots: flags.hsmSlot } : {}),
    ...(flags.hsmPassword ? { passwords: flags.hsmPassword } : {}),
    ...(flags.hsmAdmin ? { admins: flags.hsmAdmin } : {}),
  }, env));
}
