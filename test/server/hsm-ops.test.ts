import t, { type Test } from 'tap';
import { constants, createPublicKey, publicEncrypt, verify } from 'node:crypto';
import { join } from 'node:path';
import { KmipClient } from '../../src/kmip/client';
import type { HsmInstanceConfig } from '../../src/server/hsm/hsm-config';
import { hsmFromFlags } from '../../src/cli/commands/serve-hsm';
import { startTestServer } from '../support/server';
import { reasonOf } from '../support/client';
import { cli } from '../cli/harness';
import { PIN, SOFTHSM2_LIB, makeTokens } from '../hsm/softhsm';

// SoftHSM2 reads SOFTHSM2_CONF when the library is initialised, once per process: one token for the whole file.
const tokens = makeTokens(t, 1, 'kmsops');
const slot = tokens.slots[0] as number;
process.env['SOFTHSM2_CONF'] = tokens.conf;

function hsmConfig(admins: string[], pin = PIN): HsmInstanceConfig[] {
  return [{ prefix: 'hsm', model: 'softhsm2', library: SOFTHSM2_LIB, slots: [{ id: slot, pin }], admins }];
}

function clientFor(t: Test, url: string): KmipClient {
  const client = new KmipClient({ url });
  t.teardown(() => client.close());
  return client;
}

const uid = (label: string): string => `hsm::${slot}::${label}`;

// First, while no other instance holds the slot's login (a second login with another PIN is refused differently).
t.test('a wrong PIN fails the start with the HSM error', async (t) => {
  await t.rejects(startTestServer(t, { hsm: hsmConfig(['admin'], '00000000') }), { name: 'HsmError', message: /C_Login failed: CKR_PIN_INCORRECT/ });
});

t.test('p11kms serve --hsm-* with a wrong PIN does not start', async (t) => {
  const run = await cli(['serve', '--workers', '0', '--port', '0', '--db', join(tokens.dir, 'cli.sqlite'),
    '--hsm-model', 'softhsm2', '--hsm-slot', String(slot), '--hsm-password', '00000000']);
  t.not(run.code, 0);
  t.match(run.stderr, /CKR_PIN_INCORRECT/);
});

t.test('serve flags and the KMS_HSM_* fallback', async (t) => {
  t.same(hsmFromFlags({ hsmModel: 'softhsm2', hsmSlot: ['1', '2'], hsmPassword: ['a', 'b'], hsmAdmin: ['alice', 'bob'] }, {}), [
    { prefix: 'hsm', model: 'softhsm2', slots: [{ id: 1, pin: 'a' }, { id: 2, pin: 'b' }], admins: ['alice', 'bob'] },
  ]);
  t.same(hsmFromFlags({}, { KMS_HSM_MODEL: 'utimaco', KMS_HSM_SLOT: '0', KMS_HSM_PASSWORD: 'p', KMS_HSM_ADMIN: 'carol' }), [
    { prefix: 'hsm', model: 'utimaco', slots: [{ id: 0, pin: 'p' }], admins: ['carol'] },
  ]);
  t.same(hsmFromFlags({ hsmSlot: ['3'], hsmPassword: ['x'] }, { KMS_HSM_MODEL: 'softhsm2', KMS_HSM_SLOT: '9', KMS_HSM_PASSWORD: 'y' }), [
    { prefix: 'hsm', model: 'softhsm2', slots: [{ id: 3, pin: 'x' }], admins: ['admin'] },
  ], 'flags beat the environment');
  t.same(hsmFromFlags({}, {}), [], 'no slot, no HSM');
  t.throws(() => hsmFromFlags({ hsmModel: 'softhsm2', hsmSlot: ['1', '2'], hsmPassword: ['a'] }, {}), /2 slot\(s\) but 1 password/);
});

