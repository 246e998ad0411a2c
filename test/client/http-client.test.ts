import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { KmipClient } from '../../src/kmip/client';
import { KmipError, KmipTransportError } from '../../src/kmip/errors';
import { getRequest, locateRequest, symmetricKeyObject } from '../../src/kmip/requests';
import { startTestServer } from '../support/server';

t.test('typed operations against a real server', async (t) => {
  const server = await startTestServer(t);
  const client = new KmipClient({ url: server.url });
  t.teardown(() => client.close());

  const tag = `t-${Date.now()}`;
  const aes = await client.create({ algorithm: 'AES', length: 256, tags: [tag], label: 'client-aes' });
  t.type(aes, 'string');
  t.same(await client.locate({ tags: [tag] }), [aes], 'locate by tag');
  t.same(await client.locate({ name: 'client-aes', objectType: 'SymmetricKey' }), [aes], 'locate by name and type');

  const attrs = await client.getAttributes(aes);
  t.equal(attrs.attributes['State'], 'Active', 'ActivationDate=now makes it Active');
  t.equal(attrs.attributes['CryptographicLength'], 256);
  t.same((await client.getAttributes(aes, ['tag'])).tags, [tag]);

  const secret = Buffer.from('attack at dawn');
  const aad = Buffer.from('header');
  const enc = await client.encrypt(aes, secret, { mode: 'GCM', aad });
  t.equal(enc.iv?.length, 12, 'server-made GCM nonce');
  t.equal(enc.tag?.length, 16);
  t.same(await client.decrypt(aes, enc.data, { mode: 'GCM', iv: enc.iv as Buffer, tag: enc.tag as Buffer, aad }), secret);
  await t.rejects(client.decrypt(aes, enc.data, { mode: 'GCM', iv: enc.iv as Buffer, tag: enc.tag as Buffer, aad: Buffer.from('other') }), KmipError);

  const got = await client.get(aes);
  t.equal(got.objectType, 'SymmetricKey');
  t.equal(got.bytes?.length, 32);

  const imported = await client.import('my-own-uid', symmetricKeyObject(Buffer.alloc(16, 7)), { tags: [tag] });
  t.equal(imported, 'my-own-uid');
  t.same((await client.get('my-own-uid')).bytes, Buffer.alloc(16, 7));
  await t.rejects(client.import('my-own-uid', symmetricKeyObject(Buffer.alloc(16, 8))), { name: 'KmipError', reason: 'Object_Already_Exists' });
  await client.import('my-own-uid', symmetricKeyObject(Buffer.alloc(16, 8)), {}, { replaceExisting: true });

  const pair = await client.createKeyPair({ algorithm: 'EC', curve: 'P256', privateUsageMask: 1, publicUsageMask: 2 });
  t.equal(pair.publicKeyId, `${pair.privateKeyId}_pk`);
  const signature = await client.sign(pair.privateKeyId, Buffer.from('hello'));
  t.ok(await client.verify(pair.publicKeyId, Buffer.from('hello'), signature));
  t.notOk(await client.verify(pair.publicKeyId, Buffer.from('hellO'), signature));

  const cert = await client.certify({ keyUid: pair.publicKeyId, subject: 'CN=client test', days: 10 });
  const certObj = await client.get(cert);
  t.equal(certObj.objectType, 'Certificate');
  t.ok(certObj.bytes && certObj.bytes.length > 100, 'DER certificate');

  t.equal((await client.hash('SHA256', Buffer.from('abc'))).toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.equal((await client.rng(33)).length, 33);
  const hmac = await client.create({ algorithm: 'HMACSHA256', length: 256 });
  t.equal((await client.mac(hmac, Buffer.from('m'))).length, 32);
  const q = await client.query();
  t.ok(q.operations.includes('Encrypt'));
  t.same((await client.discoverVersions())[0], { major: 2, minor: 1 });

  await client.revoke(aes, 'CessationOfOperation', 'done');
  await t.rejects(client.encrypt(aes, secret), KmipError, 'a revoked key no longer encrypts');
  await client.destroy(aes);
  t.equal((await client.export(aes)).objectType, 'SymmetricKey', 'Export still answers for a destroyed key');
  await t.rejects(client.get('no-such-uid'), { name: 'KmipError', reason: 'Object_Not_Found', message: 'object not found for identifier no-such-uid' });
});

t.test('batch: several items in one RequestMessage, errors per item', async (t) => {
  const server = await startTestServer(t);
  const client = new KmipClient({ url: server.url });
  t.teardown(() => client.close());
  const key = await client.create({ algorithm: 'AES' });
  const stopped = await client.batch([getRequest('missing'), getRequest(key)]);
  t.equal(stopped.length, 2);
  t.notOk(stopped[0]?.ok);
  t.notOk(stopped[1]?.ok, 'Stop: the second item is not run');
  const continued = await client.batch([getRequest('missing'), getRequest(key), locateRequest()], { continueOnError: true });
  t.same(continued.map((r) => r.ok), [false, true, true]);
  const [missing, found] = continued;
  if (missing && !missing.ok) t.match(missing.error.reason, /Not_Found/);
  if (found?.ok) t.equal(found.response.tag, 'GetResponse');
  t.same(await client.batch([]), []);
});

t.test('transport failures are KmipTransportError, and never hang', async (t) => {
  const unused = net.createServer();
  await new Promise<void>((r) => unused.listen(0, '127.0.0.1', r));
  const port = (unused.address() as AddressInfo).port;
  await new Promise<void>((r) => unused.close(() => r()));
  const refused = new KmipClient({ url: `http://127.0.0.1:${port}` });
  await t.rejects(refused.query(), KmipTransportError);
  await refused.close();

  // Accepts connections and never answers.
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    sockets.forEach((s) => s.destroy());
    silent.close();
  });
  const slow = new KmipClient({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, requestTimeoutMs: 300 });
  const started = Date.now();
  await t.rejects(slow.query(), { name: 'KmipTransportError', message: /300 ms|timed out/ });
  t.ok(Date.now() - started < 3000, 'gave up near the request timeout');
  await slow.close();

  // TLS to a server that never answers the handshake: undici counts the handshake as connecting.
  const stalled = new KmipClient({ url: `https://127.0.0.1:${(silent.address() as AddressInfo).port}`, connectTimeoutMs: 200, requestTimeoutMs: 5000 });
  const t0 = Date.now();
  await t.rejects(stalled.query(), { name: 'KmipTransportError', message: /connect timed out/ });
  t.ok(Date.now() - t0 < 2000, 'connect timeout enforced');
  await stalled.close();
});

t.test('HTTP statuses map to KMIP errors; the bearer token is sent', async (t) => {
  let seenAuth: string | undefined;
  const statuses = [401, 404, 500, 422];
  const fake = http.createServer((req, res) => {
    seenAuth = req.headers.authorization;
    const status = statuses.shift() ?? 200;
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(status === 422 ? 'Permission_Denied: not yours' : 'nope');
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  t.teardown(() => fake.close());
  const client = new KmipClient({ url: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, accessToken: 's3cret' });
  t.teardown(() => client.close());
  await t.rejects(client.query(), { name: 'KmipError', reason: 'Authentication_Not_Successful' });
  t.equal(seenAuth, 'Bearer s3cret');
  await t.rejects(client.query(), { name: 'KmipError', reason: 'Operation_Not_Supported' });
  await t.rejects(client.query(), { name: 'KmipError', reason: 'General_Failure', message: /500/ });
  await t.rejects(client.query(), { name: 'KmipError', reason: 'Permission_Denied', message: 'not yours' });
});
