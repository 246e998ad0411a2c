import t from 'tap';
import { decodeBinary, encodeBinary, findProtocolMajor } from '../../src/kmip/binary-codec';
import { decodeJsonBytesStyled, decodeJsonText, decodeJsonTextStyled, encodeJsonBytes, encodeJsonText } from '../../src/kmip/json-codec';
import { TtlvCodecError } from '../../src/kmip/errors';
import { T, child, ttlvEqual, type TtlvNode } from '../../src/kmip/ttlv';
import { tagCode } from '../../src/kmip/tags';

/** One node of every TTLV type, including the awkward values. */
const EVERY_TYPE = T.struct('Attributes', [
  T.int('CryptographicLength', -2147483648),
  T.int('CryptographicUsageMask', 2147483647),
  T.long('ProtectionPeriod', -42n),
  T.long('UsageLimitsTotal', 9223372036854775807n),
  T.big('Modulus', 0n),
  T.big('PublicExponent', 65537n),
  T.big('PrivateExponent', -(2n ** 200n) + 12345n),
  T.big('P', 2n ** 63n),
  T.enum('CryptographicAlgorithm', 'AES'),
  T.enum('State', 'Destroyed_Compromised'),
  T.enum('VendorExtension', 0x8000abcd),
  T.bool('Sensitive', true),
  T.bool('Extractable', false),
  T.text('Description', 'naïve ☃ text with padding'),
  T.text('Comment', ''),
  T.bytes('Data', Buffer.from('000102030405060708090a', 'hex')),
  T.bytes('Salt', Buffer.alloc(0)),
  T.date('ActivationDate', 1704067200),
  T.interval('LeaseTime', 4294967295),
  T.dateExt('TimeStamp', 1700000000123456n),
  T.struct('Name', [T.text('NameValue', 'n'), T.enum('NameType', 'UninterpretedTextString')]),
]);

t.test('every TTLV type round-trips through JSON and binary', async (t) => {
  t.ok(ttlvEqual(decodeJsonText(encodeJsonText(EVERY_TYPE)), EVERY_TYPE), 'JSON');
  t.ok(ttlvEqual(decodeBinary(encodeBinary(EVERY_TYPE)), EVERY_TYPE), 'binary');
  const json = encodeJsonText(EVERY_TYPE);
  t.match(json, '{"tag":"ProtectionPeriod","type":"LongInteger","value":"0xFFFFFFFFFFFFFFD6"}', 'LongInteger -42 as Cosmian writes it');
  t.match(json, '{"tag":"PublicExponent","type":"BigInteger","value":"0x0000000000010001"}', 'BigInteger sign-extended to 8 bytes');
  t.match(json, '{"tag":"P","type":"BigInteger","value":"0x00000000000000008000000000000000"}', '2^63 needs a second 8-byte group');
  t.match(json, '{"tag":"VendorExtension","type":"Enumeration","value":"0x8000ABCD"}', 'an unnamed enumeration is 0x%08X');
  t.match(json, '{"tag":"Data","type":"ByteString","value":"000102030405060708090A"}', 'ByteString uppercase, no 0x');
  t.match(json, '{"tag":"ActivationDate","type":"DateTime","value":"2024-01-01T00:00:00Z"}', 'RFC 3339 seconds');
  t.match(json, '{"tag":"Name","value":[', 'Structures carry no type');
  const bin = encodeBinary(T.struct('Attributes', [T.text('Comment', 'abc'), T.bool('Sensitive', true)]));
  t.equal(bin.toString('hex'), '42012501000000204200fd0700000003616263000000000042012006000000080000000000000001', 'padding and Boolean layout');
});

