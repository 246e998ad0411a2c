import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki } from '../support/pki';
import { startTestServer } from '../support/server';
import { freePort, moduleEnv, pkcs11Tool, startModuleFixture, writeSlotConfig, type ModuleFixture } from '../support/module';
import { KmipClient } from '../../src/kmip/client';
import { startIssuer } from '../support/jwt-issuer';

/**
 * login = "pin-unlocks-key": the PIN is the passphrase of the client key that opens the
 * mutual-TLS connection to the KMS (here the KMS's own binary TTLV port). A wrong PIN is
 * CKR_PIN_INCORRECT at C_Login; before login the token shows nothing and does nothing.
 */
t.test('the PIN unlocks the client key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-login-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = makeTestPki(dir, 'p11-user');
  const server = await startTestServer(t, { port: 0, socketPort: 0, tlsCert: pki.serverCert, tlsKey: pki.serverKey, clientCa: pki.caCert });
  const lockedKey = join(dir, 'client-locked.pem');
  execFileSync('openssl', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', pki.clientKey, '-out', lockedKey, '-passout', 'pass:open sesame']);
  const confPath = join(dir, 'p11kms.toml');
  writeFileSync(confPath, [
    'timeout_ms = 5000',
    '[[slot]]',
    'label = "mtls"',
    `urls = ["kmips://127.0.0.1:${server.socketPort}"]`,
    `client_cert = "${pki.clientCert}"`,
    `client_key = "${lockedKey}"`,
    `ca_cert = "${pki.caCert}"`,
    'login = "pin-unlocks-key"',
  ].join('\n') + '\n');
  const f: ModuleFixture = { server: { url: server.url }, dir, confPath, logPath: join(dir, 'module.log'), env: moduleEnv({ P11KMS_CONF: confPath, P11KMS_LOG: 'debug', P11KMS_LOG_FILE: join(dir, 'module.log'), HOME: dir }) };

  const slots = await pkcs11Tool(f, ['-L']);
  t.equal(slots.code, 0, slots.stderr);
  t.match(slots.stdout, /token flags\s+: login required, rng, token initialized, PIN initialized/, 'the token asks for a login');

  const wrong = await pkcs11Tool(f, ['--login', '--pin', 'open barley', '-O']);
  t.not(wrong.code, 0, 'a wrong PIN fails');
  t.match(wrong.stderr, /CKR_PIN_INCORRECT/, 'and says CKR_PIN_INCORRECT');

  const before = await pkcs11Tool(f, ['--keygen', '--key-type', 'AES:32', '--label', 'nope']);
  t.not(before.code, 0, 'nothing is created without a login');

  const made = await pkcs11Tool(f, ['--login', '--pin', 'open sesame', '--keygen', '--key-type', 'AES:32', '--label', 'behind-mtls', '--id', '07']);
  t.equal(made.code, 0, `the right PIN opens the KMS: ${made.stderr}`);
  const listed = await pkcs11Tool(f, ['--login', '--pin', 'open sesame', '-O', '--type', 'secrkey']);
  t.match(listed.stdout, /label:\s+behind-mtls/, 'the key is on the KMS, reached over mutual TLS');
  const hidden = await pkcs11Tool(f, ['-O', '--type', 'secrkey']);
  t.notMatch(hidden.stdout, /behind-mtls/, 'private objects stay hidden before login');
});

/**
 * login = "pin-is-token" against a server with --api-token: the PIN is the bearer token and
 * C_Login proves it with one KMIP request, so the server's 401 for a wrong token is
 * CKR_PIN_INCORRECT at C_Login, and an unreachable KMS is CKR_DEVICE_ERROR. Neither token
 * reaches the module log.
 */
