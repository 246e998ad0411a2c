import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { KmipError } from '../../kmip/errors';

/**
 * The server master key: AES-256-GCM over every object's key material before it reaches the
 * database, so the database alone (a copy, a backup, a stolen disk) reveals no key.
 *
 * Sealed form: "p11S" ‖ version (1) ‖ key id (8) ‖ nonce (12) ‖ ciphertext ‖ tag (16). The
 * header and the object's UID are the additional authenticated data, so a sealed value moved
 * to another row, or given another key id, does not open. The key id (first 8 bytes of a
 * domain-separated SHA-256 of the key) lets several master keys coexist during a rotation.
 *
 * A key ring is one current key (every seal) and any number of previous keys (open only).
 * Its text form, in a file, P11KMS_MASTER_KEY or a systemd credential, is one key per line
 * (or comma-separated), base64 or hex of 32 bytes; the first is the current one.
 */

const MAGIC = Buffer.from('p11S', 'latin1');
const VERSION = 1;
const ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Magic, version and key id: what identifies a sealed value and its key. */
export const SEALED_PREFIX_BYTES = MAGIC.length + 1 + ID_BYTES;
const HEADER_BYTES = SEALED_PREFIX_BYTES + NONCE_BYTES;
export const MASTER_KEY_BYTES = 32;

export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

export interface MasterKey {
  /** 16 hex digits; safe to print and to store. */
  id: string;
  key: Buffer;
}

export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update('p11kms master key id\0').update(key).digest().subarray(0, ID_BYTES).toString('hex');
}

export function newMasterKey(): MasterKey {
  const key = randomBytes(MASTER_KEY_BYTES);
  return { id: masterKeyId(key), key };
}

/** What every sealed value under this key starts with: the store counts rows still under a key by it. */
export function sealedPrefix(id: string): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([VERSION]), Buffer.from(id, 'hex')]);
}

function parseOneKey(text: string, source: string, n: number): Buffer {
  const hex = /^[0-9a-fA-F]{64}$/.test(text);
  const key = hex ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  // Never echo the text: it is (or is close to) a key.
  if (!key || key.length !== MASTER_KEY_BYTES) throw new MasterKeyError(`${source}: key ${n} is not 32 bytes in base64 (44 characters) or hex (64 digits)`);
  return key;
}