t.test('the JSON input forms Cosmian accepts', async (t) => {
  const n = decodeJsonText(JSON.stringify({ tag: 'Attributes', value: [
    { tag: 'CryptographicLength', type: 'Integer', value: '0x00000100' },
    { tag: 'ProtectionPeriod', type: 'LongInteger', value: 42 },
    { tag: 'CryptographicAlgorithm', type: 'Enumeration', value: '0x00000003' },
    { tag: 'KeyFormatType', type: 'Enumeration', value: 'PKCS_1' },
    { tag: 'HashingAlgorithm', type: 'Enumeration', value: 'SHA_256' },
    { tag: 'ObjectType', type: 'Enumeration', value: 2 },
    { tag: 'Data', type: 'ByteString', value: 'abcdef' },
    { tag: 'ActivationDate', type: 'DateTime', value: '2024-01-01T02:00:00+02:00' },
    { tag: 'IVLength', type: 'Integer', value: 12 },
  ] }));
  const value = (tag: string): unknown => child(n, tag)?.value;
  t.equal(value('CryptographicLength'), 256);
  t.equal(value('ProtectionPeriod'), 42n);
  t.equal(value('CryptographicAlgorithm'), 'AES', 'hex enumeration → Cosmian name');
  t.equal(value('KeyFormatType'), 'PKCS1', 'OASIS spelling → Cosmian name');
  t.equal(value('HashingAlgorithm'), 'SHA256');
  t.equal(value('ObjectType'), 'SymmetricKey', 'JSON integer enumeration');
  t.same(value('Data'), Buffer.from('abcdef', 'hex'), 'lowercase hex');
  t.equal(value('ActivationDate'), 1704067200, 'offset dates normalised to UTC');
  t.equal(value('IvLength'), 12, 'the OASIS tag IVLength is read as Cosmian\'s IvLength');
});

/** Reference §2: each example must decode and re-encode to exactly the same text. */
const GOLDEN_JSON = [
  '{"tag":"Create","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"Attributes","value":[{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"},{"tag":"CryptographicLength","type":"Integer","value":256},{"tag":"CryptographicUsageMask","type":"Integer","value":12},{"tag":"Attribute","value":[{"tag":"VendorIdentification","type":"TextString","value":"cosmian"},{"tag":"AttributeName","type":"TextString","value":"tag"},{"tag":"AttributeValue","type":"TextString","value":"[\\"vector-locate-tag\\"]"}]}]}]}',
  '{"tag":"CreateResponse","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"UniqueIdentifier","type":"TextString","value":"027cced1-ff2b-4bd3-a200-db1041583bdc"}]}',
  '{"tag":"Encrypt","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"{{key_id}}"},{"tag":"CryptographicParameters","value":[{"tag":"BlockCipherMode","type":"Enumeration","value":"GCM"},{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"}]},{"tag":"Data","type":"ByteString","value":"D9313225F88406E5A55909C5AFF5269A86A7A9531534F7DA2E4C303D8A318A721C3C0C95956809532FCF0E2449A6B525B16AEDF5AA0DE657BA637B391AAFD255"},{"tag":"IVCounterNonce","type":"ByteString","value":"CAFEBABEFACEDBADDECAF888"},{"tag":"AuthenticatedEncryptionAdditionalData","type":"ByteString","value":"FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2"}]}',
  '{"tag":"Locate","value":[{"tag":"Attributes","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"Attribute","value":[{"tag":"VendorIdentification","type":"TextString","value":"cosmian"},{"tag":"AttributeName","type":"TextString","value":"tag"},{"tag":"AttributeValue","type":"TextString","value":"[\\"vector-locate-tag\\"]"}]}]}]}',
  '{"tag":"CreateKeyPair","value":[{"tag":"CommonAttributes","value":[{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"RSA"},{"tag":"CryptographicLength","type":"Integer","value":2048},{"tag":"KeyFormatType","type":"Enumeration","value":"TransparentRSAPrivateKey"},{"tag":"ActivationDate","type":"DateTime","value":"2024-01-01T00:00:00Z"}]},{"tag":"PrivateKeyAttributes","value":[{"tag":"CryptographicUsageMask","type":"Integer","value":2601}]},{"tag":"PublicKeyAttributes","value":[{"tag":"CryptographicUsageMask","type":"Integer","value":2582}]}]}',
  '{"tag":"ResponseMessage","value":[{"tag":"ResponseHeader","value":[{"tag":"ProtocolVersion","value":[{"tag":"ProtocolVersionMajor","type":"Integer","value":2},{"tag":"ProtocolVersionMinor","type":"Integer","value":1}]},{"tag":"TimeStamp","type":"DateTime","value":"2026-05-29T11:57:35Z"},{"tag":"BatchCount","type":"Integer","value":1}]},{"tag":"BatchItem","value":[{"tag":"Operation","type":"Enumeration","value":"CreateKeyPair"},{"tag":"ResultStatus","type":"Enumeration","value":"Success"},{"tag":"ResponsePayload","value":[{"tag":"PrivateKeyUniqueIdentifier","type":"TextString","value":"a8df58f5-7d00-46b7-a4c6-f699f1fad29e"},{"tag":"PublicKeyUniqueIdentifier","type":"TextString","value":"a8df58f5-7d00-46b7-a4c6-f699f1fad29e_pk"}]}]}]}',
  '{"tag":"BatchItem","value":[{"tag":"Operation","type":"Enumeration","value":"Validate"},{"tag":"ResultStatus","type":"Enumeration","value":"OperationFailed"},{"tag":"ResultReason","type":"Enumeration","value":"Operation_Not_Supported"},{"tag":"ResultMessage","type":"TextString","value":"Certificate error: …"}]}',
];

