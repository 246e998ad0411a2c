/**
 * Every key of the server's TOML file, in one table: Cosmian's kms.toml (ClapConfig and the
 * structures it flattens, Cosmian/kms crate/server/src/config/command_line/*.rs, and the
 * example in documentation/docs/configuration/server_configuration_file.md) and p11kms's own.
 * Each key is
 *   read     it has a meaning here; config-file.ts maps it (`as` says to what)
 *   own      p11kms's own key, not Cosmian's
 *   ignored  Cosmian-specific with nothing to do here (its web UI, cloud integrations,
 *            telemetry…): accepted, and `serve` names it in one info line
 *   refused  p11kms cannot honour it and running without it would be weaker than the file asks
 *            (an authentication method, a role restriction, an algorithm policy): accepted only
 *            at its do-nothing value, otherwise the start stops with `why`
 * A section marked `ignored` covers every key and table under it. A key in none of these is
 * unknown to both servers: the start stops with an error that names it.
 */

export type KeyRule =
  | { kind: 'read'; as: string }
  | { kind: 'own' }
  | { kind: 'ignored' }
  | { kind: 'refused'; allows: (value: unknown) => boolean; why: string };

const read = (as: string): KeyRule => ({ kind: 'read', as });
const own: KeyRule = { kind: 'own' };
const ignored: KeyRule = { kind: 'ignored' };
const empty = (v: unknown): boolean => v === undefined || v === false || v === '' || (Array.isArray(v) && v.length === 0);
const refused = (why: string, allows: (value: unknown) => boolean = empty): KeyRule => ({ kind: 'refused', allows, why });

