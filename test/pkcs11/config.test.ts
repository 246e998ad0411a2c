import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, loadModuleConfig, type ModuleConfig } from '../../src/pkcs11/config';

/** A fake home, a fake /etc and an env with nothing of the real machine in it. */
interface Sandbox {
  root: string;
  home: string;
  etc: string;
  userConf: string;
  write(path: string, text: string): string;
  load(env?: NodeJS.ProcessEnv): ModuleConfig;
}

function sandbox(t: Test): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'p11kms-config-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const home = join(root, 'home');
  const etc = join(root, 'etc', 'p11kms', 'p11kms.toml');
  mkdirSync(home, { recursive: true });
  const write = (path: string, text: string): string => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  };
  return {
    root,
    home,
    etc,
    userConf: join(home, '.config', 'p11kms', 'p11kms.toml'),
    write,
    load: (env = {}) => loadModuleConfig(env, home, etc),
  };
}

const sha16 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);

/** Expect a ConfigError whose message names the file (when given) and the key. */
function rejects(t: Test, load: () => unknown, key: string, file?: string, pattern?: RegExp): void {
  try {
    load();
    t.fail(`expected a ConfigError for ${key}`);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    t.equal(e.key, key, `key ${key}: ${e.message}`);
    t.match(e.message, key);
    if (file !== undefined) {
      t.equal(e.path, file);
      t.ok(e.message.startsWith(file), 'message names the file');
    }
    if (pattern !== undefined) t.match(e.message, pattern);
  }
}

t.test('nothing configured: zero slots, defaults, source none', async (t) => {
  const s = sandbox(t);
  t.same(s.load(), {
    source: 'none',
    logLevel: 'off',
    logFile: join(s.home, '.local', 'state', 'p11kms', 'module.log'),
    timeoutMs: 10000,
    connectTimeoutMs: 3000,
    slots: [],
  });
  t.equal(s.load({ XDG_STATE_HOME: '/var/state' }).logFile, '/var/state/p11kms/module.log');
  t.equal(s.load({ XDG_STATE_HOME: 'relative' }).logFile, join(s.home, '.local', 'state', 'p11kms', 'module.log'), 'a relative XDG dir is ignored');
  const c = s.load({ P11KMS_LOG: 'DEBUG', P11KMS_LOG_FILE: '~/p11.log' });
  t.equal(c.logLevel, 'debug');
  t.equal(c.logFile, join(s.home, 'p11.log'));
  rejects(t, () => s.load({ P11KMS_LOG: 'verbose' }), 'P11KMS_LOG', undefined, /^environment: P11KMS_LOG: /);
});

t.test('environment only: one slot from P11KMS_SERVER_URL', async (t) => {
  const s = sandbox(t);
  const c = s.load({ P11KMS_SERVER_URL: 'http://127.0.0.1:9998' });
  t.equal(c.source, 'env');
  t.equal(c.path, undefined);
  t.same(c.slots, [{
    id: 0,
    label: 'p11kms',
    serial: sha16('p11kmshttp://127.0.0.1:9998'),
    urls: ['http://127.0.0.1:9998'],
    acceptInvalidCerts: false,
    tags: [],
    login: 'none',
    cacheTtlMs: 5000,
    localPublicKeyOps: true,
    showRevoked: false,
  }]);
  const full = s.load({ P11KMS_SERVER_URL: 'https://kms:9998', P11KMS_ACCESS_TOKEN: 'tok', P11KMS_TOKEN_LABEL: 'luks', P11KMS_LOG: 'info' });
  t.equal(full.slots[0]?.accessToken, 'tok');
  t.equal(full.slots[0]?.label, 'luks');
  t.equal(full.slots[0]?.serial, sha16('lukshttps://kms:9998'));
  t.equal(full.logLevel, 'info');
  t.equal(s.load({ P11KMS_SERVER_URL: '' }).source, 'none', 'an empty variable is unset');
  rejects(t, () => s.load({ P11KMS_SERVER_URL: 'ftp://kms' }), 'P11KMS_SERVER_URL');
  rejects(t, () => s.load({ P11KMS_SERVER_URL: 'not a url' }), 'P11KMS_SERVER_URL');
  rejects(t, () => s.load({ P11KMS_SERVER_URL: 'http://kms', P11KMS_TOKEN_LABEL: 'x'.repeat(33) }), 'P11KMS_TOKEN_LABEL');
});

const MINIMAL = '[[slot]]\nurls = ["http://file-kms:9998"]\n';

