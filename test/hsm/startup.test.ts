import t, { type Test } from 'tap';
import { HsmError, hsmErrorReason } from '../../src/hsm/errors';
import { HsmInstance } from '../../src/hsm/instance';
import { loadedLibrary } from '../../src/hsm/library';
import { hsmProfile, resolveLibraryPath, vendorEnvironment } from '../../src/hsm/profiles';
import { slotHandleId } from '../../src/hsm/slot';
import { PIN, SOFTHSM2_LIB, makeTokens } from './softhsm';

const tokens = makeTokens(t, 2, 'startup');
const [slotA, slotB] = tokens.slots as [number, number];

/** The error open() threw, or a failure if it did not throw. */
function openError(t: Test, config: Parameters<typeof HsmInstance.open>[0]): HsmError {
  try {
    HsmInstance.open(config).close();
  } catch (e) {
    t.type(e, HsmError);
    return e as HsmError;
  }
  t.fail('HsmInstance.open did not throw');
  return new HsmError('CONFIG', { operation: 'unreachable' });
}

t.test('a wrong PIN fails at start-up, naming the slot and the CK_RV', async (t) => {
  const e = openError(t, tokens.config({ slots: [{ id: slotA, pin: PIN }, { id: slotB, pin: '00000000' }] }));
  t.equal(e.code, 'CKR_PIN_INCORRECT');
  t.equal(e.slot, slotB);
  t.equal(e.operation, 'C_Login');
  t.match(e.message, new RegExp(`HSM slot ${slotB}: C_Login failed: CKR_PIN_INCORRECT \\(0xa0\\)`));
  t.equal(hsmErrorReason(e), 'Authentication_Not_Successful');
  // The slot that did log in was logged out again and the library let go.
  const lib = loadedLibrary(SOFTHSM2_LIB);
  t.equal(lib?.refs, 0, 'nobody holds the library after a failed start');
  t.equal(lib?.initialized, false, 'the library was finalised');
  t.equal(lib?.logins.size, 0, 'no login left behind');
  // And the right PIN still works afterwards (the token did not lock).
  const hsm = tokens.open(t);
  t.same(hsm.slotIds, [slotA, slotB]);
});

t.test('a missing slot fails at start-up and lists the slots that exist', async (t) => {
  const e = openError(t, tokens.config({ slots: [{ id: 4242, pin: PIN }] }));
  t.equal(e.code, 'CKR_SLOT_ID_INVALID');
  t.equal(e.slot, 4242);
  t.match(e.message, /HSM slot 4242: open slot failed: CKR_SLOT_ID_INVALID/);
  t.match(e.message, String(slotA), 'the message lists the real slots');
  t.match(e.message, String(slotB));
});

t.test('a slot whose token is not initialised is refused at start-up', async (t) => {
  const hsm = tokens.open(t);
  // SoftHSM2 always offers one free slot with a blank token: the one not in our list.
  const lib = loadedLibrary(SOFTHSM2_LIB)!;
  const free = lib.module.C_GetSlotList(true).map(slotHandleId).find((id) => !hsm.slotIds.includes(id));
  t.ok(free !== undefined, 'SoftHSM2 has a free slot');
  const e = openError(t, tokens.config({ slots: [{ id: free!, pin: PIN }] }));
  t.equal(e.code, 'CONFIG');
  t.match(e.message, /not initialised/);
});

t.test('a slot configured twice, or no slot, is a configuration error', async (t) => {
  t.equal(openError(t, tokens.config({ slots: [{ id: slotA, pin: PIN }, { id: slotA, pin: PIN }] })).code, 'CONFIG');
  t.equal(openError(t, tokens.config({ slots: [] })).code, 'CONFIG');
});

t.test('two instances share one initialisation and one login per slot', async (t) => {
  const first = HsmInstance.open(tokens.config());
  const second = HsmInstance.open(tokens.config({ slots: [{ id: slotA, pin: PIN }] }));
  const lib = loadedLibrary(SOFTHSM2_LIB)!;
  t.equal(lib.refs, 2);
  t.equal(lib.logins.get(String(slotA))?.refs, 2, 'slot A login shared by both instances');

  // Same slot, other PIN: C_Login would answer ALREADY_LOGGED_IN without checking it.
  const e = openError(t, tokens.config({ slots: [{ id: slotA, pin: '99999999' }] }));
  t.equal(e.code, 'CONFIG');
  t.match(e.message, /different PIN/);

  // Closing the first must not log the second out.
  first.close();
  t.equal(lib.initialized, true, 'still initialised for the second instance');
  t.same(second.status().map((s) => s.reachable), [true]);
  t.doesNotThrow(() => second.slot(slotA).withSession({ operation: 'check' }, (s, p11) => {
    const info = p11.C_GetSessionInfo(s);
    if (info.state !== 3) throw new Error(`session state ${info.state}, expected RW user functions (3)`);
  }), 'the second instance is still logged in');
  second.close();
  t.equal(lib.initialized, false, 'the last instance finalised the library');
});

