import * as pkcs11 from 'pkcs11js';
import { HsmError, pkcs11Rv, toHsmError } from './errors';
import type { HsmProfile } from './profiles';

/** Who is logged in on a slot of this library; PKCS#11 login state is per process and token. */
export interface SharedLogin {
  refs: number;
  /** HMAC of the PIN that logged in, so a second instance with another PIN is not let in silently. */
  pinTag: Buffer;
}

/**
 * One vendor library in this process. pkcs11js dlopens it and every PKCS11 object on the
 * same path shares the library's global state (a second C_Initialize answers
 * CKR_CRYPTOKI_ALREADY_INITIALIZED), so the registry keeps one per path and counts its users.
 */
export interface LoadedLibrary {
  readonly path: string;
  readonly module: pkcs11.PKCS11;
  readonly profile: HsmProfile;
  refs: number;
  initialized: boolean;
  /** False when something else in the process initialised it first: then it is not ours to finalise. */
  ownsInitialization: boolean;
  /** The vendor environment it was initialised with. */
  environment: Readonly<Record<string, string>>;
  /** Keyed by decimal slot ID. */
  readonly logins: Map<string, SharedLogin>;
}

const registry = new Map<string, LoadedLibrary>();

/**
 * Loads (once per path) and initialises (once per user count) a vendor library, with the
 * vendor environment put in process.env first because libraries read it in C_Initialize.
 * CKF_OS_LOCKING_OK lets the library use its own mutexes; pkcs11js calls come from the
 * one JavaScript thread, but a vendor library may run threads of its own.
 */
export function acquireLibrary(path: string, profile: HsmProfile, environment: Readonly<Record<string, string>>): LoadedLibrary {
  let lib = registry.get(path);
  if (!lib) {
    const module = new pkcs11.PKCS11();
    try {
      module.load(path);
    } catch (e) {
      throw toHsmError(e, { operation: `load ${path}` });
    }
    lib = { path, module, profile, refs: 0, initialized: false, ownsInitialization: false, environment: {}, logins: new Map() };
    registry.set(path, lib);
  }
  if (lib.profile.model !== profile.model) {
    throw new HsmError('CONFIG', { operation: 'load library' }, `${path} is already loaded as ${lib.profile.model}, not ${profile.model}`);
  }
  if (lib.initialized) {
    assertSameEnvironment(lib, environment);
  } else {
    for (const [name, value] of Object.entries(environment)) process.env[name] = value;
    initialize(lib);
    lib.environment = { ...environment };
  }
  lib.refs++;
  return lib;
}

function initialize(lib: LoadedLibrary): void {
  try {
    lib.module.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
    lib.ownsInitialization = true;
  } catch (e) {
    // Two instances, or another component of this process, may share one .so.
    if (pkcs11Rv(e) !== pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw toHsmError(e, { operation: `C_Initialize ${lib.path}` });
    lib.ownsInitialization = false;
  }
  lib.initialized = true;
}

/**
 * One library has one configuration per process: the vendor read its environment once, so a
 * second instance asking for another SOFTHSM2_CONF would silently get the first one's tokens.
 */
function assertSameEnvironment(lib: LoadedLibrary, environment: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(environment)) {
    const current = lib.environment[name];
    if (current !== value) {
      throw new HsmError('CONFIG', { operation: 'load library' },
        `${lib.path} is already initialised with ${name}=${current ?? '(unset)'}; one library has one configuration per process`);
    }
  }
}

/**
 * Drops one user. The last one finalises the library, except a library that must be
 * initialised only once per process (Proteccio) or that someone else initialised.
 */
export function releaseLibrary(lib: LoadedLibrary): void {
  if (lib.refs <= 0) return;
  lib.refs--;
  if (lib.refs > 0 || !lib.initialized) return;
  if (lib.profile.initializeOncePerProcess || !lib.ownsInitialization) return;
  try {
    lib.module.C_Finalize();
  } catch {
    // Finalising is best effort: the process is letting go of the library either way.
  }
  // The .so stays loaded (no dlclose): vendor libraries are not all safe to unload.
  lib.initialized = false;
  lib.logins.clear();
}

/** For tests and /hsm/status: the library state the registry holds for a path. */
export function loadedLibrary(path: string): Readonly<LoadedLibrary> | undefined {
  return registry.get(path);
}