t.test('without HSMs: an empty status and hsm:: UIDs refused, never looked up in the database', async (t) => {
  const server = await startTestServer(t);
  const res = await fetch(`${server.url}/hsm/status`);
  t.equal(res.status, 200);
  t.same(await res.json(), []);
  const client = clientFor(t, server.url);
  t.equal(await reasonOf(client.encrypt(uid('x'), Buffer.from('x'))), 'Item_Not_Found');
  t.equal(await reasonOf(client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: uid('x') })), 'Item_Not_Found');
});

t.test('KMIP on HSM keys', async (t) => {
  const server = await startTestServer(t, { hsm: hsmConfig(['admin']) });
  const client = clientFor(t, server.url);

  t.test('GET /hsm/status', async (t) => {
    const status = (await (await fetch(`${server.url}/hsm/status`)).json()) as unknown;
    t.same(status, [{ prefix: 'hsm', model: 'softhsm2', slots: [{ id: slot, tokenLabel: 'kmsops_0', reachable: true }] }]);
  });

  t.test('AES: create, GCM and CBC, attributes, Get refused, destroy', async (t) => {
    const aes = uid('aes1');
    t.equal(await client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: aes }), aes);
    t.equal(await reasonOf(client.create({ algorithm: 'AES', length: 256, uniqueIdentifier: aes })), 'Object_Already_Exists');
    t.equal(await reasonOf(client.create({ algorithm: 'AES', length: 192, uniqueIdentifier: uid('aes192') })), 'Invalid_Attribute_Value');

    const plain = Buffer.from('attack at dawn, from the HSM');
    const gcm = await client.encrypt(aes, plain);
    t.equal(gcm.iv?.length, 12);
    t.equal(gcm.tag?.length, 16);
    t.equal(gcm.data.length, plain.length);
    t.same(await client.decrypt(aes, gcm.data, { iv: gcm.iv!, tag: gcm.tag! }), plain);
    t.same(await client.decrypt(aes, Buffer.concat([gcm.iv!, gcm.data, gcm.tag!])), plain, 'iv‖ct‖tag in Data is accepted');
    const badTag = Buffer.from(gcm.tag!);
    badTag[0] = badTag[0]! ^ 1;
    t.equal(await reasonOf(client.decrypt(aes, gcm.data, { iv: gcm.iv!, tag: badTag })), 'Cryptographic_Failure');

    const cbc = await client.encrypt(aes, plain, { mode: 'CBC' });
    t.equal(cbc.iv?.length, 16);
    t.equal(cbc.tag, undefined);
    t.same(await client.decrypt(aes, cbc.data, { mode: 'CBC', iv: cbc.iv! }), plain);
    t.equal(await reasonOf(client.encrypt(aes, plain, { mode: 'ECB' })), 'Bad_Cryptographic_Parameters');

    const view = await client.getAttributes(aes);
    t.match(view.attributes, {
      ObjectType: 'SymmetricKey', CryptographicAlgorithm: 'AES', CryptographicLength: 256, Sensitive: true, Extractable: false, AlwaysSensitive: true, NeverExtractable: true,
      State: 'Active', UniqueIdentifier: aes,
    });
    t.match(JSON.stringify(view.attributes['Name']), /aes1/);
    t.equal(await reasonOf(client.get(aes)), 'Sensitive');
    t.equal(await reasonOf(client.export(aes)), 'Sensitive');

    t.equal(await client.destroy(aes), aes);
    t.equal(await reasonOf(client.getAttributes(aes)), 'Item_Not_Found');
    t.equal(await reasonOf(client.encrypt(aes, plain)), 'Item_Not_Found');
  });

  t.test('RSA: key pair, sign, OAEP and PKCS#1 v1.5, public key export', async (t) => {
    const priv = uid('rsa1');
    t.same(await client.createKeyPair({ algorithm: 'RSA', length: 2048, uniqueIdentifier: priv }), { privateKeyId: priv, publicKeyId: `${priv}_pk` });
    const pub = `${priv}_pk`;

    const exported = await client.get(pub);
    t.equal(exported.objectType, 'PublicKey');
    t.equal(exported.keyFormatType, 'X509');
    const publicKey = createPublicKey({ key: exported.bytes!, format: 'der', type: 'spki' });
    t.equal(publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    t.equal(await reasonOf(client.get(priv)), 'Sensitive');

    const message = Buffer.from('signed by a key that never left the token');
    const pkcs1 = await client.sign(priv, message);
    t.ok(verify('sha256', message, publicKey, pkcs1), 'SHA-256 PKCS#1 v1.5 signature verifies');
    const pss = await client.sign(priv, message, { signatureAlgorithm: 'RSASSAPSS' });
    t.ok(verify('sha256', message, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss), 'PSS signature verifies');
    t.equal(await reasonOf(client.sign(priv, message, { signatureAlgorithm: 'SHA512WithRSAEncryption' })), 'Bad_Cryptographic_Parameters');

    const secret = Buffer.from('a 32-byte data encryption key...');
    const oaep = await client.encrypt(pub, secret);
    t.same(await client.decrypt(priv, oaep.data), secret, 'OAEP with the probed hash');
    const local = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, secret);
    t.same(await client.decrypt(priv, local, { hashing: 'SHA1' }), secret, 'OAEP-SHA1 from node:crypto decrypts on the HSM');
    const v15 = await client.encrypt(pub, secret, { padding: 'PKCS1v15' });
    t.same(await client.decrypt(priv, v15.data, { padding: 'PKCS1v15' }), secret);
    t.equal(await reasonOf(client.decrypt(priv, local, { hashing: 'SHA3256' })), 'Bad_Cryptographic_Parameters');

    const attrs = await client.getAttributes(pub);
    t.match(attrs.attributes, { ObjectType: 'PublicKey', CryptographicAlgorithm: 'RSA', CryptographicLength: 2048 });
    t.match((await client.getAttributes(priv)).attributes, { ObjectType: 'PrivateKey', Sensitive: true });

    t.equal(await client.destroy(priv), priv);
    t.equal(await reasonOf(client.getAttributes(pub)), 'Item_Not_Found', 'the public half went with the private key');
  });

  t.test('UIDs no HSM serves', async (t) => {
    t.equal(await reasonOf(client.encrypt('hsm::4242::k', Buffer.from('x'))), 'Item_Not_Found');
    t.equal(await reasonOf(client.encrypt('hsm::softhsm2::1::k', Buffer.from('x'))), 'Item_Not_Found');
    t.equal(await reasonOf(client.revoke(uid('nothing'), 'CessationOfOperation')), 'Feature_Not_Supported');
  });

  // Without authentication configured every request runs as ServerOptions.defaultUser: a second
  // server on the same token whose default user is not an HSM admin is a real non-admin caller.
  t.test('a non-admin may not create, use or destroy HSM keys', async (t) => {
    const kept = uid('kept');
    await client.create({ algorithm: 'AES', length: 128, uniqueIdentifier: kept });
    const other = await startTestServer(t, { hsm: hsmConfig(['admin']), defaultUser: 'alice' });
    const alice = clientFor(t, other.url);
    t.equal(await reasonOf(alice.create({ algorithm: 'AES', length: 256, uniqueIdentifier: uid('alice') })), 'Permission_Denied');
    t.equal(await reasonOf(alice.createKeyPair({ algorithm: 'RSA', length: 2048, uniqueIdentifier: uid('alice_rsa') })), 'Permission_Denied');
    t.equal(await reasonOf(alice.destroy(kept)), 'Permission_Denied');
    t.equal(await reasonOf(alice.encrypt(kept, Buffer.from('x'))), 'Permission_Denied');
    t.match((await client.getAttributes(kept)).attributes, { CryptographicLength: 128 }, 'the key is still there');
    t.equal(await client.destroy(kept), kept);
  });
});
