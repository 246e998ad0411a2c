import { execFile } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { startTestServer, REPO_ROOT } from '../support/server';

const BIN = join(REPO_ROOT, 'bin', 'p11kms');

function p11kms(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('bin/p11kms runs the compiled CLI with real exit codes', async (t) => {
  const server = await startTestServer(t);
  const env = { P11KMS_SERVER_URL: server.url };
  const help = await p11kms(['--help'], env);
  t.equal(help.code, 0);
  t.match(help.stdout, /keys/);
  const created = await p11kms(['keys', 'create', '--type', 'aes', '--tag', 'from-bin'], env);
  t.equal(created.code, 0, created.stderr);
  const uid = created.stdout.trim();
  const located = await p11kms(['--json', 'locate', '--tag', 'from-bin'], env);
  t.same(JSON.parse(located.stdout), [uid]);
  t.equal((await p11kms(['get', 'nope'], env)).code, 1);
  t.equal((await p11kms(['keys', 'create', '--type', 'nope'], env)).code, 2);
  t.equal((await p11kms(['query'], { P11KMS_SERVER_URL: 'http://127.0.0.1:1' })).code, 3);
});
