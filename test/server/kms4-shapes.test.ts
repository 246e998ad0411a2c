import t from 'tap';
import { startTestServer, type TestServer } from '../support/server';

/**
 * JSON goldens for both generations of Cosmian clients on /kmip/2_1 (src/server/kms4-shapes.ts):
 * a request without "type" on its Structures (today's Cosmian clients) is answered byte for
 * byte as today's Cosmian server answers; a request with "type":"Structure" (KMS 4.x-era
 * clients such as cloudproof_js 9.x, see test/interop/cloudproof-js.test.ts) is read and
 * answered in 4.x's shapes: typed Structures, Vec fields wrapped in one Structure of their own
 * tag (Cosmian/kms crate/kmip/src/kmip/ttlv/serializer.rs of that era, `serialize_seq`),
 * 4.x's ten-field Attributes (crate/kmip/src/kmip/kmip_types.rs of that era), the object of a
 * Get tagged `Object`.
 */

type Json = { tag: string; type?: string; value: unknown };
const S = (tag: string, value: Json[]): Json => ({ tag, type: 'Structure', value });
const U = (tag: string, value: Json[]): Json => ({ tag, value });
const V = (tag: string, type: string, value: unknown): Json => ({ tag, type, value });

/** Dates are the server's clock: masked so the rest is compared byte for byte. */
function masked(text: string): string {
  return text.replace(/"type":"DateTime","value":"[^"]+"/g, '"type":"DateTime","value":"*"');
}

async function post(server: TestServer, body: Json): Promise<string> {
  const res = await server.post('/kmip/2_1', JSON.stringify(body));
  if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
  return res.text;
}

const TAG_4X = S('VendorAttributes', [S('VendorAttributes', [V('VendorIdentification', 'TextString', 'cosmian'), V('AttributeName', 'TextString', 'tag'), V('AttributeValue', 'ByteString', '5b22676f6c64656e225d')])]);

/** A key imported by today's client: a Link, a Name and a tag. */
async function importedToday(server: TestServer): Promise<void> {
  const attributes = U('Attributes', [
    V('CryptographicAlgorithm', 'Enumeration', 'AES'),
    V('CryptographicLength', 'Integer', 128),
    V('CryptographicUsageMask', 'Integer', 12),
    U('Link', [V('LinkType', 'Enumeration', 'ParentLink'), V('LinkedObjectIdentifier', 'TextString', 'golden-parent')]),
    U('Name', [V('NameValue', 'TextString', 'golden name'), V('NameType', 'Enumeration', 'UninterpretedTextString')]),
    U('VendorAttribute', [V('VendorIdentification', 'TextString', 'cosmian'), V('AttributeName', 'TextString', 'tag'), V('AttributeValue', 'TextString', '["golden"]')]),
  ]);
  const block = U('KeyBlock', [V('KeyFormatType', 'Enumeration', 'Raw'), U('KeyValue', [V('KeyMaterial', 'ByteString', '000102030405060708090A0B0C0D0E0F')]), V('CryptographicAlgorithm', 'Enumeration', 'AES'), V('CryptographicLength', 'Integer', 128)]);
  const imported = await post(server, U('Import', [V('UniqueIdentifier', 'TextString', 'golden-aes'), V('ObjectType', 'Enumeration', 'SymmetricKey'), attributes, U('SymmetricKey', [block])]));
  if (imported !== '{"tag":"ImportResponse","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"golden-aes"}]}') throw new Error(imported);
}

