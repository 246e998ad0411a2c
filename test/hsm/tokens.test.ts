import t from 'tap';
import { decrypt, encrypt } from '../../src/hsm/crypto';
import { HsmError } from '../../src/hsm/errors';
import { createAesKey, getKeyInfo, listKeys } from '../../src/hsm/keys';
import { makeTokens } from './softhsm';

t.test('three tokens on one library: keys are routed to the slot they were created on', async (t) => {
  const tokens = makeTokens(t, 3, 'route');
  const hsm = tokens.open(t);
  const [a, b, c] = tokens.slots.map((id) => hsm.slot(id)) as [ReturnType<typeof hsm.slot>, ReturnType<typeof hsm.slot>, ReturnType<typeof hsm.slot>];
  t.same(hsm.slotIds, tokens.slots);
  t.same([a.tokenLabel, b.tokenLabel, c.tokenLabel], tokens.labels, 'each slot is its own token');

  createAesKey(a, 'only-on-a', 256);
  createAesKey(b, 'only-on-b', 128);
  t.same(listKeys(a).map((k) => k.label), ['only-on-a']);
  t.same(listKeys(b).map((k) => k.label), ['only-on-b']);
  t.same(listKeys(c), [], 'nothing leaked onto the third token');
  t.equal(getKeyInfo(a, 'only-on-a', 'secret').slot, a.id);
  t.equal(getKeyInfo(b, 'only-on-b', 'secret').bits, 128);
  t.throws(() => getKeyInfo(c, 'only-on-a', 'secret'), { code: 'NOT_FOUND', slot: c.id, label: 'only-on-a' });

  // The same label on every token names three different keys.
  for (const s of [a, b, c]) createAesKey(s, 'shared', 256);
  const plain = Buffer.from('routed by slot');
  const onA = encrypt(a, 'shared', 'AES-GCM', plain);
  t.same(decrypt(a, 'shared', 'AES-GCM', onA), plain, 'slot A decrypts its own ciphertext');
  for (const other of [b, c]) {
    const e = t.throws(() => decrypt(other, 'shared', 'AES-GCM', onA)) as unknown as HsmError;
    t.equal(e.code, 'CKR_ENCRYPTED_DATA_INVALID', `slot ${other.id} has another key called "shared"`);
  }
  t.throws(() => hsm.slot(999), { code: 'CKR_SLOT_ID_INVALID' }, 'an unconfigured slot is refused');
});
