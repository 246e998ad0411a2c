import t from 'tap';
import { flatSettings, hsmInstances, isHsmAdmin, routeHsmUid } from '../../src/server/hsm/hsm-config';

t.test('flat settings: flags first, then the environment; prefix "hsm"', async (t) => {
  const env = { KMS_HSM_MODEL: 'softhsm2', KMS_HSM_SLOT: '1667223158, 7', KMS_HSM_PASSWORD: '12345678,<NO_LOGIN>', KMS_HSM_ADMIN: 'alice,bob' };
  const [fromEnv] = hsmInstances(flatSettings({}, env));
  t.same(fromEnv, { prefix: 'hsm', model: 'softhsm2', slots: [{ id: 1667223158, pin: '12345678' }, { id: 7, pin: '<NO_LOGIN>' }], admins: ['alice', 'bob'] });
  const [fromFlags] = hsmInstances(flatSettings({ model: 'utimaco', slots: ['0'], passwords: [''] }, env));
  t.same(fromFlags, { prefix: 'hsm', model: 'utimaco', slots: [{ id: 0, pin: '' }], admins: ['alice', 'bob'] }, 'an empty password is a NULL PIN login');
  t.same(hsmInstances(flatSettings({}, {})), [], 'no slots, no HSM');
  t.throws(() => hsmInstances({ slots: ['1', '2'], passwords: ['x'] }), /2 slot\(s\) but 1 password/, 'one password per slot');
  t.throws(() => hsmInstances({ model: 'thales', slots: ['1'], passwords: ['x'] }), /unknown HSM model thales/);
  t.throws(() => hsmInstances({ slots: ['one'], passwords: ['x'] }), /not a slot number/);
});

t.test('[[hsm_instances]]: hsm::<model>, then hsm::<model>_1; both forms together', async (t) => {
  const instances = hsmInstances({ model: 'softhsm2', slots: ['3'], passwords: ['p'] }, [
    { model: 'softhsm2', slots: [1], passwords: ['a'], admins: ['alice'] },
    { model: 'softhsm2', slots: [2], passwords: ['b'], library: '/opt/other/libsofthsm2.so' },
    { model: 'utimaco', slots: [0], passwords: ['c'] },
  ]);
  t.same(instances.map((i) => i.prefix), ['hsm', 'hsm::softhsm2', 'hsm::softhsm2_1', 'hsm::utimaco']);
  t.equal(instances[2]?.library, '/opt/other/libsofthsm2.so');
  t.same(instances[3]?.admins, ['admin'], 'admin by default');
  t.throws(() => hsmInstances({}, [{ model: 'softhsm2', slots: [1], passwords: ['a'], pin: 'x' }]), /unknown key pin/);
  t.throws(() => hsmInstances({}, [{ model: 'softhsm2', slots: [], passwords: [] }]), /no slots/);
  // Admins are named as the authentication methods name users (src/server/auth/user-names.ts).
  t.throws(() => hsmInstances({ slots: ['1'], passwords: ['x'], admins: ['JWT:ops'] }), /hsm admin JWT:ops: .*names no user/);
  t.throws(() => hsmInstances({}, [{ model: 'softhsm2', slots: [1], passwords: ['a'], admins: ['cert:'] }]), /must be followed by a name/);
  t.same(hsmInstances({ slots: ['1'], passwords: ['x'], admins: ['jwt:ops@example.com', 'cert:ops', 'alice'] })[0]?.admins, ['jwt:ops@example.com', 'cert:ops', 'alice']);

  const flat = routeHsmUid('hsm::3::kek', instances);
  t.same([flat?.instance.prefix, flat?.slot, flat?.label], ['hsm', 3, 'kek']);
  const second = routeHsmUid('hsm::softhsm2_1::2::k::with::colons', instances);
  t.same([second?.instance.prefix, second?.slot, second?.label], ['hsm::softhsm2_1', 2, 'k::with::colons'], 'the longest prefix wins; the label keeps its ::');
  t.equal(routeHsmUid('5c3f0e2a-uuid', instances), undefined, 'ordinary UIDs are the database\'s');
  t.throws(() => routeHsmUid('hsm::9::k', instances), /slot 9 of hsm is not configured/);
  t.throws(() => routeHsmUid('hsm::proteccio::1::k', instances), /no configured HSM serves/, 'never a fallback to the database');

  t.ok(isHsmAdmin('alice', instances, instances[1]));
  t.notOk(isHsmAdmin('alice', instances, instances[2]), 'admins are per HSM');
  t.ok(isHsmAdmin('anyone', [{ prefix: 'hsm', model: 'other', slots: [], admins: ['*'] }]));
});
