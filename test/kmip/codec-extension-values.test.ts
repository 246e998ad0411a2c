import t from 'tap';
import { T, type TtlvNode } from '../../src/kmip/ttlv';
import { decodeBinary, encodeBinary } from '../../src/kmip/binary-codec';
import { decodeJsonText, encodeJsonText } from '../../src/kmip/json-codec';

/**
 * KMIP reserves 0x8xxxxxxx in every enumeration for extensions (KMIP 1.4 §9.1.3.2, 2.1 §11).
 * PyKMIP 0.10 sends OpaqueDataType = 0x80000000 ("NONE", kmip/core/enums.py) when it registers
 * an opaque object. The codecs keep such values as their number and write them back as they
 * came; in JSON an enumeration value without a name is "0x" + 8 upper-case hex digits, as
 * Cosmian's serializer writes one (Cosmian/kms crate/kmip/src/ttlv/serialize.rs,
 * KmipEnumerationVariant with an empty name).
 */

/** One enumeration item in binary TTLV: tag, type 05, length 4, value, 4 bytes of padding. */
function enumerationBytes(tag: number, value: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUIntBE(tag, 0, 3);
  b.writeUInt8(0x05, 3);
  b.writeUInt32BE(4, 4);
  b.writeUInt32BE(value, 8);
  return b;
}

const CASES: Array<{ tag: string; code: number; value: number }> = [
  { tag: 'OpaqueDataType', code: 0x420059, value: 0x80000000 },
  { tag: 'CryptographicAlgorithm', code: 0x420028, value: 0x8000abcd },
  { tag: 'ObjectType', code: 0x420057, value: 0xffffffff },
];

for (const { tag, code, value } of CASES) {
  const hex = '0x' + value.toString(16).toUpperCase().padStart(8, '0');
  t.test(`${tag} = ${hex} in binary TTLV (KMIP 1.x and 2.x tag tables)`, async (t) => {
    for (const major of [1, 2]) {
      const bytes = enumerationBytes(code, value);
      const node = decodeBinary(bytes, undefined, major);
      t.same(node, { tag, type: 'Enumeration', value }, `KMIP ${major}.x: decoded as its number`);
      t.same(encodeBinary(node, major), bytes, `KMIP ${major}.x: encoded back byte for byte`);
    }
  });

  t.test(`${tag} = ${hex} in JSON TTLV`, async (t) => {
    const text = JSON.stringify({ tag, type: 'Enumeration', value: hex });
    const node = decodeJsonText(text);
    t.same(node, { tag, type: 'Enumeration', value }, 'decoded from its hex spelling');
    t.equal(encodeJsonText(node), text, 'written back in the same spelling');
    t.same(decodeJsonText(JSON.stringify({ tag, type: 'Enumeration', value })), node, 'a JSON number is the same value');
    t.equal(encodeJsonText(decodeJsonText(JSON.stringify({ tag, type: 'Enumeration', value: hex.toLowerCase().replace('0X', '0x') }))), text,
      'lower-case hex is accepted and written upper-case');
  });
}

t.test('an extension value inside a structure survives binary → JSON → binary', async (t) => {
  const opaque: TtlvNode = T.struct('OpaqueObject', [T.enum('OpaqueDataType', 0x80000000), T.bytes('OpaqueDataValue', Buffer.from([1, 2]))]);
  const binary = encodeBinary(opaque, 1);
  const viaJson = decodeJsonText(encodeJsonText(decodeBinary(binary, undefined, 1)));
  t.same(encodeBinary(viaJson, 1), binary, 'the same bytes after a trip through the JSON the store keeps');
  t.match(encodeJsonText(viaJson), /"OpaqueDataType","type":"Enumeration","value":"0x80000000"/);
});

t.test('a decimal code, as p11kms stored extension values before keeping them as numbers, still reads', async (t) => {
  const node = decodeJsonText(JSON.stringify({ tag: 'OpaqueDataType', type: 'Enumeration', value: '2147483648' }));
  t.same(node, { tag: 'OpaqueDataType', type: 'Enumeration', value: 0x80000000 });
  t.throws(() => decodeJsonText(JSON.stringify({ tag: 'OpaqueDataType', type: 'Enumeration', value: '99999999999' })),
    /unknown enumeration value/, 'a decimal beyond 32 bits is refused');
  t.throws(() => decodeJsonText(JSON.stringify({ tag: 'ObjectType', type: 'Enumeration', value: 'NotAType' })),
    /unknown enumeration value NotAType/, 'an unknown name is still refused');
});
