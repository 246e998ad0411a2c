import t from 'tap';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { privateKeyObject, secretDataObject, symmetricKeyObject, type KmipObject } from '../../src/kmip/requests';
import { T } from '../../src/kmip/ttlv';
import type { KmipClient } from '../../src/kmip/client';
import { startServer } from '../../src/server/main';
import { SqliteStore } from '../../src/server/store/sqlite';
import { isPostgresUrl } from '../../src/server/store/open-store';
import { masterKeyId, newMasterKey, formatMasterKeys, parseMasterKeys, sealedKeyId } from '../../src/server/store/master-key';
import { reasonOf } from '../support/client';
import { openedMaterial, scanForKey, storedRow as sealedRow } from '../support/db-scan';
import { masterKeyFileOf, serverOn, tempDb } from '../support/hsm-kms';
import { onPostgres } from '../support/postgres';
import { REPO_ROOT } from '../support/server';

const mode = (path: string): number => statSync(path).mode & 0o777;
const b64url = (s: string | undefined): Buffer => Buffer.from(s as string, 'base64url');

/** The bytes that would betray a private key however it was encoded: PKCS#8 and its secret scalars. */
function privateNeedles(key: KeyObject): Buffer[] {
  const jwk = key.export({ format: 'jwk' });
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const secrets = key.asymmetricKeyType === 'rsa' ? [jwk.d, jwk.p, jwk.q] : [jwk.d];
  return [der, ...secrets.map(b64url)];
}

function transparentRsa(key: KeyObject): KmipObject {
  const jwk = key.export({ format: 'jwk' });
  const big = (s: string | undefined): bigint => BigInt(`0x${b64url(s).toString('hex')}`);
  const fields: Array<[string, string | undefined]> = [['Modulus', jwk.n], ['PrivateExponent', jwk.d], ['PublicExponent', jwk.e], ['P', jwk.p], ['Q', jwk.q],
    ['PrimeExponentP', jwk.dp], ['PrimeExponentQ', jwk.dq], ['CRTCoefficient', jwk.qi]];
  const material = T.struct('KeyMaterial', fields.map(([tag, v]) => T.big(tag, big(v))));
  return { objectType: 'PrivateKey', node: T.struct('PrivateKey', [T.struct('KeyBlock', [T.enum('KeyFormatType', 'TransparentRSAPrivateKey'), T.struct('KeyValue', [material]), T.enum('CryptographicAlgorithm', 'RSA')])]) };
}

function transparentEc(key: KeyObject): KmipObject {
  const d = BigInt(`0x${b64url(key.export({ format: 'jwk' }).d).toString('hex')}`);
  const material = T.struct('KeyMaterial', [T.enum('RecommendedCurve', 'P256'), T.big('D', d)]);
  return { objectType: 'PrivateKey', node: T.struct('PrivateKey', [T.struct('KeyBlock', [T.enum('KeyFormatType', 'TransparentECPrivateKey'), T.struct('KeyValue', [material]), T.enum('CryptographicAlgorithm', 'EC')])]) };
}

interface Planted {
  what: string;
  uid: string;
  /** Every encoding of the secret that must not be found at rest. */
  needles: Buffer[];
}

