import t from 'tap';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { child } from '../../src/kmip/ttlv';
import { certificateObject, privateKeyObject, publicKeyObject, secretDataObject, symmetricKeyObject } from '../../src/kmip/requests';
import { reasonOf, serverAndClient } from '../support/client';

t.test('key formats on Get', async (t) => {
  const { client } = await serverAndClient(t);
  const aes = await client.create({ algorithm: 'AES', length: 256 });
  const raw = await client.get(aes);
  t.equal(raw.keyFormatType, 'Raw', 'symmetric keys default to Raw');
  const transparent = await client.get(aes, { keyFormatType: 'TransparentSymmetricKey' });
  t.same(child(child(child(child(transparent.object, 'KeyBlock'), 'KeyValue'), 'KeyMaterial'), 'Key')?.value, raw.bytes, 'TransparentSymmetricKey carries the same key');

  const rsa = await client.createKeyPair({ algorithm: 'RSA', length: 2048 });
  const pkcs8 = createPrivateKey({ key: (await client.get(rsa.privateKeyId, { keyFormatType: 'PKCS8' })).bytes as Buffer, format: 'der', type: 'pkcs8' });
  const pkcs1 = createPrivateKey({ key: (await client.get(rsa.privateKeyId, { keyFormatType: 'PKCS1' })).bytes as Buffer, format: 'der', type: 'pkcs1' });
  t.same(pkcs8.export({ format: 'jwk' }), pkcs1.export({ format: 'jwk' }), 'PKCS#8 and PKCS#1 are the same RSA key');
  t.equal((await client.get(rsa.privateKeyId)).keyFormatType, 'PKCS1', 'RSA private keys default to PKCS1');
  const tRsa = await client.get(rsa.privateKeyId, { keyFormatType: 'TransparentRSAPrivateKey' });
  const modulus = child(child(child(child(tRsa.object, 'KeyBlock'), 'KeyValue'), 'KeyMaterial'), 'Modulus');
  t.equal(modulus?.type, 'BigInteger');
  const jwk = pkcs8.export({ format: 'jwk' });
  t.equal((modulus?.value as bigint).toString(16), Buffer.from(jwk.n as string, 'base64url').toString('hex').replace(/^0+/, ''), 'the transparent modulus is the key modulus');
  const spki = createPublicKey({ key: (await client.get(rsa.publicKeyId, { keyFormatType: 'X509' })).bytes as Buffer, format: 'der', type: 'spki' });
  const pubPkcs1 = createPublicKey({ key: (await client.get(rsa.publicKeyId, { keyFormatType: 'PKCS1' })).bytes as Buffer, format: 'der', type: 'pkcs1' });
  t.same(spki.export({ format: 'jwk' }), pubPkcs1.export({ format: 'jwk' }), 'SPKI and PKCS#1 public keys agree');
  const tRsaPub = await client.get(rsa.publicKeyId, { keyFormatType: 'TransparentRSAPublicKey' });
  t.ok(child(child(child(child(tRsaPub.object, 'KeyBlock'), 'KeyValue'), 'KeyMaterial'), 'PublicExponent'));

  const ec = await client.createKeyPair({ algorithm: 'EC', curve: 'P384' });
  t.equal((await client.get(ec.privateKeyId)).keyFormatType, 'TransparentECPrivateKey', 'EC private keys default to TransparentECPrivateKey');
  const sec1 = createPrivateKey({ key: (await client.get(ec.privateKeyId, { keyFormatType: 'ECPrivateKey' })).bytes as Buffer, format: 'der', type: 'sec1' });
  t.equal(sec1.asymmetricKeyDetails?.namedCurve, 'secp384r1');
  const tEcPub = await client.get(ec.publicKeyId, { keyFormatType: 'TransparentECPublicKey' });
  const q = child(child(child(child(tEcPub.object, 'KeyBlock'), 'KeyValue'), 'KeyMaterial'), 'QString');
  t.equal((q?.value as Uint8Array).length, 97, 'P-384 QString is an uncompressed point');
  t.equal(await reasonOf(client.get(aes, { keyFormatType: 'PKCS1' })), 'Key_Format_Type_Not_Supported');
});

t.test('sensitive and non-extractable keys', async (t) => {
  const { client } = await serverAndClient(t);
  const kek = await client.create({ algorithm: 'AES', length: 256, usageMask: 0x10 | 0x20 | 0x4 | 0x8 });
  const sensitive = await client.create({ algorithm: 'AES', length: 256, sensitive: true });
  t.equal(await reasonOf(client.get(sensitive)), 'Sensitive', 'a sensitive key is not returned in clear');
  t.equal(await reasonOf(client.export(sensitive)), 'Sensitive');
  const wrapped = await client.get(sensitive, { wrap: { keyUid: kek } });
  const wrappedBytes = child(child(wrapped.object, 'KeyBlock'), 'KeyValue');
  t.equal(wrappedBytes?.type, 'ByteString', 'the wrapped key value is a ByteString');
  t.ok(child(child(wrapped.object, 'KeyBlock'), 'KeyWrappingData'), 'with KeyWrappingData');
  const unwrapped = await client.decrypt(kek, Buffer.from(wrappedBytes?.value as Uint8Array), { mode: 'AESKeyWrapPadding' });
  t.equal(unwrapped.length, 32, 'the KEK unwraps the 32-byte key');
  const probe = await client.encrypt(sensitive, Buffer.from('probe'), { iv: Buffer.alloc(12, 1) });
  const reimported = await client.register(symmetricKeyObject(unwrapped));
  const again = await client.encrypt(reimported, Buffer.from('probe'), { iv: Buffer.alloc(12, 1) });
  t.same(again.data, probe.data, 'the unwrapped bytes are the sensitive key');

  const locked = await client.create({ algorithm: 'AES', extractable: false });
  t.equal(await reasonOf(client.get(locked)), 'Not_Extractable');
  t.equal(await reasonOf(client.get(locked, { wrap: { keyUid: kek } })), 'Not_Extractable', 'not even wrapped');
  const sensitivePair = await client.createKeyPair({ algorithm: 'RSA', length: 2048, sensitive: true });
  t.equal(await reasonOf(client.get(sensitivePair.privateKeyId)), 'Sensitive', 'a sensitive private key is not returned');
  t.equal((await client.get(sensitivePair.publicKeyId)).objectType, 'PublicKey', 'its public key is');
});