t.test('golden JSON from the published Cosmian examples', async (t) => {
  for (const text of GOLDEN_JSON) {
    const node = decodeJsonText(text);
    t.equal(encodeJsonText(node), text, `${node.tag} re-encodes byte for byte`);
    // Bare operations have no binary form; messages and their parts do.
    if (tagCode(node.tag) !== undefined) t.ok(ttlvEqual(decodeBinary(encodeBinary(node)), node), `${node.tag} survives binary TTLV too`);
  }
});

/**
 * The same kind of messages as the KMS 4.x era wrote them (cloudproof_js 9.x, the 4.x server:
 * Cosmian/kms crate/kmip/src/kmip/ttlv/mod.rs of that era serialised every Structure with its
 * type): decoded, the style recorded, and re-encoded byte for byte in that style.
 */
const GOLDEN_JSON_4X = [
  '{"tag":"Create","type":"Structure","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"Attributes","type":"Structure","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"VendorAttributes","type":"Structure","value":[{"tag":"VendorAttributes","type":"Structure","value":[{"tag":"VendorIdentification","type":"TextString","value":"cosmian"},{"tag":"AttributeName","type":"TextString","value":"tag"},{"tag":"AttributeValue","type":"ByteString","value":"5B227431222C227432225D"}]}]},{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"},{"tag":"CryptographicLength","type":"Integer","value":256},{"tag":"KeyFormatType","type":"Enumeration","value":"TransparentSymmetricKey"}]}]}',
  '{"tag":"CreateResponse","type":"Structure","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"UniqueIdentifier","type":"TextString","value":"971660bf-68f7-4703-ac97-c85dfc0f2097"}]}',
  '{"tag":"LocateResponse","type":"Structure","value":[{"tag":"LocatedItems","type":"Integer","value":1},{"tag":"UniqueIdentifier","type":"Structure","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"971660bf-68f7-4703-ac97-c85dfc0f2097"}]}]}',
  '{"tag":"ResponseMessage","type":"Structure","value":[{"tag":"ResponseHeader","type":"Structure","value":[{"tag":"ProtocolVersion","type":"Structure","value":[{"tag":"ProtocolVersionMajor","type":"Integer","value":2},{"tag":"ProtocolVersionMinor","type":"Integer","value":1}]},{"tag":"TimeStamp","type":"DateTime","value":"2026-05-29T11:57:35Z"},{"tag":"BatchCount","type":"Integer","value":1}]},{"tag":"BatchItem","type":"Structure","value":[{"tag":"Operation","type":"Enumeration","value":"Revoke"},{"tag":"ResultStatus","type":"Enumeration","value":"Success"},{"tag":"ResponsePayload","type":"Structure","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"k"}]}]}]}',
];

