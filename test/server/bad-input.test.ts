import t from 'tap';
import { startTestServer, type TestServer } from '../support/server';

async function stillAnswers(t: { ok: (v: unknown, m: string) => unknown }, server: TestServer): Promise<void> {
  const res = await fetch(server.url + '/health');
  t.ok(res.status === 200, 'the server still answers');
}

t.test('bad input on /kmip/2_1 gets a KMIP error, never a crash', async (t) => {
  const server = await startTestServer(t);
  const cases: Array<[string, string]> = [
    ['not JSON', '{"tag":'],
    ['JSON but not TTLV', '[1,2,3]'],
    ['missing tag', '{"value":[]}'],
    ['wrong type for Integer', '{"tag":"Create","value":[{"tag":"CryptographicLength","type":"Integer","value":"abc"}]}'],
    ['Integer out of range', '{"tag":"RNGRetrieve","value":[{"tag":"DataLength","type":"Integer","value":99999999999}]}'],
    ['bad hex in ByteString', '{"tag":"Hash","value":[{"tag":"Data","type":"ByteString","value":"XYZ"}]}'],
    ['unknown enumeration name', '{"tag":"Create","value":[{"tag":"ObjectType","type":"Enumeration","value":"NoSuchType"}]}'],
    ['unknown type', '{"tag":"Get","value":[{"tag":"UniqueIdentifier","type":"Quaternion","value":1}]}'],
    ['deep nesting', '{"tag":"Get","value":' + '[{"tag":"X","value":'.repeat(5000) + '[]' + '}]'.repeat(5000) + '}'],
  ];
  for (const [name, body] of cases) {
    const res = await server.post('/kmip/2_1', body);
    t.equal(res.status, 422, `${name}: 422`);
    t.match(res.text, /^[A-Z][A-Za-z_]+: /, `${name}: "Reason: message" (${res.text.slice(0, 80)})`);
  }
  const unknownOp = await server.post('/kmip/2_1', '{"tag":"Frobnicate","value":[]}');
  t.equal(unknownOp.status, 404, 'unknown operation: 404');
  const wrongField = await server.post('/kmip/2_1', '{"tag":"Get","value":[{"tag":"UniqueIdentifier","type":"Integer","value":3}]}');
  t.equal(wrongField.status, 422);
  t.match(wrongField.text, /^Invalid_Field: /);
  const missing = await server.post('/kmip/2_1', '{"tag":"Get","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"nope"}]}');
  t.equal(missing.status, 422);
  t.equal(missing.text, 'Object_Not_Found: object not found for identifier nope', 'as Cosmian words it');
  await stillAnswers(t, server);
});

t.test('bad binary TTLV on /kmip gets a TTLV error response', async (t) => {
  const server = await startTestServer(t);
  const bodies: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['truncated header', Buffer.from('42007801', 'hex')],
    ['length larger than the body', Buffer.from('420078010000ffff42007a01', 'hex')],
    ['unknown type byte', Buffer.from('4200781f0000000800000000000000000', 'hex')],
    ['random bytes', Buffer.from('deadbeefcafebabe0011223344556677', 'hex')],
  ];
  for (const [name, body] of bodies) {
    const res = await server.post('/kmip', body, 'application/octet-stream');
    t.equal(res.status, 200, `${name}: 200`);
    t.equal(res.type, 'application/octet-stream', `${name}: binary answer`);
    t.ok(res.bytes.length === 0 || res.bytes.subarray(0, 3).toString('hex') === '42007b', `${name}: empty or a ResponseMessage`);
  }
  const wrongType = await server.post('/kmip', Buffer.from('{}'), 'text/plain');
  t.equal(wrongType.status, 415, 'another body type: 415 (attack-http.test.ts covers every one)');
  t.match(wrongType.text, /Unsupported content type/);
  await stillAnswers(t, server);
});

t.test('a RequestMessage that cannot be parsed is answered with Invalid_Message', async (t) => {
  const server = await startTestServer(t);
  const res = await server.post('/kmip/2_1', '{"tag":"RequestMessage","value":[{"tag":"BatchItem","value":[]}]}');
  t.equal(res.status, 200);
  t.match(res.text, /Invalid_Message/);
  t.match(res.text, /OperationFailed/);
});

t.test('an oversized body is refused without reading it all', async (t) => {
  const server = await startTestServer(t);
  const res = await fetch(server.url + '/kmip/2_1', { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': String(65 * 1024 * 1024) }, body: 'x', duplex: 'half' } as RequestInit).catch((e: unknown) => e);
  if (res instanceof Response) t.equal(res.status, 413);
  else t.pass('connection closed on an oversized declaration');
  await stillAnswers(t, server);
});