/** Creates, registers and imports one of each kind of secret, returning where each is and what to look for. */
async function plantSecrets(client: KmipClient): Promise<Planted[]> {
  const planted: Planted[] = [];
  const getBytes = async (uid: string, keyFormatType?: string): Promise<Buffer> => (await client.get(uid, keyFormatType ? { keyFormatType } : {})).bytes as Buffer;

  const aes = await client.create({ algorithm: 'AES', length: 256 });
  planted.push({ what: 'created AES key', uid: aes, needles: [await getBytes(aes)] });
  const secret = await client.createSecretData();
  planted.push({ what: 'created secret data', uid: secret, needles: [await getBytes(secret)] });
  for (const spec of [{ algorithm: 'RSA', length: 2048 }, { algorithm: 'EC', curve: 'P256' }, { algorithm: 'Ed25519' }]) {
    const pair = await client.createKeyPair(spec);
    const der = await getBytes(pair.privateKeyId, 'PKCS8');
    const { createPrivateKey } = await import('node:crypto');
    planted.push({ what: `created ${spec.algorithm} private key`, uid: pair.privateKeyId, needles: privateNeedles(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })) });
  }

  const aesBytes = randomBytes(32);
  planted.push({ what: 'registered AES key', uid: await client.register(symmetricKeyObject(aesBytes)), needles: [aesBytes] });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const ed = generateKeyPairSync('ed25519').privateKey;
  const registered: Array<[string, KeyObject, KmipObject]> = [
    ['PKCS8 RSA', rsa, privateKeyObject(rsa.export({ format: 'der', type: 'pkcs8' }), 'PKCS8', 'RSA')],
    ['PKCS1 RSA', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, undefined as unknown as KmipObject],
    ['ECPrivateKey (SEC1)', ec, privateKeyObject(ec.export({ format: 'der', type: 'sec1' }), 'ECPrivateKey', 'EC')],
    ['TransparentRSAPrivateKey', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, undefined as unknown as KmipObject],
    ['TransparentECPrivateKey', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, undefined as unknown as KmipObject],
    ['Raw Ed25519', ed, privateKeyObject(b64url(ed.export({ format: 'jwk' }).d), 'Raw', 'Ed25519')],
  ];
  registered[1]![2] = privateKeyObject(registered[1]![1].export({ format: 'der', type: 'pkcs1' }), 'PKCS1', 'RSA');
  registered[3]![2] = transparentRsa(registered[3]![1]);
  registered[4]![2] = transparentEc(registered[4]![1]);
  for (const [format, key, object] of registered) {
    const extra = format === 'PKCS1 RSA' ? [key.export({ format: 'der', type: 'pkcs1' })] : format === 'ECPrivateKey (SEC1)' ? [key.export({ format: 'der', type: 'sec1' })] : [];
    planted.push({ what: `registered private key, ${format}`, uid: await client.register(object), needles: [...privateNeedles(key), ...extra] });
  }
  for (const type of ['Password', 'Seed'] as const) {
    const bytes = randomBytes(24);
    planted.push({ what: `registered secret data (${type})`, uid: await client.register(secretDataObject(bytes, type)), needles: [bytes] });
  }

  const importedAes = randomBytes(32);
  planted.push({ what: 'imported AES key', uid: await client.import('imported-aes', symmetricKeyObject(importedAes)), needles: [importedAes] });
  const importedEc = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  planted.push({ what: 'imported EC private key', uid: await client.import('imported-ec', privateKeyObject(importedEc.export({ format: 'der', type: 'pkcs8' }), 'PKCS8', 'EC')), needles: privateNeedles(importedEc) });
  const importedSecret = randomBytes(40);
  planted.push({ what: 'imported secret data', uid: await client.import('imported-secret', secretDataObject(importedSecret, 'Password')), needles: [importedSecret] });
  return planted;
}

async function scanAll(dir: string, dbPath: string, planted: Planted[], walFrom: string): Promise<string[]> {
  const found: string[] = [];
  for (const p of planted) {
    for (const needle of p.needles) {
      for (const where of await scanForKey(dir, dbPath, needle, walFrom)) found.push(`${p.what} in ${where}`);
    }
  }
  return found;
}