t.test('lookup order: P11KMS_CONF, user file, /etc, CKMS_CONF, environment', async (t) => {
  const s = sandbox(t);
  const explicit = s.write(join(s.root, 'explicit.toml'), '[[slot]]\nlabel = "explicit"\nurls = ["http://a:1"]\n');
  s.write(s.userConf, '[[slot]]\nlabel = "user"\nurls = ["http://b:1"]\n');
  s.write(s.etc, '[[slot]]\nlabel = "system"\nurls = ["http://c:1"]\n');
  const ckms = s.write(join(s.root, 'ckms.toml'), '[http_config]\nserver_url = "http://d:1"\n');
  const env = { P11KMS_CONF: explicit, CKMS_CONF: ckms, P11KMS_SERVER_URL: 'http://e:1' };

  const label = (c: ModuleConfig): string | undefined => c.slots[0]?.label;
  t.equal(label(s.load(env)), 'explicit');
  t.equal(s.load(env).path, explicit);
  t.equal(s.load(env).source, 'file');
  t.equal(label(s.load({ ...env, P11KMS_CONF: undefined })), 'user');
  t.equal(s.load({ ...env, P11KMS_CONF: '' }).path, s.userConf, 'an empty P11KMS_CONF is unset');
  rmSync(s.userConf);
  t.equal(label(s.load({ ...env, P11KMS_CONF: undefined })), 'system');
  t.equal(s.load({ ...env, P11KMS_CONF: undefined }).path, s.etc);
  rmSync(s.etc);
  const fromCkms = s.load({ CKMS_CONF: ckms, P11KMS_SERVER_URL: 'http://e:1' });
  t.equal(fromCkms.source, 'ckms');
  t.same(fromCkms.slots[0]?.urls, ['http://d:1']);
  t.equal(s.load({ P11KMS_SERVER_URL: 'http://e:1' }).source, 'env');
});

t.test('XDG_CONFIG_HOME moves the user file', async (t) => {
  const s = sandbox(t);
  const xdg = join(s.root, 'xdg');
  s.write(join(xdg, 'p11kms', 'p11kms.toml'), MINIMAL);
  t.equal(s.load({ XDG_CONFIG_HOME: xdg }).path, join(xdg, 'p11kms', 'p11kms.toml'));
  t.equal(s.load({ XDG_CONFIG_HOME: xdg }).source, 'file');
});

t.test('a named file that does not exist is an error, not a fallback', async (t) => {
  const s = sandbox(t);
  const missing = join(s.root, 'nope.toml');
  rejects(t, () => s.load({ P11KMS_CONF: missing, P11KMS_SERVER_URL: 'http://e:1' }), 'P11KMS_CONF', missing);
  rejects(t, () => s.load({ CKMS_CONF: missing, P11KMS_SERVER_URL: 'http://e:1' }), 'CKMS_CONF', missing);
});

t.test('a full p11kms.toml', async (t) => {
  const s = sandbox(t);
  const file = s.write(s.userConf, `
log_level = "info"
log_file = "logs/p11.log"
timeout_ms = 2500
connect_timeout_ms = 500

[[slot]]
label = "disks"
serial = "0001"
urls = ["https://kms1:9998", "kmips://kms2:5696"]
client_cert = "/pki/cert.pem"
client_key = "~/key.pem"
ca_cert = "ca.pem"
accept_invalid_certs = true
tags = ["disk-encryption", "prod"]
login = "pin-unlocks-key"
cache_ttl_ms = 0
local_public_key_ops = false
show_revoked = true

[[slot]]
urls = ["kmip://kms3:5696"]
access_token = "secret"
login = "pin-is-token"

[[slot]]
urls = ["http://kms4"]
client_pkcs12 = "/pki/c.p12"
client_pkcs12_password = ""
`);
  const dir = dirname(file);
  const c = s.load({ P11KMS_LOG: 'error', P11KMS_LOG_FILE: '/tmp/override.log' });
  t.equal(c.logLevel, 'error', 'P11KMS_LOG overrides log_level');
  t.equal(c.logFile, '/tmp/override.log', 'P11KMS_LOG_FILE overrides log_file');
  const d = s.load();
  t.equal(d.logLevel, 'info');
  t.equal(d.logFile, join(dir, 'logs', 'p11.log'), 'relative to the config file');
  t.equal(d.timeoutMs, 2500);
  t.equal(d.connectTimeoutMs, 500);
  t.same(d.slots[0], {
    id: 0,
    label: 'disks',
    serial: '0001',
    urls: ['https://kms1:9998', 'kmips://kms2:5696'],
    clientCertPath: '/pki/cert.pem',
    clientKeyPath: join(s.home, 'key.pem'),
    caCertPath: join(dir, 'ca.pem'),
    acceptInvalidCerts: true,
    tags: ['disk-encryption', 'prod'],
    login: 'pin-unlocks-key',
    cacheTtlMs: 0,
    localPublicKeyOps: false,
    showRevoked: true,
  });
  t.same(d.slots[1], {
    id: 1,
    label: 'p11kms-1',
    serial: sha16('p11kms-1kmip://kms3:5696'),
    urls: ['kmip://kms3:5696'],
    accessToken: 'secret',
    acceptInvalidCerts: false,
    tags: [],
    login: 'pin-is-token',
    cacheTtlMs: 5000,
    localPublicKeyOps: true,
    showRevoked: false,
  });
  t.equal(d.slots[2]?.label, 'p11kms-2');
  t.equal(d.slots[2]?.clientPkcs12Path, '/pki/c.p12');
  t.equal(d.slots[2]?.clientPkcs12Password, '', 'an empty PKCS#12 password is a password');
});