t.test('golden JSON in the KMS 4.x style: typed Structures', async (t) => {
  for (const text of GOLDEN_JSON_4X) {
    const decoded = decodeJsonTextStyled(text);
    t.equal(decoded.style, 'typed', `${decoded.node.tag}: the style is recorded`);
    t.equal(decodeJsonBytesStyled(Buffer.from(text)).style, 'typed', `${decoded.node.tag}: by the bytes decoder too`);
    t.equal(encodeJsonText(decoded.node, 'typed'), text, `${decoded.node.tag} re-encodes byte for byte in its style`);
    t.equal(encodeJsonBytes(decoded.node, 'typed').toString('utf8'), text, `${decoded.node.tag}: the bytes encoder agrees`);
    t.notMatch(encodeJsonText(decoded.node), /"type":"Structure"/, `${decoded.node.tag}: the same tree in today's style has no Structure type`);
  }
  for (const text of GOLDEN_JSON) {
    t.equal(decodeJsonTextStyled(text).style, 'untyped', 'today\'s goldens are recorded untyped');
    t.equal(encodeJsonBytes(decodeJsonText(text)).toString('utf8'), text, 'and re-encoded untyped by default');
  }
  const large = T.struct('Encrypt', [T.bytes('Data', Buffer.alloc(10_000, 0xab))]);
  t.equal(encodeJsonBytes(large, 'typed').toString('utf8'), encodeJsonText(large, 'typed'), 'a large ByteString written in place keeps the typed style');
  t.equal(decodeJsonTextStyled('{"tag":"Get","type":"Structure","value":[]}').style, 'typed', 'the outermost Structure decides');
  t.throws(() => decodeJsonTextStyled('{"tag":"Get","type":"Banana","value":[]}'), TtlvCodecError, 'a type is still checked');
});

const TTLV_ERROR_RESPONSE = '42007b010000009842007a0100000048420069010000002042006a0200000004000000010000000042006b020000000400000000000000004200920900000008000000000000000042000d0200000004000000010000000042000f010000004042007f0500000004000000010000000042007e0500000004000000050000000042007d0700000013556e7265636f76657261626c65206572726f720000000000';

t.test("Cosmian's fixed binary error response", async (t) => {
  const bytes = Buffer.from(TTLV_ERROR_RESPONSE, 'hex');
  const node = decodeBinary(bytes);
  t.equal(node.tag, 'ResponseMessage');
  const version = child(child(node, 'ResponseHeader'), 'ProtocolVersion');
  t.equal(child(version, 'ProtocolVersionMajor')?.value, 1);
  t.equal(child(version, 'ProtocolVersionMinor')?.value, 0);
  const item = child(node, 'BatchItem');
  t.equal(child(item, 'ResultStatus')?.value, 'OperationFailed');
  t.equal(child(item, 'ResultReason')?.value, 'Operation_Not_Supported');
  t.equal(child(item, 'ResultMessage')?.value, 'Unrecoverable error');
  t.equal(encodeBinary(node, 1).toString('hex'), TTLV_ERROR_RESPONSE, 're-encodes byte for byte');
});

