// Java's SunPKCS11 provider (OpenJDK 17) loading libp11kms.so into the JVM: keytool lists the
// KMS keys that have certificates, and a small Java program logs in, signs with them and
// verifies with the JDK's own providers. The token needs a login (the PIN is the KMS
// credential), so nothing is visible unless SunPKCS11's C_Login works.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../support/server';
import { MODULE_PATH, pkcs11Tool, runProgram, startModuleFixture, writeOpensslEngineConfig, type RunResult } from '../support/module';

const PIN = 'java-test-pin';
// The same program the Java walk-through runs (examples/java).
const JAVA_PROGRAM = join(REPO_ROOT, 'examples', 'java', 'SignWithP11kms.java');

/** What a failed assertion about a program run shows: its output. */
function out(r: RunResult): { stdout: string; stderr: string } {
  return { stdout: r.stdout, stderr: r.stderr };
}

/** keytool's SHA-256 fingerprint notation: upper-case hex pairs joined by colons. */
function fingerprint(der: Buffer): string {
  return (createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g) ?? []).join(':');
}

t.test('Java SunPKCS11: keytool lists the keys with certificates; a Java program signs with them', async (t) => {
  const label = `java-${randomBytes(3).toString('hex')}`;
  const f = await startModuleFixture(t, { label, login: 'pin-is-token' });
  const file = (name: string): string => join(f.dir, name);
  const login = ['--login', '--pin', PIN];

  const ec = await pkcs11Tool(f, [...login, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'ec1', '--id', '02']);
  t.equal(ec.code, 0, 'EC P-256 key pair generated', out(ec));
  const rsa = await pkcs11Tool(f, [...login, '--keypairgen', '--key-type', 'rsa:2048', '--label', 'rsa1', '--id', '03']);
  t.equal(rsa.code, 0, 'RSA-2048 key pair generated', out(rsa));
  // A key pair without a certificate: SunPKCS11 does not list it as an entry.
  const bare = await pkcs11Tool(f, [...login, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'nocert', '--id', '05']);
  t.equal(bare.code, 0, 'a key pair without a certificate generated', out(bare));

  // Self-signed certificates for the two keys, signed by the keys themselves through the
  // OpenSSL pkcs11 engine, then stored on the token with the key's CKA_ID.
  const confPath = file('openssl-engine.cnf');
  await writeOpensslEngineConfig(confPath, PIN);
  const certs = new Map<string, Buffer>();
  for (const [object, id] of [['rsa1', '03'], ['ec1', '02']] as const) {
    const made = await runProgram(
      'openssl',
      ['req', '-new', '-x509', '-days', '2', '-sha256', '-engine', 'pkcs11', '-keyform', 'engine', '-key', `pkcs11:object=${object};type=private`,
        '-subj', `/CN=${label} ${object}`, '-outform', 'DER', '-out', `${object}.der`],
      { env: { ...f.env, OPENSSL_CONF: confPath }, cwd: f.dir },
    );
    t.equal(made.code, 0, `certificate for ${object} made through the engine`, out(made));
    const written = await pkcs11Tool(f, [...login, '--write-object', file(`${object}.der`), '--type', 'cert', '--id', id, '--label', object]);
    t.equal(written.code, 0, `certificate for ${object} stored on the token`, out(written));
    certs.set(object, existsSync(file(`${object}.der`)) ? readFileSync(file(`${object}.der`)) : Buffer.alloc(0));

    // The certificate's key is the token's public key object.
    const pub = await pkcs11Tool(f, [...login, '--read-object', '--type', 'pubkey', '--id', id, '-o', file(`${object}.pub.der`)]);
    t.equal(pub.code, 0, `public key ${id} read`, out(pub));
    const certKey = await runProgram('openssl', ['x509', '-inform', 'DER', '-in', `${object}.der`, '-noout', '-pubkey'], { env: f.env, cwd: f.dir });
    const tokenKey = await runProgram('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', `${object}.pub.der`], { env: f.env, cwd: f.dir });
    t.equal(certKey.code, 0);
    t.equal(tokenKey.code, 0);
    t.equal(certKey.stdout, tokenKey.stdout, `${object}: the certificate holds the token's public key`);
  }

  const cfg = file('p11kms-java.cfg');
  writeFileSync(cfg, ['name = p11kms', `library = ${MODULE_PATH}`, 'slotListIndex = 0', ''].join('\n'));

  await t.test('keytool -list shows the keys with certificates as PrivateKeyEntry', async (t) => {
    const r = await runProgram(
      'keytool',
      ['-list', '-keystore', 'NONE', '-storetype', 'PKCS11', '-providerClass', 'sun.security.pkcs11.SunPKCS11', '-providerArg', cfg, '-storepass', PIN],
      { env: f.env, cwd: f.dir },
    );
    t.equal(r.code, 0, 'keytool -list', out(r));
    t.match(r.stdout, /Keystore provider: SunPKCS11-p11kms/);
    t.match(r.stdout, /Your keystore contains 2 entries/, 'two entries: the keys with certificates');
    for (const object of ['rsa1', 'ec1']) {
      const entry = new RegExp(`^${object}, PrivateKeyEntry, \\n.*\\(SHA-256\\): ([0-9A-F:]+)$`, 'm').exec(r.stdout);
      t.ok(entry, `${object} is listed as a PrivateKeyEntry`);
      t.equal(entry?.[1], fingerprint(certs.get(object) ?? Buffer.alloc(0)), `${object}: the fingerprint is that of the certificate stored`);
    }
    t.notMatch(r.stdout, /^nocert,/m, 'the key without a certificate is not an entry');
  });

  await t.test('SignWithP11kms.java signs with SHA256withRSA and SHA256withECDSA, verified by the JDK', async (t) => {
    const r = await runProgram('java', [JAVA_PROGRAM, cfg, PIN, 'rsa1=SHA256withRSA', 'ec1=SHA256withECDSA'], { env: f.env, cwd: f.dir });
    t.equal(r.code, 0, 'the Java program', out(r));
    t.match(r.stdout, /^provider SunPKCS11-p11kms$/m);
    t.match(r.stdout, /^aliases ec1,rsa1$/m, 'after login the keystore shows both keys');
    t.match(r.stdout, new RegExp(`^OK rsa1 SHA256withRSA key=RSA signer=SunPKCS11-p11kms verifier=SunRsaSign subject=CN=${label} rsa1 signature-bytes=256$`, 'm'));
    t.match(r.stdout, new RegExp(`^OK ec1 SHA256withECDSA key=EC signer=SunPKCS11-p11kms verifier=SunEC subject=CN=${label} ec1 signature-bytes=\\d+$`, 'm'));
    t.match(r.stdout, /^ALL OK$/m);
    t.notMatch(r.stdout, /^FAIL/m);

    // Which runtime served this JVM, and what it did, from the module's log.
    const pid = /^pid (\d+)$/m.exec(r.stdout)?.[1];
    t.ok(pid, 'the program printed its pid');
    const log = existsSync(f.logPath) ? readFileSync(f.logPath, 'utf8') : '';
    const mine = log.split('\n').filter((line) => line.includes(`[${pid}] `));
    t.ok(mine.length > 0, `the module logged calls from the JVM (pid ${pid})`);
    const hosting = mine.find((line) => / native\[\d+\] hosting: /.test(line)) ?? '';
    t.match(hosting, /hosting: embedded: libnode on a thread of this process$/, 'the JVM is not Node: the runtime is embedded in the JVM');
    t.notOk(mine.some((line) => /hosting: child process/.test(line)), 'no child process runtime');
    t.ok(mine.some((line) => / C_Login -> 0x0$/.test(line)), 'SunPKCS11 logged in (C_Login -> CKR_OK)');
    t.equal(mine.filter((line) => / C_Sign(Final)? -> 0x0$/.test(line)).length, 2, 'two signatures were made by the module');
  });

  await t.test('SignWithP11kms.java fails clearly for an alias with no key', async (t) => {
    const r = await runProgram('java', [JAVA_PROGRAM, cfg, PIN, 'rsa1=SHA256withRSA', 'nocert=SHA256withECDSA'], { env: f.env, cwd: f.dir });
    t.equal(r.code, 1, 'exit 1', out(r));
    t.match(r.stdout, /^OK rsa1 SHA256withRSA /m, 'the good alias still signs');
    t.match(r.stdout, /^FAIL nocert: no key entry$/m);
    t.notMatch(r.stdout, /^ALL OK$/m);
  });
});
