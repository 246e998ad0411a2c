import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startTestServer } from '../support/server';

const run = promisify(execFile);
const PREFIX = join(REPO_ROOT, '.deps', 'node18');
const NODE18 = join(PREFIX, 'usr', 'bin', 'node');

t.test('src/kmip runs on Debian Node 18 (the embedded runtime)', async (t) => {
  t.ok(existsSync(NODE18), 'scripts/node18.sh unpacked Node 18');
  const server = await startTestServer(t);
  // Through sh: tap instruments every node child it spawns, with hooks Node 18 cannot load.
  const { stdout } = await run('/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$@"', 'sh', NODE18, join(REPO_ROOT, 'dist', 'test', 'node18', 'kmip-smoke.js'), server.url], {
    // Not tap's NODE_OPTIONS: its loader hooks are for Node 20.
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LD_LIBRARY_PATH: join(PREFIX, 'usr', 'lib', 'x86_64-linux-gnu') },
    timeout: 60_000,
  });
  t.match(stdout, /NODE18 OK v18\./);
});