t.test('the library is finalised on the last close and initialised again on the next open', async (t) => {
  const a = HsmInstance.open(tokens.config());
  const lib = loadedLibrary(SOFTHSM2_LIB)!;
  let initialised = 0;
  let finalised = 0;
  const realInit = lib.module.C_Initialize.bind(lib.module);
  const realFinal = lib.module.C_Finalize.bind(lib.module);
  lib.module.C_Initialize = (o) => { initialised++; realInit(o); };
  lib.module.C_Finalize = () => { finalised++; realFinal(); };
  t.teardown(() => { lib.module.C_Initialize = realInit; lib.module.C_Finalize = realFinal; });
  a.close();
  t.equal(finalised, 1);
  t.throws(() => a.slot(slotA), { code: 'CLOSED' });
  const b = HsmInstance.open(tokens.config());
  t.equal(initialised, 1);
  t.same(b.status().map((s) => s.reachable), [true, true]);
  b.close();
});

t.test('one library has one configuration per process', async (t) => {
  const hsm = tokens.open(t);
  const e = openError(t, tokens.config({ environment: { SOFTHSM2_CONF: '/tmp/other-softhsm2.conf' } }));
  t.equal(e.code, 'CONFIG');
  t.match(e.message, /SOFTHSM2_CONF/);
  t.same(hsm.status().map((s) => s.reachable), [true, true], 'the running instance is untouched');
});

t.test('status reports each slot, its token and the OAEP probe', async (t) => {
  const hsm = tokens.open(t);
  const status = hsm.status();
  t.same(status.map((s) => s.slot), [slotA, slotB]);
  t.same(status.map((s) => s.tokenLabel), tokens.labels);
  t.ok(status.every((s) => s.reachable && s.error === undefined));
  t.same(status[0]!.oaepHashes, ['SHA-1']);
  hsm.close();
  t.same(hsm.status().map((s) => s.reachable), [false, false], 'a closed instance reaches nothing');
});

t.test('sessions: pooled, discarded after a failure, never held across an await', async (t) => {
  const hsm = tokens.open(t, { sessionPoolSize: 2 });
  const slot = hsm.slot(slotA);
  const before = slot.pooledSessions;
  t.ok(before >= 1, 'the start-up probe left a pooled session');
  const used = slot.withSession({ operation: 'a' }, (s) => s);
  const again = slot.withSession({ operation: 'b' }, (s) => s);
  t.same(again, used, 'the same session is reused');
  t.equal(slot.pooledSessions, 1);
  t.throws(() => slot.withSession({ operation: 'fail' }, () => { throw new Error('boom'); }), HsmError);
  t.equal(slot.pooledSessions, 0, 'the session that saw a failure was closed, not pooled');
  t.throws(() => slot.pkcs11.C_GetSessionInfo(used), { message: 'CKR_SESSION_HANDLE_INVALID' }, 'and the token agrees it is closed');
  t.throws(() => slot.withSession({ operation: 'async' }, async () => 1), /must be synchronous/);
  t.throws(() => hsm.slot(12345), { code: 'CKR_SLOT_ID_INVALID' });
});

t.test('profiles: library paths, environment and files are checked before loading', async (t) => {
  t.equal(resolveLibraryPath(hsmProfile('softhsm2'), undefined, {}), SOFTHSM2_LIB);
  t.equal(hsmProfile('softhsm2').findBatchSize, 32);
  t.equal(hsmProfile('utimaco').findBatchSize, 64);
  t.equal(hsmProfile('proteccio').initializeOncePerProcess, true);
  t.equal(hsmProfile('softhsm2').initializeOncePerProcess, false);
  t.throws(() => resolveLibraryPath(hsmProfile('utimaco'), undefined, {}), { code: 'CONFIG', message: /\/lib\/libcs_pkcs11_R3\.so.*UTIMACO_PKCS11_LIB/ });
  t.equal(resolveLibraryPath(hsmProfile('utimaco'), undefined, { UTIMACO_PKCS11_LIB: SOFTHSM2_LIB }), SOFTHSM2_LIB, 'the *_PKCS11_LIB variable overrides the default');
  t.same(vendorEnvironment(hsmProfile('utimaco'), {}, {}), { CS_PKCS11_R3_CFG: '/etc/utimaco/cs_pkcs11_R3.cfg' });
  t.same(vendorEnvironment(hsmProfile('softhsm2'), {}, { SOFTHSM2_CONF: '/x.conf' }), { SOFTHSM2_CONF: '/x.conf' });
  t.throws(() => vendorEnvironment(hsmProfile('proteccio'), {}, {}), { code: 'CONFIG', message: /\/etc\/proteccio\/proteccio\.rc/ });
  const e = openError(t, { model: 'utimaco', slots: [{ id: 0, pin: PIN }] });
  t.equal(e.code, 'CONFIG', 'a missing vendor library fails at start-up');
});
