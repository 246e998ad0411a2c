import t, { type Test } from 'tap';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { T } from '../../src/kmip/ttlv';
import { decodeJsonText, encodeJsonText } from '../../src/kmip/json-codec';
import { parseServerConfig } from '../../src/server/config-file';
import { CONFIG_KEYS } from '../../src/server/config-keys';
import { freePort } from '../support/module';
import { serveWithConfig } from '../support/kms-process';
import { makeTestPki } from '../support/pki';
import { REPO_ROOT } from '../support/server';

/**
 * Cosmian's documented kms.toml examples (test/server/cosmian-config/, each citing its page)
 * start a real `p11kms --config FILE serve` process, which then answers KMIP. Only the listening
 * address is changed, to a free loopback port.
 */

const FIXTURES = join(REPO_ROOT, 'test', 'server', 'cosmian-config');

interface Started {
  url: string;
  stderr(): string;
}

/** A fixture copied to a fresh directory with its [http] on a free loopback port. */
async function prepare(t: Test, fixture: string): Promise<{ dir: string; file: string; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-cosmian-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  let text = readFileSync(join(FIXTURES, fixture), 'utf8');
  if (/^\[http\]$/m.test(text)) {
    text = text.replace(/^port = \d+$/m, `port = ${port}`).replace(/^hostname = ".*"$/m, 'hostname = "127.0.0.1"');
  } else {
    text += `\n[http]\nport = ${port}\nhostname = "127.0.0.1"\n`;
  }
  const file = join(dir, 'kms.toml');
  writeFileSync(file, text);
  return { dir, file, port };
}

async function start(t: Test, fixture: string): Promise<Started> {
  const { dir, file, port } = await prepare(t, fixture);
  const serve = serveWithConfig(t, file, { P11KMS_DATA_DIR: dir });
  const url = `http://127.0.0.1:${port}`;
  const ready = await serve.ready(url);
  t.ok(ready, `p11kms serve started from ${fixture}`) || t.comment(serve.stderr());
  return { url, stderr: serve.stderr };
}

