import t from 'tap';
import { randomBytes } from 'node:crypto';
import { decodeJsonBytes, decodeJsonText, encodeJsonBytes, encodeJsonText } from '../../src/kmip/json-codec';
import { TtlvCodecError } from '../../src/kmip/errors';

/**
 * The lean paths for large messages (decodeJsonBytes, encodeJsonBytes) must read and write
 * exactly what decodeJsonText and encodeJsonText do, whatever surrounds the large ByteStrings.
 */

const HEX = 'ab'.repeat(5000);

const SAME_AS_TEXT: Array<[string, string]> = [
  ['a large ByteString in Cosmian key order', JSON.stringify({ tag: 'Encrypt', value: [{ tag: 'UniqueIdentifier', type: 'TextString', value: 'u' }, { tag: 'Data', type: 'ByteString', value: randomBytes(100_000).toString('hex').toUpperCase() }] })],
  ['lower-case hex', `{"tag":"X","value":[{"tag":"Data","type":"ByteString","value":"${HEX}"}]}`],
  ['whitespace between the keys', `{ "tag" : "X", "value" : [ { "tag" : "Data" , "type" : "ByteString" , "value" : "${HEX}" } ] }`],
  ['value before type (not lifted, decoded as text)', `{"tag":"X","value":[{"tag":"Data","value":"${HEX}","type":"ByteString"}]}`],
  ['a large hex TextString', `{"tag":"X","value":[{"tag":"Comment","type":"TextString","value":"${HEX}"}]}`],
  ['a later duplicate "type" makes the lifted value a TextString again', `{"tag":"X","value":[{"tag":"Comment","type":"ByteString","value":"${HEX}","type":"TextString"}]}`],
  ['escaped quotes and backslashes before it', `{"tag":"X","value":[{"tag":"Comment","type":"TextString","value":"a\\\\\\"b\\\\"},{"tag":"Data","type":"ByteString","value":"${HEX}"}]}`],
  ['UTF-8 text around it', `{"tag":"X","value":[{"tag":"Comment","type":"TextString","value":"héllo ✓"},{"tag":"Data","type":"ByteString","value":"${HEX}"},{"tag":"Description","type":"TextString","value":"ü"}]}`],
  ['two large ByteStrings', `{"tag":"X","value":[{"tag":"Data","type":"ByteString","value":"${HEX}"},{"tag":"Salt","type":"ByteString","value":"${'0F'.repeat(6000)}"}]}`],
];

t.test('decodeJsonBytes decodes what decodeJsonText decodes; encodeJsonBytes writes what encodeJsonText writes', async (t) => {
  for (const [what, text] of SAME_AS_TEXT) {
    const expected = decodeJsonText(text);
    t.same(decodeJsonBytes(Buffer.from(text)), expected, what);
    t.equal(encodeJsonBytes(expected).toString('utf8'), encodeJsonText(expected), `${what}: encoded the same`);
  }
});

t.test('decodeJsonBytes refuses what decodeJsonText refuses', async (t) => {
  const bad: Array<[string, string, RegExp]> = [
    ['a non-hex digit at the end', `{"tag":"X","value":[{"tag":"Data","type":"ByteString","value":"${HEX}zz"}]}`, /even number of hex digits/],
    ['an odd number of digits', `{"tag":"X","value":[{"tag":"Data","type":"ByteString","value":"${HEX}a"}]}`, /even number of hex digits/],
    ['larger than the field limit', `{"tag":"X","value":[{"tag":"Data","type":"ByteString","value":"${HEX}"}]}`, /field larger than 4096 bytes/],
    ['unterminated', `{"tag":"X","value":[{"tag":"Data","type":"ByteString","value":"${HEX}`, /invalid JSON/],
  ];
  for (const [what, text, message] of bad) {
    const limits = what === 'larger than the field limit' ? { maxFieldBytes: 4096 } : {};
    t.throws(() => decodeJsonText(text, limits), message, `${what}: decodeJsonText`);
    t.throws(() => decodeJsonBytes(Buffer.from(text), limits), message, `${what}: decodeJsonBytes`);
    t.throws(() => decodeJsonBytes(Buffer.from(text), limits), TtlvCodecError);
  }
});