t.test('no secret is at rest in clear: symmetric keys, private keys in every format and secret data, created, registered and imported', async (t) => {
  const { dir, dbPath, walFrom } = await tempDb(t);
  const s = await serverOn(dbPath, {});
  t.teardown(() => s.stop());
  const planted = await plantSecrets(s.client);
  t.equal(planted.length, 17, "5 created, 9 registered, 3 imported");
  const keyFile = masterKeyFileOf(dbPath);
  t.same(await scanAll(dir, dbPath, planted, walFrom), [], 'while the server runs: no secret in any column, the database file, its WAL (or PostgreSQL\'s files and WAL)');

  // Controls: what the scan looks for is what the server holds, once opened with the master key.
  for (const p of planted) {
    const opened = openedMaterial(keyFile, p.uid, (await sealedRow(dbPath, p.uid)).material);
    // For a private key, its secret scalar (d); for the others, the bytes themselves.
    t.ok(opened.includes(p.needles[p.what.includes('private') ? 1 : 0]!), `control: the opened row of the ${p.what} holds its secret`);
  }
  const aesRow = (await sealedRow(dbPath, planted[0]!.uid)).material;
  t.ok((await scanForKey(dir, dbPath, aesRow, walFrom)).includes('objects.material'), 'control: the scan finds the sealed bytes in the column');
  if (!onPostgres) {
    t.ok(existsSync(`${dbPath}-wal`) && statSync(`${dbPath}-wal`).size > 0, 'the WAL is there, and scanned, while the server runs');
    t.ok((await scanForKey(dir, dbPath, aesRow, walFrom)).some((w) => w.startsWith('file ')), 'control: the scan reads the files');
  }

  await s.stop();
  t.same(await scanAll(dir, dbPath, planted, walFrom), [], 'after it stopped (WAL checkpointed)');

  // And they all still work after a restart, opened with the master key file.
  const again = await serverOn(dbPath, {});
  t.teardown(() => again.stop());
  t.same((await again.client.get('imported-aes')).bytes, planted.find((p) => p.uid === 'imported-aes')!.needles[0]);
  t.same((await again.client.get(planted[0]!.uid)).bytes, planted[0]!.needles[0]);
});

t.test('file modes: directory 0700, database, WAL, shm and master key 0600', { skip: onPostgres && 'SQLite files' }, async (t) => {
  const { dir } = await tempDb(t);
  const dataDir = join(dir, 'fresh', 'data');
  const s = await startServer({ port: 0, dataDir, logLevel: 'silent' });
  t.teardown(() => s.close());
  const res = await fetch(`${s.url}/kmip/2_1`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tag: 'Create', value: [{ tag: 'ObjectType', type: 'Enumeration', value: 'SymmetricKey' }, { tag: 'Attributes', value: [{ tag: 'CryptographicAlgorithm', type: 'Enumeration', value: 'AES' }, { tag: 'CryptographicLength', type: 'Integer', value: 256 }] }] }) });
  t.equal(res.status, 200);
  const db = join(dataDir, 'kms.sqlite');
  t.equal(mode(dataDir).toString(8), '700', 'the data directory it created');
  t.equal(mode(join(dir, 'fresh')).toString(8), '700', 'and its parents it created');
  for (const f of [db, `${db}-wal`, `${db}-shm`, `${db}.master-key`]) t.equal(mode(f).toString(8), '600', f.slice(dataDir.length + 1));
  t.equal(readFileSync(`${db}.master-key`, 'utf8').trim().length, 44, 'one base64 key');

  // A database left 0644 (with its WAL) by an earlier version is tightened; a loose directory that exists is reported, not changed.
  const old = join(dir, 'shared');
  mkdirSync(old, { mode: 0o755 });
  chmodSync(old, 0o755);
  const legacy = join(old, 'legacy.sqlite');
  new Database(legacy).pragma('journal_mode = WAL');
  chmodSync(legacy, 0o644);
  writeFileSync(`${legacy}-wal`, '');
  chmodSync(`${legacy}-wal`, 0o644);
  const warnings: string[] = [];
  const store = new SqliteStore(legacy, (m) => warnings.push(m));
  store.close();
  t.equal(mode(legacy).toString(8), '600');
  t.equal(mode(old).toString(8), '755', 'an existing directory is left alone');
  t.match(warnings, [/database directory .*shared is open to other users \(mode 755\).*chmod 700/]);
});

