import t, { type Test } from 'tap';
import {
  ATTRIBUTE_KINDS,
  TemplateValueError,
  attributeKind,
  decodeAttributeValue,
  encodeAttributeValue,
  type AttributeValue,
} from '../../src/pkcs11/attribute-kinds';
import { CKA, CKK, CKM, CKO, CKR, CK_UNAVAILABLE, attributeName, mechanismName, rvName } from '../../src/pkcs11/constants';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function roundTrip(t: Test, type: number, value: AttributeValue, ulongSize: number, wireHex: string, littleEndian = true): void {
  const raw = encodeAttributeValue(value, ulongSize, littleEndian);
  t.equal(toHex(raw), wireHex, `encodes to ${wireHex || '(empty)'}`);
  t.same(decodeAttributeValue(type, raw, ulongSize, littleEndian), value, 'decodes back');
}

t.test('the kind table covers the attributes the module reads and writes', async (t) => {
  for (const type of [CKA.CLASS, CKA.KEY_TYPE, CKA.VALUE_LEN, CKA.CERTIFICATE_TYPE, CKA.MODULUS_BITS, CKA.KEY_GEN_MECHANISM,
    CKA.CERTIFICATE_CATEGORY, CKA.JAVA_MIDP_SECURITY_DOMAIN, CKA.NAME_HASH_ALGORITHM, CKA.MECHANISM_TYPE, CKA.PROFILE_ID]) {
    t.equal(attributeKind(type), 'ulong');
  }
  for (const type of [CKA.TOKEN, CKA.PRIVATE, CKA.MODIFIABLE, CKA.COPYABLE, CKA.DESTROYABLE, CKA.SENSITIVE, CKA.EXTRACTABLE,
    CKA.ENCRYPT, CKA.DECRYPT, CKA.WRAP, CKA.UNWRAP, CKA.SIGN, CKA.SIGN_RECOVER, CKA.VERIFY, CKA.VERIFY_RECOVER, CKA.DERIVE,
    CKA.LOCAL, CKA.NEVER_EXTRACTABLE, CKA.ALWAYS_SENSITIVE, CKA.WRAP_WITH_TRUSTED, CKA.TRUSTED, CKA.ALWAYS_AUTHENTICATE]) {
    t.equal(attributeKind(type), 'bool');
  }
  for (const type of [CKA.LABEL, CKA.APPLICATION, CKA.URL]) t.equal(attributeKind(type), 'string');
  for (const type of [CKA.ID, CKA.VALUE, CKA.SUBJECT, CKA.ISSUER, CKA.SERIAL_NUMBER, CKA.MODULUS, CKA.PUBLIC_EXPONENT,
    CKA.PRIVATE_EXPONENT, CKA.PRIME_1, CKA.PRIME_2, CKA.EXPONENT_1, CKA.EXPONENT_2, CKA.COEFFICIENT, CKA.EC_PARAMS, CKA.EC_POINT,
    CKA.PUBLIC_KEY_INFO, CKA.OBJECT_ID, CKA.CHECK_VALUE, CKA.HASH_OF_SUBJECT_PUBLIC_KEY, CKA.HASH_OF_ISSUER_PUBLIC_KEY]) {
    t.equal(attributeKind(type), 'bytes');
  }
  t.equal(attributeKind(CKA.START_DATE), 'date');
  t.equal(attributeKind(CKA.END_DATE), 'date');
  t.equal(attributeKind(CKA.ALLOWED_MECHANISMS), 'mechanisms');
  for (const type of [CKA.WRAP_TEMPLATE, CKA.UNWRAP_TEMPLATE, CKA.DERIVE_TEMPLATE]) t.equal(attributeKind(type), 'template');
  t.equal(attributeKind(CKA.VENDOR_DEFINED + 0x42), 'bytes', 'vendor-defined types are bytes');
  t.equal(attributeKind(0x7777), 'bytes', 'unknown types are bytes');
  t.notOk(ATTRIBUTE_KINDS.has(0x7777));
});