t.test('a file without [[slot]] shows zero slots', async (t) => {
  const s = sandbox(t);
  s.write(s.etc, 'log_level = "debug"\n');
  const c = s.load({ P11KMS_SERVER_URL: 'http://ignored:1' });
  t.equal(c.source, 'file');
  t.same(c.slots, []);
  t.equal(c.logLevel, 'debug');
});

t.test('the first slot defaults to label "p11kms" and a derived, stable serial', async (t) => {
  const s = sandbox(t);
  s.write(s.userConf, MINIMAL);
  const slot = s.load().slots[0];
  t.equal(slot?.label, 'p11kms');
  t.equal(slot?.serial, sha16('p11kmshttp://file-kms:9998'));
  t.match(slot?.serial, /^[0-9a-f]{16}$/);
});

t.test('every validation error names the file and the key', async (t) => {
  const s = sandbox(t);
  const cases: Array<[string, string, string, RegExp?]> = [
    ['unknown top-level key', 'log_lvl = "debug"\n' + MINIMAL, 'log_lvl', /unknown key/],
    ['unknown slot key', '[[slot]]\nurls = ["http://k"]\nurl = "http://k"\n', 'slot[0].url', /unknown key/],
    ['log_level value', 'log_level = "trace"\n', 'log_level', /off, error, info, debug/],
    ['log_level type', 'log_level = 3\n', 'log_level', /string/],
    ['log_file type', 'log_file = true\n', 'log_file', /string/],
    ['timeout type', 'timeout_ms = "10s"\n', 'timeout_ms', /integer/],
    ['timeout float', 'timeout_ms = 1.5\n', 'timeout_ms', /integer/],
    ['timeout zero', 'timeout_ms = 0\n', 'timeout_ms', /between/],
    ['timeout too large for setTimeout', 'timeout_ms = 2147483648\n', 'timeout_ms', /between/],
    ['connect timeout negative', 'connect_timeout_ms = -1\n', 'connect_timeout_ms', /between/],
    ['slot not an array of tables', 'slot = "x"\n', 'slot', /array of tables/],
    ['slot table', '[slot]\nurls = ["http://k"]\n', 'slot', /array of tables/],
    ['urls missing', '[[slot]]\nlabel = "x"\n', 'slot[0].urls', /required/],
    ['urls empty', '[[slot]]\nurls = []\n', 'slot[0].urls', /at least one/],
    ['urls a string', '[[slot]]\nurls = "http://k"\n', 'slot[0].urls', /array of strings/],
    ['urls item type', '[[slot]]\nurls = ["http://k", 5]\n', 'slot[0].urls[1]', /string/],
    ['url scheme', '[[slot]]\nurls = ["ftp://k"]\n', 'slot[0].urls[0]', /http, https, kmip or kmips/],
    ['url garbage', '[[slot]]\nurls = ["kms:9998"]\n', 'slot[0].urls[0]', /scheme|host|URL/],
    ['url without host', '[[slot]]\nurls = ["kmip://"]\n', 'slot[0].urls[0]', /no host/],
    ['label too long', `[[slot]]\nlabel = "${'é'.repeat(17)}"\nurls = ["http://k"]\n`, 'slot[0].label', /32 bytes/],
    ['label empty', '[[slot]]\nlabel = ""\nurls = ["http://k"]\n', 'slot[0].label', /empty/],
    ['label type', '[[slot]]\nlabel = 1\nurls = ["http://k"]\n', 'slot[0].label', /string/],
    ['serial too long', '[[slot]]\nserial = "01234567890123456"\nurls = ["http://k"]\n', 'slot[0].serial', /16/],
    ['serial not ASCII', '[[slot]]\nserial = "s\u00e9rie"\nurls = ["http://k"]\n', 'slot[0].serial', /ASCII/],
    ['access token empty', '[[slot]]\nurls = ["http://k"]\naccess_token = ""\n', 'slot[0].access_token', /empty/],
    ['client cert without key', '[[slot]]\nurls = ["http://k"]\nclient_cert = "c.pem"\n', 'slot[0].client_key', /required/],
    ['client key without cert', '[[slot]]\nurls = ["http://k"]\nclient_key = "k.pem"\n', 'slot[0].client_cert', /required/],
    ['pem and pkcs12', '[[slot]]\nurls = ["http://k"]\nclient_cert = "c"\nclient_key = "k"\nclient_pkcs12 = "p"\n', 'slot[0].client_pkcs12', /not both/],
    ['pkcs12 password alone', '[[slot]]\nurls = ["http://k"]\nclient_pkcs12_password = "x"\n', 'slot[0].client_pkcs12_password', /client_pkcs12/],
    ['accept_invalid_certs type', '[[slot]]\nurls = ["http://k"]\naccept_invalid_certs = "yes"\n', 'slot[0].accept_invalid_certs', /true or false/],
    ['tags type', '[[slot]]\nurls = ["http://k"]\ntags = "a"\n', 'slot[0].tags', /array/],
    ['tag empty', '[[slot]]\nurls = ["http://k"]\ntags = ["a", ""]\n', 'slot[0].tags[1]', /empty/],
    ['login value', '[[slot]]\nurls = ["http://k"]\nlogin = "pin"\n', 'slot[0].login', /none, pin-is-token, pin-unlocks-key/],
    ['pin-unlocks-key without a key', '[[slot]]\nurls = ["http://k"]\nlogin = "pin-unlocks-key"\naccess_token = "t"\n', 'slot[0].login', /client_key or client_pkcs12/],
    ['cache ttl negative', '[[slot]]\nurls = ["http://k"]\ncache_ttl_ms = -5\n', 'slot[0].cache_ttl_ms', /between/],
    ['local_public_key_ops type', '[[slot]]\nurls = ["http://k"]\nlocal_public_key_ops = 1\n', 'slot[0].local_public_key_ops', /true or false/],
    ['second slot is checked too', MINIMAL + '[[slot]]\nurls = ["gopher://k"]\n', 'slot[1].urls[0]', /scheme/],
    ['duplicate label', '[[slot]]\nlabel = "a"\nurls = ["http://k"]\n[[slot]]\nlabel = "a"\nurls = ["http://j"]\n', 'slot[1].label', /slot\[0\]/],
    ['duplicate serial', '[[slot]]\nserial = "1"\nurls = ["http://k"]\n[[slot]]\nserial = "1"\nurls = ["http://j"]\n', 'slot[1].serial', /slot\[0\]/],
  ];
  for (const [name, text, key, pattern] of cases) {
    const file = s.write(join(s.root, `${name.replace(/\W+/g, '-')}.toml`), text);
    t.test(name, async (t) => rejects(t, () => s.load({ P11KMS_CONF: file }), key, file, pattern));
  }
});

