import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EXIT } from '../exit-codes';
import { modulePath, runChecks, runningAsRoot, SYSTEM_MODULE_DIR, userModuleDir } from '../module-checks';
import type { Runtime } from '../runtime';

const MARK = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip' } as const;

export function registerModule(program: Command, rt: Runtime): void {
  program
    .command('module-path')
    .description('print the absolute path of libp11kms.so, the PKCS#11 module')
    .action(rt.action(async ({ out }) => {
      out.result({ path: modulePath() }, modulePath());
    }));

  program
    .command('install-module')
    .description('register the module with p11-kit (a .module file), so systemd, GnuTLS and p11-kit-proxy load it')
    .option('--user', 'register for this user only (~/.config/pkcs11/modules) instead of the system')
    .option('--dir <dir>', 'write the .module file into this directory')
    .option('--name <name>', 'file name, without .module', 'p11kms')
    .action(rt.action<{ user?: boolean; dir?: string; name: string }>(async ({ out, io }, _args, o) => {
      if (o.user && runningAsRoot() && o.dir === undefined) {
        out.error('p11-kit ignores user configuration in programs running as root: register without --user');
        return EXIT.USAGE;
      }
      const dir = o.dir ?? (o.user ? userModuleDir(io.env) : SYSTEM_MODULE_DIR);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${o.name}.module`);
      // critical: no — a KMS that is down must not make p11-kit refuse every other module.
      writeFileSync(file, `# p11kms: PKCS#11 access to a KMIP key management server\nmodule: ${modulePath()}\ncritical: no\n`);
      out.result({ file, module: modulePath() }, `registered ${modulePath()} in ${file}`);
    }));

  program
    .command('doctor')
    .description('check the configuration, the KMS, authentication, the hosting mode and the p11-kit registration')
    .action(rt.action(async ({ out, io }) => {
      const checks = await runChecks({ PATH: process.env['PATH'], HOME: process.env['HOME'], ...io.env });
      out.result(checks.map((c) => ({ ...c })), checks.map((c) => `${MARK[c.verdict]}  ${c.name}: ${c.detail}`));
      return checks.some((c) => c.verdict === 'fail') ? EXIT.NEGATIVE : EXIT.OK;
    }));
}
