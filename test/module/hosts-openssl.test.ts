// OpenSSL 3 with the pkcs11 engine (libengine-pkcs11-openssl / libp11) loading libp11kms.so:
// signatures, public keys, a CSR and a self-signed certificate made with keys that live in the
// KMS, each checked by plain openssl with no engine.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { opensslEnginePath, pkcs11Tool, runProgram, startModuleFixture, writeOpensslEngineConfig, type ModuleFixture, type RunResult } from '../support/module';


/** The engine's shared object: OpenSSL's ENGINESDIR, or Debian's usual path. */
/** What a failed assertion about a program run shows: its output. */
function out(r: RunResult): { stdout: string; stderr: string } {
  return { stdout: r.stdout, stderr: r.stderr };
}

t.test('OpenSSL pkcs11 engine signs with KMS keys; plain openssl verifies', async (t) => {
  const label = `ossl-${randomBytes(3).toString('hex')}`;
  const f: ModuleFixture = await startModuleFixture(t, { label });
  const engine = await opensslEnginePath();
  t.ok(existsSync(engine), `the pkcs11 engine is installed (${engine})`);

  const confPath = join(f.dir, 'openssl-engine.cnf');
  await writeOpensslEngineConfig(confPath);
  const file = (name: string): string => join(f.dir, name);
  // With the engine: OPENSSL_CONF points at the file above. Without: an empty configuration,
  // so no engine can be loaded even if the system's openssl.cnf would load one.
  const plainConf = file('openssl-plain.cnf');
  writeFileSync(plainConf, '');
  const withEngine = (args: string[]): Promise<RunResult> =>
    runProgram('openssl', args, { env: { ...f.env, OPENSSL_CONF: confPath }, cwd: f.dir });
  const plain = (args: string[]): Promise<RunResult> => runProgram('openssl', args, { env: { ...f.env, OPENSSL_CONF: plainConf }, cwd: f.dir });

  const ec = await pkcs11Tool(f, ['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'ec1', '--id', '02']);
  t.equal(ec.code, 0, 'EC P-256 key pair generated', out(ec));
  const rsa = await pkcs11Tool(f, ['--keypairgen', '--key-type', 'rsa:2048', '--label', 'rsa1', '--id', '03']);
  t.equal(rsa.code, 0, 'RSA-2048 key pair generated', out(rsa));

  const data = Buffer.from(`data signed through the pkcs11 engine ${randomBytes(8).toString('hex')}\n`);
  writeFileSync(file('data.txt'), data);
  writeFileSync(file('digest.bin'), createHash('sha256').update(data).digest());
  writeFileSync(file('other.txt'), 'not the data that was signed\n');
  writeFileSync(file('other-digest.bin'), createHash('sha256').update('not the data that was signed\n').digest());

  // Public keys: the module's public key objects, read with pkcs11-tool, as PEM.
  const publicPem = async (id: string, name: string): Promise<string> => {
    const read = await pkcs11Tool(f, ['--read-object', '--type', 'pubkey', '--id', id, '-o', file(`${name}.pub.der`)]);
    t.equal(read.code, 0, `pkcs11-tool reads public key ${id}`, out(read));
    const conv = await plain(['pkey', '-pubin', '-inform', 'DER', '-in', `${name}.pub.der`, '-out', `${name}.pub.pem`]);
    t.equal(conv.code, 0, `openssl parses public key ${id}`, out(conv));
    return existsSync(file(`${name}.pub.pem`)) ? readFileSync(file(`${name}.pub.pem`), 'utf8') : '';
  };
  const ecPub = await publicPem('02', 'ec');
  const rsaPub = await publicPem('03', 'rsa');
  t.match(ecPub, /^-----BEGIN PUBLIC KEY-----/, 'EC public key exported');
  t.match(rsaPub, /^-----BEGIN PUBLIC KEY-----/, 'RSA public key exported');

  await t.test('the engine exports the same public keys (-pubout)', async (t) => {
    for (const [object, expected] of [['ec1', ecPub], ['rsa1', rsaPub]] as const) {
      const r = await withEngine(['pkey', '-engine', 'pkcs11', '-inform', 'engine', '-in', `pkcs11:object=${object};type=private`, '-pubout']);
      t.equal(r.code, 0, `openssl pkey -pubout through the engine for ${object}`, out(r));
      t.equal(r.stdout, expected, `${object}: the engine's public key is the token's public key object`);
    }
  });

  await t.test('ECDSA P-256: pkeyutl over a digest and dgst over a file', async (t) => {
    const sign = await withEngine(['pkeyutl', '-engine', 'pkcs11', '-keyform', 'engine', '-inkey', 'pkcs11:object=ec1;type=private', '-sign', '-in', 'digest.bin', '-out', 'ec-pkeyutl.sig']);
    t.equal(sign.code, 0, 'pkeyutl -sign through the engine', out(sign));
    t.ok(existsSync(file('ec-pkeyutl.sig')) && readFileSync(file('ec-pkeyutl.sig')).length > 0, 'a signature was written');
    const verify = await plain(['pkeyutl', '-verify', '-pubin', '-inkey', 'ec.pub.pem', '-in', 'digest.bin', '-sigfile', 'ec-pkeyutl.sig']);
    t.equal(verify.code, 0, 'plain openssl verifies it', out(verify));
    t.match(verify.stdout, /Signature Verified Successfully/);
    const wrong = await plain(['pkeyutl', '-verify', '-pubin', '-inkey', 'ec.pub.pem', '-in', 'other-digest.bin', '-sigfile', 'ec-pkeyutl.sig']);
    t.not(wrong.code, 0, 'the signature does not verify over another digest');
    t.match(wrong.stdout + wrong.stderr, /Signature Verification Failure/);

    const dgst = await withEngine(['dgst', '-sha256', '-engine', 'pkcs11', '-keyform', 'engine', '-sign', 'pkcs11:object=ec1;type=private', '-out', 'ec-dgst.sig', 'data.txt']);
    t.equal(dgst.code, 0, 'dgst -sha256 -sign through the engine', out(dgst));
    const dverify = await plain(['dgst', '-sha256', '-verify', 'ec.pub.pem', '-signature', 'ec-dgst.sig', 'data.txt']);
    t.equal(dverify.code, 0, 'plain openssl dgst -verify', out(dverify));
    t.match(dverify.stdout, /Verified OK/);
    const dwrong = await plain(['dgst', '-sha256', '-verify', 'ec.pub.pem', '-signature', 'ec-dgst.sig', 'other.txt']);
    t.not(dwrong.code, 0, 'not over another file');
    t.match(dwrong.stdout, /Verification failure/);
  });

  await t.test('RSA-2048: dgst (PKCS#1 v1.5) and pkeyutl (PKCS#1 v1.5 and PSS)', async (t) => {
    const dgst = await withEngine(['dgst', '-sha256', '-engine', 'pkcs11', '-keyform', 'engine', '-sign', 'pkcs11:object=rsa1;type=private', '-out', 'rsa-dgst.sig', 'data.txt']);
    t.equal(dgst.code, 0, 'dgst -sha256 -sign through the engine', out(dgst));
    t.equal(existsSync(file('rsa-dgst.sig')) ? readFileSync(file('rsa-dgst.sig')).length : 0, 256, 'a 2048-bit signature');
    const dverify = await plain(['dgst', '-sha256', '-verify', 'rsa.pub.pem', '-signature', 'rsa-dgst.sig', 'data.txt']);
    t.equal(dverify.code, 0, 'plain openssl dgst -verify', out(dverify));
    t.match(dverify.stdout, /Verified OK/);
    const dwrong = await plain(['dgst', '-sha256', '-verify', 'rsa.pub.pem', '-signature', 'rsa-dgst.sig', 'other.txt']);
    t.not(dwrong.code, 0, 'not over another file');

    for (const [name, opts] of [
      ['pkcs1', ['-pkeyopt', 'digest:sha256']],
      ['pss', ['-pkeyopt', 'digest:sha256', '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:32']],
    ] as const) {
      const sig = `rsa-${name}.sig`;
      const sign = await withEngine(['pkeyutl', '-engine', 'pkcs11', '-keyform', 'engine', '-inkey', 'pkcs11:object=rsa1;type=private', '-sign', '-in', 'digest.bin', '-out', sig, ...opts]);
      t.equal(sign.code, 0, `pkeyutl -sign (${name}) through the engine`, out(sign));
      const verify = await plain(['pkeyutl', '-verify', '-pubin', '-inkey', 'rsa.pub.pem', '-in', 'digest.bin', '-sigfile', sig, ...opts]);
      t.equal(verify.code, 0, `plain openssl verifies the ${name} signature`, out(verify));
      t.match(verify.stdout, /Signature Verified Successfully/);
      const wrong = await plain(['pkeyutl', '-verify', '-pubin', '-inkey', 'rsa.pub.pem', '-in', 'other-digest.bin', '-sigfile', sig, ...opts]);
      t.not(wrong.code, 0, `the ${name} signature does not verify over another digest`);
    }
  });

  await t.test('a CSR signed by the EC key, verified by openssl req -verify', async (t) => {
    // This URL names the token too, so libp11 matches the token label.
    const req = await withEngine(['req', '-new', '-engine', 'pkcs11', '-keyform', 'engine', '-key', `pkcs11:token=${label};object=ec1;type=private`, '-subj', `/CN=${label} ec1`, '-sha256', '-out', 'ec1.csr']);
    t.equal(req.code, 0, 'openssl req -new through the engine', out(req));
    const verify = await plain(['req', '-in', 'ec1.csr', '-verify', '-noout']);
    t.equal(verify.code, 0, 'openssl req -verify', out(verify));
    t.match(verify.stdout + verify.stderr, /verify OK/);
    const pub = await plain(['req', '-in', 'ec1.csr', '-noout', '-pubkey']);
    t.equal(pub.code, 0);
    t.equal(pub.stdout, ecPub, "the CSR carries the token's EC public key");
    const subject = await plain(['req', '-in', 'ec1.csr', '-noout', '-subject']);
    t.match(subject.stdout, `CN = ${label} ec1`);
  });

  await t.test('a self-signed certificate from the RSA key, verified by openssl', async (t) => {
    const req = await withEngine(['req', '-new', '-x509', '-days', '2', '-sha256', '-engine', 'pkcs11', '-keyform', 'engine', '-key', 'pkcs11:object=rsa1;type=private', '-subj', `/CN=${label} rsa1`, '-out', 'rsa1.pem']);
    t.equal(req.code, 0, 'openssl req -x509 through the engine', out(req));
    const verify = await plain(['verify', '-CAfile', 'rsa1.pem', 'rsa1.pem']);
    t.equal(verify.code, 0, 'openssl verify', out(verify));
    t.match(verify.stdout, /rsa1\.pem: OK/);
    const pub = await plain(['x509', '-in', 'rsa1.pem', '-noout', '-pubkey']);
    t.equal(pub.code, 0);
    t.equal(pub.stdout, rsaPub, "the certificate carries the token's RSA public key");
    const text = await plain(['x509', '-in', 'rsa1.pem', '-noout', '-text']);
    t.match(text.stdout, /Signature Algorithm: sha256WithRSAEncryption/);
  });

  await t.test('the module log shows the signatures and the hosting', async (t) => {
    const log = existsSync(f.logPath) ? readFileSync(f.logPath, 'utf8') : '';
    const signs = log.match(/ C_Sign(Final)? -> 0x0$/gm) ?? [];
    // Seven signatures above: EC pkeyutl and dgst, RSA dgst, pkeyutl PKCS#1 and PSS, the CSR, the certificate.
    t.ok(signs.length >= 7, `every signature went through the module (${signs.length} successful C_Sign/C_SignFinal)`);
    t.match(log, /native\[\d+\] hosting: embedded: libnode on a thread of this process/, 'openssl is not Node: embedded hosting');
    t.notMatch(log, /hosting: child process/, 'no openssl run fell back to the child process');
  });
});
