import t from 'tap';
import { encodeJsonText } from '../../src/kmip/json-codec';
import { createKeyPairRequest, createSymmetricKeyRequest, locateRequest, signRequest } from '../../src/kmip/requests';

/** The reference examples are compact JSON; compare text with all insignificant whitespace removed. */
function compact(json: string): string {
  return JSON.stringify(JSON.parse(json));
}

t.test('§2 (a): Create an AES key with a tag, byte for byte', async (t) => {
  const reference = '{"tag":"Create","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"Attributes","value":[{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"AES"},{"tag":"CryptographicLength","type":"Integer","value":256},{"tag":"CryptographicUsageMask","type":"Integer","value":12},{"tag":"Attribute","value":[{"tag":"VendorIdentification","type":"TextString","value":"cosmian"},{"tag":"AttributeName","type":"TextString","value":"tag"},{"tag":"AttributeValue","type":"TextString","value":"[\\"vector-locate-tag\\"]"}]}]}]}';
  // The vector leaves the key PreActive; activationDate null reproduces that.
  const built = createSymmetricKeyRequest({ algorithm: 'AES', length: 256, usageMask: 12, tags: ['vector-locate-tag'], activationDate: null });
  t.equal(compact(encodeJsonText(built)), compact(reference));
});

t.test('§2 (a) with the default: ActivationDate = now makes the key Active', async (t) => {
  const before = Math.floor(Date.now() / 1000);
  const built = createSymmetricKeyRequest({ algorithm: 'AES', length: 256 });
  const attrs = built.value[1];
  t.equal(attrs?.tag, 'Attributes');
  const date = attrs?.type === 'Structure' ? attrs.value.find((n) => n.tag === 'ActivationDate') : undefined;
  t.equal(date?.type, 'DateTime');
  t.ok(typeof date?.value === 'number' && date.value >= before && date.value <= before + 2, 'now, in whole seconds');
});

t.test('§2 (c): Locate by tag, byte for byte', async (t) => {
  const reference = '{"tag":"Locate","value":[{"tag":"Attributes","value":[{"tag":"ObjectType","type":"Enumeration","value":"SymmetricKey"},{"tag":"Attribute","value":[{"tag":"VendorIdentification","type":"TextString","value":"cosmian"},{"tag":"AttributeName","type":"TextString","value":"tag"},{"tag":"AttributeValue","type":"TextString","value":"[\\"vector-locate-tag\\"]"}]}]}]}';
  t.equal(compact(encodeJsonText(locateRequest({ objectType: 'SymmetricKey', tags: ['vector-locate-tag'] }))), compact(reference));
  t.equal(compact(encodeJsonText(locateRequest())), '{"tag":"Locate","value":[{"tag":"Attributes","value":[]}]}', 'empty Attributes is still sent');
});

t.test('§2 (e): RSA CreateKeyPair and Sign, byte for byte', async (t) => {
  const createReference = '{"tag":"CreateKeyPair","value":[{"tag":"CommonAttributes","value":[{"tag":"CryptographicAlgorithm","type":"Enumeration","value":"RSA"},{"tag":"CryptographicLength","type":"Integer","value":2048},{"tag":"KeyFormatType","type":"Enumeration","value":"TransparentRSAPrivateKey"},{"tag":"ActivationDate","type":"DateTime","value":"2024-01-01T00:00:00Z"}]},{"tag":"PrivateKeyAttributes","value":[{"tag":"CryptographicUsageMask","type":"Integer","value":2601}]},{"tag":"PublicKeyAttributes","value":[{"tag":"CryptographicUsageMask","type":"Integer","value":2582}]}]}';
  const built = createKeyPairRequest({
    algorithm: 'RSA', length: 2048, keyFormatType: 'TransparentRSAPrivateKey',
    activationDate: new Date('2024-01-01T00:00:00Z'), privateUsageMask: 2601, publicUsageMask: 2582,
  });
  t.equal(compact(encodeJsonText(built)), compact(createReference));

  const signReference = '{"tag":"Sign","value":[{"tag":"UniqueIdentifier","type":"TextString","value":"{{private_key_id}}"},{"tag":"CryptographicParameters","value":[{"tag":"DigitalSignatureAlgorithm","type":"Enumeration","value":"RSASSAPSS"},{"tag":"HashingAlgorithm","type":"Enumeration","value":"SHA256"}]},{"tag":"Data","type":"ByteString","value":"54657374206D657373616765"}]}';
  const sign = signRequest('{{private_key_id}}', { data: Buffer.from('Test message') }, { signatureAlgorithm: 'RSASSAPSS', hashing: 'SHA256' });
  t.equal(compact(encodeJsonText(sign)), compact(signReference));
});

t.test('EC key pairs carry CryptographicDomainParameters{RecommendedCurve}; labels a Name', async (t) => {
  const built = createKeyPairRequest({ algorithm: 'EC', curve: 'P384', label: 'my-ec', activationDate: null });
  const json = encodeJsonText(built);
  t.match(json, '{"tag":"CryptographicDomainParameters","value":[{"tag":"RecommendedCurve","type":"Enumeration","value":"P384"}]}');
  t.match(json, '{"tag":"Name","value":[{"tag":"NameValue","type":"TextString","value":"my-ec"},{"tag":"NameType","type":"Enumeration","value":"UninterpretedTextString"}]}');
});
