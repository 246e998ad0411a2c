import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmipClient } from '../../src/kmip/client';
import { KmipSocketClient } from '../../src/kmip/client-socket';
import { sha256 } from '../../src/server/auth/api-tokens';
import { startServer, type ServerOptions } from '../../src/server/main';
import { makeTestPki } from '../support/pki';
import { startTestServer, type TestServer } from '../support/server';
import { reasonOf } from '../support/client';
import { startIssuer } from '../support/jwt-issuer';
import { grant } from '../support/two-users';

/**
 * Issue 11 item 3: identities cannot collide across authentication methods. Each method names
 * users in its own namespace (src/server/auth/user-names.ts): API tokens plain, JWTs
 * jwt:<verified email | sub>, client certificates cert:<CN>.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

function clientFor(t: Teardown, url: string, accessToken: string): KmipClient {
  const c = new KmipClient({ url, accessToken });
  t.teardown(() => c.close());
  return c;
}

async function getAudit(server: TestServer, token: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${server.url}/audit`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text() };
}

const ADMIN_TOKEN = randomBytes(16).toString('hex');
const ALICE_TOKEN = randomBytes(16).toString('hex');

t.test('attack: a JWT with email "admin" and email_verified false reads GET /audit', async (t) => {
  const issuer = await startIssuer(t);
  const server = await startTestServer(t, { jwtIssuerUri: issuer.base, apiTokens: [`admin:${ADMIN_TOKEN}`] });
  t.equal((await getAudit(server, ADMIN_TOKEN)).status, 200, 'the control: the API-token admin reads the audit');

  const unverified = await getAudit(server, await issuer.sign({ sub: 'mallory-1', email: 'admin', email_verified: false }));
  t.equal(unverified.status, 403, 'email_verified false: 403');
  t.equal(unverified.text, 'Permission_Denied: jwt:mallory-1 is not an admin of this server; the audit is for admins only', 'the user is jwt:<sub>; the unverified email is ignored');

  const silent = await getAudit(server, await issuer.sign({ sub: 'mallory-2', email: 'admin' }));
  t.equal(silent.status, 403, 'no email_verified at all: 403 too');
  t.match(silent.text, /^Permission_Denied: jwt:mallory-2 is not an admin/);

  const verified = await getAudit(server, await issuer.sign({ sub: 'mallory-3', email: 'admin', email_verified: true }));
  t.equal(verified.status, 403, 'even a verified email "admin" is jwt:admin, not the admin');
  t.match(verified.text, /^Permission_Denied: jwt:admin is not an admin/);

  const bySub = await getAudit(server, await issuer.sign({ sub: 'admin' }));
  t.equal(bySub.status, 403, 'sub "admin" is jwt:admin, not the admin');
});

t.test('attack: a JWT with sub "alice" acts as the API-token user alice', async (t) => {
  const issuer = await startIssuer(t);
  const server = await startTestServer(t, { jwtIssuerUri: issuer.base, apiTokens: [`alice:${ALICE_TOKEN}`] });
  const alice = clientFor(t, server.url, ALICE_TOKEN);
  const jwtAlice = clientFor(t, server.url, await issuer.sign({ sub: 'alice' }));
  const jwtAliceByEmail = clientFor(t, server.url, await issuer.sign({ sub: 'x-1', email: 'alice', email_verified: true }));
  const uid = await alice.create({ algorithm: 'AES', length: 256 });

  for (const [what, impostor] of [['sub alice', jwtAlice], ['verified email alice', jwtAliceByEmail]] as const) {
    t.notOk((await impostor.locate()).includes(uid), `${what}: Locate does not list alice's key`);
    t.equal(await reasonOf(impostor.get(uid)), 'Object_Not_Found', `${what}: Get of alice's key is Object_Not_Found`);
    t.equal(await reasonOf(impostor.rest('GET', `/access/list/${uid}`)), 'Object_Not_Found', `${what}: nor can it list the key's grants`);
  }
  const mine = await jwtAlice.create({ algorithm: 'AES', length: 128 });
  t.notOk((await alice.locate()).includes(mine), 'and the other way round: API-token alice does not see jwt:alice\'s key');
});

t.test('attack: a JWT without exp is accepted and never expires', async (t) => {
  const issuer = await startIssuer(t);
  const server = await startTestServer(t, { jwtIssuerUri: issuer.base });
  const query = (token: string): Promise<Response> => fetch(`${server.url}/kmip/2_1`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{"tag":"Query","value":[]}' });
  t.equal((await query(await issuer.sign({ sub: 'erin' }))).status, 200, 'the control: the same token with exp passes');
  const res = await query(await issuer.sign({ sub: 'erin' }, { expiresIn: null }));
  t.equal(res.status, 401, 'no exp: 401');
  t.equal(await res.text(), 'Authentication_Not_Successful: the token has no exp claim; tokens that never expire are refused', 'the reason says why');
  t.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
});

t.test('a verified email is the user jwt:<email>: grants, admins and the audit name it so', async (t) => {
  const issuer = await startIssuer(t);
  const server = await startTestServer(t, { jwtIssuerUri: issuer.base, apiTokens: [`alice:${ALICE_TOKEN}`], admins: ['jwt:dana@example.com'] });
  const alice = clientFor(t, server.url, ALICE_TOKEN);
  const danaToken = await issuer.sign({ sub: 'u-1', email: 'dana@example.com', email_verified: true });
  const dana = clientFor(t, server.url, danaToken);
  const pretender = clientFor(t, server.url, await issuer.sign({ sub: 'u-2', email: 'dana@example.com', email_verified: false }));
  const uid = await alice.create({ algorithm: 'AES', length: 256 });

  await grant(alice, uid, 'jwt:dana@example.com', ['get']);
  t.equal((await dana.get(uid)).bytes?.length, 32, 'a grant to jwt:dana@example.com reaches the token with that verified email');
  t.equal(await reasonOf(pretender.get(uid)), 'Object_Not_Found', 'an unverified token with the same email does not');

  const audit = await getAudit(server, danaToken);
  t.equal(audit.status, 200, '--admin jwt:dana@example.com reads the audit');
  const records = JSON.parse(audit.text) as { user: string; operation: string }[];
  t.ok(records.some((r) => r.user === 'jwt:dana@example.com' && r.operation === 'Get'), 'and the audit records dana as jwt:dana@example.com');
  t.equal((await getAudit(server, ALICE_TOKEN)).status, 403, 'API-token alice is no admin');
});

t.test('attack: a client certificate with CN "alice" acts as the API-token user alice', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-attack-cn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = makeTestPki(dir, 'alice');
  const server = await startTestServer(t, { tlsCert: pki.serverCert, tlsKey: pki.serverKey, clientCa: pki.caCert, socketPort: 0, apiTokens: [`alice:${ALICE_TOKEN}`], admins: ['cert:alice'] });
  const ca = readFileSync(pki.caCert);
  const clientCert = { cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) };
  const byToken = new KmipClient({ url: server.url, tls: { ca }, accessToken: ALICE_TOKEN });
  const byCert = new KmipClient({ url: server.url, tls: { ca, ...clientCert } });
  const bySocket = new KmipSocketClient({ host: '127.0.0.1', port: server.socketPort as number, tls: { ca, ...clientCert, servername: 'localhost' } });
  t.teardown(() => Promise.all([byToken.close(), byCert.close(), bySocket.close()]));

  const tokenKey = await byToken.create({ algorithm: 'AES', length: 256 });
  t.equal(await reasonOf(byCert.get(tokenKey)), 'Object_Not_Found', "CN alice cannot Get API-token alice's key");
  t.notOk((await byCert.locate()).includes(tokenKey), 'nor list it');
  const certKey = await byCert.create({ algorithm: 'AES', length: 256 });
  t.equal(await reasonOf(byToken.get(certKey)), 'Object_Not_Found', "API-token alice cannot Get cert:alice's key");
  t.ok((await bySocket.locate()).includes(certKey), 'the same certificate on the TLS socket port is the same user, cert:alice');

  const audit = (await byCert.rest('GET', '/audit')) as { user: string; operation: string }[];
  t.ok(audit.some((r) => r.user === 'cert:alice' && r.operation === 'Create'), '--admin cert:alice reads the audit, where the certificate user is cert:alice');
  t.ok(audit.some((r) => r.user === 'alice' && r.operation === 'Create'), 'and the token user plain alice');
  t.equal(await reasonOf(byToken.rest('GET', '/audit')), 'Permission_Denied', 'API-token alice is not the admin cert:alice');
});

t.test("attack: an API-token line names another method's user (jwt:…, cert:…, *)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-attack-names-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const digest = sha256('some-token-0123456789').toString('hex');
  // Refused before anything listens; a server that did start is closed at once.
  const start = async (opts: ServerOptions): Promise<void> => {
    const s = await startServer({ port: 0, dbPath: join(dir, 'kms.sqlite'), logLevel: 'silent', ...opts });
    await s.close();
  };
  for (const name of ['jwt:dana@example.com', 'cert:alice', '*']) {
    const file = join(dir, `${name.replace(/\W/g, '_')}.tokens`);
    writeFileSync(file, `alice ${sha256('alice-token').toString('hex')}\n${name} ${digest}\n`);
    await t.rejects(start({ apiTokensFile: file }), { message: new RegExp(`line 2: .*${name === '*' ? 'every user' : 'cannot contain ":"'}`) }, `a tokens file line naming ${name} stops the start`);
  }
  await t.rejects(start({ apiTokens: ['*:some-token-0123456789'] }), { message: /--api-token: "\*" means every user/ }, '--api-token *:… stops the start');
  await t.rejects(start({ apiTokens: [`alice:${ALICE_TOKEN}`], admins: ['JWT:dana@example.com'] }), { message: /--admin JWT:dana@example.com: .* names no user/ }, 'an admin name no method produces stops the start');

  const server = await startTestServer(t, { apiTokens: [`alice:${ALICE_TOKEN}`] });
  const alice = clientFor(t, server.url, ALICE_TOKEN);
  const uid = await alice.create({ algorithm: 'AES', length: 128 });
  const wrong = await reasonOf(grant(alice, uid, 'jwt:', ['get']));
  t.equal(wrong, 'Invalid_Field', 'a grant to "jwt:" (a prefix and no name) is refused');
  t.equal(await reasonOf(grant(alice, uid, 'Cert:bob', ['get'])), 'Invalid_Field', 'so is a grant to a prefix no method has');
  t.equal(await reasonOf(grant(alice, uid, 'cert:bob', ['get'])), 'no error', 'a grant to cert:bob is fine');
});
