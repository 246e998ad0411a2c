/**
 * The PostgreSQL schema, versioned as the SQLite one is: each migration runs once, in order,
 * in its own transaction together with the bump of the version row, so a half-applied
 * migration is never recorded. The numbering is PostgreSQL's own (its first migration is the
 * SQLite schema as of its version 2).
 *
 * Tags and names are text arrays with GIN indexes rather than side tables: a write is then
 * one statement, atomic without an explicit transaction, so a creation costs one round trip.
 * `seq` records insertion order, which Locate uses after created_at, as SQLite uses rowid.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE TABLE objects (
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     uid TEXT PRIMARY KEY,
     object_type TEXT NOT NULL,
     state TEXT NOT NULL,
     owner TEXT NOT NULL,
     algorithm TEXT,
     length INTEGER,
     attributes TEXT NOT NULL,
     tags TEXT[] NOT NULL DEFAULT '{}',
     names TEXT[] NOT NULL DEFAULT '{}',
     material BYTEA,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL,
     wrapping_key TEXT
   );
   CREATE INDEX objects_order ON objects (created_at, seq);
   CREATE INDEX objects_type ON objects (object_type, state);
   CREATE INDEX objects_owner ON objects (owner);
   CREATE INDEX objects_tags ON objects USING gin (tags);
   CREATE INDEX objects_names ON objects USING gin (names);
   CREATE INDEX objects_wrapping_key ON objects (wrapping_key) WHERE wrapping_key IS NOT NULL;`,
  // 2: access grants (removed with their object) and the audit trail, as SQLite's migration 3
  // (user_id, not user: user is reserved in PostgreSQL).
  `CREATE TABLE grants (
     uid TEXT NOT NULL REFERENCES objects(uid) ON DELETE CASCADE,
     user_id TEXT NOT NULL,
     operation TEXT NOT NULL,
     PRIMARY KEY (uid, user_id, operation)
   );
   CREATE INDEX grants_user ON grants (user_id);
   CREATE TABLE audit (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     time BIGINT NOT NULL,
     user_id TEXT NOT NULL,
     operation TEXT NOT NULL,
     uids TEXT[] NOT NULL,
     result TEXT NOT NULL
   );
   CREATE INDEX audit_time ON audit (time);
   CREATE INDEX audit_user ON audit (user_id, time);
   CREATE INDEX audit_uids ON audit USING gin (uids);`,
  // 3: the master keys the material is sealed under, as SQLite's migration 4.
  `CREATE TABLE master_keys (key_id TEXT PRIMARY KEY, added_at BIGINT NOT NULL);`,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** The version row: one row, created under the migration lock. */
export const PG_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS p11kms_schema (
  one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
  version INTEGER NOT NULL
);
INSERT INTO p11kms_schema (version) VALUES (0) ON CONFLICT DO NOTHING;`;

/**
 * Advisory lock key for migrations ("p11k"). Advisory locks are per database, so servers on
 * different databases never wait for each other.
 */
export const PG_MIGRATION_LOCK = 0x7031316b;
