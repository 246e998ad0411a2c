import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmipClient, type KmipTlsOptions } from '../../src/kmip/client';
import { makeTestPki } from '../support/pki';
import { startTestServer } from '../support/server';
import { reasonOf } from '../support/client';

/** HTTPS with --client-ca: a certificate that CA signed authenticates as cert:<CN>; a bearer token still works. */

t.test('mutual TLS on HTTPS: cert:<the certificate CN> is the user', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-mtls-'));
  const otherDir = mkdtempSync(join(tmpdir(), 'p11kms-mtls-other-'));
  t.teardown(() => [dir, otherDir].forEach((d) => rmSync(d, { recursive: true, force: true })));
  const pki = makeTestPki(dir, 'gus');
  const foreign = makeTestPki(otherDir, 'gus');
  const server = await startTestServer(t, { tlsCert: pki.serverCert, tlsKey: pki.serverKey, clientCa: pki.caCert, apiTokens: ['hana:hana-token-3e8a1f0c2b'] });
  const ca = readFileSync(pki.caCert);
  const clientFor = (tls: KmipTlsOptions, accessToken?: string): KmipClient => {
    const c = new KmipClient({ url: server.url, tls: { ca, ...tls }, ...(accessToken !== undefined ? { accessToken } : {}) });
    t.teardown(() => c.close());
    return c;
  };
  const gus = clientFor({ cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) });
  const impostor = clientFor({ cert: readFileSync(foreign.clientCert), key: readFileSync(foreign.clientKey) });
  const hana = clientFor({}, 'hana-token-3e8a1f0c2b');
  const hanaWithForeignCert = clientFor({ cert: readFileSync(foreign.clientCert), key: readFileSync(foreign.clientKey) }, 'hana-token-3e8a1f0c2b');

  const uid = await gus.create({ algorithm: 'AES', length: 256 });
  t.ok((await gus.locate()).includes(uid), 'a certificate signed by --client-ca authenticates (CN gus)');
  t.equal(await reasonOf(clientFor({}).locate()), 'Authentication_Not_Successful', 'no certificate, no token: 401 (not a TLS failure)');
  t.equal(await reasonOf(impostor.locate()), 'Authentication_Not_Successful', 'the same CN from another CA: 401');
  t.notOk((await hana.locate()).includes(uid), 'a bearer token works on the same port, as its own user');
  t.notOk((await hanaWithForeignCert.locate()).includes(uid), 'a token decides the user whatever certificate comes with it');
  const hanaKey = await hana.create({ algorithm: 'AES', length: 128 });
  await hana.rest('POST', '/access/grant', { unique_identifier: hanaKey, user_id: 'cert:gus', operation_types: ['get'] });
  t.equal((await gus.get(hanaKey)).bytes?.length, 16, 'the certificate user is cert:gus: a grant to that name reaches it');

  const res = await fetch(server.url.replace('https:', 'http:') + '/health').then(() => 'answered', () => 'refused');
  t.equal(res, 'refused', 'still HTTPS only');
});
