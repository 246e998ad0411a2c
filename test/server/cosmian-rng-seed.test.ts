/**
 * RNGSeed (KMIP 2.1 §6.1.53; 1.2+ §4.36): the seed is accepted and DataLength counts it, as the
 * spec says. Cosmian 5.11 (crate/server/src/core/operations/rng_seed.rs) reports the same count,
 * which its JSON names AmountOfSeedData (DataLength accepted as an alias when it reads one).
 * Also: Query lists the four operations added with it.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { T, child } from '../../src/kmip/ttlv';
import { serverAndClient } from '../support/client';
import { binaryCall } from '../support/kmip-binary';
import { J, field, fields, kmip21, ok21 } from '../support/kmip-json';

t.test('RNGSeed answers DataLength with the size of the seed (JSON)', async (t) => {
  const { server } = await serverAndClient(t);
  const answer = await ok21(server, J.struct('RNGSeed', [J.bytes('Data', randomBytes(48))]));
  t.same(answer, { tag: 'RNGSeedResponse', value: [{ tag: 'DataLength', type: 'Integer', value: 48 }] });
  const missing = await kmip21(server, J.struct('RNGSeed', []));
  t.equal(missing.status, 422);
  t.match(missing.text, /^Missing_Data: missing Data/);
});

t.test('RNGSeed over binary TTLV, KMIP 1.4', async (t) => {
  const { server } = await serverAndClient(t);
  const r = await binaryCall(server, T.struct('RNGSeed', [T.bytes('Data', randomBytes(16))]));
  t.equal(r.item.status, 'Success');
  t.equal(child(r.item.payload, 'DataLength')?.value, 16);
});

t.test("Query's operation list has Validate, Check, ReCertify and RNGSeed", async (t) => {
  const { server } = await serverAndClient(t);
  const answer = await ok21(server, J.struct('Query', [J.enm('QueryFunction', 'QueryOperations')]));
  const ops = fields(answer, 'Operation').map((n) => n.value);
  for (const op of ['Validate', 'Check', 'ReCertify', 'RNGSeed', 'Certify', 'RNGRetrieve']) t.ok(ops.includes(op), `${op} is listed`);
  t.notOk(field(answer, 'ObjectType'), 'only what was asked');
});
