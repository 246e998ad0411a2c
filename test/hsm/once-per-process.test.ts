import t from 'tap';
import { acquireLibrary, loadedLibrary, releaseLibrary } from '../../src/hsm/library';
import { hsmProfile, type HsmProfile } from '../../src/hsm/profiles';
import { SOFTHSM2_LIB, makeTokens } from './softhsm';

/**
 * Proteccio's libnethsm.so crashes when initialised again after C_Finalize, so its profile
 * says "once per process". Without a Proteccio here, the quirk is exercised on SoftHSM2
 * with that flag set: this file runs in its own process, so the registry sees this profile first.
 */
const onceProfile: HsmProfile = { ...hsmProfile('softhsm2'), initializeOncePerProcess: true };

t.test('a once-per-process library is initialised once and never finalised', async (t) => {
  const tokens = makeTokens(t, 1, 'once');
  const env = { SOFTHSM2_CONF: tokens.conf };
  const first = acquireLibrary(SOFTHSM2_LIB, onceProfile, env);
  t.equal(first.ownsInitialization, true, 'this process initialised it');

  let initialised = 0;
  let finalised = 0;
  const realInit = first.module.C_Initialize.bind(first.module);
  const realFinal = first.module.C_Finalize.bind(first.module);
  first.module.C_Initialize = (o) => { initialised++; realInit(o); };
  first.module.C_Finalize = () => { finalised++; realFinal(); };
  t.teardown(() => { first.module.C_Initialize = realInit; first.module.C_Finalize = realFinal; });

  const second = acquireLibrary(SOFTHSM2_LIB, onceProfile, env);
  t.equal(second, first, 'a second instance on the same library shares the one initialisation');
  t.equal(first.refs, 2);
  releaseLibrary(second);
  releaseLibrary(first);
  t.equal(first.refs, 0);
  t.equal(finalised, 0, 'the last release did not call C_Finalize');
  t.equal(loadedLibrary(SOFTHSM2_LIB)?.initialized, true);
  t.doesNotThrow(() => first.module.C_GetSlotList(true), 'the library still answers');

  const third = acquireLibrary(SOFTHSM2_LIB, onceProfile, env);
  t.equal(initialised, 0, 'a later instance does not call C_Initialize again');
  t.equal(third, first);
  releaseLibrary(third);
  t.equal(finalised, 0);

  t.throws(() => acquireLibrary(SOFTHSM2_LIB, hsmProfile('utimaco'), {}), { code: 'CONFIG', message: /already loaded as softhsm2/ },
    'one path cannot be two vendors');
});
