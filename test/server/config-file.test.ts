import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServerConfig, readServerConfig, resolveServeOptions } from '../../src/server/config-file';

const FILE = '/etc/p11kms/kms.toml';
const parse = (text: string): ReturnType<typeof parseServerConfig> => parseServerConfig(text, FILE);
const resolveFile = (text: string, env: Record<string, string> = {}): ReturnType<typeof resolveServeOptions> => resolveServeOptions({ env, file: parse(text) });

// Cosmian's test_data/configs/server/hsm/three_softhsm2.toml, less its keys p11kms has no feature for.
const COSMIAN = `
default_username = "admin"
hsm_model = "softhsm2"
hsm_admin = ["admin"]
hsm_slot = [0]
hsm_password = ["12345678"]
key_encryption_key = "hsm::0::kek"

[[hsm_instances]]
hsm_model = "softhsm2"
hsm_admin = ["admin"]
hsm_slot = [1]
hsm_password = ["12345678"]

[[hsm_instances]]
model = "softhsm2"
slots = [2]
passwords = ["12345678"]
library = "lib/libsofthsm2.so"

[http]
hostname = "127.0.0.1"
port = 9998

[db]
database_type = "sqlite"
sqlite_path = "/tmp/kms-three-softhsm2-data"
unwrapped_cache_max_size = 50
unwrapped_cache_max_age = 5
unwrapped_cache_max_ttl = 60
`;

t.test("Cosmian's names: flat HSM + [[hsm_instances]], [http], [db]", async (t) => {
  const opts = resolveFile(COSMIAN);
  t.same(opts.hsm?.map((i) => [i.prefix, i.model, i.slots, i.admins]), [
    ['hsm', 'softhsm2', [{ id: 0, pin: '12345678' }], ['admin']],
    ['hsm::softhsm2', 'softhsm2', [{ id: 1, pin: '12345678' }], ['admin']],
    ['hsm::softhsm2_1', 'softhsm2', [{ id: 2, pin: '12345678' }], ['admin']],
  ]);
  t.equal(opts.hsm?.[2]?.library, '/etc/p11kms/lib/libsofthsm2.so', 'p11kms names too; a relative library is relative to the file');
  t.match(opts, {
    defaultUser: 'admin', keyEncryptionKey: 'hsm::0::kek', host: '127.0.0.1', port: 9998,
    dataDir: '/tmp/kms-three-softhsm2-data', unwrappedCacheMaxSize: 50, unwrappedCacheMaxAgeMinutes: 5, unwrappedCacheMaxTtlMinutes: 60,
  });
  t.equal(opts.dbPath, undefined, 'sqlite_path is a directory, as in Cosmian');
});

t.test('[db] database_type = "postgresql" with database_url, as Cosmian spells it', async (t) => {
  const url = 'postgresql://kms:secret@db.example.com:5432/kms';
  t.same(parse(`[db]\ndatabase_type = "postgresql"\ndatabase_url = "${url}"`).options, { dbPath: url });
  t.throws(() => parse('[db]\ndatabase_type = "postgresql"'), /database_url must be set with database_type = "postgresql"/);
  t.throws(() => parse(`[db]\ndatabase_url = "${url}"`), /database_type must be "postgresql" with database_url/);
  t.throws(() => parse('[db]\ndatabase_type = "postgresql"\ndatabase_url = "mysql://x/y"'), /database_url must be a postgresql:\/\/ URL/);
  t.throws(() => parse(`[db]\ndatabase_type = "postgresql"\ndatabase_url = "${url}"\ndatabase = "kms.sqlite"`), /database must be left out/);
  t.throws(() => parse('[db]\ndatabase_type = "mysql"'), /database_type must be "sqlite" or "postgresql"/);
});

t.test('[tls], [socket_server], p11kms keys, paths relative to the file', async (t) => {
  const { options } = parse(`
workers = 0
log_level = "error"
hsm_admin = "alice"
[tls]
tls_cert_file = "certs/server.pem"
tls_key_file = "/abs/server.key"
clients_ca_cert_file = "ca.pem"
[socket_server]
socket_server_start = true
socket_server_hostname = "127.0.0.1"
[db]
database = "data/kms.sqlite"
`);
  t.same(options, {
    workers: 0, logLevel: 'error', tlsCert: '/etc/p11kms/certs/server.pem', tlsKey: '/abs/server.key', clientCa: '/etc/p11kms/ca.pem',
    socketPort: 5696, dbPath: '/etc/p11kms/data/kms.sqlite',
  });
  t.same(parse('hsm_admin = "alice"').flatHsm.admins, ['alice'], 'a lone hsm_admin string, as older Cosmian files have');
  t.same(parse('[socket_server]\nsocket_server_port = 15696').options, {}, 'the socket server only starts when asked');
});

