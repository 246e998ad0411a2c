import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { KmipSocketClient } from '../../src/kmip/client-socket';
import { getRequest } from '../../src/kmip/requests';
import { makeTestPki } from '../support/pki';
import { startTestServer } from '../support/server';

t.test('binary TTLV over mutual TLS: call, batch, and queued concurrent requests', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-socket-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = makeTestPki(dir, 'socket-user');
  const server = await startTestServer(t, { tlsCert: pki.serverCert, tlsKey: pki.serverKey, clientCa: pki.caCert, socketPort: 0 });
  t.ok(server.socketPort);
  const client = new KmipSocketClient({
    host: '127.0.0.1',
    port: server.socketPort as number,
    tls: { ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), servername: 'localhost' },
  });
  t.teardown(() => client.close());

  const key = await client.create({ algorithm: 'AES', length: 128 });
  const enc = await client.encrypt(key, Buffer.from('over the socket'), { mode: 'GCM' });
  t.same(await client.decrypt(key, enc.data, { mode: 'GCM', iv: enc.iv as Buffer, tag: enc.tag as Buffer }), Buffer.from('over the socket'));

  // Ten at once: one in flight per connection, the rest queue, every answer reaches its caller.
  const lengths = await Promise.all(Array.from({ length: 10 }, (_, i) => client.rng(i + 1).then((b) => b.length)));
  t.same(lengths, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

  const results = await client.batch([getRequest('missing'), getRequest(key)], { continueOnError: true });
  t.same(results.map((r) => r.ok), [false, true]);
  await t.rejects(client.get('missing'), { name: 'KmipError' });

  const noCert = new KmipSocketClient({ host: '127.0.0.1', port: server.socketPort as number, tls: { ca: readFileSync(pki.caCert), servername: 'localhost' }, requestTimeoutMs: 2000 });
  await t.rejects(noCert.query(), { name: 'KmipTransportError' }, 'no client certificate, no service');
  await noCert.close();
});