t.test('ulong round-trips at both widths and both byte orders', async (t) => {
  roundTrip(t, CKA.CLASS, { kind: 'ulong', value: CKO.SECRET_KEY }, 8, '0400000000000000');
  roundTrip(t, CKA.CLASS, { kind: 'ulong', value: CKO.SECRET_KEY }, 4, '04000000');
  roundTrip(t, CKA.KEY_TYPE, { kind: 'ulong', value: CKK.VENDOR_DEFINED }, 4, '00000080');
  roundTrip(t, CKA.VALUE_LEN, { kind: 'ulong', value: 0x01020304 }, 8, '0000000001020304', false);
  roundTrip(t, CKA.VALUE_LEN, { kind: 'ulong', value: 0x01020304 }, 4, '01020304', false);
  roundTrip(t, CKA.VALUE_LEN, { kind: 'ulong', value: Number.MAX_SAFE_INTEGER }, 8, 'ffffffffffff1f00');
  roundTrip(t, CKA.VALUE_LEN, { kind: 'ulong', value: 0 }, 8, '0000000000000000');
});

t.test('all-ones is CK_UNAVAILABLE_INFORMATION, -1, at either width', async (t) => {
  t.equal(CK_UNAVAILABLE, -1);
  roundTrip(t, CKA.VALUE_LEN, { kind: 'ulong', value: -1 }, 8, 'ffffffffffffffff');
  roundTrip(t, CKA.VALUE_LEN, { kind: 'ulong', value: -1 }, 4, 'ffffffff');
  t.same(decodeAttributeValue(CKA.MODULUS_BITS, hex('ffffffffffffffff'), 8, false), { kind: 'ulong', value: -1 });
});

t.test('a 64-bit CK_ULONG above 2^53-1 (and not all ones) is refused, not rounded', async (t) => {
  t.throws(() => decodeAttributeValue(CKA.VALUE_LEN, hex('0000000000002000'), 8), TemplateValueError);
  t.throws(() => decodeAttributeValue(CKA.VALUE_LEN, hex('feffffffffffffff'), 8), TemplateValueError);
  t.throws(() => encodeAttributeValue({ kind: 'ulong', value: 0x100000000 }, 4), RangeError, 'too wide for 4 bytes');
  t.throws(() => encodeAttributeValue({ kind: 'ulong', value: -2 }, 8), RangeError);
  t.throws(() => encodeAttributeValue({ kind: 'ulong', value: 1.5 }, 8), RangeError);
});

t.test('bool round-trips; any non-zero byte is true', async (t) => {
  roundTrip(t, CKA.TOKEN, { kind: 'bool', value: true }, 8, '01');
  roundTrip(t, CKA.SENSITIVE, { kind: 'bool', value: false }, 4, '00');
  t.same(decodeAttributeValue(CKA.SIGN, hex('ff'), 8), { kind: 'bool', value: true });
});

t.test('string round-trips as UTF-8 without a NUL', async (t) => {
  roundTrip(t, CKA.LABEL, { kind: 'string', value: 'disk ☃' }, 8, Buffer.from('disk ☃').toString('hex'));
  roundTrip(t, CKA.APPLICATION, { kind: 'string', value: '' }, 4, '');
  roundTrip(t, CKA.URL, { kind: 'string', value: 'https://x/' }, 8, Buffer.from('https://x/').toString('hex'));
  t.same(decodeAttributeValue(CKA.LABEL, hex('6b657900'), 8), { kind: 'string', value: 'key' }, 'a C terminator (strlen+1) is dropped');
  t.throws(() => decodeAttributeValue(CKA.LABEL, hex('c328'), 8), TemplateValueError, 'invalid UTF-8 is refused');
});

t.test('bytes round-trip, copied', async (t) => {
  roundTrip(t, CKA.ID, { kind: 'bytes', value: hex('0102ff') }, 8, '0102ff');
  roundTrip(t, CKA.VALUE, { kind: 'bytes', value: new Uint8Array(0) }, 4, '');
  roundTrip(t, 0x7777, { kind: 'bytes', value: hex('00') }, 8, '00');
  const raw = hex('aabb');
  const decoded = decodeAttributeValue(CKA.EC_POINT, raw, 8);
  raw[0] = 0;
  t.same(decoded, { kind: 'bytes', value: hex('aabb') }, 'the decoded value does not alias the receive buffer');
});

t.test('date round-trips as YYYYMMDD or empty', async (t) => {
  roundTrip(t, CKA.START_DATE, { kind: 'date', value: '20240131' }, 8, Buffer.from('20240131').toString('hex'));
  roundTrip(t, CKA.END_DATE, { kind: 'date', value: '' }, 4, '');
  t.throws(() => encodeAttributeValue({ kind: 'date', value: '2024-01-31' }, 8), RangeError);
});

