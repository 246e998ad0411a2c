/** Runs the real OpenSSL CLI against files in a scratch directory, so tests check interop, not self-consistency. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpensslResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function openssl(args: string[], cwd: string): OpensslResult {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A scratch directory removed when the test ends; `put` writes a file into it and returns its name. */
export function scratch(t: { teardown(fn: () => void): void }): { dir: string; put(name: string, data: string | Buffer): string } {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-x509-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    put(name, data) {
      writeFileSync(join(dir, name), data);
      return name;
    },
  };
}
