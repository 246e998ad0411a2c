import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startTestServer } from '../support/server';
import { makeTestPki } from '../support/pki';

const run = promisify(execFile);

// Debian's python3-pykmip lives under /usr/bin/python3, not a pyenv or venv python.
const PYTHON = '/usr/bin/python3';

t.test('PyKMIP client over binary TTLV and mutual TLS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = makeTestPki(dir);
  const tls = await startTestServer(t, { port: 0, socketPort: 0, tlsCert: pki.serverCert, tlsKey: pki.serverKey, clientCa: pki.caCert });
  const script = join(REPO_ROOT, 'test', 'interop', 'pykmip_flow.py');
  const { stdout } = await run(PYTHON, [script, '127.0.0.1', String(tls.socketPort), pki.clientCert, pki.clientKey, pki.caCert], { timeout: 60_000 });
  t.match(stdout, /create \S+/);
  t.match(stdout, /get ok/);
  t.match(stdout, /locate ok/);
  t.match(stdout, /encrypt\/decrypt ok/);
  t.match(stdout, /destroy ok/);
  t.match(stdout, /get after destroy fails/);
  t.match(stdout, /PYKMIP FLOW OK/);
});
