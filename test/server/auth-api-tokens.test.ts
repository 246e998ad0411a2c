import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/module';
import { REPO_ROOT } from '../support/server';
import { KmipClient } from '../../src/kmip/client';
import { startTestServer } from '../support/server';
import { reasonOf } from '../support/client';

/** API tokens: --api-token user:token, or a file of SHA-256 digests; the token decides the user. */

const ALICE = 'alice-token-5f2b8c0e9d7a4f1b';
const BOB = 'bob-token-1c9e7d3a2b8f6e40';
const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');

t.test('tokens from the flag and from a digest file authenticate their users; anything else is 401', async (t) => {
  const probe = await startTestServer(t);
  const tokensFile = join(probe.dir, 'tokens');
  writeFileSync(tokensFile, `# user sha256(token)\n\nbob ${sha256hex(BOB)}\n`);
  const server = await startTestServer(t, { apiTokens: [`alice:${ALICE}`], apiTokensFile: tokensFile });
  const clientFor = (accessToken?: string): KmipClient => {
    const c = new KmipClient({ url: server.url, ...(accessToken !== undefined ? { accessToken } : {}) });
    t.teardown(() => c.close());
    return c;
  };
  const alice = clientFor(ALICE);
  const bob = clientFor(BOB);

  const aliceKey = await alice.create({ algorithm: 'AES', length: 256 });
  t.ok(aliceKey, 'alice (token on the command line) creates a key');
  t.ok(await bob.create({ algorithm: 'AES', length: 128 }), 'bob (digest in the tokens file) creates a key');
  t.ok((await alice.locate()).includes(aliceKey), "alice's key is alice's");
  t.notOk((await bob.locate()).includes(aliceKey), "bob does not see alice's key: each token is its own user");

  t.equal(await reasonOf(clientFor().create({ algorithm: 'AES', length: 256 })), 'Authentication_Not_Successful', 'no token: refused');
  t.equal(await reasonOf(clientFor('alice-token-5f2b8c0e9d7a4f1c').create({ algorithm: 'AES', length: 256 })), 'Authentication_Not_Successful', 'a near miss: refused');
  t.equal(await reasonOf(clientFor(sha256hex(BOB)).locate()), 'Authentication_Not_Successful', "the file's digest is not itself a token");
});

t.test('what a 401 looks like, and which routes stay open', async (t) => {
  const server = await startTestServer(t, { apiTokens: [`alice:${ALICE}`] });
  const body = JSON.stringify({ tag: 'Query', value: [] });
  const post = (headers: Record<string, string>): Promise<Response> => fetch(`${server.url}/kmip/2_1`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });

  const none = await post({});
  t.equal(none.status, 401, 'no credentials: 401');
  t.equal(none.headers.get('www-authenticate'), 'Bearer realm="p11kms"', 'with a Bearer challenge');
  t.match(await none.text(), /^Authentication_Not_Successful: authentication required/, 'and the reason as text');

  const secret = 'wrong-token-that-must-not-echo';
  const wrong = await post({ Authorization: `Bearer ${secret}` });
  t.equal(wrong.status, 401);
  t.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="p11kms", error="invalid_token"', 'a refused token is invalid_token (RFC 6750)');
  const text = await wrong.text();
  t.match(text, /not valid/);
  t.notMatch(text, /must-not-echo/, 'the token is never echoed');

  t.equal((await post({ Authorization: `Basic ${Buffer.from(`alice:${ALICE}`).toString('base64')}` })).status, 401, 'only Bearer is understood');
  t.equal((await post({ Authorization: `Bearer ${ALICE}` })).status, 200, 'the right token: 200');

  t.equal((await fetch(`${server.url}/version`)).status, 200, '/version needs no credentials');
  t.equal((await fetch(`${server.url}/health`)).status, 200, '/health needs no credentials (load balancers)');
  t.equal((await fetch(`${server.url}/hsm/status`)).status, 401, '/hsm/status does');
  t.equal((await fetch(`${server.url}/hsm/status`, { headers: { Authorization: `Bearer ${ALICE}` } })).status, 200, '/hsm/status with a token');
});

t.test('without authentication configured every request runs as the default user, as before', async (t) => {
  const server = await startTestServer(t, { defaultUser: 'carol' });
  const anonymous = new KmipClient({ url: server.url });
  const withToken = new KmipClient({ url: server.url, accessToken: 'anything' });
  t.teardown(() => Promise.all([anonymous.close(), withToken.close()]));
  const uid = await anonymous.create({ algorithm: 'AES', length: 256 });
  t.ok((await withToken.locate()).includes(uid), 'a token is ignored: both are the default user');
});

t.test('a malformed tokens file or token stops the start', async (t) => {
  const probe = await startTestServer(t);
  const bad = join(probe.dir, 'bad-tokens');
  writeFileSync(bad, 'alice not-a-digest\n');
  await t.rejects(startTestServer(t, { apiTokensFile: bad }), /line 1: expected "<user> <sha256/);
  await t.rejects(startTestServer(t, { apiTokens: ['no-colon-here'] }), /--api-token must be <user>:<token>/);
  const empty = join(probe.dir, 'empty-tokens');
  writeFileSync(empty, '# nobody yet\n');
  const locked = await startTestServer(t, { apiTokensFile: empty });
  t.equal((await locked.post('/kmip/2_1', '{"tag":"Query","value":[]}')).status, 401, 'a tokens file listing nobody locks everyone out; it does not turn authentication off');
  await t.rejects(startTestServer(t, { apiTokens: [`a:${ALICE}`, `b:${ALICE}`] }), /the same token is given twice/);
});

t.test('p11kms serve --api-token with a worker: the worker holds only the digest', async (t) => {
  const probe = await startTestServer(t);
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', String(port), '--db', join(probe.dir, 'cli.sqlite'), '--workers', '1', '--log-level', 'error', '--api-token', `alice:${ALICE}`], { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } });
  t.teardown(() => { child.kill('SIGTERM'); });
  const url = `http://127.0.0.1:${port}`;
  const query = (headers: Record<string, string>): Promise<number> => fetch(`${url}/kmip/2_1`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"tag":"Query","value":[]}' }).then((r) => r.status);
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    up = await fetch(`${url}/version`).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(up, 'serve started');
  t.equal(await query({}), 401, 'the flag turns authentication on');
  t.equal(await query({ authorization: `Bearer ${ALICE}` }), 200, 'and the token is accepted by the worker');
  const workers = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  t.equal(workers.length, 1, 'one worker');
  const environ = readFileSync(`/proc/${workers[0]}/environ`, 'utf8');
  t.ok(environ.includes(sha256hex(ALICE)), "the worker's options carry the token's digest");
  t.notOk(environ.includes(ALICE), 'not the token');
});