/** A sealed row's material, rewritten behind the server's back (SQLite or PostgreSQL). */
async function setMaterial(dbPath: string, uid: string, material: Buffer | null, dropKeys = false): Promise<void> {
  if (isPostgresUrl(dbPath)) {
    const c = new pg.Client({ connectionString: dbPath });
    await c.connect();
    await c.query('UPDATE objects SET material = $2 WHERE uid = $1', [uid, material]);
    if (dropKeys) await c.query('DELETE FROM master_keys');
    await c.end();
    return;
  }
  const db = new Database(dbPath);
  db.prepare('UPDATE objects SET material = ? WHERE uid = ?').run(material, uid);
  if (dropKeys) db.exec('DELETE FROM master_keys');
  db.close();
}

t.test('sealed rows cannot be swapped or replaced by clear ones; a database from before sealing is sealed at start', async (t) => {
  const { dir, dbPath, walFrom } = await tempDb(t);
  let s = await serverOn(dbPath, {});
  const a = await s.client.create({ algorithm: 'AES', length: 256 });
  const b = await s.client.create({ algorithm: 'AES', length: 256 });
  const aBytes = (await s.client.get(a)).bytes as Buffer;
  const bBytes = (await s.client.get(b)).bytes as Buffer;
  const aSealed = (await sealedRow(dbPath, a)).material;
  t.equal(sealedKeyId(aSealed), masterKeyId(parseMasterKeys(readFileSync(masterKeyFileOf(dbPath), 'utf8'), 'file')[0]!.key), 'the header names the master key');
  t.equal(aSealed.length, 4 + 1 + 8 + 12 + 32 + 16, 'magic, version, key id, nonce, ciphertext, tag');

  await setMaterial(dbPath, b, aSealed);
  t.equal(await reasonOf(s.client.get(b)), 'General_Failure', 'a row holding another row\'s sealed key does not open (the UID is authenticated)');
  t.match(await s.client.get(b).catch((e: Error) => e.message), /does not authenticate under master key .*moved from another row/);
  await setMaterial(dbPath, b, bBytes);
  t.match(await s.client.get(b).catch((e: Error) => e.message), /not sealed by a master key/, 'a clear row planted in a sealed database is refused, not used');
  await s.stop();

  // A database written before sealing: clear material and no master key registered.
  await setMaterial(dbPath, a, aBytes, true);
  await setMaterial(dbPath, b, bBytes);
  s = await serverOn(dbPath, {});
  t.teardown(() => s.stop());
  t.same((await s.client.get(a)).bytes, aBytes, 'sealed at start, and still the same key');
  t.same((await s.client.get(b)).bytes, bBytes);
  t.ok(sealedKeyId((await sealedRow(dbPath, a)).material), 'the row is sealed now');
  await s.stop();
  // PostgreSQL's WAL from before the upgrade still holds the clear rows (README: recycled segments, and old backups, keep them).
  t.same((await scanForKey(dir, dbPath, aBytes, walFrom)).filter((w) => !w.startsWith('file pg_wal/')), [], 'no clear copy left in the tables or database files (secure_delete, VACUUM FULL)');
});