t.test('the PIN is the bearer token, checked by the KMS at C_Login', async (t) => {
  const token = 'ivy-token-7d1e5a0b93c4f826';
  const wrongToken = 'ivy-token-7d1e5a0b93c4f827';
  const f = await startModuleFixture(t, { login: 'pin-is-token', label: 'tokens' }, { apiTokens: [`ivy:${token}`, 'jon:jon-token-0a1b2c3d4e5f'] });

  const slots = await pkcs11Tool(f, ['-L']);
  t.match(slots.stdout, /token flags\s+: login required/, 'the token asks for a login');

  const wrong = await pkcs11Tool(f, ['--login', '--pin', wrongToken, '-O']);
  t.not(wrong.code, 0, 'a token the KMS refuses fails the login');
  t.match(wrong.stderr, /CKR_PIN_INCORRECT/, 'with CKR_PIN_INCORRECT, at C_Login');

  t.not((await pkcs11Tool(f, ['--keygen', '--key-type', 'AES:32', '--label', 'nope'])).code, 0, 'nothing is created without a login');
  const made = await pkcs11Tool(f, ['--login', '--pin', token, '--keygen', '--key-type', 'AES:32', '--label', 'ivy-key', '--id', '0b']);
  t.equal(made.code, 0, `the right token logs in: ${made.stderr}`);
  t.match((await pkcs11Tool(f, ['--login', '--pin', token, '-O', '--type', 'secrkey'])).stdout, /label:\s+ivy-key/, 'and sees its key');

  const asIvy = new KmipClient({ url: f.server.url, accessToken: token });
  const asJon = new KmipClient({ url: f.server.url, accessToken: 'jon-token-0a1b2c3d4e5f' });
  t.teardown(() => Promise.all([asIvy.close(), asJon.close()]));
  t.equal((await asIvy.locate({ name: 'ivy-key' })).length, 1, "the key belongs to the token's user on the KMS");
  t.equal((await asJon.locate({ name: 'ivy-key' })).length, 0, 'another user does not see it');

  const log = readFileSync(f.logPath, 'utf8');
  t.match(log, /C_Login/, 'the module logged the logins');
  t.notOk(log.includes(token) || log.includes(wrongToken), 'but neither token');

  writeSlotConfig(f.confPath, [`http://127.0.0.1:${await freePort()}`], { login: 'pin-is-token', label: 'tokens' });
  const down = await pkcs11Tool(f, ['--login', '--pin', token, '-O']);
  t.not(down.code, 0, 'an unreachable KMS fails the login');
  t.match(down.stderr, /CKR_DEVICE_ERROR/, 'with CKR_DEVICE_ERROR, not CKR_PIN_INCORRECT');
});

/**
 * login = "pin-is-token" with a JWT as the PIN: the module's user is the token's jwt:<verified
 * email>, the same user as any client with a token of that email, and not the API-token user
 * spelt like the email (issue 11 item 3).
 */
t.test('the PIN is a JWT: the user is jwt:<verified email>, apart from API-token users', async (t) => {
  const issuer = await startIssuer(t);
  const danaApiToken = 'dana-api-token-4b2e90c1d7';
  const f = await startModuleFixture(t, { login: 'pin-is-token', label: 'jwt' }, { jwtIssuerUri: issuer.base, apiTokens: [`dana@example.com:${danaApiToken}`] });
  const jwt = await issuer.sign({ sub: 'u-7', email: 'dana@example.com', email_verified: true }, { expiresIn: '10m' });

  const made = await pkcs11Tool(f, ['--login', '--pin', jwt, '--keygen', '--key-type', 'AES:32', '--label', 'dana-key', '--id', '0d']);
  t.equal(made.code, 0, `a JWT logs in: ${made.stderr}`);
  const asJwt = new KmipClient({ url: f.server.url, accessToken: await issuer.sign({ sub: 'u-8', email: 'dana@example.com', email_verified: true }) });
  const asApiToken = new KmipClient({ url: f.server.url, accessToken: danaApiToken });
  t.teardown(() => Promise.all([asJwt.close(), asApiToken.close()]));
  const [uid] = await asJwt.locate({ name: 'dana-key' });
  t.ok(uid, 'another JWT with the same verified email owns the key the module made');
  t.same(await asApiToken.locate({ name: 'dana-key' }), [], 'the API-token user named dana@example.com does not see it');
  await asJwt.rest('POST', '/access/grant', { unique_identifier: uid, user_id: 'dana@example.com', operation_types: ['get'] });
  t.same(await asApiToken.locate({ name: 'dana-key' }), [uid], 'until jwt:dana@example.com grants it to that user');
  t.notOk(readFileSync(f.logPath, 'utf8').includes(jwt), 'the JWT never reaches the module log');
});