t.test('a file that is not TOML names the file', async (t) => {
  const s = sandbox(t);
  const file = s.write(join(s.root, 'broken.toml'), '[[slot]\nurls = [\n');
  t.throws(() => s.load({ P11KMS_CONF: file }), { name: 'ConfigError', path: file, message: new RegExp(`^${file}: not valid TOML`) });
  const dir = join(s.root, 'a-directory');
  mkdirSync(dir);
  t.throws(() => s.load({ P11KMS_CONF: dir }), { name: 'ConfigError', path: dir, message: /cannot read/ });
});

t.test('ckms.toml, classic layout ([http_config])', async (t) => {
  const s = sandbox(t);
  const file = s.write(join(s.root, 'cosmian', 'ckms.toml'), `
print_json = false
vendor_id = "cosmian"
pkcs11_use_pin_as_access_token = true

[http_config]
server_url = "https://kms.example:9998"
accept_invalid_certs = true
access_token = "tok"
verified_cert = """
-----BEGIN CERTIFICATE-----
MIIB
-----END CERTIFICATE-----
"""
ssl_client_pkcs12_path = "client.p12"
ssl_client_pkcs12_password = "pw"
database_secret = "ignored"
cipher_suites = "TLS_AES_256_GCM_SHA384"
custom_headers = ["X-A: b"]

[http_config.oauth2_conf]
client_id = "ignored"

[http_config.proxy_params]
url = "http://proxy"
`);
  const c = s.load({ CKMS_CONF: file });
  t.equal(c.source, 'ckms');
  t.equal(c.path, file);
  t.same(c.slots, [{
    id: 0,
    label: 'p11kms',
    serial: sha16('p11kmshttps://kms.example:9998'),
    urls: ['https://kms.example:9998'],
    accessToken: 'tok',
    caCertPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    clientPkcs12Path: join(s.root, 'cosmian', 'client.p12'),
    clientPkcs12Password: 'pw',
    acceptInvalidCerts: true,
    tags: [],
    login: 'pin-is-token',
    cacheTtlMs: 5000,
    localPublicKeyOps: true,
    showRevoked: false,
  }]);
});

