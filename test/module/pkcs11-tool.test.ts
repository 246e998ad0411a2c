import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODULE_PATH, pkcs11Tool, runProgram, startModuleFixture, type ModuleFixture, type RunResult } from '../support/module';

/** OpenSC's pkcs11-tool driving the real module against a real KMS. */

function ok(t: Test, r: RunResult, what: string): string {
  t.equal(r.code, 0, `${what} exits 0${r.code ? `: ${r.stderr}` : ''}`);
  return r.stdout + r.stderr;
}

async function tool(t: Test, f: ModuleFixture, what: string, args: string[]): Promise<string> {
  return ok(t, await pkcs11Tool(f, args), what);
}

t.test('pkcs11-tool against the embedded runtime', async (t) => {
  const f = await startModuleFixture(t, { label: 'p11kms-tool' });

  const info = await tool(t, f, 'module info', ['-I']);
  t.match(info, /Cryptoki version 2\.40/);
  t.match(info, /p11kms KMIP \(embedded\)/, 'the module runs its runtime in process');

  const slots = await tool(t, f, 'list slots', ['-L']);
  t.match(slots, /token label\s+: p11kms-tool/);
  t.match(slots, /token flags\s+: rng, token initialized, PIN initialized/);

  const mechanisms = await tool(t, f, 'list mechanisms', ['-M']);
  for (const m of ['AES-GCM', 'RSA-PKCS-PSS', 'ECDSA-SHA256', 'SHA256-HMAC', 'ECDH1-DERIVE', /AES-KEY-WRAP|mechtype-0x210A/i]) t.match(mechanisms, m);

  t.match(await tool(t, f, 'AES key generation', ['--keygen', '--key-type', 'AES:32', '--label', 'aes1', '--id', '01']), /Secret Key Object; AES length 32/);
  t.match(await tool(t, f, 'EC key pair generation', ['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'ec1', '--id', '02']), /EC_PARAMS:\s+06082a8648ce3d030107/);
  t.match(await tool(t, f, 'RSA key pair generation', ['--keypairgen', '--key-type', 'rsa:2048', '--label', 'rsa1', '--id', '03']), /Public Key Object; RSA 2048 bits/);
  t.match(await tool(t, f, 'Ed25519 key pair generation', ['--keypairgen', '--key-type', 'EC:edwards25519', '--label', 'ed1', '--id', '04']), /label:\s+ed1/);

  const objects = await tool(t, f, 'list objects', ['-O']);
  for (const label of ['aes1', 'ec1', 'rsa1', 'ed1']) t.match(objects, new RegExp(`label:\\s+${label}`));

  const message = join(f.dir, 'msg');
  writeFileSync(message, 'the quick brown fox\n');
  const signatures: Array<[string, string]> = [
    ['02', 'ECDSA-SHA256'], ['02', 'ECDSA'], ['03', 'SHA256-RSA-PKCS'], ['03', 'RSA-PKCS'], ['03', 'SHA384-RSA-PKCS-PSS'],
  ];
  for (const [id, mechanism] of signatures) {
    const sig = join(f.dir, `sig-${mechanism}`);
    await tool(t, f, `sign ${mechanism}`, ['--sign', '--id', id, '-m', mechanism, '-i', message, '-o', sig]);
    t.match(await tool(t, f, `verify ${mechanism}`, ['--verify', '--id', id, '-m', mechanism, '-i', message, '--signature-file', sig]), /Signature is valid/);
  }

  // A signature the KMS made verifies with OpenSSL and the public key read from the token.
  await tool(t, f, 'read the RSA public key', ['--read-object', '--type', 'pubkey', '--id', '03', '-o', join(f.dir, 'rsa.der')]);
  const sha = await runProgram('openssl', ['dgst', '-sha256', '-verify', join(f.dir, 'rsa.der'), '-keyform', 'DER', '-signature', join(f.dir, 'sig-SHA256-RSA-PKCS'), message]);
  t.equal(sha.code, 0, 'OpenSSL verifies the SHA256-RSA-PKCS signature');
  t.match(sha.stdout, /Verified OK/);

  // Tampering is caught.
  const tampered = join(f.dir, 'sig-tampered');
  const original = readFileSync(join(f.dir, 'sig-ECDSA-SHA256'));
  original[5] = (original[5] as number) ^ 1;
  writeFileSync(tampered, original);
  const bad = await pkcs11Tool(f, ['--verify', '--id', '02', '-m', 'ECDSA-SHA256', '-i', message, '--signature-file', tampered]);
  t.match(bad.stdout + bad.stderr, /Invalid signature/, 'a tampered ECDSA signature is refused');

  const data = join(f.dir, 'data');
  writeFileSync(data, Buffer.alloc(64, 7));
  for (const mechanism of ['AES-CBC-PAD', 'AES-CBC', 'AES-ECB']) {
    const enc = join(f.dir, `enc-${mechanism}`);
    const dec = join(f.dir, `dec-${mechanism}`);
    const iv = ['--iv', '000102030405060708090a0b0c0d0e0f'];
    await tool(t, f, `encrypt ${mechanism}`, ['--encrypt', '--id', '01', '-m', mechanism, ...iv, '-i', data, '-o', enc]);
    t.not(readFileSync(enc).toString('hex'), readFileSync(data).toString('hex'), `${mechanism} changes the data`);
    await tool(t, f, `decrypt ${mechanism}`, ['--decrypt', '--id', '01', '-m', mechanism, ...iv, '-i', enc, '-o', dec]);
    t.same(readFileSync(dec), readFileSync(data), `${mechanism} round trip`);
  }

  // RSA-OAEP: OpenSSL encrypts with the public key, the KMS decrypts.
  const secret = join(f.dir, 'secret');
  writeFileSync(secret, 'disk key material');
  const oaep = await runProgram('openssl', ['pkeyutl', '-encrypt', '-pubin', '-keyform', 'DER', '-inkey', join(f.dir, 'rsa.der'), '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256', '-in', secret, '-out', join(f.dir, 'secret.oaep')]);
  t.equal(oaep.code, 0, 'OpenSSL encrypts with the exported public key');
  await tool(t, f, 'decrypt RSA-OAEP', ['--decrypt', '--id', '03', '-m', 'RSA-PKCS-OAEP', '--hash-algorithm', 'SHA256', '--mgf', 'MGF1-SHA256', '-i', join(f.dir, 'secret.oaep'), '-o', join(f.dir, 'secret.out')]);
  t.equal(readFileSync(join(f.dir, 'secret.out'), 'utf8'), 'disk key material');

  // Data objects: write, read back unchanged, delete.
  const keyfile = join(f.dir, 'keyfile');
  writeFileSync(keyfile, Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]));
  await tool(t, f, 'write a data object', ['--write-object', keyfile, '--type', 'data', '--label', 'vol1', '--private']);
  await tool(t, f, 'read the data object', ['--read-object', '--type', 'data', '--label', 'vol1', '-o', join(f.dir, 'keyfile.out')]);
  t.same(readFileSync(join(f.dir, 'keyfile.out')), readFileSync(keyfile), 'the keyfile comes back byte for byte');
  await tool(t, f, 'delete the data object', ['--delete-object', '--type', 'data', '--label', 'vol1']);
  const gone = await pkcs11Tool(f, ['--read-object', '--type', 'data', '--label', 'vol1', '-o', join(f.dir, 'gone')]);
  t.not(gone.code, 0, 'a deleted object is gone');

  await tool(t, f, 'random bytes', ['--generate-random', '32', '-o', join(f.dir, 'random')]);
  t.equal(readFileSync(join(f.dir, 'random')).length, 32);

  const selfTest = await tool(t, f, 'pkcs11-tool --test', ['--test']);
  t.match(selfTest, /No errors/, 'pkcs11-tool --test finds no errors');
  t.notMatch(selfTest, /FAILED|ERR/, 'no failure in the self-test');
});

t.test('the module never writes to the host program\'s stdout or stderr', async (t) => {
  const f = await startModuleFixture(t);
  // -I prints only what pkcs11-tool itself prints; the module's log goes to its file.
  const r = await runProgram('pkcs11-tool', ['--module', MODULE_PATH, '-L'], { env: f.env });
  t.equal(r.code, 0);
  t.notMatch(r.stdout + r.stderr, /runtime|native\[|hosting/, 'no module log lines on the terminal');
  t.match(readFileSync(f.logPath, 'utf8'), /hosting: embedded/, 'the log file says how the runtime is hosted');
});
