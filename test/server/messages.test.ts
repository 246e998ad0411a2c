import t from 'tap';
import { T } from '../../src/kmip/ttlv';
import { serverAndClient } from '../support/client';

t.test('several BatchItems in one RequestMessage, with the ID placeholder', async (t) => {
  const { client, server } = await serverAndClient(t);
  const create = T.struct('Create', [T.enum('ObjectType', 'SymmetricKey'), T.struct('Attributes', [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256), T.date('ActivationDate', 1704067200)])]);
  const encryptWithPlaceholder = T.struct('Encrypt', [T.bytes('Data', Buffer.from('placeholder'))]);
  const results = await client.batch([create, encryptWithPlaceholder]);
  t.equal(results.length, 2);
  t.ok(results.every((r) => r.ok), 'both items succeed: Encrypt used the UID Create produced');

  const missing = T.struct('Get', [T.text('UniqueIdentifier', 'does-not-exist')]);
  const stop = await client.batch([missing, create]);
  t.equal(stop[0]?.ok, false, 'the failed item carries its error');
  if (stop[0] && !stop[0].ok) t.equal(stop[0].error.reason, 'Object_Not_Found', 'as Cosmian: object not found for identifier');
  const cont = await client.batch([missing, create], { continueOnError: true });
  t.equal(cont.length, 2);
  t.equal(cont[1]?.ok, true, 'with Continue the next item still runs');

  const raw = await server.post('/kmip/2_1', JSON.stringify({ tag: 'RequestMessage', value: [
    { tag: 'RequestHeader', value: [{ tag: 'ProtocolVersion', value: [{ tag: 'ProtocolVersionMajor', type: 'Integer', value: 2 }, { tag: 'ProtocolVersionMinor', type: 'Integer', value: 1 }] }, { tag: 'BatchCount', type: 'Integer', value: 1 }] },
    { tag: 'BatchItem', value: [{ tag: 'Operation', type: 'Enumeration', value: 'Get' }, { tag: 'RequestPayload', value: [{ tag: 'UniqueIdentifier', type: 'TextString', value: 'nope' }] }] },
  ] }));
  t.equal(raw.status, 200, 'a failed item inside a message is still HTTP 200');
  t.match(raw.text, /"ResultStatus","type":"Enumeration","value":"OperationFailed"/);
  t.match(raw.text, /"ResultReason","type":"Enumeration","value":"Object_Not_Found"/);
  t.notMatch(raw.text, /"tag":"ResponseHeader","type"/, 'Structures carry no type, as Cosmian writes them');
});

t.test('the same RequestMessage over /kmip as JSON and as binary TTLV', async (t) => {
  const { server } = await serverAndClient(t);
  const { encodeBinary, decodeBinary } = await import('../../src/kmip/binary-codec');
  const { encodeJsonText } = await import('../../src/kmip/json-codec');
  const { wrapBareOperation } = await import('../../src/kmip/messages');
  const message = wrapBareOperation(T.struct('Query', [T.enum('QueryFunction', 'QueryOperations')]));
  const json = await server.post('/kmip', encodeJsonText(message), 'application/json');
  t.equal(json.status, 200);
  t.match(json.text, /"ResultStatus","type":"Enumeration","value":"Success"/);
  const bin = await server.post('/kmip', encodeBinary(message), 'application/octet-stream');
  t.equal(bin.type, 'application/octet-stream');
  const decoded = decodeBinary(bin.bytes);
  t.equal(decoded.tag, 'ResponseMessage');
  t.match(JSON.stringify(decoded, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), /"Success"/);
  const version = await fetch(server.url + '/version');
  t.equal(version.status, 200);
});

t.test('a KMIP 1.4 client gets a 1.x answer it can decode', async (t) => {
  const { server } = await serverAndClient(t);
  const { encodeBinary, decodeBinary } = await import('../../src/kmip/binary-codec');
  const { buildRequestMessage, parseResponseMessage } = await import('../../src/kmip/messages');
  const create = T.struct('Create', [
    T.enum('ObjectType', 'SymmetricKey'),
    T.struct('TemplateAttribute', [
      T.struct('Attribute', [T.text('AttributeName', 'Cryptographic Algorithm'), { tag: 'AttributeValue', type: 'Enumeration', value: 3 }]),
      T.struct('Attribute', [T.text('AttributeName', 'Cryptographic Length'), T.int('AttributeValue', 128)]),
    ]),
  ]);
  const query = T.struct('Query', [T.enum('QueryFunction', 'QueryOperations'), T.enum('QueryFunction', 'QueryServerInformation')]);
  const message = buildRequestMessage([create, query], { major: 1, minor: 4 });
  const res = await server.post('/kmip', encodeBinary(message, 1), 'application/octet-stream');
  const response = parseResponseMessage(decodeBinary(res.bytes));
  t.same(response.header.major, 1, 'answered in KMIP 1.x');
  t.same(response.items.map((i) => i.status), ['Success', 'Success'], JSON.stringify(response.items.map((i) => i.message)));
});
