import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asanEnv, buildNativeHost } from '../support/native-host';
import { ASAN_MODULE_PATH, MODULE_PATH, runProgram, startModuleFixture } from '../support/module';

/**
 * test/native/hostile.c: every function of the 2.40 list and the 3.0 interface called with
 * NULL pointers, bad handles, short buffers, huge lengths, bad templates and bad
 * mechanisms, before C_Initialize, while initialised and after C_Finalize. Each call must
 * return the CK_RV the standard names, with no crash: in the Release build, and in the
 * AddressSanitizer + UBSan build (libasan preloaded, as in harness.test.ts), where any
 * sanitizer report ends the process with a non-zero exit.
 */

const dir = mkdtempSync(join(tmpdir(), 'p11kms-hostile-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const program = join(dir, 'hostile');

t.before(() => {
  buildNativeHost('hostile.c', program, ['-ldl']);
});

const variants = [
  { name: 'release', module: MODULE_PATH, env: {} },
  { name: 'asan', module: ASAN_MODULE_PATH, env: asanEnv() },
];

t.test('hostile calls against the module', async (t) => {
  const f = await startModuleFixture(t);
  for (const variant of variants) {
    t.test(variant.name, async (t) => {
      if (!existsSync(variant.module)) {
        t.fail(`${variant.module} is missing: run scripts/build-native.sh --asan`);
        return;
      }
      const logFile = join(f.dir, `hostile-${variant.name}.log`);
      const env = { ...f.env, P11KMS_LOG: 'info', P11KMS_LOG_FILE: logFile, ...variant.env };
      const result = await runProgram(program, [variant.module], { env, cwd: f.dir, timeout: 300_000 });
      const summary = /^CALLS (\d+) MISMATCHES (\d+)$/m.exec(result.stdout);
      t.comment(summary ? `${summary[1]} calls, ${summary[2]} mismatches` : 'no summary');
      const moduleLog = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      const diagnostics = { stdout: result.stdout.split('\n').slice(-40).join('\n'), stderr: result.stderr.split('\n').slice(-60).join('\n') };
      t.equal(result.code, 0, 'exits 0: no mismatch, no crash, no sanitizer report', diagnostics);
      t.match(result.stdout, /^OK hostile$/m, 'prints OK', diagnostics);
      t.notMatch(result.stderr, /AddressSanitizer|runtime error:/, 'no sanitizer report', diagnostics);
      t.notMatch(moduleLog, /unexpected failure/, 'no call reached the runtime as an unexpected failure');
    });
  }
});