async function post(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/kmip/2_1`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: encodeJsonText(body as never) });
  return { status: res.status, text: await res.text() };
}

/** The one info line `serve` writes about the Cosmian settings it ignores, as a list of dotted paths. */
function ignoredLine(stderr: string): string[] | undefined {
  const line = stderr.split('\n').find((l) => l.includes('Cosmian settings without a meaning in p11kms are ignored'));
  if (line === undefined) return undefined;
  const parsed = JSON.parse(line) as { level: string; ignored: string };
  return parsed.level === 'info' ? parsed.ignored.split(', ') : undefined;
}

async function answersKmip(t: Test, url: string): Promise<void> {
  const query = await post(url, T.struct('Query', [T.enum('QueryFunction', 'QueryServerInformation')]));
  t.equal(query.status, 200, 'Query answers');
  t.match(query.text, /"VendorIdentification","type":"TextString","value":"cosmian"/, 'as a Cosmian-compatible server');
  const create = await post(url, T.struct('Create', [T.enum('ObjectType', 'SymmetricKey'), T.struct('Attributes', [
    T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256), T.int('CryptographicUsageMask', 12),
  ])]));
  t.equal(create.status, 200, 'and creates a key in its database');
}

t.test('Cosmian\'s documented kms.toml starts p11kms, which names the settings it ignores', async (t) => {
  const { url, stderr } = await start(t, 'server_configuration_file.toml');
  await answersKmip(t, url);
  const ignored = ignoredLine(stderr());
  t.ok(ignored, 'one info line names the ignored settings');
  for (const key of ['force_default_username', 'info', 'db.clear_database', 'logging.quiet', 'logging.log_to_syslog', 'logging.ansi_colors',
    'google_cse_config', 'azure_ekm_config', 'aws_xks_config', 'notifications', 'jwks_endpoint', 'vault', 'roles.crypto_officer_require_ceremony',
    'auth_verifier.auth_verifier_accept_invalid_certs']) {
    t.ok(ignored?.includes(key), `${key} is named as ignored`);
  }
  t.notOk(ignored?.includes('db.database_type'), 'what p11kms reads is not listed as ignored');
  t.equal(stderr().split('\n').filter((l) => l.includes('are ignored')).length, 1, 'exactly one line');
});

t.test('the earlier revision of the same page starts it too', async (t) => {
  const { url, stderr } = await start(t, 'server_configuration_file_earlier.toml');
  await answersKmip(t, url);
  t.ok(ignoredLine(stderr())?.includes('ui_config'), '[ui_config] is ignored');
});

t.test('the UI\'s OIDC example and the logging example start it', async (t) => {
  for (const [fixture, keys] of [
    ['ui_oidc.toml', ['kms_public_url', 'ui_config']],
    ['logging_jaeger.toml', ['logging.otlp', 'logging.quiet']],
  ] as const) {
    await t.test(fixture, async (t) => {
      const { url, stderr } = await start(t, fixture);
      await answersKmip(t, url);
      const ignored = ignoredLine(stderr());
      for (const key of keys) t.ok(ignored?.includes(key), `${key} is named as ignored`);
    });
  }
});

t.test('the JWT example is read: a request without a token is refused', async (t) => {
  // Several audiences are any-of in Cosmian; p11kms checks them the same way.
  const parsed = parseServerConfig(readFileSync(join(FIXTURES, 'authentication_jwt.toml'), 'utf8'), '/etc/cosmian/kms.toml');
  t.same(parsed.options.jwtAudience, ['cosmian_kms', 'another_client_id'], 'both audiences');
  t.equal(parsed.options.jwtIssuerUri, 'https://accounts.google.com');
  t.equal(parsed.options.jwksUri, 'https://www.googleapis.com/oauth2/v3/certs');
  const { url, stderr } = await start(t, 'authentication_jwt.toml');
  const query = await post(url, T.struct('Query', [T.enum('QueryFunction', 'QueryServerInformation')]));
  t.equal(query.status, 401, 'no token: 401, so [idp_auth] was read, not ignored');
  t.equal(ignoredLine(stderr()), undefined, 'nothing ignored');
});

t.test('the certificate-and-JWT example starts an HTTPS server that takes client certificates', async (t) => {
  const { dir, file, port } = await prepare(t, 'authentication_cert_and_jwt.toml');
  const pki = makeTestPki(dir, 'alice');
  // The names the page uses, beside the file (relative paths are relative to it, as in Cosmian).
  copyFileSync(pki.serverCert, join(dir, 'server.crt'));
  copyFileSync(pki.serverKey, join(dir, 'server.key'));
  copyFileSync(pki.caCert, join(dir, 'client_ca.cert.pem'));
  const serve = serveWithConfig(t, file, { P11KMS_DATA_DIR: dir });
  const url = `https://127.0.0.1:${port}`;
  const withCert = new Agent({ connect: { ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } });
  t.teardown(() => withCert.close());
  let up = false;
  for (let i = 0; i < 150 && !up; i++) {
    up = await undiciFetch(`${url}/version`, { dispatcher: withCert }).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(up, 'HTTPS answers') || t.comment(serve.stderr());
  const query = await undiciFetch(`${url}/kmip/2_1`, {
    method: 'POST', dispatcher: withCert, headers: { 'Content-Type': 'application/json' },
    body: encodeJsonText(T.struct('Query', [T.enum('QueryFunction', 'QueryServerInformation')])),
  });
  t.equal(query.status, 200, 'a client certificate signed by clients_ca_cert_file authenticates');
  const info = decodeJsonText(await query.text());
  t.equal(info.tag, 'QueryResponse');
  const noCert = new Agent({ connect: { ca: readFileSync(pki.caCert) } });
  t.teardown(() => noCert.close());
  const anonymous = await undiciFetch(`${url}/kmip/2_1`, {
    method: 'POST', dispatcher: noCert, headers: { 'Content-Type': 'application/json' },
    body: encodeJsonText(T.struct('Query', [T.enum('QueryFunction', 'QueryServerInformation')])),
  }).then((r) => r.status, () => 'refused');
  t.not(anonymous, 200, 'without a certificate or a token, no answer');
});

t.test('a key unknown to both servers stops the start, naming it; so does a setting p11kms cannot honour', async (t) => {
  for (const [edit, expected] of [
    [(text: string) => text.replace('[http]\n', '[http]\nprot = 9998\n'), /unknown key http\.prot/],
    [(text: string) => text.replace('[logging]\n', '[logging]\nrust_logg = "debug"\n'), /unknown key logging\.rust_logg/],
    [(text: string) => text + '\n[nonsense]\nx = 1\n', /unknown key nonsense/],
    [(text: string) => text.replace('[http]\n', '[http]\napi_token_id = "a-key-uid"\n'), /http\.api_token_id is not supported/],
    [(text: string) => text.replace('[roles]\n', '[roles]\ncrypto_officer_users = ["alice"]\n'), /roles\.crypto_officer_users is not supported/],
  ] as const) {
    const { dir, file } = await prepare(t, 'server_configuration_file.toml');
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
    const serve = serveWithConfig(t, file, { P11KMS_DATA_DIR: dir });
    const code = await serve.exited;
    t.not(code, 0, `the start stops (${String(expected)})`);
    t.match(serve.stderr(), expected, 'and the error names the key');
  }
});

t.test('every key of the table is classified once, with a reason for each refusal', async (t) => {
  for (const [path, rule] of Object.entries(CONFIG_KEYS)) {
    if (rule.kind === 'refused') t.ok(rule.why.length > 10 && rule.allows(undefined), `${path}: refused with a reason, absent is fine`);
    if (rule.kind === 'read') t.ok(rule.as.length > 0, `${path}: says what it becomes`);
  }
  t.end();
});
