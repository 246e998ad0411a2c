import t from 'tap';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/server';
import { moduleEnv, runProgram } from '../support/module';

/**
 * `npm run prebuild` packs the module with prebuildify; a set-up that finds a matching
 * prebuild must not need a compiler. Done in a copy of the tree, so the module the other
 * tests load is never rebuilt under them.
 */
t.test('a matching prebuild installs without a compiler', async (t) => {
  const tree = mkdtempSync(join(tmpdir(), 'p11kms-prebuild-'));
  t.teardown(() => rmSync(tree, { recursive: true, force: true }));
  for (const part of ['native', 'scripts', 'package.json']) cpSync(join(REPO_ROOT, part), join(tree, part), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(tree, 'node_modules'));
  symlinkSync(join(REPO_ROOT, '.deps'), join(tree, '.deps'));

  const packed = await runProgram(process.execPath, [join(REPO_ROOT, 'node_modules', 'prebuildify', 'bin.js'), '--napi', '--strip', '--node-gyp', './scripts/prebuild-native.sh'], { cwd: tree, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 300_000 });
  t.equal(packed.code, 0, `prebuildify succeeds: ${packed.stderr}`);
  const prebuilds = join(tree, 'prebuilds', 'linux-x64');
  for (const file of ['libp11kms.so', 'libp11kms-node.so', 'p11kms.node']) t.ok(existsSync(join(prebuilds, file)), `prebuilds/linux-x64/${file}`);
  const sources = await runProgram('bash', ['scripts/native-sources.sh'], { cwd: tree });
  writeFileSync(join(prebuilds, 'SOURCES.sha256'), sources.stdout);
  rmSync(join(tree, 'build'), { recursive: true, force: true });

  // A PATH with the shell tools the script uses, and no cmake, cc, gcc, g++ or make.
  const bin = join(tree, 'bin');
  mkdirSync(bin);
  for (const tool of ['bash', 'cat', 'cp', 'cut', 'find', 'mkdir', 'rm', 'sha256sum', 'sort', 'xargs', 'node', 'dirname']) {
    const found = ['/usr/bin', '/bin', '/usr/local/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (tool === 'node') symlinkSync(process.execPath, join(bin, 'node'));
    else if (found) symlinkSync(found, join(bin, tool));
  }
  const installed = await runProgram('bash', ['scripts/build-native.sh'], { cwd: tree, env: { PATH: bin } });
  t.equal(installed.code, 0, `build-native.sh without a compiler: ${installed.stdout}${installed.stderr}`);
  t.match(installed.stdout, /using the matching prebuild/);
  t.same(readFileSync(join(tree, 'build', 'Release', 'libp11kms.so')), readFileSync(join(prebuilds, 'libp11kms.so')), 'the prebuilt module is installed');

  // The prebuilt module works, with the runtime from this checkout.
  const info = await runProgram('pkcs11-tool', ['--module', join(tree, 'build', 'Release', 'libp11kms.so'), '-I'], { env: moduleEnv({ P11KMS_RUNTIME_DIR: REPO_ROOT, HOME: tree, P11KMS_SERVER_URL: 'http://127.0.0.1:9' }) });
  t.equal(info.code, 0, info.stderr);
  t.match(info.stdout, /p11kms KMIP \(embedded\)/);

  // A prebuild that does not match the sources is not used: the script would need the compiler.
  writeFileSync(join(prebuilds, 'SOURCES.sha256'), 'stale\n');
  rmSync(join(tree, 'build'), { recursive: true, force: true });
  const stale = await runProgram('bash', ['scripts/build-native.sh'], { cwd: tree, env: { PATH: bin } });
  t.not(stale.code, 0, 'a stale prebuild is refused (and there is no compiler to fall back on)');
  t.notMatch(stale.stdout, /using the matching prebuild/);
});