t.test('unknown keys and wrong types are errors naming the key', async (t) => {
  t.throws(() => parse('hsm_slots = [1]'), { name: 'ServerConfigError', message: `${FILE}: unknown key hsm_slots` });
  t.throws(() => parse('[db]\nunwrapped_cache_maxage = 5'), { message: /unknown key db\.unwrapped_cache_maxage/ });
  t.throws(() => parse('[http]\nport = 9998\ncors_origins = []'), { message: /unknown key http\.cors_origins/ });
  t.throws(() => parse('[loging]\nrust_log = "info"'), { message: /unknown key loging/ });
  t.throws(() => parse('[logging]\nrust_level = "info"'), { message: /unknown key logging\.rust_level/ });
  t.throws(() => parse('[[hsm_instances]]\nhsm_model = "softhsm2"\nhsm_slot = [1]\nhsm_password = ["x"]\nhsm_pin = "x"'), { message: /kms\.toml: hsm_instances\[0\]: unknown key hsm_pin/ });
  t.throws(() => parse('[[hsm_instances]]\nhsm_model = "softhsm2"\nmodel = "utimaco"\nslots = [1]\npasswords = ["x"]'), { message: /sets model twice/ });
  t.throws(() => parse('[[hsm_instances]]\nmodel = "softhsm2"\nslots = [1, 2]\npasswords = ["x"]'), { message: /2 slot\(s\) but 1 password/ });
  t.throws(() => parse('[http]\nport = "9998"'), { message: /http\.port must be a whole number/ });
  t.throws(() => parse('[db]\ndisable_unwrapped_cache = "yes"'), { message: /db\.disable_unwrapped_cache must be true or false/ });
  t.throws(() => parse('[db]\ndatabase_type = "redis-findex"'), { message: /database_type must be "sqlite" or "postgresql"/ });
  t.throws(() => parse('log_level = "loud"'), { message: /log_level must be silent, error/ });
  t.throws(() => parse('[socket_server]\nsocket_server_start = true\nsocket_server_hostname = "0.0.0.0"'), { message: /one address/ });
  t.same(parse('[socket_server]\nsocket_server_hostname = "0.0.0.0"').options, {}, 'a socket server that does not start listens nowhere, so any hostname will do');
  t.throws(() => parse('port = '), { name: 'ServerConfigError', message: /^\/etc\/p11kms\/kms\.toml: / }, 'TOML syntax errors name the file');
  t.throws(() => readServerConfig('/nonexistent/kms.toml'), { message: /cannot read server config \/nonexistent\/kms\.toml/ });
});

t.test('unwrapped_cache_max_ttl must be at least unwrapped_cache_max_age', async (t) => {
  t.throws(() => resolveFile('[db]\nunwrapped_cache_max_age = 30\nunwrapped_cache_max_ttl = 10'), { message: 'unwrapped_cache_max_ttl (10 min) must be ≥ unwrapped_cache_max_age (30 min)' });
  t.throws(() => resolveFile('[db]\nunwrapped_cache_max_ttl = 10'), { message: /\(15 min\)/ }, 'against the default age of 15 minutes');
  t.throws(() => resolveFile('[db]\nunwrapped_cache_max_age = 0'), { message: /unwrapped_cache_max_age must be a whole number from 1/ });
  t.equal(resolveFile('[db]\nunwrapped_cache_max_ttl = 15').unwrappedCacheMaxTtlMinutes, 15, 'equal is fine');
  t.throws(() => resolveServeOptions({ env: {}, flags: { unwrappedCacheMaxAgeMinutes: 20 }, file: parse('[db]\nunwrapped_cache_max_ttl = 15') }), /must be ≥/, 'checked after the flags are merged');
});

t.test('disable_unwrapped_cache', async (t) => {
  t.equal(resolveFile('[db]\ndisable_unwrapped_cache = true').disableUnwrappedCache, true);
  t.equal(resolveFile('[db]\ndisable_unwrapped_cache = false').disableUnwrappedCache, false);
});