t.test("today's clients: Get and Locate answered byte for byte as today's Cosmian", async (t) => {
  const server = await startTestServer(t);
  await importedToday(server);
  t.equal(
    masked(await post(server, U('Get', [V('UniqueIdentifier', 'TextString', 'golden-aes')]))),
    '{"tag":"GetResponse","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"UniqueIdentifier","type":"TextString","value":"golden-aes"},{"tag":"SymmetricKey","value":[{"tag":"KeyBlock","value":[{"tag":"KeyFormatType","type":"Enumeration","value":"Raw"},{"tag":"KeyValue","value":[{"tag":"KeyMaterial","type":"ByteString","value":"000102030405060708090A0B0C0D0E0F"},{"tag":"Attributes","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"golden-aes"},{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"},{"tag":"CryptographicLength","type":"Integer","value":128},{"tag":"CryptographicUsageMask","type":"Integer","value":12},{"tag":"Link","value":[{"tag":"LinkType","type":"Enumeration","value":"ParentLink"},{"tag":"LinkedObjectIdentifier","type":"TextString","value":"golden-parent"}]},{"tag":"Name","value":[{"tag":"NameValue","type":"TextString","value":"golden name"},{"tag":"NameType","type":"Enumeration","value":"UninterpretedTextString"}]},{"tag":"KeyFormatType","type":"Enumeration","value":"TransparentSymmetricKey"},{"tag":"AlwaysSensitive","type":"Boolean","value":false},{"tag":"NeverExtractable","type":"Boolean","value":false},{"tag":"InitialDate","type":"DateTime","value":"*"},{"tag":"LastChangeDate","type":"DateTime","value":"*"},{"tag":"State","type":"Enumeration","value":"PreActive"},{"tag":"Attribute","value":[{"tag":"VendorIdentification","type":"TextString","value":"cosmian"},{"tag":"AttributeName","type":"TextString","value":"tag"},{"tag":"AttributeValue","type":"TextString","value":"[\\"golden\\"]"}]}]}]},{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"},{"tag":"CryptographicLength","type":"Integer","value":128}]}]}]}',
    'Get: no type on Structures, the object under its own type, every attribute, the tag as text',
  );
  const tagToday = U('VendorAttribute', [V('VendorIdentification', 'TextString', 'cosmian'), V('AttributeName', 'TextString', 'tag'), V('AttributeValue', 'TextString', '["golden"]')]);
  t.equal(
    await post(server, U('Locate', [U('Attributes', [tagToday])])),
    '{"tag":"LocateResponse","value":[{"tag":"LocatedItems","type":"Integer","value":1},{"tag":"UniqueIdentifier","type":"TextString","value":"golden-aes"}]}',
    'Locate: the identifiers flat',
  );
});

