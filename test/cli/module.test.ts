import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EXIT } from '../../src/cli/exit-codes';
import { MODULE_PATH } from '../support/module';
import { startTestServer } from '../support/server';
import { cli, jsonOf } from './harness';

interface Check { name: string; verdict: string; detail: string }

t.test('module-path, install-module and doctor', async (t) => {
  const server = await startTestServer(t);
  const home = mkdtempSync(join(tmpdir(), 'p11kms-home-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const env = { P11KMS_SERVER_URL: server.url, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: process.env['PATH'] };

  const path = await cli(['module-path'], env);
  t.equal(path.code, EXIT.OK);
  t.equal(path.stdout.trim(), MODULE_PATH, 'the absolute path of the built module');
  t.ok(existsSync(path.stdout.trim()));

  const before = await cli(['--json', 'doctor'], env);
  t.equal(before.code, EXIT.OK, `doctor passes: ${before.stdout}`);
  const verdicts = new Map(jsonOf<Check[]>(before).map((c) => [c.name, c.verdict]));
  t.equal(verdicts.get('configuration'), 'ok');
  t.equal(verdicts.get(`slot 0 (p11kms): KMS ${server.url}`), 'ok', 'the KMS is reachable');
  t.equal(verdicts.get('slot 0 (p11kms): authentication'), 'ok', 'the credentials are accepted');
  t.equal(verdicts.get('hosting'), 'ok', 'a C host gets the embedded runtime');
  // Other tests and examples may register the module meanwhile: only this test's file is checked.
  const name = `p11kms-cli-test-${process.pid}`;
  t.notMatch(jsonOf<Check[]>(before).find((c) => c.name === 'p11-kit registration')?.detail ?? '', name, 'not registered by this test yet');

  // p11-kit reads only /etc/pkcs11/modules for root; a user registers in ~/.config.
  const root = process.getuid?.() === 0;
  const installed = await cli(root ? ['install-module', '--name', name] : ['install-module', '--user', '--name', name], env);
  t.equal(installed.code, EXIT.OK);
  const file = root ? join('/etc/pkcs11/modules', `${name}.module`) : join(home, '.config', 'pkcs11', 'modules', `${name}.module`);
  t.teardown(() => rmSync(file, { force: true }));
  t.match(readFileSync(file, 'utf8'), `module: ${MODULE_PATH}`);
  t.match(readFileSync(file, 'utf8'), 'critical: no');

  const after = await cli(['doctor'], env);
  t.equal(after.code, EXIT.OK);
  t.match(after.stdout, new RegExp(`^ok {4}p11-kit registration: .*${name}\\.module`, 'm'), 'doctor sees the registration');
  if (root) {
    const refused = await cli(['install-module', '--user'], env);
    t.equal(refused.code, EXIT.USAGE, 'root cannot register per user: p11-kit would not read it');
  }
});

t.test('doctor fails clearly when the KMS is unreachable or nothing is configured', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'p11kms-home-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const down = await cli(['doctor'], { P11KMS_SERVER_URL: 'http://127.0.0.1:9', HOME: home, PATH: process.env['PATH'] });
  t.equal(down.code, EXIT.NEGATIVE);
  t.match(down.stdout, /^FAIL {2}slot 0 \(p11kms\): KMS http:\/\/127\.0\.0\.1:9: cannot reach the KMS/m);

  const none = await cli(['doctor'], { HOME: home, PATH: process.env['PATH'] });
  t.equal(none.code, EXIT.NEGATIVE);
  t.match(none.stdout, /^FAIL {2}configuration: no slots/m);
});