/** Dotted paths: "" is the top level, "http.port" a key of [http], "ui_config" a whole section. */
export const CONFIG_KEYS: Readonly<Record<string, KeyRule>> = {
  // ---- top level (ClapConfig) ----
  default_username: read('the user of unauthenticated requests (--default-user)'),
  key_encryption_key: read('--key-encryption-key'),
  hsm_model: read('--hsm-model'),
  hsm_slot: read('--hsm-slot'),
  hsm_password: read('--hsm-password'),
  hsm_admin: read('--hsm-admin'),
  hsm_instances: read('the HSM instances (hsm-config.ts)'),
  vendor_identification: read('checked against the vendor of tag attributes (KMS_VENDOR_IDENTIFICATION, default "cosmian")'),
  force_default_username: refused('p11kms always runs a request as the user its credential names', (v) => v === undefined || v === false),
  privileged_users: refused('p11kms has no privileged users: every authenticated user may create objects'),
  ms_dke_service_url: ignored,
  kms_public_url: ignored,
  info: ignored,
  print_default_config: ignored,
  default_unwrap_type: ignored,
  non_revocable_key_id: ignored,
  auto_rotation_check_interval_secs: ignored,
  keyset_warn_depth: ignored,
  google_cse_kacls_url: ignored,
  google_cse_disable_tokens_validation: ignored,
  workers: own,
  log_level: own,

  // ---- [db] (MainDBConfig) ----
  'db.database_type': read('"sqlite" or "postgresql"; mysql, sqlite-enc and redis-findex are refused'),
  'db.database_url': read('--db postgresql://…'),
  'db.sqlite_path': read('--data-dir (a directory, as in Cosmian)'),
  'db.unwrapped_cache_max_size': read('--unwrapped-cache-max-size'),
  'db.unwrapped_cache_max_age': read('--unwrapped-cache-max-age'),
  'db.unwrapped_cache_max_ttl': read('--unwrapped-cache-max-ttl'),
  'db.disable_unwrapped_cache': read('--disable-unwrapped-cache'),
  'db.clear_database': ignored,
  'db.max_connections': ignored,
  'db.redis_master_password': ignored,
  'db.redis_findex_label': ignored,
  'db.database': own,
  'db.master_key_file': own,

  // ---- [tls] (TlsConfig) ----
  'tls.tls_cert_file': read('--tls-cert'),
  'tls.tls_key_file': read('--tls-key'),
  'tls.clients_ca_cert_file': read('--client-ca'),
  'tls.tls_chain_file': refused('p11kms reads no separate chain file: append the chain to tls_cert_file'),
  'tls.tls_p12_file': refused('p11kms reads PEM files: give tls_cert_file and tls_key_file (openssl pkcs12 -in FILE -nodes)'),
  'tls.tls_p12_password': refused('p11kms reads PEM files: give tls_cert_file and tls_key_file'),
  'tls.tls_cipher_suites': ignored,

  // ---- [socket_server] (SocketServerConfig) ----
  'socket_server.socket_server_start': read('--socket-port, when true'),
  'socket_server.socket_server_port': read('--socket-port'),
  'socket_server.socket_server_hostname': read('must be [http] hostname: one listening address'),

  // ---- [http] (HttpConfig) ----
  'http.port': read('--port'),
  'http.hostname': read('--host'),
  'http.authority_cert_file': read('--client-ca (Cosmian 4\'s name)'),
  'http.api_token_id': refused('p11kms\'s API tokens are [auth] api_tokens or api_tokens_file, not a KMS key'),
  'http.https_p12_file': refused('p11kms reads PEM files: give [tls] tls_cert_file and tls_key_file'),
  'http.https_p12_password': refused('p11kms reads PEM files: give [tls] tls_cert_file and tls_key_file'),
  'http.rate_limit_per_second': ignored,
  'http.cors_allowed_origins': ignored,
  'http.http_workers': ignored,
  'http.jwks_enabled': ignored,

  // ---- [idp_auth] (IdpAuthConfig) and Cosmian 4's [auth] (JwtAuthConfig) ----
  'idp_auth.jwt_auth_provider': read('"issuer,jwks,audience": the one identity provider (--jwt-issuer-uri, --jwks-uri, --jwt-audience)'),
  'auth.jwt_issuer_uri': read('--jwt-issuer-uri'),
  'auth.jwks_uri': read('--jwks-uri'),
  'auth.jwt_audience': read('--jwt-audience'),
  'auth.api_tokens_file': own,
  'auth.api_tokens': own,
  'auth.admins': own,
  'auth_verifier.auth_verifier_url': refused('p11kms verifies JWTs from [idp_auth] jwt_auth_provider, not through an auth-verifier server'),
  'auth_verifier.auth_verifier_jwks_uri': refused('p11kms verifies JWTs from [idp_auth] jwt_auth_provider, not through an auth-verifier server'),
  'auth_verifier.auth_verifier_realm': ignored,
  'auth_verifier.auth_verifier_accept_invalid_certs': ignored,

  // ---- [workspace] (WorkspaceConfig) ----
  'workspace.root_data_path': read('the directory a relative sqlite_path is in (relative to $HOME, as in Cosmian)'),
  'workspace.tmp_path': ignored,

  // ---- [logging] (LoggingConfig) ----
  'logging.rust_log': read('--log-level, from its global level (trace/debug, info, warn, error, off)'),
  'logging.otlp': ignored,
  'logging.otlp_allow_insecure': ignored,
  'logging.quiet': ignored,
  'logging.log_to_syslog': ignored,
  'logging.rolling_log_dir': ignored,
  'logging.rolling_log_name': ignored,
  'logging.enable_metering': ignored,
  'logging.environment': ignored,
  'logging.ansi_colors': ignored,

  // ---- [roles] (RolesConfig) ----
  'roles.crypto_officer_users': refused('p11kms has no Crypto Officer role: every authenticated user may create objects'),
  'roles.crypto_officer_require_ceremony': refused('p11kms has no Crypto Officer role', (v) => v === undefined || v === false),
  'roles.ceremony_secret': ignored,
  'roles.ceremony_key_id': ignored,
  'roles.ceremony_wrapping_key_id': ignored,

  // ---- [kmip] (KmipPolicyConfig) ----
  'kmip.policy_id': refused('p11kms has no KMIP algorithm policy: it would accept what the policy refuses'),
  'kmip.enforce': refused('p11kms has no KMIP algorithm policy: it would accept what the policy refuses', (v) => v === undefined || v === false),
  'kmip.allowlists': ignored,

  // ---- Cosmian's web UI, cloud and enterprise integrations, telemetry: whole sections ----
  proxy: ignored,
  ui_config: ignored,
  google_cse_config: ignored,
  azure_ekm_config: ignored,
  aws_xks_config: ignored,
  jwks_endpoint: ignored,
  vault: ignored,
  notifications: ignored,
  secret_backends: ignored,
  audit: ignored,
  telemetry: ignored,

  // ---- [limits]: p11kms's own ----
  'limits.max_request_bytes': own,
  'limits.max_connections': own,
  'limits.max_concurrent_requests': own,
  'limits.headers_timeout_ms': own,
  'limits.request_timeout_ms': own,
  'limits.idle_timeout_ms': own,
  'limits.max_inflight_bytes': own,
  'limits.max_pbkdf2_iterations': own,
  'limits.max_rsa_bits': own,
};

/** The rule for a dotted path: its own, or that of the ignored section it is in. */
export function ruleOf(path: string): KeyRule | undefined {
  const own = CONFIG_KEYS[path];
  if (own) return own;
  const parts = path.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const section = CONFIG_KEYS[parts.slice(0, i).join('.')];
    if (section?.kind === 'ignored') return section;
  }
  return undefined;
}

/** A table with rules for keys under it (so its leftovers are classified one by one). */
export function isKnownSection(path: string): boolean {
  return Object.keys(CONFIG_KEYS).some((k) => k.startsWith(`${path}.`));
}