t.test('precedence: flag, then environment, then file', async (t) => {
  const file = parse(`
default_username = "file-user"
hsm_model = "softhsm2"
hsm_slot = [1]
hsm_password = ["file-pin"]
hsm_admin = ["file-admin"]
[http]
port = 1000
hostname = "0.0.0.0"
[db]
sqlite_path = "/file/data"
unwrapped_cache_max_size = 7
`);
  const fileOnly = resolveServeOptions({ env: {}, file });
  t.match(fileOnly, { port: 1000, host: '0.0.0.0', dataDir: '/file/data', defaultUser: 'file-user', unwrappedCacheMaxSize: 7 });
  t.same(fileOnly.hsm, [{ prefix: 'hsm', model: 'softhsm2', slots: [{ id: 1, pin: 'file-pin' }], admins: ['file-admin'] }]);

  const env = { KMS_HSM_PASSWORD: 'env-pin', KMS_HSM_ADMIN: 'env-admin', P11KMS_DATA_DIR: '/env/data' };
  const withEnv = resolveServeOptions({ env, file });
  t.same(withEnv.hsm?.[0]?.slots, [{ id: 1, pin: 'env-pin' }], 'KMS_HSM_PASSWORD beats hsm_password; the slot stays the file\'s');
  t.same(withEnv.hsm?.[0]?.admins, ['env-admin']);
  t.equal(withEnv.dataDir, '/env/data', 'P11KMS_DATA_DIR beats sqlite_path');

  const withFlags = resolveServeOptions({
    env, file,
    flags: { port: 2000, dataDir: '/flag/data', unwrappedCacheMaxSize: 0, host: undefined },
    hsmFlags: { admins: ['flag-admin'], passwords: ['flag-pin'] },
  });
  t.match(withFlags, { port: 2000, host: '0.0.0.0', dataDir: '/flag/data', unwrappedCacheMaxSize: 0, defaultUser: 'file-user' }, 'an absent flag leaves the file\'s value');
  t.same(withFlags.hsm?.[0], { prefix: 'hsm', model: 'softhsm2', slots: [{ id: 1, pin: 'flag-pin' }], admins: ['flag-admin'] });
  t.same(resolveServeOptions({ env: { KMS_HSM_SLOT: '5', KMS_HSM_PASSWORD: 'p' }, file: parse('') }).hsm?.[0]?.slots, [{ id: 5, pin: 'p' }]);
  t.equal(resolveServeOptions({ env: {} }).hsm, undefined, 'no file, no flags: no HSM');
});

t.test('the file read from disk', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'kms.toml');
  writeFileSync(path, '[db]\nsqlite_path = "data"\n');
  t.equal(readServerConfig(path).options.dataDir, join(dir, 'data'));
});

t.test('[auth] (Cosmian 4 names, plus api tokens) and [limits]', async (t) => {
  const { options } = parse(`
[auth]
jwt_issuer_uri = ["https://idp.example.com/realms/kms"]
jwks_uri = "https://idp.example.com/realms/kms/certs"
jwt_audience = ["kms"]
api_tokens_file = "tokens"
api_tokens = ["ops:ops-token"]
admins = ["ops", "jwt:sec@example.com", "cert:auditor"]
[limits]
max_request_bytes = 1048576
max_connections = 500
max_concurrent_requests = 64
headers_timeout_ms = 5000
request_timeout_ms = 30000
idle_timeout_ms = 60000
`);
  t.same(options, {
    jwtIssuerUri: 'https://idp.example.com/realms/kms', jwksUri: 'https://idp.example.com/realms/kms/certs', jwtAudience: 'kms',
    apiTokensFile: '/etc/p11kms/tokens', apiTokens: ['ops:ops-token'], admins: ['ops', 'jwt:sec@example.com', 'cert:auditor'],
    maxRequestBytes: 1048576, maxConnections: 500, maxConcurrentRequests: 64, headersTimeoutMs: 5000, requestTimeoutMs: 30000, idleTimeoutMs: 60000,
  });
  t.throws(() => parse('[auth]\njwt_issuer_uri = ["https://a", "https://b"]'), { message: /auth\.jwt_issuer_uri must be one value/ });
  t.throws(() => parse('[limits]\nmax_connections = 0'), { message: /limits\.max_connections must be a whole number from 1/ });
  t.throws(() => parse('[limits]\nmax_sockets = 3'), { message: /unknown key limits\.max_sockets/ });
  t.throws(() => resolveServeOptions({ env: {}, flags: { maxConcurrentRequests: 0 } }), /max-concurrent-requests must be at least 1/, 'a flag of 0 too');
});

t.test('[db] master_key_file: relative to the file; the flag and the environment\'s key beat it', async (t) => {
  const file = parse('[db]\nmaster_key_file = "keys/master-key"\n');
  t.equal(resolveServeOptions({ env: {}, file }).masterKeyFile, '/etc/p11kms/keys/master-key');
  t.equal(resolveServeOptions({ env: {}, file, flags: { masterKeyFile: '/flag/key' } }).masterKeyFile, '/flag/key');
  t.equal(resolveServeOptions({ env: { P11KMS_MASTER_KEY: 'k' }, file }).masterKeyFile, undefined, 'P11KMS_MASTER_KEY beats master_key_file');
  t.equal(resolveServeOptions({ env: { P11KMS_MASTER_KEY: 'k' }, file, flags: { masterKeyFile: '/flag/key' } }).masterKeyFile, '/flag/key', 'the flag beats P11KMS_MASTER_KEY');
  t.throws(() => parse('[db]\nmaster_key_file = 1\n'), { message: `${FILE}: db.master_key_file must be a string` });
});

