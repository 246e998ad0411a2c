import t from 'tap';
import { createCipheriv, createDecipheriv, createHash, generateKeyPairSync } from 'node:crypto';
import { T, child, type TtlvNode, type TtlvStructure } from '../../src/kmip/ttlv';
import { buildRequestMessage, parseResponseMessage } from '../../src/kmip/messages';
import { decodeBinary, encodeBinary } from '../../src/kmip/binary-codec';
import { privateKeyObject, publicKeyObject, symmetricKeyObject, secretDataObject } from '../../src/kmip/requests';
import { reasonOf, serverAndClient } from '../support/client';
import type { TestServer } from '../support/server';

/**
 * The objects PyKMIP's pie API produces, registered and read back without PyKMIP (the
 * differential run is test/interop/pykmip-differential.test.ts with
 * test/interop/pykmip_diff/scenarios_objects.py): PKCS#1 keys, keys registered already
 * wrapped, Get with a NoEncoding wrapping specification, SplitKey, and DeriveKey by the
 * methods PyKMIP's server implements, checked against the bytes PyKMIP's server derived from
 * the same inputs (kmip/services/server/crypto/engine.py derive_key, python3-pykmip 0.10).
 */

const DERIVE_KEY = 0x200;
const ENCRYPT = 0x4;
const WRAP = 0x10 | 0x20;

const bytesOf = (n: TtlvNode | undefined): Buffer => {
  if (!n || n.type !== 'ByteString') throw new Error(`expected a byte string, got ${n?.type ?? 'nothing'}`);
  return Buffer.from(n.value);
};