t.test('Register and Import of every object type', async (t) => {
  const { client } = await serverAndClient(t);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sk = await client.register(privateKeyObject(privateKey.export({ format: 'der', type: 'sec1' }), 'ECPrivateKey'));
  const attrs = (await client.getAttributes(sk)).attributes;
  t.equal(attrs['CryptographicAlgorithm'], 'EC');
  t.equal(attrs['CryptographicLength'], 256, 'attributes are computed from the key itself');
  const pk = await client.register(publicKeyObject(publicKey.export({ format: 'der', type: 'spki' })));
  const sig = await client.sign(sk, Buffer.from('m'));
  t.ok(await client.verify(pk, Buffer.from('m'), sig));

  const secret = await client.register(secretDataObject(Buffer.from('veracrypt keyfile bytes')), { label: 'vol1' });
  t.same((await client.get(secret)).bytes, Buffer.from('veracrypt keyfile bytes'), 'secret data comes back unchanged');

  const imported = await client.import('my-chosen-id', symmetricKeyObject(Buffer.alloc(16, 1)));
  t.equal(imported, 'my-chosen-id');
  t.equal(await reasonOf(client.import('my-chosen-id', symmetricKeyObject(Buffer.alloc(16, 2)))), 'Object_Already_Exists');
  await client.import('my-chosen-id', symmetricKeyObject(Buffer.alloc(16, 2)), {}, { replaceExisting: true });
  t.same((await client.get('my-chosen-id')).bytes, Buffer.alloc(16, 2), 'ReplaceExisting replaces');
  t.equal(await reasonOf(client.register(certificateObject(Buffer.from('not a certificate')))), 'Invalid_Field');
  t.equal(await reasonOf(client.register(symmetricKeyObject(Buffer.alloc(10)))), 'Invalid_Attribute_Value', 'a 10-byte AES key is refused');
});

t.test('Certify: self-signed and CA-issued, and PKCS#12 export', async (t) => {
  const { client } = await serverAndClient(t);
  const ca = await client.createKeyPair({ algorithm: 'EC', curve: 'P384', label: 'ca' });
  const caCert = await client.certify({ keyUid: ca.publicKeyId, subject: 'CN=p11kms test CA,O=p11kms', isCa: true, days: 30 });
  const caX509 = new X509Certificate((await client.get(caCert)).bytes as Buffer);
  t.match(caX509.subject, /CN=p11kms test CA/);
  t.ok(caX509.verify(caX509.publicKey), 'the CA certificate is self-signed');

  for (const spec of [{ algorithm: 'RSA', length: 2048 }, { algorithm: 'EC', curve: 'P256' }, { algorithm: 'Ed25519' }]) {
    const leaf = await client.createKeyPair({ ...spec, label: 'disk' });
    const cert = await client.certify({ keyUid: leaf.publicKeyId, subject: 'CN=disk-encryption', issuer: { privateKeyUid: ca.privateKeyId, certificateUid: caCert } });
    const x509 = new X509Certificate((await client.get(cert)).bytes as Buffer);
    t.ok(x509.verify(caX509.publicKey), `${spec.algorithm} leaf is signed by the CA`);
    t.ok(x509.checkIssued(caX509), 'and names it as issuer');
    const pub = createPublicKey({ key: (await client.get(leaf.publicKeyId, { keyFormatType: 'X509' })).bytes as Buffer, format: 'der', type: 'spki' });
    t.ok(x509.publicKey.equals(pub), 'for the right public key');
    const links = JSON.stringify((await client.getAttributes(leaf.privateKeyId)).attributes['Link']);
    t.match(links, new RegExp(`CertificateLink.*${cert}`), 'the private key links to its certificate');
  }

  const self = await client.createKeyPair({ algorithm: 'RSA', length: 2048 });
  const selfCert = await client.certify({ keyUid: self.publicKeyId, subject: 'CN=self' });
  const selfX509 = new X509Certificate((await client.get(selfCert)).bytes as Buffer);
  t.ok(selfX509.verify(selfX509.publicKey), 'a self-signed RSA certificate verifies');
  const p12 = await client.get(self.privateKeyId, { pkcs12Password: 'secret-p12' });
  t.equal(p12.keyFormatType, 'PKCS12');
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-p12-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'k.p12'), p12.bytes as Buffer);
  const pem = execFileSync('openssl', ['pkcs12', '-in', join(dir, 'k.p12'), '-passin', 'pass:secret-p12', '-nodes'], { encoding: 'utf8' });
  t.match(pem, /BEGIN CERTIFICATE/, 'openssl reads the certificate from the PKCS#12');
  t.match(pem, /BEGIN PRIVATE KEY/, 'and the private key');
});
