import t from 'tap';
import { buildRequestMessage, readResponseMessage } from '../../src/kmip/client-batch';
import { TtlvFrameReader } from '../../src/kmip/client-frames';
import { kmipErrorFromHttp, transportError } from '../../src/kmip/client-http-errors';
import { KmipTransportError } from '../../src/kmip/errors';
import { T, child, childrenByTag } from '../../src/kmip/ttlv';

const create = T.struct('Create', [T.enum('ObjectType', 'SymmetricKey')]);
const get = T.struct('Get', [T.text('UniqueIdentifier', 'x')]);

function id(i: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(i);
  return b;
}

t.test('a batch is one RequestMessage: version 2.1, BatchCount, Continue on request', async (t) => {
  const m = buildRequestMessage([create, get], { continueOnError: true });
  const header = child(m, 'RequestHeader');
  t.same(child(child(header, 'ProtocolVersion'), 'ProtocolVersionMajor')?.value, 2);
  t.same(child(child(header, 'ProtocolVersion'), 'ProtocolVersionMinor')?.value, 1);
  t.equal(child(header, 'BatchCount')?.value, 2);
  t.equal(child(header, 'BatchErrorContinuationOption')?.value, 'Continue');
  const items = childrenByTag(m, 'BatchItem');
  t.same(items.map((i) => child(i, 'Operation')?.value), ['Create', 'Get']);
  t.same(child(items[1], 'RequestPayload'), T.struct('RequestPayload', get.value));
  t.notOk(child(buildRequestMessage([get]).value[0], 'BatchErrorContinuationOption'), 'Stop is the default, left implicit');
});

t.test('batch responses are matched by UniqueBatchItemID and unwrapped to <Op>Response', async (t) => {
  const response = T.struct('ResponseMessage', [
    T.struct('ResponseHeader', [T.int('BatchCount', 2)]),
    T.struct('BatchItem', [T.enum('Operation', 'Get'), T.bytes('UniqueBatchItemID', id(1)), T.enum('ResultStatus', 'OperationFailed'),
      T.enum('ResultReason', 'Item_Not_Found'), T.text('ResultMessage', 'no x')]),
    T.struct('BatchItem', [T.enum('Operation', 'Create'), T.bytes('UniqueBatchItemID', id(0)), T.enum('ResultStatus', 'Success'),
      T.struct('ResponsePayload', [T.text('UniqueIdentifier', 'k1')])]),
  ]);
  const [first, second] = readResponseMessage(response, [create, get]);
  t.ok(first?.ok);
  if (first?.ok) t.same(first.response, T.struct('CreateResponse', [T.text('UniqueIdentifier', 'k1')]));
  t.notOk(second?.ok);
  if (second && !second.ok) {
    t.equal(second.error.reason, 'Item_Not_Found');
    t.equal(second.error.message, 'no x');
  }
});

t.test('items the server skipped after a failure (Stop) are reported as not run', async (t) => {
  const response = T.struct('ResponseMessage', [
    T.struct('BatchItem', [T.enum('Operation', 'Get'), T.bytes('UniqueBatchItemID', id(0)), T.enum('ResultStatus', 1), T.enum('ResultReason', 'Item_Not_Found')]),
  ]);
  const results = readResponseMessage(response, [get, create]);
  t.equal(results.length, 2);
  t.notOk(results[1]?.ok);
  if (results[1] && !results[1].ok) t.match(results[1].error.message, /not run/);
});

t.test('HTTP failures map onto KMIP reasons', async (t) => {
  const e = kmipErrorFromHttp(422, 'Object_Not_Found: object not found for identifier X');
  t.equal(e.reason, 'Object_Not_Found');
  t.equal(e.message, 'object not found for identifier X');
  t.equal(kmipErrorFromHttp(401, 'No authentication provided.').reason, 'Authentication_Not_Successful');
  t.equal(kmipErrorFromHttp(404, 'Route not supported').reason, 'Operation_Not_Supported');
  const other = kmipErrorFromHttp(503, 'busy');
  t.equal(other.reason, 'General_Failure');
  t.match(other.message, /503/);
  t.equal(kmipErrorFromHttp(422, 'no colon here').reason, 'General_Failure');
  const refused = transportError('http://127.0.0.1:1', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
  t.type(refused, KmipTransportError);
  t.match(refused.message, /cannot reach the KMS at http:\/\/127\.0\.0\.1:1: connection refused/);
});

t.test('binary frames are reassembled from arbitrary pieces', async (t) => {
  const frame = (n: number): Buffer => {
    const b = Buffer.alloc(8 + n, 0xab);
    b.writeUInt32BE(0x42007b01, 0);
    b.writeUInt32BE(n, 4);
    return b;
  };
  const stream = Buffer.concat([frame(16), frame(0), frame(40)]);
  const reader = new TtlvFrameReader();
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 5) out.push(...reader.push(stream.subarray(i, i + 5)));
  t.same(out.map((b) => b.length), [24, 8, 48]);
  const small = new TtlvFrameReader(100);
  t.throws(() => small.push(frame(200).subarray(0, 8)), /limit/);
});
