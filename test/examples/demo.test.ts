import t from 'tap';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/server';
import { runProgram } from '../support/module';

/** `npm run demo` end to end: the KMS, the CLI, then pkcs11-tool through the module. */
t.test('examples/demo/run.sh succeeds and says what it does', async (t) => {
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const r = await runProgram('bash', [join(REPO_ROOT, 'examples', 'demo', 'run.sh')], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], P11KMS_DEMO_PORT: port },
    timeout: 300_000,
  });
  t.equal(r.code, 0, `the demo exits 0${r.code ? `\n${r.stdout}\n${r.stderr}` : ''}`);
  t.match(r.stdout, /tampered message rejected/);
  t.match(r.stdout, /p11kms KMIP \(embedded\)/, 'pkcs11-tool loads the module with the embedded runtime');
  t.match(r.stdout, /Signature is valid/);
  t.match(r.stdout, /Verified OK/, 'OpenSSL verifies the KMS signature');
  t.match(r.stdout, /== Demo complete/);
});
