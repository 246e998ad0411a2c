import t from 'tap';
import { Pool } from 'undici';
import { KmipError } from '../../src/kmip/errors';
import { decodeJsonText, encodeJsonText } from '../../src/kmip/json-codec';
import { decodeBinary, encodeBinary } from '../../src/kmip/binary-codec';
import { wrapBareOperation } from '../../src/kmip/messages';
import { T, type TtlvStructure } from '../../src/kmip/ttlv';
import { Rng, mutate } from '../support/mutate';
import { startTestServer } from '../support/server';

const ITERATIONS = Number(process.env['FUZZ_ITERATIONS'] ?? 100_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 0x5eed);

/** Valid messages of several shapes: every TTLV type appears at least once. */
function corpus(): TtlvStructure[] {
  const create = T.struct('Create', [
    T.enum('ObjectType', 'SymmetricKey'),
    T.struct('Attributes', [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256), T.date('ActivationDate', 1704067200)]),
  ]);
  const encrypt = T.struct('Encrypt', [T.text('UniqueIdentifier', 'abc'), T.bytes('Data', Buffer.from('00112233', 'hex')), T.bool('FinalIndicator', true)]);
  const misc = T.struct('Locate', [T.long('ProtectionPeriod', -42n), T.big('Modulus', 123456789012345678901234567890n), T.interval('LeaseTime', 5), T.dateExt('TimeStamp', 1700000000000000n), T.struct('Attributes', [])]);
  return [create, encrypt, misc, wrapBareOperation(create), wrapBareOperation(encrypt), wrapBareOperation(misc)];
}

/** A decoder may accept or reject, but only with a KMIP error: no RangeError, no stack overflow. */
function decodeOrKmipError(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (e) {
    if (e instanceof KmipError) return false;
    throw e;
  }
}

t.test(`JSON TTLV decoder: ${ITERATIONS} mutated inputs`, async (t) => {
  const rng = new Rng(SEED);
  const seeds = corpus().map((n) => Buffer.from(encodeJsonText(n)));
  let accepted = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = mutate(seeds[rng.int(seeds.length)] as Buffer, rng);
    if (decodeOrKmipError(() => decodeJsonText(input.toString('utf8')))) accepted++;
  }
  t.ok(accepted < ITERATIONS, `${accepted} accepted, the rest rejected with KMIP errors`);
});

t.test(`binary TTLV decoder: ${ITERATIONS} mutated inputs`, async (t) => {
  const rng = new Rng(SEED + 1);
  // Binary TTLV has tag numbers only for real tags: bare operations are not messages.
  const seeds = corpus().slice(3).map((n) => encodeBinary(n));
  let accepted = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = mutate(seeds[rng.int(seeds.length)] as Buffer, rng);
    if (decodeOrKmipError(() => decodeBinary(input))) accepted++;
  }
  t.ok(accepted < ITERATIONS, `${accepted} accepted, the rest rejected with KMIP errors`);
});

t.test(`server endpoints: ${ITERATIONS} mutated requests`, async (t) => {
  const server = await startTestServer(t);
  const rng = new Rng(SEED + 2);
  const json = corpus().map((n) => Buffer.from(encodeJsonText(n)));
  const binary = corpus().slice(3).map((n) => encodeBinary(n));
  const pool = new Pool(server.url, { connections: 8 });
  t.teardown(() => pool.close());
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ITERATIONS) {
      next++;
      const asBinary = rng.int(3) === 0;
      const body = mutate((asBinary ? binary[rng.int(binary.length)] : json[rng.int(json.length)]) as Buffer, rng);
      const path = asBinary ? '/kmip' : rng.int(2) === 0 ? '/kmip/2_1' : '/kmip';
      const res = await pool.request({ path, method: 'POST', headers: { 'content-type': asBinary ? 'application/octet-stream' : 'application/json' }, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
      await res.body.dump();
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const codes = [...statuses.keys()].sort();
  t.notOk(statuses.has(500), `no internal errors (statuses seen: ${codes.join(', ')})`);
  t.ok(codes.every((c) => [200, 404, 413, 422].includes(c)), `only KMIP answers: ${JSON.stringify(Object.fromEntries(statuses))}`);
  const health = await fetch(server.url + '/health');
  t.equal(health.status, 200, 'the server still answers');
});
