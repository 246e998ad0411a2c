import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/server';
import { runProgram } from '../support/module';

/**
 * Every integration walk-through, run as a user would run it: examples/<name>/run.sh must
 * exit 0, and each exits non-zero on any failure of the program it drives. They run one
 * after another: several register the module with p11-kit, and systemd and GnuTLS see every
 * registration at once.
 */
const EXAMPLES = join(REPO_ROOT, 'examples');
const names = readdirSync(EXAMPLES).filter((n) => n !== 'demo' && n !== 'lib' && existsSync(join(EXAMPLES, n, 'run.sh'))).sort();

t.test('every integration has a README and a run.sh that succeeds', async (t) => {
  t.ok(names.length > 0, `integrations found: ${names.join(', ')}`);
  for (const name of names) {
    await t.test(name, async (t) => {
      t.ok(existsSync(join(EXAMPLES, name, 'README.md')), `examples/${name}/README.md`);
      const started = Date.now();
      const r = await runProgram('bash', [join(EXAMPLES, name, 'run.sh')], {
        env: { PATH: process.env['PATH'], HOME: process.env['HOME'], LANG: 'C.UTF-8' },
        timeout: 600_000,
      });
      t.comment(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      t.equal(r.code, 0, `examples/${name}/run.sh exits 0`, { stdout: r.stdout.slice(-4000), stderr: r.stderr.slice(-4000) });
    });
  }
});
