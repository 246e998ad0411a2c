// GnuTLS's p11tool and p11-kit loading libp11kms.so: the token, its objects by label and by
// pkcs11: URL, the mechanisms, public key and certificate export, a signature made through
// GnuTLS, and p11-kit's view of the module once a .module file registers it.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { MODULE_PATH, pkcs11Tool, runProgram, startModuleFixture, type RunResult } from '../support/module';

/** What a failed assertion about a program run shows: its output. */
function out(r: RunResult): { stdout: string; stderr: string } {
  return { stdout: r.stdout, stderr: r.stderr };
}

interface ListedObject {
  url: string;
  type: string;
  label: string;
  id: string;
}

/** p11tool's listing: "Object N:" blocks of tab-indented "Key: value" lines. */
function parseObjects(stdout: string): ListedObject[] {
  return stdout
    .split(/^Object \d+:$/m)
    .slice(1)
    .map((block) => {
      const field = (name: string): string => new RegExp(`^\\t${name}: (.*)$`, 'm').exec(block)?.[1] ?? '';
      return { url: field('URL'), type: field('Type'), label: field('Label'), id: field('ID') };
    });
}

function pemOfDer(der: Buffer, kind: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${kind}-----\n${lines.join('\n')}\n-----END ${kind}-----\n`;
}

t.test('GnuTLS p11tool with --provider libp11kms.so', async (t) => {
  const label = `p11tool-${randomBytes(3).toString('hex')}`;
  const f = await startModuleFixture(t, { label });
  const file = (name: string): string => join(f.dir, name);
  const token = `pkcs11:token=${label}`;
  const p11tool = (args: string[]): Promise<RunResult> =>
    runProgram('p11tool', ['--provider', MODULE_PATH, ...args], { env: f.env, cwd: f.dir });

  const ec = await pkcs11Tool(f, ['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'ec1', '--id', '02']);
  t.equal(ec.code, 0, 'EC P-256 key pair generated', out(ec));
  const rsa = await pkcs11Tool(f, ['--keypairgen', '--key-type', 'rsa:2048', '--label', 'rsa1', '--id', '03']);
  t.equal(rsa.code, 0, 'RSA-2048 key pair generated', out(rsa));
  // A certificate object (its key is a throwaway software key; only the certificate is stored).
  const made = await runProgram(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'cert1.key', '-days', '2',
      '-subj', `/CN=${label} cert1`, '-outform', 'DER', '-out', 'cert1.der'],
    { env: f.env, cwd: f.dir },
  );
  t.equal(made.code, 0, 'a certificate made with openssl', out(made));
  const stored = await pkcs11Tool(f, ['--write-object', file('cert1.der'), '--type', 'cert', '--id', '04', '--label', 'cert1']);
  t.equal(stored.code, 0, 'the certificate stored on the token', out(stored));
  const certDer = existsSync(file('cert1.der')) ? readFileSync(file('cert1.der')) : Buffer.alloc(0);
  const read = await pkcs11Tool(f, ['--read-object', '--type', 'pubkey', '--id', '02', '-o', file('ec1.pub.der')]);
  t.equal(read.code, 0, 'the EC public key object read', out(read));
  const ecPub = existsSync(file('ec1.pub.der')) ? pemOfDer(readFileSync(file('ec1.pub.der')), 'PUBLIC KEY') : '';

  // When p11tool cannot initialise the module at all, every later step fails with one line
  // instead of a page of mismatches.
  let initialised = false;
  const needsModule = (t: { fail(message: string): unknown }): boolean => {
    if (!initialised) t.fail('p11tool could not initialise the module (see --list-tokens)');
    return initialised;
  };

  await t.test('--list-tokens shows the token', async (t) => {
    const r = await p11tool(['--list-tokens']);
    // GnuTLS initialises modules with CKF_OS_LOCKING_OK | CKF_LIBRARY_CANT_CREATE_OS_THREADS.
    t.equal(r.code, 0, 'p11tool loads and initialises the module', out(r));
    initialised = r.code === 0;
    const ours = r.stdout.split(/^Token \d+:$/m).find((block) => new RegExp(`^\\tLabel: ${label}$`, 'm').test(block)) ?? '';
    t.ok(ours, `a token labelled ${label} is listed`, out(r));
    t.match(ours, new RegExp(`^\\tURL: pkcs11:.*;token=${label}$`, 'm'), 'with its pkcs11: URL');
    t.match(ours, /^\tManufacturer: p11kms$/m);
    t.match(ours, /^\tModel: KMIP 2\.1$/m);
  });

  await t.test('--list-all lists the objects by label', async (t) => {
    if (!needsModule(t)) return;
    const r = await p11tool(['--list-all', token]);
    t.equal(r.code, 0, 'p11tool --list-all', out(r));
    const objects = parseObjects(r.stdout);
    const seen = objects.map((o) => `${o.label} | ${o.type} | ${o.id}`).sort();
    t.same(
      seen,
      [
        'cert1 | X.509 Certificate (EC/ECDSA-SECP256R1) | 04',
        'ec1 | Private key (EC/ECDSA-SECP256R1) | 02',
        'ec1 | Public key (EC/ECDSA-SECP256R1) | 02',
        'rsa1 | Private key (RSA-2048) | 03',
        'rsa1 | Public key (RSA-2048) | 03',
      ],
      'the two key pairs and the certificate, with their types and IDs',
    );
    for (const o of objects) {
      t.match(o.url, new RegExp(`;token=${label};.*object=${o.label};`), `${o.label}: its URL names the token and the object`);
    }
    // Without a URL: every object of the provider, which here is the same token.
    const all = await p11tool(['--list-all']);
    t.equal(all.code, 0, 'p11tool --list-all without a URL', out(all));
    t.same(parseObjects(all.stdout).map((o) => `${o.label} | ${o.type} | ${o.id}`).sort(), seen, 'the same objects');
  });

  await t.test('--list-mechanisms', async (t) => {
    if (!needsModule(t)) return;
    const r = await p11tool(['--list-mechanisms', token]);
    t.equal(r.code, 0, 'p11tool --list-mechanisms', out(r));
    // GnuTLS prints CKM_EC_KEY_PAIR_GEN (0x1040) by its older name, CKM_ECDSA_KEY_PAIR_GEN.
    const expected: Array<[string, string, string]> = [
      ['0x1040', 'CKM_ECDSA_KEY_PAIR_GEN', 'generate_key_pair'],
      ['0x1041', 'CKM_ECDSA', 'sign verify'],
      ['0x0000', 'CKM_RSA_PKCS_KEY_PAIR_GEN', 'generate_key_pair'],
      ['0x0040', 'CKM_SHA256_RSA_PKCS', 'sign verify'],
      ['0x000d', 'CKM_RSA_PKCS_PSS', 'sign verify'],
      ['0x1087', 'CKM_AES_GCM', 'encrypt decrypt'],
    ];
    for (const [code, name, flags] of expected) {
      t.match(r.stdout, new RegExp(`^\\[${code}\\] ${name} .*${flags}`, 'm'), `${name} (${code}) is listed with ${flags}`);
    }
  });

  await t.test('--info on pkcs11:token=...;object=... URLs', async (t) => {
    if (!needsModule(t)) return;
    const cases: Array<[string, string, string]> = [
      [`${token};object=ec1;type=public`, 'Public key (EC/ECDSA-SECP256R1)', '02'],
      [`${token};object=rsa1;type=private`, 'Private key (RSA-2048)', '03'],
      [`${token};object=cert1;type=cert`, 'X.509 Certificate (EC/ECDSA-SECP256R1)', '04'],
    ];
    for (const [url, type, id] of cases) {
      const r = await p11tool(['--info', url]);
      t.equal(r.code, 0, `p11tool --info ${url}`, out(r));
      const objects = parseObjects(r.stdout);
      t.equal(objects.length, 1, `${url}: exactly one object`);
      t.equal(objects[0]?.type, type, `${url}: its type`);
      t.equal(objects[0]?.id, id, `${url}: its ID`);
    }
    const none = await p11tool(['--info', `${token};object=no-such-object`]);
    t.not(none.code, 0, 'an object that does not exist is an error', out(none));
    t.match(none.stdout + none.stderr, /No matching objects found/);
  });

  await t.test('--export-pubkey and --export give back the token contents', async (t) => {
    if (!needsModule(t)) return;
    const pub = await p11tool(['--export-pubkey', `${token};object=ec1;type=private`]);
    t.equal(pub.code, 0, 'p11tool --export-pubkey', out(pub));
    t.equal(pub.stdout, ecPub, "the EC key's public key, as the public key object holds it");
    const cert = await p11tool(['--export', `${token};object=cert1;type=cert`]);
    t.equal(cert.code, 0, 'p11tool --export', out(cert));
    t.equal(cert.stdout.trim(), pemOfDer(certDer, 'CERTIFICATE').trim(), 'the certificate, byte for byte');
  });

  await t.test('--test-sign: GnuTLS signs through the module and verifies', async (t) => {
    if (!needsModule(t)) return;
    for (const [object, algorithm] of [['ec1', 'ECDSA-SHA256'], ['rsa1', 'RSA-SHA256']] as const) {
      const r = await p11tool(['--test-sign', `${token};object=${object}`]);
      t.equal(r.code, 0, `p11tool --test-sign ${object}`, out(r));
      // p11tool reports the steps on stderr.
      t.match(r.stderr, new RegExp(`^Signing using ${algorithm}\\.\\.\\. ok$`, 'm'), `${object}: signed`);
      t.match(r.stderr, /^Verifying against private key parameters\.\.\. ok$/m, `${object}: verified with the key's parameters`);
      t.match(r.stderr, /^Verifying against public key in the token\.\.\. ok$/m, `${object}: verified with the public key object`);
    }
    const log = existsSync(f.logPath) ? readFileSync(f.logPath, 'utf8') : '';
    t.ok((log.match(/ C_Sign -> 0x0$/gm) ?? []).length >= 2, 'the module made the signatures');
  });
});