t.test('mechanism lists round-trip at both widths', async (t) => {
  const value: AttributeValue = { kind: 'mechanisms', value: [CKM.AES_GCM, CKM.SHA256_RSA_PKCS_PSS, CKM.EDDSA] };
  roundTrip(t, CKA.ALLOWED_MECHANISMS, value, 8, '8710000000000000' + '4300000000000000' + '5710000000000000');
  roundTrip(t, CKA.ALLOWED_MECHANISMS, value, 4, '87100000' + '43000000' + '57100000');
  roundTrip(t, CKA.ALLOWED_MECHANISMS, { kind: 'mechanisms', value: [] }, 8, '');
});

t.test('wrong lengths are TemplateValueErrors carrying the attribute type', async (t) => {
  const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
  const cases: Array<[number, Uint8Array, number]> = [
    [CKA.TOKEN, hex(''), 8],
    [CKA.TOKEN, hex('0100'), 8],
    [CKA.CLASS, hex('04000000'), 8],
    [CKA.CLASS, hex('0400000000000000'), 4],
    [CKA.VALUE_LEN, hex(''), 4],
    [CKA.START_DATE, ascii('2024013'), 8],
    [CKA.START_DATE, ascii('202401310'), 8],
    [CKA.END_DATE, ascii('2024ab31'), 8],
    [CKA.END_DATE, hex('0000000000000000'), 8],
    [CKA.ALLOWED_MECHANISMS, hex('87100000'), 8],
    [CKA.ALLOWED_MECHANISMS, hex('871000'), 4],
  ];
  for (const [type, raw, size] of cases) {
    const what = `0x${type.toString(16)} ${toHex(raw) || '(empty)'} (ulong ${size})`;
    try {
      decodeAttributeValue(type, raw, size);
      t.fail(`${what} should not decode`);
    } catch (e) {
      t.ok(e instanceof TemplateValueError, what);
      if (e instanceof TemplateValueError) t.equal(e.attributeType, type);
    }
  }
  t.match(new TemplateValueError(CKA.VALUE_LEN, 'x').message, /^CKA_VALUE_LEN: x$/);
});

t.test('templates never travel as raw bytes', async (t) => {
  t.throws(() => decodeAttributeValue(CKA.WRAP_TEMPLATE, hex('00'), 8), TemplateValueError);
  const template: AttributeValue = { kind: 'template', value: [{ type: CKA.EXTRACTABLE, value: { kind: 'bool', value: false } }] };
  t.throws(() => encodeAttributeValue(template, 8), RangeError);
});

t.test('ulongSize must be 4 or 8', async (t) => {
  t.throws(() => decodeAttributeValue(CKA.CLASS, hex('00'), 1), RangeError);
  t.throws(() => encodeAttributeValue({ kind: 'bool', value: true }, 2), RangeError);
});

t.test('log names: current spelling over deprecated aliases, and never a throw', async (t) => {
  t.equal(rvName(CKR.OK), 'CKR_OK');
  t.equal(rvName(CKR.PIN_TOO_WEAK), 'CKR_PIN_TOO_WEAK');
  t.equal(CKR.PIN_TOO_WEAK, 0x1b8, 'OASIS value, not p11-kit\'s 0x1c3');
  t.equal(rvName(0x80000001), 'CKR_VENDOR_DEFINED+0x00000001');
  t.equal(rvName(0x9999), 'CKR_0x00009999');
  t.equal(attributeName(CKA.EC_PARAMS), 'CKA_EC_PARAMS', 'not CKA_ECDSA_PARAMS');
  t.equal(attributeName(CKA.WRAP_TEMPLATE), 'CKA_WRAP_TEMPLATE');
  t.equal(attributeName(CKA.SUBPRIME_BITS), 'CKA_SUBPRIME_BITS');
  t.equal(mechanismName(CKM.EC_KEY_PAIR_GEN), 'CKM_EC_KEY_PAIR_GEN', 'not CKM_ECDSA_KEY_PAIR_GEN');
  t.equal(mechanismName(CKM.HKDF_DERIVE), 'CKM_HKDF_DERIVE');
  t.equal(mechanismName(-1), 'CK_UNAVAILABLE_INFORMATION');
  t.equal(mechanismName(0.5), 'CKM_0.5');
});