t.test('the VMware KMIP 1.1 Create, rebuilt from the annotated dump', async (t) => {
  const attr = (name: string, value: string): string => {
    const nameBytes = Buffer.from(name);
    const padded = Buffer.concat([nameBytes, Buffer.alloc((8 - (nameBytes.length % 8)) % 8)]);
    const inner = '42000a07' + nameBytes.length.toString(16).padStart(8, '0') + padded.toString('hex') + value;
    return '42000801' + (inner.length / 2).toString(16).padStart(8, '0') + inner;
  };
  const template = attr('Cryptographic Algorithm', '42000b05000000040000000300000000') +
    attr('Cryptographic Usage Mask', '42000b02000000040000000c00000000') +
    attr('Cryptographic Length', '42000b02000000040000010000000000');
  t.equal(template.length / 2, 0xa8, 'the TemplateAttribute body is 0xa8 bytes, as the dump says');
  const payload = '4200570500000004000000020000000042009101000000a8' + template;
  const batchItem = '42005c0500000004000000010000000042009308000000085' + '14c4b4301000000' + '42007901000000c0' + payload;
  const header = '420069010000002042006a0200000004000000010000000042006b0200000004000000010000000042000d02000000040000000100000000';
  const message = '420078010000013042007701000000380' + header.slice(1) + '42000f01000000e8' + batchItem;
  const bytes = Buffer.from(message, 'hex');
  t.equal(bytes.length, 0x130 + 8, 'the message length matches its header');
  t.equal(findProtocolMajor(bytes), 1);
  const node = decodeBinary(bytes);
  const payloadNode = child(child(node, 'BatchItem'), 'RequestPayload');
  t.equal(child(child(node, 'BatchItem'), 'Operation')?.value, 'Create');
  t.equal(child(payloadNode, 'ObjectType')?.value, 'SymmetricKey');
  const names = (child(payloadNode, 'TemplateAttribute') as TtlvNode & { value: TtlvNode[] }).value.map((a) => child(a, 'AttributeName')?.value);
  t.same(names, ['Cryptographic Algorithm', 'Cryptographic Usage Mask', 'Cryptographic Length']);
  t.equal(encodeBinary(node, 1).toString('hex'), message, 're-encodes byte for byte');
});

t.test('malformed input is a TtlvCodecError, never a crash', async (t) => {
  const bad: Array<[string, () => unknown]> = [
    ['JSON nested 100,000 deep', () => decodeJsonText('['.repeat(100_000))],
    ['TTLV nested 100 deep', () => decodeJsonText('{"tag":"Attributes","value":['.repeat(100) + ']}'.repeat(100))],
    ['truncated binary header', () => decodeBinary(Buffer.from('420078', 'hex'))],
    ['length larger than the body', () => decodeBinary(Buffer.from('42007801000001000000000000000000', 'hex'))],
    ['unknown item type', () => decodeBinary(Buffer.from('4200fc0c0000000000000000', 'hex'))],
    ['Integer with a wrong length', () => decodeBinary(Buffer.from('42002a02000000080000000000000100', 'hex'))],
    ['Boolean with a wrong length', () => decodeBinary(Buffer.from('42012006000000040000000100000000', 'hex'))],
    ['child overrunning its parent', () => decodeBinary(Buffer.from('42012501000000084200fc0700000010', 'hex'))],
    ['trailing bytes', () => decodeBinary(Buffer.concat([encodeBinary(T.struct('Attributes', [])), Buffer.from('00', 'hex')]))],
    ['invalid UTF-8', () => decodeBinary(Buffer.from('4200fc070000000280ff000000000000', 'hex'))],
    ['binary nesting 100 deep', () => {
      let b = Buffer.alloc(0);
      for (let i = 0; i < 100; i++) {
        const h = Buffer.from('42012501', 'hex');
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        b = Buffer.concat([h, len, b]);
      }
      return decodeBinary(b);
    }],
    ['Integer out of range', () => decodeJsonText('{"tag":"CryptographicLength","type":"Integer","value":4294967296}')],
    ['Boolean as a string', () => decodeJsonText('{"tag":"Sensitive","type":"Boolean","value":"true"}')],
    ['unknown enumeration name', () => decodeJsonText('{"tag":"ObjectType","type":"Enumeration","value":"Banana"}')],
    ['odd hex', () => decodeJsonText('{"tag":"Data","type":"ByteString","value":"ABC"}')],
    ['a node that is not an object', () => decodeJsonText('[1]')],
    ['too many nodes', () => decodeJsonText(JSON.stringify({ tag: 'Attributes', value: Array.from({ length: 50 }, () => ({ tag: 'Comment', type: 'TextString', value: '' })) }), { maxNodes: 10 })],
  ];
  for (const [name, f] of bad) t.throws(f, TtlvCodecError, name);
});
