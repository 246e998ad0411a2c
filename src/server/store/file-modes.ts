import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Owner-only rights for the SQLite database: its directory 0700, the file and its -wal and
 * -shm companions 0600. SQLite creates the -wal and -shm files with the rights of the database
 * file, so creating that file 0600 before SQLite opens it covers them; they are chmodded as
 * well in case they were left by an older version.
 *
 * Directories: the ones created here are 0700. One that already exists is left as it is (it
 * may be shared, such as /tmp or /var/lib): if others can enter it, a warning says so; the
 * files in it are 0600 whatever the directory allows.
 */

export const SIDECARS = ['-wal', '-shm', '-journal'] as const;

export function prepareDatabaseFile(path: string, warn: (message: string) => void): void {
  const dir = dirname(path);
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created === undefined && (statSync(dir).mode & 0o077) !== 0) {
    warn(`the database directory ${dir} is open to other users (mode ${(statSync(dir).mode & 0o777).toString(8)}); its files are 0600, but chmod 700 it`);
  }
  // 'a' creates without truncating; the mode applies only to a file created now.
  closeSync(openSync(path, 'a', 0o600));
  tightenDatabaseFiles(path, warn);
}

/**
 * chmod 600 the database file and whichever companions exist; called again once SQLite has
 * opened it. A file this user may write but not chmod (another owner's) is reported, not fatal.
 */
export function tightenDatabaseFiles(path: string, warn: (message: string) => void = () => undefined): void {
  for (const file of [path, ...SIDECARS.map((s) => path + s)]) {
    if (!existsSync(file) || (statSync(file).mode & 0o077) === 0) continue;
    try {
      chmodSync(file, 0o600);
    } catch (e) {
      warn(`cannot make ${file} owner-only (${(e as NodeJS.ErrnoException).code}): other users may read it`);
    }
  }
}