t.test("Cosmian's current keys: read, ignored (and listed), or refused with a reason (config-keys.ts)", async (t) => {
  const ignoredOnly = parse(`
kms_public_url = "https://kms.example.com"
ms_dke_service_url = "https://kms.example.com/ms_dke"
privileged_users = []
[http]
rate_limit_per_second = 100
cors_allowed_origins = ["http://127.0.0.1:5173"]
[logging]
otlp = "http://localhost:4317"
[ui_config]
ui_index_html_folder = "/usr/local/cosmian/ui/dist"
[ui_config.ui_oidc_auth]
ui_oidc_client_id = "id"
[kmip.allowlists]
algorithms = ["AES"]
[notifications.smtp]
port = 0
`);
  t.same(ignoredOnly.options, {}, 'nothing of it changes the server');
  t.same(ignoredOnly.ignored.sort(), ['http.cors_allowed_origins', 'http.rate_limit_per_second', 'kmip.allowlists', 'kms_public_url', 'logging.otlp', 'ms_dke_service_url', 'notifications', 'privileged_users', 'ui_config'].sort(), 'each one named, a whole section once');
  t.throws(() => parse('privileged_users = ["alice"]'), { message: /privileged_users is not supported: p11kms has no privileged users/ });
  t.throws(() => parse('force_default_username = true'), { message: /force_default_username is not supported/ });
  t.throws(() => parse('[http]\napi_token_id = "uid"'), { message: /http\.api_token_id is not supported: .*api_tokens/ });
  t.throws(() => parse('[tls]\ntls_p12_file = "kms.p12"'), { message: /tls\.tls_p12_file is not supported: p11kms reads PEM files/ });
  t.throws(() => parse('[kmip]\npolicy_id = "DEFAULT"'), { message: /kmip\.policy_id is not supported: p11kms has no KMIP algorithm policy/ });
  t.throws(() => parse('[auth_verifier]\nauth_verifier_url = "https://auth.example.com"'), { message: /auth_verifier\.auth_verifier_url is not supported/ });
  t.throws(() => parse('vendor_identification = "acme"'), { message: /vendor_identification must be "cosmian"/ });
  t.same(parse('vendor_identification = "cosmian"').options, {}, 'the vendor this server uses is accepted');
});

t.test('[idp_auth] jwt_auth_provider, [logging] rust_log, [workspace] root_data_path and Cosmian 4\'s authority_cert_file are read', async (t) => {
  t.same(parse('[idp_auth]\njwt_auth_provider = ["https://idp.example.com,https://idp.example.com/jwks,aud1"]').options,
    { jwtIssuerUri: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks', jwtAudience: 'aud1' });
  t.same(parse('[idp_auth]\njwt_auth_provider = ["https://auth0.example.com,,my-app"]').options, { jwtIssuerUri: 'https://auth0.example.com', jwtAudience: 'my-app' }, 'an empty JWKS field leaves the default');
  t.same(parse('[idp_auth]\njwt_auth_provider = ["https://keycloak.example.com/auth/realms/myrealm,,"]').options, { jwtIssuerUri: 'https://keycloak.example.com/auth/realms/myrealm' }, 'no audience: unchecked');
  t.throws(() => parse('[idp_auth]\njwt_auth_provider = ["https://a,,x", "https://b,,y"]'), { message: /jwt_auth_provider must be one provider/ });
  t.throws(() => parse('[idp_auth]\njwt_auth_provider = ["https://a,,x"]\n[auth]\njwt_issuer_uri = "https://b"'), { message: /one identity provider/ });
  t.equal(parse('[logging]\nrust_log = "info,cosmian_kms=debug"').options.logLevel, 'info', 'the global level of the filter');
  t.equal(parse('[logging]\nrust_log = "trace"').options.logLevel, 'debug');
  t.equal(parse('[logging]\nrust_log = "off"').options.logLevel, 'silent');
  t.equal(parse('log_level = "warn"\n[logging]\nrust_log = "debug"').options.logLevel, 'warn', 'log_level, p11kms\'s own, wins');
  t.throws(() => parse('[logging]\nrust_log = "loud"'), { message: /logging\.rust_log must be a RUST_LOG filter/ });
  t.equal(parse('[workspace]\nroot_data_path = "/srv/kms"\n[db]\nsqlite_path = "sqlite-data"').options.dataDir, '/srv/kms/sqlite-data', 'a relative sqlite_path is in root_data_path');
  t.equal(parse('[db]\nsqlite_path = "sqlite-data"').options.dataDir, '/etc/p11kms/sqlite-data', 'without it, beside the file');
  t.equal(parse('[http]\nauthority_cert_file = "ca.pem"').options.clientCa, '/etc/p11kms/ca.pem');
});