t.test('4.x clients: Import, Get, Locate, Revoke, GetAttributes and a RequestMessage in 4.x shapes', async (t) => {
  const server = await startTestServer(t);
  await importedToday(server);
  t.equal(
    await post(server, S('Get', [V('UniqueIdentifier', 'TextString', 'golden-aes')])),
    '{"tag":"GetResponse","type":"Structure","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"UniqueIdentifier","type":"TextString","value":"golden-aes"},{"tag":"Object","type":"Structure","value":[{"tag":"KeyBlock","type":"Structure","value":[{"tag":"KeyFormatType","type":"Enumeration","value":"Raw"},{"tag":"KeyValue","type":"Structure","value":[{"tag":"KeyMaterial","type":"ByteString","value":"000102030405060708090A0B0C0D0E0F"},{"tag":"Attributes","type":"Structure","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"},{"tag":"CryptographicLength","type":"Integer","value":128},{"tag":"CryptographicUsageMask","type":"Integer","value":12},{"tag":"Link","type":"Structure","value":[{"tag":"Link","type":"Structure","value":[{"tag":"LinkType","type":"Enumeration","value":"ParentLink"},{"tag":"LinkedObjectIdentifier","type":"TextString","value":"golden-parent"}]}]},{"tag":"KeyFormatType","type":"Enumeration","value":"TransparentSymmetricKey"},{"tag":"VendorAttributes","type":"Structure","value":[{"tag":"VendorAttributes","type":"Structure","value":[{"tag":"VendorIdentification","type":"TextString","value":"cosmian"},{"tag":"AttributeName","type":"TextString","value":"tag"},{"tag":"AttributeValue","type":"ByteString","value":"5B22676F6C64656E225D"}]}]}]}]},{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"},{"tag":"CryptographicLength","type":"Integer","value":128}]}]}]}',
    'Get: typed, Object, Links and VendorAttributes wrapped, the tag as bytes, no attribute outside 4.x\'s ten (no dates, Booleans, Name or State)',
  );
  t.equal(
    await post(server, S('Locate', [S('Attributes', [TAG_4X])])),
    '{"tag":"LocateResponse","type":"Structure","value":[{"tag":"LocatedItems","type":"Integer","value":1},{"tag":"UniqueIdentifier","type":"Structure","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"golden-aes"}]}]}',
    'Locate by a 4.x tag (VendorAttributes of VendorAttributes, bytes): the identifiers in one Structure',
  );
  t.equal(
    await post(server, S('Locate', [S('Attributes', [V('CryptographicLength', 'Integer', 4096)])])),
    '{"tag":"LocateResponse","type":"Structure","value":[{"tag":"LocatedItems","type":"Integer","value":0}]}',
    'Locate with no match: no UniqueIdentifier at all, as 4.x left out an empty Vec',
  );

  // A 4.x Import: usage mask as an Enumeration, tags and a Link wrapped, KeyValue Attributes; the key comes out Active.
  const attrs = S('Attributes', [V('ObjectType', 'Enumeration', 'SymmetricKey'), V('CryptographicAlgorithm', 'Enumeration', 'AES'), V('CryptographicLength', 'Integer', 128), V('CryptographicUsageMask', 'Enumeration', 12), V('KeyFormatType', 'Enumeration', 'TransparentSymmetricKey'), S('Link', [S('Link', [V('LinkType', 'Enumeration', 'ParentLink'), V('LinkedObjectIdentifier', 'TextString', 'golden-aes')])]), TAG_4X]);
  const block = S('KeyBlock', [V('KeyFormatType', 'Enumeration', 'TransparentSymmetricKey'), S('KeyValue', [S('KeyMaterial', [V('Key', 'ByteString', '0f0e0d0c0b0a09080706050403020100')]), attrs]), V('CryptographicAlgorithm', 'Enumeration', 'AES'), V('CryptographicLength', 'Integer', 128)]);
  t.equal(
    await post(server, S('Import', [V('ReplaceExisting', 'Boolean', false), V('UniqueIdentifier', 'TextString', 'golden-4x'), V('ObjectType', 'Enumeration', 'SymmetricKey'), attrs, S('Object', [block])])),
    '{"tag":"ImportResponse","type":"Structure","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"golden-4x"}]}',
    'Import in 4.x shapes',
  );
  t.equal(
    masked(await post(server, U('GetAttributes', [V('UniqueIdentifier', 'TextString', 'golden-4x'), V('AttributeReference', 'Enumeration', 'CryptographicUsageMask'), V('AttributeReference', 'Enumeration', 'Link'), V('AttributeReference', 'Enumeration', 'State'), V('AttributeReference', 'Enumeration', 'ActivationDate')]))),
    '{"tag":"GetAttributesResponse","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"golden-4x"},{"tag":"Attributes","value":[{"tag":"CryptographicUsageMask","type":"Integer","value":12},{"tag":"Link","value":[{"tag":"LinkType","type":"Enumeration","value":"ParentLink"},{"tag":"LinkedObjectIdentifier","type":"TextString","value":"golden-aes"}]},{"tag":"State","type":"Enumeration","value":"Active"},{"tag":"ActivationDate","type":"DateTime","value":"*"}]}]}',
    'read by today\'s client: the mask an Integer, the Link unwrapped, Active from its import as on 4.x',
  );
  t.equal(
    await post(server, S('Locate', [S('Attributes', [TAG_4X])])),
    '{"tag":"LocateResponse","type":"Structure","value":[{"tag":"LocatedItems","type":"Integer","value":2},{"tag":"UniqueIdentifier","type":"Structure","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"golden-aes"},{"tag":"UniqueIdentifier","type":"TextString","value":"golden-4x"}]}]}',
    'its 4.x tag was stored as a tag: Locate finds both keys',
  );

  t.equal(
    await post(server, S('Revoke', [V('UniqueIdentifier', 'TextString', 'golden-4x'), V('RevocationReason', 'TextString', 'no longer needed')])),
    '{"tag":"RevokeResponse","type":"Structure","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"golden-4x"}]}',
    'Revoke with 4.x\'s bare text RevocationReason',
  );
  t.equal(
    await post(server, S('GetAttributes', [V('UniqueIdentifier', 'TextString', 'golden-4x')])),
    '{"tag":"GetAttributesResponse","type":"Structure","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"golden-4x"},{"tag":"Attributes","type":"Structure","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"},{"tag":"CryptographicLength","type":"Integer","value":128},{"tag":"CryptographicUsageMask","type":"Integer","value":12},{"tag":"Link","type":"Structure","value":[{"tag":"Link","type":"Structure","value":[{"tag":"LinkType","type":"Enumeration","value":"ParentLink"},{"tag":"LinkedObjectIdentifier","type":"TextString","value":"golden-aes"}]}]},{"tag":"KeyFormatType","type":"Enumeration","value":"TransparentSymmetricKey"}]}]}',
    'GetAttributes: 4.x\'s Attributes (tags only when asked for, as today)',
  );

  const message = S('RequestMessage', [
    S('RequestHeader', [S('ProtocolVersion', [V('ProtocolVersionMajor', 'Integer', 2), V('ProtocolVersionMinor', 'Integer', 1)]), V('BatchCount', 'Integer', 1)]),
    S('BatchItem', [V('Operation', 'Enumeration', 'Get'), S('RequestPayload', [V('UniqueIdentifier', 'TextString', 'golden-aes')])]),
  ]);
  const answer = masked(await post(server, message));
  t.match(answer, /^\{"tag":"ResponseMessage","type":"Structure","value":\[\{"tag":"ResponseHeader","type":"Structure","value":\[\{"tag":"ProtocolVersion","type":"Structure",/, 'a RequestMessage: typed all the way down');
  t.match(answer, '{"tag":"ResponsePayload","type":"Structure","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"UniqueIdentifier","type":"TextString","value":"golden-aes"},{"tag":"Object","type":"Structure","value":[', 'and its Get payload in 4.x shapes');
  const overKmip = await server.post('/kmip', JSON.stringify(message));
  t.equal(masked(overKmip.text), answer, 'the same over /kmip');
});

t.test('4.x clients: a wrapped key keeps a KeyValue Structure with its Attributes', async (t) => {
  const server = await startTestServer(t);
  // Created by a 4.x client, so Active (the wrapping key must be).
  const create = (length: number): Json => S('Create', [V('ObjectType', 'Enumeration', 'SymmetricKey'), S('Attributes', [V('CryptographicAlgorithm', 'Enumeration', 'AES'), V('CryptographicLength', 'Integer', length)])]);
  const uidOf = (text: string): string => (JSON.parse(text) as { value: Json[] }).value.find((n) => n.tag === 'UniqueIdentifier')?.value as string;
  const kek = uidOf(await post(server, create(256)));
  const key = uidOf(await post(server, create(128)));
  const spec = (structure: typeof S): Json => structure('KeyWrappingSpecification', [V('WrappingMethod', 'Enumeration', 'Encrypt'), structure('EncryptionKeyInformation', [V('UniqueIdentifier', 'TextString', kek)])]);
  const typed = JSON.parse(await post(server, S('Get', [V('UniqueIdentifier', 'TextString', key), spec(S)]))) as Json;
  const find = (n: Json, tag: string): Json | undefined => (n.tag === tag ? n : Array.isArray(n.value) ? (n.value as Json[]).map((c) => find(c, tag)).find((c) => c !== undefined) : undefined);
  const keyValue = find(typed, 'KeyValue');
  t.equal(keyValue?.type, 'Structure', '4.x: the KeyValue stays a Structure');
  t.equal(find(keyValue as Json, 'KeyMaterial')?.type, 'ByteString', 'its KeyMaterial the wrapped bytes');
  t.same((find(keyValue as Json, 'Attributes')?.value as Json[]).map((n) => n.tag), ['ObjectType', 'CryptographicAlgorithm', 'CryptographicLength', 'KeyFormatType'], 'beside the Attributes the KeyBlock states');
  const today = JSON.parse(await post(server, U('Get', [V('UniqueIdentifier', 'TextString', key), spec(U)]))) as Json;
  t.equal(find(today, 'KeyValue')?.type, 'ByteString', 'today: the KeyValue is the wrapped bytes');
  t.equal(find(today, 'KeyValue')?.value, find(keyValue as Json, 'KeyMaterial')?.value, 'the same bytes either way (deterministic RFC 5649)');
});

t.test('4.x clients: a large request and answer, decoded and encoded on the codec worker threads, keep the style', async (t) => {
  const server = await startTestServer(t);
  const created = JSON.parse(await post(server, S('Create', [V('ObjectType', 'Enumeration', 'SymmetricKey'), S('Attributes', [V('CryptographicAlgorithm', 'Enumeration', 'AES'), V('CryptographicLength', 'Integer', 256)])]))) as { value: Json[] };
  const uid = created.value.find((n) => n.tag === 'UniqueIdentifier')?.value as string;
  // 140 KiB, 280 KiB of hex: past codec-offload.ts's 256 KiB decode threshold and its 64 KiB encode one.
  const data = Buffer.alloc(140 * 1024, 0x5a).toString('hex').toUpperCase();
  const params = S('CryptographicParameters', [V('BlockCipherMode', 'Enumeration', 'GCM')]);
  const sealed = JSON.parse(await post(server, S('Encrypt', [V('UniqueIdentifier', 'TextString', uid), params, V('Data', 'ByteString', data)]))) as Json;
  t.equal(sealed.type, 'Structure', 'the large answer is typed');
  t.equal((sealed.value as Json[]).find((n) => n.tag === 'Data')?.type, 'ByteString', 'its ciphertext a ByteString');
  const field = (tag: string): Json => (sealed.value as Json[]).find((n) => n.tag === tag) as Json;
  const opened = JSON.parse(await post(server, S('Decrypt', [V('UniqueIdentifier', 'TextString', uid), params, field('Data'), field('IVCounterNonce'), field('AuthenticatedEncryptionTag')]))) as Json;
  t.equal(opened.type, 'Structure', 'and the Decrypt answer too');
  t.equal((opened.value as Json[]).find((n) => n.tag === 'Data')?.value, data, 'the data round-trips');
  const today = await post(server, U('Encrypt', [V('UniqueIdentifier', 'TextString', uid), U('CryptographicParameters', [V('BlockCipherMode', 'Enumeration', 'GCM')]), V('Data', 'ByteString', data)]));
  t.ok(today.startsWith('{"tag":"EncryptResponse","value":['), 'an untyped large request is answered untyped');
});