t.test('ckms.toml, newer layout ([kms_config.http_config]) with PEM client auth', async (t) => {
  const s = sandbox(t);
  const file = s.write(join(s.root, 'cosmian.toml'), `
[kms_config]
print_json = true
pkcs11_use_pin_as_access_token = false

[kms_config.http_config]
server_url = "http://0.0.0.0:9998"
verified_cert = "/etc/ssl/kms.pem"
tls_client_pem_cert_path = "/pki/c.pem"
tls_client_pem_key_path = "/pki/k.pem"
tls_client_pkcs12_path = "/pki/unused.p12"
access_token = ""

[findex_config.http_config]
server_url = "http://0.0.0.0:6668"
`);
  const slot = s.load({ CKMS_CONF: file }).slots[0];
  t.equal(slot?.label, 'p11kms', 'never "Cosmian-KMS"');
  t.same(slot?.urls, ['http://0.0.0.0:9998']);
  t.equal(slot?.caCertPath, '/etc/ssl/kms.pem', 'a verified_cert that is a path');
  t.equal(slot?.clientCertPath, '/pki/c.pem');
  t.equal(slot?.clientKeyPath, '/pki/k.pem');
  t.equal(slot?.clientPkcs12Path, undefined, 'a PEM pair wins over PKCS#12, as in Cosmian');
  t.equal(slot?.accessToken, undefined, 'an empty token is no token');
  t.equal(slot?.login, 'none');
  t.equal(slot?.acceptInvalidCerts, false);
});

t.test('ckms.toml errors', async (t) => {
  const s = sandbox(t);
  const cases: Array<[string, string, string]> = [
    ['no http_config', 'print_json = true\n', 'http_config'],
    ['no server_url', '[http_config]\naccess_token = "t"\n', 'http_config.server_url'],
    ['bad server_url', '[http_config]\nserver_url = "localhost:9998"\n', 'http_config.server_url'],
    ['both layouts', '[http_config]\nserver_url = "http://a"\n[kms_config.http_config]\nserver_url = "http://b"\n', 'http_config'],
    ['pin flag type', 'pkcs11_use_pin_as_access_token = "yes"\n[http_config]\nserver_url = "http://a"\n', 'pkcs11_use_pin_as_access_token'],
    ['accept_invalid_certs type', '[http_config]\nserver_url = "http://a"\naccept_invalid_certs = 1\n', 'http_config.accept_invalid_certs'],
    ['http_config not a table', 'http_config = "x"\n', 'http_config'],
    ['pem cert without key', '[kms_config.http_config]\nserver_url = "http://a"\ntls_client_pem_cert_path = "c"\n', 'kms_config.http_config.tls_client_pem_key_path'],
    ['alias and name', '[http_config]\nserver_url = "http://a"\ntls_client_pkcs12_path = "a"\nssl_client_pkcs12_path = "b"\n', 'http_config.ssl_client_pkcs12_path'],
  ];
  for (const [name, text, key] of cases) {
    const file = s.write(join(s.root, `${name.replace(/\W+/g, '-')}.toml`), text);
    t.test(name, async (t) => rejects(t, () => s.load({ CKMS_CONF: file }), key, file));
  }
});
