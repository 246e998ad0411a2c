/**
 * Check, as Cosmian 5.11 implements it (Cosmian/kms crate/server/src/core/operations/check.rs):
 * the requested CryptographicUsageMask must be wholly allowed by the object's, else
 * Incompatible_Cryptographic_Usage_Mask "Check Failed"; UsageLimitsCount and LeaseTime are
 * accepted, not checked; the answer is the UniqueIdentifier alone. JSON and KMIP 1.4 binary.
 */
import t from 'tap';
import { T } from '../../src/kmip/ttlv';
import { child } from '../../src/kmip/ttlv';
import { serverAndClient } from '../support/client';
import { binaryCall } from '../support/kmip-binary';
import { J, kmip21, ok21, textOf } from '../support/kmip-json';

const ENCRYPT = 4;
const DECRYPT = 8;
const SIGN = 1;

t.test('Check: usage mask allowed, refused, and the other fields accepted', async (t) => {
  const { server, client } = await serverAndClient(t);
  const uid = await client.create({ algorithm: 'AES', length: 256, usageMask: ENCRYPT | DECRYPT });

  const okAnswer = await ok21(server, J.struct('Check', [J.text('UniqueIdentifier', uid), J.int('CryptographicUsageMask', ENCRYPT)]));
  t.same(okAnswer, { tag: 'CheckResponse', value: [{ tag: 'UniqueIdentifier', type: 'TextString', value: uid }] }, 'only the UniqueIdentifier comes back');
  t.equal(textOf(await ok21(server, J.struct('Check', [J.text('UniqueIdentifier', uid), J.int('CryptographicUsageMask', ENCRYPT | DECRYPT)])), 'UniqueIdentifier'), uid, 'both bits allowed');

  const refused = await kmip21(server, J.struct('Check', [J.text('UniqueIdentifier', uid), J.int('CryptographicUsageMask', ENCRYPT | SIGN)]));
  t.equal(refused.status, 422, 'one bit outside the mask fails the Check');
  t.equal(refused.text, 'Incompatible_Cryptographic_Usage_Mask: Check Failed', "Cosmian's reason and message");

  t.equal(textOf(await ok21(server, J.struct('Check', [J.text('UniqueIdentifier', uid), J.int('UsageLimitsCount', 1_000_000), J.bool('LeaseTime', true)])), 'UniqueIdentifier'), uid, 'UsageLimitsCount and LeaseTime are not checked, as in Cosmian');

  const unrestricted = await client.create({ algorithm: 'AES', length: 128 });
  t.equal((await kmip21(server, J.struct('Check', [J.text('UniqueIdentifier', unrestricted), J.int('CryptographicUsageMask', SIGN)]))).status, 200, 'a key without a mask allows any use');

  const missing = await kmip21(server, J.struct('Check', [J.text('UniqueIdentifier', 'no-such-object'), J.int('CryptographicUsageMask', ENCRYPT)]));
  t.equal(missing.status, 422, 'an unknown UID fails');
  t.match(missing.text, /no-such-object/);
});

t.test('Check over binary TTLV, KMIP 1.4', async (t) => {
  const { server, client } = await serverAndClient(t);
  const uid = await client.create({ algorithm: 'AES', length: 256, usageMask: ENCRYPT | DECRYPT });
  const good = await binaryCall(server, T.struct('Check', [T.text('UniqueIdentifier', uid), T.int('CryptographicUsageMask', DECRYPT)]));
  t.equal(good.item.status, 'Success');
  t.equal(child(good.item.payload, 'UniqueIdentifier')?.value, uid);
  t.same({ major: good.header.major, minor: good.header.minor }, { major: 1, minor: 4 }, 'answered in the version asked');
  const bad = await binaryCall(server, T.struct('Check', [T.text('UniqueIdentifier', uid), T.int('CryptographicUsageMask', SIGN)]));
  t.equal(bad.item.status, 'OperationFailed');
  // Incompatible Cryptographic Usage Mask is a KMIP 2.0 reason: a 1.4 client gets 1.x's Permission Denied (src/kmip/versions.ts).
  t.equal(bad.item.reason, 'Permission_Denied');
  t.equal(bad.item.message, 'Check Failed');
});