/** One KMIP 1.4 operation over binary TTLV on /kmip, as an appliance or PyKMIP sends it. */
async function kmip14(server: TestServer, op: TtlvStructure): Promise<TtlvStructure> {
  const body = encodeBinary(buildRequestMessage([op], { major: 1, minor: 4 }), 1);
  const res = await server.post('/kmip', body, 'application/octet-stream');
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text}`);
  const [item] = parseResponseMessage(decodeBinary(res.bytes, undefined, 1)).items;
  if (!item || item.status !== 'Success' || !item.payload) throw new Error(`${item?.reason ?? '?'}: ${item?.message ?? ''}`);
  return item.payload as TtlvStructure;
}

function keyBlockOf(getResponse: TtlvStructure, objectType: string): TtlvNode | undefined {
  return child(child(getResponse, objectType), 'KeyBlock');
}

/** RFC 3394 AES key wrap with node's id-aesNNN-wrap (the default IV A6A6A6A6A6A6A6A6). */
function aesKeyWrap(kek: Buffer, key: Buffer): Buffer {
  const c = createCipheriv(`id-aes${kek.length * 8}-wrap`, kek, Buffer.alloc(8, 0xa6));
  return Buffer.concat([c.update(key), c.final()]);
}

function aesKeyUnwrap(kek: Buffer, wrapped: Buffer): Buffer {
  const d = createDecipheriv(`id-aes${kek.length * 8}-wrap`, kek, Buffer.alloc(8, 0xa6));
  return Buffer.concat([d.update(wrapped), d.final()]);
}

t.test('RSA keys registered in PKCS#1 and X.509 come back in the format they came in', async (t) => {
  const { server, client } = await serverAndClient(t);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs1 = privateKey.export({ format: 'der', type: 'pkcs1' });
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const pubPkcs1 = publicKey.export({ format: 'der', type: 'pkcs1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });

  // KMIP 2.1 JSON (Cosmian clients): accepted, converted on request, KeyFormatType says what came in.
  const priv1 = await client.register(privateKeyObject(pkcs1, 'PKCS1', 'RSA'));
  t.same((await client.get(priv1, { keyFormatType: 'PKCS1' })).bytes, pkcs1, 'a PKCS#1 private key is accepted and read back as PKCS#1');
  t.same((await client.get(priv1, { keyFormatType: 'PKCS8' })).bytes, pkcs8, 'and converts to PKCS#8');
  t.equal((await client.getAttributes(priv1, ['KeyFormatType'])).attributes['KeyFormatType'], 'PKCS1', 'KeyFormatType is the registered format');
  const pub1 = await client.register(publicKeyObject(pubPkcs1, 'PKCS1'));
  t.same((await client.get(pub1, { keyFormatType: 'X509' })).bytes, spki, 'a PKCS#1 public key converts to X.509');

  // KMIP 1.4 binary, no KeyFormatType on Get: the registered format, as PyKMIP's server answers.
  const cases: Array<[string, Buffer, string, string]> = [
    ['PrivateKey', pkcs8, 'PKCS8', 'PKCS#8 private key'],
    ['PrivateKey', pkcs1, 'PKCS1', 'PKCS#1 private key'],
    ['PublicKey', spki, 'X509', 'X.509 public key'],
    ['PublicKey', pubPkcs1, 'PKCS1', 'PKCS#1 public key'],
  ];
  for (const [type, der, format, what] of cases) {
    const block = T.struct('KeyBlock', [T.enum('KeyFormatType', format), T.struct('KeyValue', [T.bytes('KeyMaterial', der)]), T.enum('CryptographicAlgorithm', 'RSA'), T.int('CryptographicLength', 2048)]);
    const registered = await kmip14(server, T.struct('Register', [T.enum('ObjectType', type), T.struct('TemplateAttribute', []), T.struct(type, [block])]));
    const uid = String(child(registered, 'UniqueIdentifier')?.value);
    const got = keyBlockOf(await kmip14(server, T.struct('Get', [T.text('UniqueIdentifier', uid)])), type);
    t.equal(child(got, 'KeyFormatType')?.value, format, `KMIP 1.4 Get of a registered ${what} answers ${format}`);
    t.same(bytesOf(child(child(got, 'KeyValue'), 'KeyMaterial')), der, `with the registered bytes (${what})`);
  }
  // KMIP 2.1 keeps Cosmian's default.
  t.equal((await client.get(priv1)).keyFormatType, 'PKCS1', 'KMIP 2.1 Get keeps Cosmian\'s default (PKCS1 for RSA)');
});

t.test('a key registered wrapped is stored and returned as registered, and used only through its wrapping key', async (t) => {
  const { client } = await serverAndClient(t);
  const kekBytes = Buffer.alloc(16, 0x40);
  const kek = await client.register(symmetricKeyObject(kekBytes), { usageMask: WRAP | ENCRYPT | 0x8 });
  const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const wrapped = aesKeyWrap(kekBytes, key);
  const wrappingData = T.struct('KeyWrappingData', [
    T.enum('WrappingMethod', 'Encrypt'),
    T.struct('EncryptionKeyInformation', [T.text('UniqueIdentifier', kek), T.struct('CryptographicParameters', [T.enum('BlockCipherMode', 'NISTKeyWrap')])]),
    T.enum('EncodingOption', 'NoEncoding'),
  ]);
  const object = T.struct('SymmetricKey', [T.struct('KeyBlock', [
    T.enum('KeyFormatType', 'Raw'), T.struct('KeyValue', [T.bytes('KeyMaterial', wrapped)]),
    T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 128), wrappingData,
  ])]);
  const uid = String(child(await client.call(T.struct('Register', [T.enum('ObjectType', 'SymmetricKey'), T.struct('Attributes', []), object])), 'UniqueIdentifier')?.value);
  const block = keyBlockOf(await client.call(T.struct('Get', [T.text('UniqueIdentifier', uid)])), 'SymmetricKey');
  t.same(bytesOf(child(child(block, 'KeyValue'), 'KeyMaterial')), wrapped, 'Get returns the wrapped bytes as registered');
  t.same(aesKeyUnwrap(kekBytes, bytesOf(child(child(block, 'KeyValue'), 'KeyMaterial'))), key, 'which unwrap to the key');
  const data = child(block, 'KeyWrappingData');
  t.equal(child(child(data, 'EncryptionKeyInformation'), 'UniqueIdentifier')?.value, kek, 'KeyWrappingData names the wrapping key');
  t.equal(child(child(child(data, 'EncryptionKeyInformation'), 'CryptographicParameters'), 'BlockCipherMode')?.value, 'NISTKeyWrap', 'and its mode');
  t.equal(child(data, 'EncodingOption')?.value, 'NoEncoding', 'and its encoding');
  t.equal(child(block, 'CryptographicLength')?.value, 128, 'the length as registered');
  const attrs = await client.getAttributes(uid);
  t.notOk('KeyWrappingData' in attrs.attributes, 'KeyWrappingData is not shown as an attribute');
  await client.activate(uid);
  // The wrapping key is a KMS key the caller may use: unwrapped on use (test/server/wrapped-import.test.ts).
  const sealed = await client.encrypt(uid, Buffer.from('x'), { mode: 'CBC', iv: Buffer.alloc(16) });
  const opened = createDecipheriv('aes-128-cbc', key, Buffer.alloc(16));
  t.equal(Buffer.concat([opened.update(sealed.data), opened.final()]).toString(), 'x', 'Encrypt uses the unwrapped key, never the wrapped bytes');

  // Wrapped by a key this server does not hold: kept as registered and never used.
  const elsewhere = T.struct('SymmetricKey', [T.struct('KeyBlock', [
    T.enum('KeyFormatType', 'Raw'), T.struct('KeyValue', [T.bytes('KeyMaterial', wrapped)]),
    T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 128),
    T.struct('KeyWrappingData', [T.enum('WrappingMethod', 'Encrypt'), T.struct('EncryptionKeyInformation', [T.text('UniqueIdentifier', 'kek-held-elsewhere')])]),
  ])]);
  const foreign = String(child(await client.call(T.struct('Register', [T.enum('ObjectType', 'SymmetricKey'), T.struct('Attributes', []), elsewhere])), 'UniqueIdentifier')?.value);
  await client.activate(foreign);
  t.equal(await reasonOf(client.encrypt(foreign, Buffer.from('x'), { mode: 'CBC', iv: Buffer.alloc(16) })), 'Key_Value_Not_Present', 'the wrapped bytes are never used as the key');
  t.equal(await reasonOf(client.get(foreign, { wrap: { keyUid: kek } })), 'Key_Wrap_Type_Not_Supported', 'nor re-wrapped');
});

t.test('Get with a NoEncoding KeyWrappingSpecification wraps the key material inside a KeyValue structure', async (t) => {
  const { client } = await serverAndClient(t);
  const kekBytes = Buffer.alloc(16, 0x41);
  const kek = await client.register(symmetricKeyObject(kekBytes), { usageMask: WRAP | ENCRYPT | 0x8 });
  const key = Buffer.alloc(32, 0x17);
  const uid = await client.register(symmetricKeyObject(key));
  const spec = (encoding?: string): TtlvStructure => T.struct('KeyWrappingSpecification', [
    T.enum('WrappingMethod', 'Encrypt'),
    T.struct('EncryptionKeyInformation', [T.text('UniqueIdentifier', kek), T.struct('CryptographicParameters', [T.enum('BlockCipherMode', 'NISTKeyWrap')])]),
    encoding ? T.enum('EncodingOption', encoding) : undefined,
  ]);
  const block = keyBlockOf(await client.call(T.struct('Get', [T.text('UniqueIdentifier', uid), spec('NoEncoding')])), 'SymmetricKey');
  const value = child(block, 'KeyValue');
  t.equal(value?.type, 'Structure', 'the KeyValue stays a structure (KMIP 1.4 §2.1.5 No Encoding; what PyKMIP decodes)');
  t.same(aesKeyUnwrap(kekBytes, bytesOf(child(value, 'KeyMaterial'))), key, 'its KeyMaterial unwraps to the key');
  t.equal(child(child(block, 'KeyWrappingData'), 'EncodingOption')?.value, 'NoEncoding', 'KeyWrappingData echoes the encoding');
  const cosmian = keyBlockOf(await client.call(T.struct('Get', [T.text('UniqueIdentifier', uid), spec()])), 'SymmetricKey');
  t.equal(child(cosmian, 'KeyValue')?.type, 'ByteString', 'without an EncodingOption the KeyValue is a byte string, as before (Cosmian)');
});

t.test('SplitKey: Register and Get keep the share and its split fields', async (t) => {
  const { client } = await serverAndClient(t);
  const share = Buffer.alloc(16, 0x5a);
  const object = T.struct('SplitKey', [
    T.int('SplitKeyParts', 4), T.int('KeyPartIdentifier', 1), T.int('SplitKeyThreshold', 2), T.enum('SplitKeyMethod', 'XOR'),
    T.struct('KeyBlock', [T.enum('KeyFormatType', 'Raw'), T.struct('KeyValue', [T.bytes('KeyMaterial', share)]), T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 128)]),
  ]);
  const uid = String(child(await client.call(T.struct('Register', [T.enum('ObjectType', 'SplitKey'), T.struct('Attributes', []), object])), 'UniqueIdentifier')?.value);
  const got = child(await client.call(T.struct('Get', [T.text('UniqueIdentifier', uid)])), 'SplitKey');
  t.equal(child(got, 'SplitKeyParts')?.value, 4);
  t.equal(child(got, 'KeyPartIdentifier')?.value, 1);
  t.equal(child(got, 'SplitKeyThreshold')?.value, 2);
  t.equal(child(got, 'SplitKeyMethod')?.value, 'XOR');
  t.same(bytesOf(child(child(child(got, 'KeyBlock'), 'KeyValue'), 'KeyMaterial')), share, 'the share comes back');
  const attrs = await client.getAttributes(uid);
  t.equal(attrs.attributes['ObjectType'], 'SplitKey');
  t.notOk('SplitKeyParts' in attrs.attributes, 'the split fields are the object\'s, not attributes');
  await client.activate(uid);
  t.equal(await reasonOf(client.encrypt(uid, Buffer.from('x'))), 'Invalid_Object_Type', 'a share is not a key');
  const missing = T.struct('SplitKey', object.value.filter((n) => n.tag !== 'SplitKeyThreshold'));
  t.equal(await reasonOf(client.call(T.struct('Register', [T.enum('ObjectType', 'SplitKey'), T.struct('Attributes', []), missing]))), 'Missing_Data', 'a SplitKey without its threshold is refused');
});

t.test('DeriveKey by HMAC, HASH, ENCRYPT and NIST SP 800-108 counter mode gives the bytes PyKMIP\'s server derives', async (t) => {
  const { client } = await serverAndClient(t);
  const key32 = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const key16 = key32.subarray(0, 16);
  const info = Buffer.from('p11kms differential derivation data');
  const salt = Buffer.from('0123456789abcdef');
  const base = async (bytes: Buffer): Promise<string> => client.register(symmetricKeyObject(bytes), { usageMask: DERIVE_KEY | ENCRYPT });
  const derive = async (baseUid: string, method: string, params: TtlvNode[], bits: number, objectType = 'SymmetricKey'): Promise<Buffer> => {
    const attrs = objectType === 'SymmetricKey' ? [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', bits)] : [T.int('CryptographicLength', bits)];
    const res = await client.call(T.struct('DeriveKey', [
      T.enum('ObjectType', objectType), T.text('UniqueIdentifier', baseUid), T.enum('DerivationMethod', method),
      T.struct('DerivationParameters', params), T.struct('Attributes', attrs),
    ]));
    const uid = String(child(res, 'UniqueIdentifier')?.value);
    return Buffer.from((await client.get(uid)).bytes as Uint8Array);
  };
  const sha = (name: string): TtlvNode => T.struct('CryptographicParameters', [T.enum('HashingAlgorithm', name)]);
  // Expected values: what pykmip-server 0.10 derived from these inputs (scenarios_objects.py, KMIP 1.2 and 1.4).
  t.equal((await derive(await base(key32), 'HMAC', [sha('SHA_256'), T.bytes('DerivationData', info), T.bytes('Salt', salt)], 256)).toString('hex'),
    'a48b39459e91192668dd866ef1988212fa4ed3f1e323404865206e8c6f129932', 'HMAC is HKDF-SHA-256(salt, info=DerivationData), as PyKMIP computes it');
  t.equal((await derive(await base(key32), 'HASH', [sha('SHA_256')], 256)).toString('hex'),
    createHash('sha256').update(key32).digest('hex'), 'HASH is the digest of the base key');
  t.equal((await derive(await base(key32), 'HASH', [sha('SHA_256')], 256)).toString('hex'),
    '630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd', 'as PyKMIP derives it');
  const cbc = T.struct('CryptographicParameters', [T.enum('BlockCipherMode', 'CBC'), T.enum('PaddingMethod', 'PKCS5'), T.enum('CryptographicAlgorithm', 'AES')]);
  t.equal((await derive(await base(key16), 'ENCRYPT', [cbc, T.bytes('InitializationVector', Buffer.alloc(16, 1)), T.bytes('DerivationData', Buffer.from('0123456789abcdef0123456789abcdef'))], 256)).toString('hex'),
    'bfcd1df6fb6ba823865730815f3c8d21469e53e8c550bead3df3dcec7b6cb8a4', 'ENCRYPT is the DerivationData under AES-CBC with the IV given, cut to the length');
  t.equal((await derive(await base(key32), 'NIST800108C', [sha('SHA_512'), T.bytes('DerivationData', info)], 256)).toString('hex'),
    'ed0d1ff7a3b05b6dbfefb24281b59a8e612f3ceed64a1a7b9abe7812b94f6f67', 'SP 800-108 counter mode, one HMAC-SHA-512 block');
  t.equal((await derive(await base(key32), 'NIST800108C', [sha('SHA_256'), T.bytes('DerivationData', info)], 384, 'SecretData')).toString('hex'),
    '8bb790a20fa96e9952ed0ba45352c310f8e1f8ffa8986e60215611fb2b9a4691e1b7d34836437f2101d92664c2662895', 'SP 800-108 counter mode, two HMAC-SHA-256 blocks cut to 48 bytes');
  const password = await client.register(secretDataObject(Buffer.from('correct horse battery staple'), 'Password'), { usageMask: DERIVE_KEY });
  t.equal((await derive(password, 'PBKDF2', [sha('SHA_256'), T.bytes('Salt', salt), T.int('IterationCount', 1000)], 256)).toString('hex'),
    'caa4aad92ca0635b01e04707f5fd851b42533044bec2a2ec393e589a2441a652', 'PBKDF2 from a password as PyKMIP derives it');
  t.equal(await reasonOf(derive(await base(key32), 'HASH', [sha('SHA_256'), T.bytes('DerivationData', info)], 256)), 'Invalid_Field', 'HASH with DerivationData is refused, as PyKMIP refuses it');
  t.equal(await reasonOf(derive(await base(key32), 'HASH', [sha('SHA_256')], 512, 'SecretData')), 'Cryptographic_Failure', 'a length beyond what the method produces is refused');
});