t.test('a wrong or missing master key is a clear error at start, never a new key', async (t) => {
  const { dir, dbPath } = await tempDb(t);
  const s = await serverOn(dbPath, {});
  const uid = await s.client.create({ algorithm: 'AES', length: 256 });
  await s.stop();
  const realId = masterKeyId(parseMasterKeys(readFileSync(masterKeyFileOf(dbPath), 'utf8'), 'f')[0]!.key);
  const other = join(dir, 'other.key');
  writeFileSync(other, formatMasterKeys([newMasterKey()]), { mode: 0o600 });
  await t.rejects(startServer({ port: 0, dbPath, masterKeyFile: other, logLevel: 'silent' }), { name: 'MasterKeyError', message: new RegExp(`^wrong master key: the database holds key material sealed under master key ${realId}, but ${other} holds`) });
  const missing = join(dir, 'typo.key');
  await t.rejects(startServer({ port: 0, dbPath, masterKeyFile: missing, logLevel: 'silent' }), { message: new RegExp(`cannot read the master key ${missing}.*ENOENT.*sealed under master key ${realId}`) });
  t.notOk(existsSync(missing), 'no key file was created for a database that has keys');
  writeFileSync(join(dir, 'bad.key'), 'not a key\n');
  await t.rejects(startServer({ port: 0, dbPath, masterKeyFile: join(dir, 'bad.key'), logLevel: 'silent' }), { message: /bad\.key: key 1 is not 32 bytes in base64/ });

  // The same through `p11kms serve`: it stops with the message, before listening.
  const run = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', '0', '--db', dbPath, '--workers', '1', '--master-key-file', other], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } });
  t.not(run.status, 0, 'serve fails');
  t.match(run.stderr, `wrong master key: the database holds key material sealed under master key ${realId}`);

  // And P11KMS_MASTER_KEY beats the default file: the right key given that way works.
  process.env['P11KMS_MASTER_KEY'] = readFileSync(masterKeyFileOf(dbPath), 'utf8').trim();
  try {
    const viaEnv = await startServer({ port: 0, dbPath, logLevel: 'silent', ...(onPostgres ? { dataDir: join(dir, 'nokey') } : {}) });
    await viaEnv.close();
    process.env['P11KMS_MASTER_KEY'] = formatMasterKeys([newMasterKey()]);
    await t.rejects(startServer({ port: 0, dbPath, logLevel: 'silent' }), { message: /^wrong master key: .* but \$P11KMS_MASTER_KEY holds/ });
  } finally {
    delete process.env['P11KMS_MASTER_KEY'];
  }
  // A systemd credential, as LoadCredential=master-key:/path provides it.
  const credentials = join(dir, 'credentials');
  mkdirSync(credentials);
  writeFileSync(join(credentials, 'master-key'), readFileSync(masterKeyFileOf(dbPath)));
  process.env['CREDENTIALS_DIRECTORY'] = credentials;
  try {
    const viaCredential = await startServer({ port: 0, dbPath, logLevel: 'silent', ...(onPostgres ? { dataDir: join(dir, 'nokey') } : {}) });
    await viaCredential.close();
  } finally {
    delete process.env['CREDENTIALS_DIRECTORY'];
  }
  t.notOk(existsSync(join(dir, 'nokey', 'master-key')), 'neither created a key file');
  t.ok(uid);
});

t.test('creating the key file is race-free: processes starting together all read the one key', async (t) => {
  const { dir } = await tempDb(t);
  const path = join(dir, 'race', 'master-key');
  const script = `const m = require(${JSON.stringify(join(REPO_ROOT, 'dist', 'src', 'server', 'store', 'master-key.js'))});
    process.stdout.write(m.loadMasterKeyRing({ kind: 'file', path: ${JSON.stringify(path)} }, true).current.id);`;
  const { spawn } = await import('node:child_process');
  const ids = await Promise.all(Array.from({ length: 6 }, () => new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
  })));
  t.equal(new Set(ids).size, 1, `one key for all: ${ids.join(' ')}`);
  t.match(ids[0], /^[0-9a-f]{16}$/);
  t.equal(readFileSync(path, 'utf8').trim().split('\n').length, 1);
  t.equal(mode(path).toString(8), '600');
  t.equal(mode(join(dir, 'race')).toString(8), '700');
});

t.test('two servers starting together on an empty database with different keys: one starts, the other is refused', async (t) => {
  const { dir, dbPath } = await tempDb(t);
  const files = ['a', 'b'].map((n) => join(dir, `${n}.key`));
  for (const f of files) writeFileSync(f, formatMasterKeys([newMasterKey()]), { mode: 0o600 });
  const started = await Promise.allSettled(files.map((masterKeyFile) => startServer({ port: 0, dbPath, masterKeyFile, logLevel: 'silent' })));
  for (const s of started) if (s.status === 'fulfilled') t.teardown(() => s.value.close());
  t.equal(started.filter((s) => s.status === 'fulfilled').length, 1, 'exactly one');
  const refused = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  t.match(String(refused?.reason), /wrong master key: the database holds key material sealed under master key [0-9a-f]{16}, but .*\.key holds/);
});