/**
 * p11-kit reads ~/.config/pkcs11/modules, except as root ("skipping user config in program
 * running as root"), and 0.24 has no environment variable naming another directory. As root
 * the .module file goes to /etc/pkcs11/modules under a name unique to this process, enabled
 * only in the p11-kit program, and is removed at teardown (stale ones from dead test
 * processes first).
 */
function registerModule(t: { teardown(fn: () => unknown): void }, home: string, name: string, body: string): string {
  const root = process.getuid?.() === 0;
  const dir = root ? '/etc/pkcs11/modules' : join(home, '.config', 'pkcs11', 'modules');
  const created: string[] = [];
  for (const d of root ? ['/etc/pkcs11', dir] : [dir]) {
    if (!existsSync(d)) {
      mkdirSync(d, { recursive: true });
      created.push(d);
    }
  }
  if (root) {
    for (const stale of readdirSync(dir)) {
      const pid = /^p11kms-hosts-test-(\d+)-[0-9a-f]+\.module$/.exec(stale)?.[1];
      if (pid && !isAlive(Number(pid))) rmSync(join(dir, stale), { force: true });
    }
  }
  const path = join(dir, `${name}.module`);
  writeFileSync(path, body);
  t.teardown(() => {
    rmSync(path, { force: true });
    for (const d of created.reverse()) {
      try {
        rmdirSync(d); // only if still empty: another test may have put a file there meanwhile
      } catch {
        /* not empty */
      }
    }
  });
  return path;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

t.test('p11-kit list-modules with a .module file for libp11kms.so', async (t) => {
  const label = `p11kit-${randomBytes(3).toString('hex')}`;
  const f = await startModuleFixture(t, { label });
  const name = `p11kms-hosts-test-${process.pid}-${createHash('sha256').update(label).digest('hex').slice(0, 8)}`;
  const path = registerModule(t, f.dir, name, [`module: ${MODULE_PATH}`, 'critical: no', 'enable-in: p11-kit', ''].join('\n'));
  t.ok(existsSync(path), `registered as ${path}`);

  const r = await runProgram('p11-kit', ['list-modules'], { env: f.env, cwd: f.dir });
  t.equal(r.code, 0, 'p11-kit list-modules', out(r));
  // Each module is a non-indented "name: path" line followed by indented lines.
  const section = new RegExp(`^${name}: ${MODULE_PATH.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n((?:[ \\t].*\\n?)*)`, 'm').exec(r.stdout)?.[1] ?? '';
  t.ok(section, `the module is listed under its .module name (${name})`, out(r));
  t.match(section, /^ {4}library-description: p11kms KMIP \(embedded\)$/m, 'initialised, runtime embedded in p11-kit');
  t.match(section, /^ {4}library-manufacturer: p11kms$/m);
  t.match(section, new RegExp(`^ {4}token: ${label}$`, 'm'), "the fixture's token, so the module read P11KMS_CONF");
  t.match(section, /^ {8}model: KMIP 2\.1$/m);
  t.match(section, /^ {15}token-initialized$/m);
  t.notMatch(r.stderr, new RegExp(`${name}.*(fail|skipping)`, 'i'), 'p11-kit reports no problem with the module');

  const log = existsSync(f.logPath) ? readFileSync(f.logPath, 'utf8') : '';
  t.match(log, / C_Initialize -> 0x0$/m, 'the module was initialised');
  t.match(log, / C_GetTokenInfo -> 0x0$/m, 'and asked for its token');
});
