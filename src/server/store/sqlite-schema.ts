/**
 * Versioned schema. Each migration runs once, in order, inside a transaction; the version
 * lives in PRAGMA user_version so a half-applied migration can never be recorded.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE objects (
     uid TEXT PRIMARY KEY,
     object_type TEXT NOT NULL,
     state TEXT NOT NULL,
     owner TEXT NOT NULL,
     algorithm TEXT,
     length INTEGER,
     attributes TEXT NOT NULL,
     tags TEXT NOT NULL DEFAULT '[]',
     material BLOB,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX objects_type ON objects(object_type, state);
   CREATE TABLE object_tags (uid TEXT NOT NULL REFERENCES objects(uid) ON DELETE CASCADE, tag TEXT NOT NULL, PRIMARY KEY (uid, tag));
   CREATE INDEX object_tags_tag ON object_tags(tag);
   CREATE TABLE object_names (uid TEXT NOT NULL REFERENCES objects(uid) ON DELETE CASCADE, name TEXT NOT NULL, PRIMARY KEY (uid, name));
   CREATE INDEX object_names_name ON object_names(name);`,
  // 2: the key that wraps each object, filled in from the Link attributes of existing rows.
  `ALTER TABLE objects ADD COLUMN wrapping_key TEXT;
   CREATE INDEX objects_wrapping_key ON objects(wrapping_key) WHERE wrapping_key IS NOT NULL;
   UPDATE objects SET wrapping_key = (
     SELECT json_extract(id.value, '$.value')
       FROM json_each(objects.attributes, '$.value') AS a, json_each(a.value, '$.value') AS t, json_each(a.value, '$.value') AS id
      WHERE json_extract(a.value, '$.tag') = 'Link'
        AND json_extract(t.value, '$.tag') = 'LinkType' AND json_extract(t.value, '$.value') = 'WrappingKeyLink'
        AND json_extract(id.value, '$.tag') = 'LinkedObjectIdentifier'
      LIMIT 1);`,
  // 3: access rights granted by owners, and the audit trail. user_id, not user: user is reserved in SQL elsewhere.
  `CREATE TABLE grants (
     uid TEXT NOT NULL REFERENCES objects(uid) ON DELETE CASCADE,
     user_id TEXT NOT NULL,
     operation TEXT NOT NULL,
     PRIMARY KEY (uid, user_id, operation)
   );
   CREATE INDEX grants_user ON grants(user_id);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time INTEGER NOT NULL,
     user_id TEXT NOT NULL,
     operation TEXT NOT NULL,
     uids TEXT NOT NULL DEFAULT '[]',
     result TEXT NOT NULL
   );
   CREATE INDEX audit_time ON audit(time);
   CREATE INDEX audit_user ON audit(user_id, time);`,
  // 4: the master keys the material is sealed under (master-key.ts); none yet means the rows are from before sealing.
  `CREATE TABLE master_keys (key_id TEXT PRIMARY KEY, added_at INTEGER NOT NULL);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