/** Keys in text form; the first is the current one. Blank lines and # comments are skipped. */
export function parseMasterKeys(text: string, source: string): MasterKey[] {
  const items = text.split(/[\n,]/).map((l) => l.replace(/#.*/, '').trim()).filter((l) => l.length > 0);
  if (items.length === 0) throw new MasterKeyError(`${source} holds no master key`);
  const keys = items.map((item, i) => parseOneKey(item, source, i + 1)).map((key) => ({ id: masterKeyId(key), key }));
  return keys.filter((k, i) => keys.findIndex((o) => o.id === k.id) === i);
}

export function formatMasterKeys(keys: readonly MasterKey[]): string {
  return keys.map((k) => `${k.key.toString('base64')}\n`).join('');
}

/** Where the key ring comes from; a file is re-read when it changes, so `master-key rotate` needs no restart. */
export type MasterKeySource =
  | { kind: 'file'; path: string }
  | { kind: 'env'; name: string; text: string }
  | { kind: 'credential'; path: string };

export function describeSource(s: MasterKeySource): string {
  return s.kind === 'env' ? `$${s.name}` : s.kind === 'credential' ? `systemd credential ${s.path}` : s.path;
}

/** The key id named by a sealed value's header, or undefined if the bytes are not a sealed value. */
export function sealedKeyId(sealed: Buffer): string | undefined {
  if (sealed.length < HEADER_BYTES + TAG_BYTES || !sealed.subarray(0, MAGIC.length).equals(MAGIC) || sealed[MAGIC.length] !== VERSION) return undefined;
  return sealed.subarray(MAGIC.length + 1, SEALED_PREFIX_BYTES).toString('hex');
}

function aad(header: Buffer, uid: string): Buffer {
  return Buffer.concat([header, Buffer.from(uid, 'utf8')]);
}

export class MasterKeyRing {
  private keys: MasterKey[];
  /** The file's identity when last read: a change means `rotate` rewrote it. */
  private seen: string | undefined;

  constructor(readonly source: MasterKeySource, keys: MasterKey[]) {
    if (keys.length === 0) throw new MasterKeyError(`${describeSource(source)} holds no master key`);
    this.keys = keys;
    this.seen = this.fileStamp();
  }

  get current(): MasterKey {
    return this.keys[0] as MasterKey;
  }

  /** Every key, current first: what `master-key rotate` writes back after the new one. */
  get all(): readonly MasterKey[] {
    return [...this.keys];
  }

  get ids(): string[] {
    return this.keys.map((k) => k.id);
  }

  holds(id: string): boolean {
    return this.keys.some((k) => k.id === id);
  }

  private fileStamp(): string | undefined {
    if (this.source.kind === 'env') return undefined;
    try {
      const s = statSync(this.source.path, { bigint: true });
      return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    } catch {
      return undefined;
    }
  }

  /** Re-reads a file source that changed since it was read (a stat per call). */
  refresh(): void {
    if (this.source.kind === 'env') return;
    const stamp = this.fileStamp();
    if (stamp === undefined || stamp === this.seen) return;
    this.keys = parseMasterKeys(readFileSync(this.source.path, 'utf8'), describeSource(this.source));
    this.seen = stamp;
  }

  seal(uid: string, clear: Buffer): Buffer {
    this.refresh();
    const { id, key } = this.current;
    const header = Buffer.concat([sealedPrefix(id), randomBytes(NONCE_BYTES)]);
    const cipher = createCipheriv('aes-256-gcm', key, header.subarray(SEALED_PREFIX_BYTES));
    cipher.setAAD(aad(header, uid));
    return Buffer.concat([header, cipher.update(clear), cipher.final(), cipher.getAuthTag()]);
  }

  open(uid: string, sealed: Buffer): Buffer {
    const id = sealedKeyId(sealed);
    if (id === undefined) throw new KmipError('General_Failure', `the key material of ${uid} is not sealed by a master key`);
    if (!this.holds(id)) this.refresh();
    const key = this.keys.find((k) => k.id === id)?.key;
    if (!key) throw new KmipError('General_Failure', `the key material of ${uid} is sealed by master key ${id}, which this server was not given (${describeSource(this.source)} holds ${this.ids.join(', ')})`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(SEALED_PREFIX_BYTES, HEADER_BYTES));
    decipher.setAAD(aad(sealed.subarray(0, HEADER_BYTES), uid));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new KmipError('General_Failure', `the sealed key material of ${uid} does not authenticate under master key ${id}: altered, or moved from another row`);
    }
  }
}

/** Writes `text` to a new file beside `path`, 0600, flushed: the caller links or renames it into place. */
function writeTemp(path: string, text: string): string {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates the key file with one fresh key unless it exists, race-free: the complete file is
 * linked into place (link fails if the name exists), so workers and servers starting
 * together all end up reading the one key that won, never a half-written file.
 * Returns true if this call created it.
 */
export function createMasterKeyFile(path: string): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = writeTemp(path, formatMasterKeys([newMasterKey()]));
  try {
    linkSync(temp, path);
    syncDir(dirname(path));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(temp);
  }
}

/** Replaces the key file at once (rename): a server re-reading it sees the old ring or the new one. */
export function replaceMasterKeyFile(path: string, keys: readonly MasterKey[]): void {
  const temp = writeTemp(path, formatMasterKeys(keys));
  try {
    renameSync(temp, path);
  } catch (e) {
    unlinkSync(temp);
    throw e;
  }
  syncDir(dirname(path));
}

export interface MasterKeySettings {
  /** --master-key-file / [db] master_key_file. */
  masterKeyFile?: string;
  /** Where the key file goes when nothing names a key: beside the SQLite file, or in the data directory for PostgreSQL. */
  defaultFile: string;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Where the master key comes from, first match wins: --master-key-file (or [db]
 * master_key_file), $P11KMS_MASTER_KEY, $CREDENTIALS_DIRECTORY/master-key (systemd's
 * LoadCredential=master-key:…), else the default file, created on first start.
 */
export function masterKeySource(s: MasterKeySettings): MasterKeySource {
  if (s.masterKeyFile !== undefined) return { kind: 'file', path: s.masterKeyFile };
  const text = s.env['P11KMS_MASTER_KEY'];
  if (text !== undefined && text !== '') return { kind: 'env', name: 'P11KMS_MASTER_KEY', text };
  const credentials = s.env['CREDENTIALS_DIRECTORY'];
  if (credentials) {
    const path = `${credentials}/master-key`;
    try {
      statSync(path);
      return { kind: 'credential', path };
    } catch {
      // no master-key credential: other credentials may be there for other programs
    }
  }
  return { kind: 'file', path: s.defaultFile };
}

/**
 * Reads the key ring. A missing file is created only when `mayCreate` (the database holds no
 * sealed key yet): a missing or mistyped key file in front of a database with keys is an
 * error, never a fresh key that would leave every stored key unreadable.
 */
export function loadMasterKeyRing(source: MasterKeySource, mayCreate: boolean, warn: (message: string) => void = () => undefined): MasterKeyRing {
  const where = describeSource(source);
  if (source.kind === 'env') return new MasterKeyRing(source, parseMasterKeys(source.text, where));
  let text: string;
  try {
    text = readFileSync(source.path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !mayCreate || source.kind !== 'file') {
      throw new MasterKeyError(`cannot read the master key ${where}: ${(e as Error).message}`);
    }
    createMasterKeyFile(source.path);
    text = readFileSync(source.path, 'utf8');
  }
  if (source.kind === 'file' && (statSync(source.path).mode & 0o077) !== 0) warn(`the master key file ${source.path} is readable by other users: chmod 600 it`);
  return new MasterKeyRing(source, parseMasterKeys(text, where));
}
