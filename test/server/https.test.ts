import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmipClient } from '../../src/kmip/client';
import { KmipTransportError } from '../../src/kmip/errors';
import { makeTestPki } from '../support/pki';
import { startTestServer } from '../support/server';

t.test('the KMS over HTTPS, with the client checking the server certificate', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-https-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = makeTestPki(dir, 'https-user');
  const server = await startTestServer(t, { tlsCert: pki.serverCert, tlsKey: pki.serverKey });
  t.match(server.url, /^https:\/\//);
  const client = new KmipClient({ url: server.url, tls: { ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } });
  t.teardown(() => client.close());
  const uid = await client.create({ algorithm: 'AES', length: 256 });
  const out = await client.encrypt(uid, Buffer.from('over TLS'));
  t.same(await client.decrypt(uid, out.data, { iv: out.iv as Buffer, tag: out.tag as Buffer }), Buffer.from('over TLS'));

  const untrusting = new KmipClient({ url: server.url, connectTimeoutMs: 2000 });
  t.teardown(() => untrusting.close());
  await t.rejects(untrusting.create({ algorithm: 'AES' }), KmipTransportError, 'a client that does not trust the CA refuses the server');
  const health = await fetch(server.url.replace('https:', 'http:') + '/health').then(() => 'answered', () => 'refused');
  t.equal(health, 'refused', 'plain HTTP is not served on the HTTPS port');
});
