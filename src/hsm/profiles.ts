import { existsSync } from 'node:fs';
import { HsmError } from './errors';

export type HsmModel = 'softhsm2' | 'utimaco' | 'proteccio' | 'other';

export const HSM_MODELS: readonly HsmModel[] = ['softhsm2', 'utimaco', 'proteccio', 'other'];

/** An environment variable the vendor library reads during C_Initialize. */
export interface HsmEnvVar {
  name: string;
  purpose: string;
  /** Start-up fails when it is unset and has no default. */
  required: boolean;
  /** Set in the process environment when the variable is unset (the vendor's documented path). */
  defaultValue?: string;
}

/**
 * What differs between vendors. Everything else (templates, mechanisms, sessions) is plain
 * PKCS#11 2.40, so a new vendor is a new profile, not new code.
 */
export interface HsmProfile {
  model: HsmModel;
  /** Cosmian's default library path, so an existing Cosmian deployment works unchanged. */
  defaultLibraryPath: string;
  /** Overrides the default library path (Cosmian's `instantiate_hsm_with_env!` names). */
  libraryPathEnv: string;
  environment: readonly HsmEnvVar[];
  /** Files the library needs, any one of each group; checked so a missing one is named at start-up. */
  configFiles: readonly (readonly string[])[];
  /** How many handles to ask for per C_FindObjects (Cosmian's `find_max_object_count`). */
  findBatchSize: number;
  /**
   * The library crashes when initialised again after C_Finalize (Proteccio's libnethsm.so
   * ends in SIGSEGV), so it is initialised once per process and never finalised.
   */
  initializeOncePerProcess: boolean;
  /** Shown in errors and in /hsm/status: what an operator should check. */
  notes: readonly string[];
}

const SOFTHSM2: HsmProfile = {
  model: 'softhsm2',
  defaultLibraryPath: '/usr/lib/softhsm/libsofthsm2.so',
  libraryPathEnv: 'SOFTHSM2_PKCS11_LIB',
  environment: [
    { name: 'SOFTHSM2_CONF', purpose: 'configuration file naming directories.tokendir (default /etc/softhsm/softhsm2.conf)', required: false },
  ],
  configFiles: [],
  findBatchSize: 32,
  initializeOncePerProcess: false,
  notes: [
    'Debian 12 softhsm2 2.6.1 supports RSA-OAEP with SHA-1 only; SHA-256 gives CKR_ARGUMENTS_BAD.',
    'Slot IDs are reassigned from the token serial: use the number softhsm2-util prints, not 0.',
  ],
};

const UTIMACO: HsmProfile = {
  model: 'utimaco',
  defaultLibraryPath: '/lib/libcs_pkcs11_R3.so',
  libraryPathEnv: 'UTIMACO_PKCS11_LIB',
  environment: [
    // Cosmian's documentation misspells it CS_PKCS11_R3_CF; the library reads CS_PKCS11_R3_CFG.
    { name: 'CS_PKCS11_R3_CFG', purpose: 'path of cs_pkcs11_R3.cfg (devices, logging)', required: true, defaultValue: '/etc/utimaco/cs_pkcs11_R3.cfg' },
  ],
  configFiles: [],
  findBatchSize: 64,
  initializeOncePerProcess: false,
  notes: [
    'On the simulator the SO PIN and the user PIN must be set and then changed, or login fails with CKR_PIN_TOO_WEAK.',
  ],
};

const PROTECCIO: HsmProfile = {
  model: 'proteccio',
  defaultLibraryPath: '/lib/libnethsm.so',
  libraryPathEnv: 'PROTECCIO_PKCS11_LIB',
  // libnethsm reads a fixed directory, /etc/proteccio, not an environment variable; what it
  // does read from the environment is OpenSSL's, and a FIPS OPENSSL_CONF or a foreign
  // LD_LIBRARY_PATH makes C_Initialize fail with CKR_FUNCTION_FAILED.
  environment: [
    { name: 'OPENSSL_CONF', purpose: 'must not select a FIPS provider: libnethsm embeds its own OpenSSL', required: false },
    { name: 'OPENSSL_MODULES', purpose: 'must not point at another OpenSSL build', required: false },
  ],
  configFiles: [['/etc/proteccio/proteccio.rc', '/etc/proteccio/proteccio.ini']],
  findBatchSize: 64,
  initializeOncePerProcess: true,
  notes: [
    'Configuration and TLS/secure-channel files live in /etc/proteccio; check them with nethsmstatus.',
    'Only SHA-256 is available for RSA-OAEP.',
  ],
};

const OTHER: HsmProfile = {
  // Cosmian runs an unknown vendor with SoftHSM2's capabilities; so do we, but the OAEP
  // probe still decides which hashes are used.
  ...SOFTHSM2,
  model: 'other',
  defaultLibraryPath: '/lib/libkmshsm.so',
  libraryPathEnv: 'OTHER_HSM_PKCS11_LIB',
  environment: [],
  notes: ['A vendor without a profile: set the library path and any environment the vendor documents.'],
};

const PROFILES: Readonly<Record<HsmModel, HsmProfile>> = { softhsm2: SOFTHSM2, utimaco: UTIMACO, proteccio: PROTECCIO, other: OTHER };

export function isHsmModel(value: string): value is HsmModel {
  return (HSM_MODELS as readonly string[]).includes(value);
}

export function hsmProfile(model: HsmModel): HsmProfile {
  return PROFILES[model];
}

/** An explicit path wins, then the profile's environment override, then the vendor default. */
export function resolveLibraryPath(profile: HsmProfile, explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const path = explicit ?? env[profile.libraryPathEnv] ?? profile.defaultLibraryPath;
  if (!existsSync(path)) {
    throw new HsmError('CONFIG', { operation: 'load library' },
      `${profile.model} PKCS#11 library not found at ${path} (set libraryPath or ${profile.libraryPathEnv})`);
  }
  return path;
}

/**
 * The environment the vendor library will see: the caller's overrides, then the profile's
 * defaults. Vendor libraries read it with getenv() inside C_Initialize, so it has to be in
 * process.env by then; that makes it process-wide, which the library registry enforces.
 */
export function vendorEnvironment(profile: HsmProfile, overrides: Readonly<Record<string, string>> = {}, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of profile.environment) {
    const value = overrides[v.name] ?? env[v.name] ?? v.defaultValue;
    if (value === undefined) {
      if (v.required) throw new HsmError('CONFIG', { operation: 'check environment' }, `${profile.model} needs ${v.name}: ${v.purpose}`);
      continue;
    }
    out[v.name] = value;
  }
  for (const [name, value] of Object.entries(overrides)) out[name] = value;
  for (const group of profile.configFiles) {
    if (!group.some((f) => existsSync(f))) {
      throw new HsmError('CONFIG', { operation: 'check configuration' }, `${profile.model} needs one of ${group.join(', ')}`);
    }
  }
  return out;
}
