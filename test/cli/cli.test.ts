import { randomBytes } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { encodeChunk, encodeHeader, readChunk, readHeader, type ByteSource, type ChunkRecord } from '../../src/cli/container';
import { EXIT } from '../../src/cli/exit-codes';
import { startTestServer } from '../support/server';
import { cli, jsonOf } from './harness';

function memorySource(bytes: Buffer): ByteSource {
  let at = 0;
  return {
    read: async (n) => { const o = bytes.subarray(at, at + n); at += o.length; return o; },
    atEnd: async () => at >= bytes.length,
  };
}

async function splitContainer(bytes: Buffer): Promise<{ head: Buffer; chunks: ChunkRecord[] }> {
  const src = memorySource(bytes);
  const header = await readHeader(src);
  const chunks: ChunkRecord[] = [];
  for (let c = await readChunk(src, header); c; c = await readChunk(src, header)) chunks.push(c);
  return { head: encodeHeader(header), chunks };
}

t.test('p11kms against a real server', async (t) => {
  const server = await startTestServer(t);
  const dir = server.dir;
  const env = { P11KMS_SERVER_URL: server.url };
  const run = (...args: string[]) => cli(args, env);

  t.test('keys create, locate, get, attributes, export', async (t) => {
    const aes = await run('keys', 'create', '--type', 'aes', '--label', 'cli-aes', '--tag', 'cli', '--tag', 'batch1');
    t.equal(aes.code, EXIT.OK, aes.stderr);
    const uid = aes.stdout.trim();
    const located = jsonOf<string[]>(await run('--json', 'locate', '--tag', 'cli', '--type', 'symmetric'));
    t.same(located, [uid]);
    t.same(jsonOf<string[]>(await run('--json', 'locate', '--label', 'cli-aes')), [uid]);
    const got = jsonOf<{ objectType: string; value: string }>(await run('--json', 'get', uid));
    t.equal(got.objectType, 'SymmetricKey');
    t.equal(got.value.length, 64);
    const attrs = jsonOf<{ State: string; tags: string[]; CryptographicUsageMask: number }>(await run('--json', 'attributes', uid));
    t.equal(attrs.State, 'Active');
    t.same(attrs.tags.sort(), ['batch1', 'cli']);
    t.equal(attrs.CryptographicUsageMask, 2108);
    const file = join(dir, 'aes.raw');
    t.equal((await run('export', uid, file, '--format', 'raw')).code, EXIT.OK);
    t.equal(readFileSync(file).toString('hex').toUpperCase(), got.value);

    for (const type of ['rsa', 'ec', 'ed25519', 'x25519']) {
      const pair = await run('--json', 'keys', 'create', '--type', type, ...(type === 'ec' ? ['--curve', 'p384'] : []));
      t.equal(pair.code, EXIT.OK, `${type}: ${pair.stderr}`);
      const ids = jsonOf<{ privateKeyId: string; publicKeyId: string }>(pair);
      t.equal(ids.publicKeyId, `${ids.privateKeyId}_pk`);
    }
    const hmac = await run('keys', 'create', '--type', 'hmac');
    t.equal(hmac.code, EXIT.OK, hmac.stderr);
    const locked = (await run('keys', 'create', '--type', 'aes', '--not-extractable')).stdout.trim();
    const refused = await run('export', locked, join(dir, 'nope'), '--format', 'raw');
    t.equal(refused.code, EXIT.KMIP_ERROR);
    t.match(refused.stderr, /^Not_Extractable: /);
  });

  t.test('streamed encrypt / decrypt of a multi-chunk file, and tamper detection', async (t) => {
    const key = (await run('keys', 'create', '--type', 'aes')).stdout.trim();
    const plain = randomBytes(3 * 65536 + 1234);
    const input = join(dir, 'plain.bin');
    const sealed = join(dir, 'plain.p11kms');
    const opened = join(dir, 'plain.out');
    writeFileSync(input, plain);
    const enc = await run('--json', 'encrypt', '--key', key, '--chunk-size', '65536', input, sealed);
    t.equal(enc.code, EXIT.OK, enc.stderr);
    t.equal(jsonOf<{ chunks: number }>(enc).chunks, 4);
    const dec = await run('decrypt', sealed, opened);
    t.equal(dec.code, EXIT.OK, dec.stderr);
    t.same(readFileSync(opened), plain, 'round trip');

    const { head, chunks } = await splitContainer(readFileSync(sealed));
    const tampered = async (name: string, parts: ChunkRecord[]): Promise<void> => {
      const file = join(dir, `${name}.p11kms`);
      const out = join(dir, `${name}.out`);
      writeFileSync(file, Buffer.concat([head, ...parts.map(encodeChunk)]));
      const r = await run('decrypt', file, out);
      t.equal(r.code, EXIT.IO_ERROR, `${name}: exit 5 (${r.stderr.trim()})`);
      t.throws(() => readFileSync(out), `${name}: no partial output left behind`);
    };
    const [c0, c1, c2, c3] = chunks as [ChunkRecord, ChunkRecord, ChunkRecord, ChunkRecord];
    await tampered('reordered', [c1, c0, c2, c3]);
    await tampered('truncated', [c0, c1, c2]);
    await tampered('dropped', [c0, c2, c3]);
    await tampered('flipped', [c0, { ...c1, ciphertext: Buffer.from(c1.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b))) }, c2, c3]);
    const cut = join(dir, 'cut.p11kms');
    writeFileSync(cut, readFileSync(sealed).subarray(0, 200));
    t.equal((await run('decrypt', cut, join(dir, 'cut.out'))).code, EXIT.IO_ERROR, 'cut inside a chunk');

    const empty = join(dir, 'empty.bin');
    writeFileSync(empty, Buffer.alloc(0));
    t.equal((await run('encrypt', '--key', key, empty, join(dir, 'empty.p11kms'))).code, EXIT.OK);
    t.equal((await run('decrypt', join(dir, 'empty.p11kms'), join(dir, 'empty.out'))).code, EXIT.OK);
    t.equal(readFileSync(join(dir, 'empty.out')).length, 0, 'empty files round-trip');

    const cbc = await run('encrypt', '--key', key, '--mode', 'cbc', '--chunk-size', '1000', input, join(dir, 'cbc.p11kms'));
    t.equal(cbc.code, EXIT.OK, cbc.stderr);
    t.equal((await run('decrypt', join(dir, 'cbc.p11kms'), join(dir, 'cbc.out'))).code, EXIT.OK);
    t.same(readFileSync(join(dir, 'cbc.out')), plain, 'CBC round trip');
  });

  t.test('sign / verify exit codes', async (t) => {
    const ids = jsonOf<{ privateKeyId: string; publicKeyId: string }>(await run('--json', 'keys', 'create', '--type', 'rsa'));
    const doc = join(dir, 'doc.txt');
    const sig = join(dir, 'doc.sig');
    writeFileSync(doc, 'sign me');
    t.equal((await run('sign', '--key', ids.privateKeyId, doc, '--out', sig, '--algorithm', 'RSASSAPSS', '--digest', 'sha-256')).code, EXIT.OK);
    const ok = await run('verify', '--key', ids.publicKeyId, doc, sig, '--algorithm', 'RSASSAPSS', '--digest', 'SHA256');
    t.equal(ok.code, EXIT.OK);
    t.equal(ok.stdout.trim(), 'valid');
    writeFileSync(doc, 'sign me!');
    const bad = await run('verify', '--key', ids.publicKeyId, doc, sig, '--algorithm', 'RSASSAPSS', '--digest', 'SHA256');
    t.equal(bad.code, EXIT.NEGATIVE);
  });

  t.test('certificates certify / export / import', async (t) => {
    const ca = jsonOf<{ privateKeyId: string; publicKeyId: string }>(await run('--json', 'keys', 'create', '--type', 'ec'));
    const caCert = (await run('certificates', 'certify', '--private-key-id', ca.privateKeyId, '--public-key-id', ca.publicKeyId, '--subject', 'CN=Test CA', '--ca', '--days', '30')).stdout.trim();
    const leaf = jsonOf<{ privateKeyId: string; publicKeyId: string }>(await run('--json', 'keys', 'create', '--type', 'rsa'));
    const issued = await run('certificates', 'certify', '--public-key-id', leaf.publicKeyId, '--subject', 'CN=leaf', '--issuer-private-key-id', ca.privateKeyId, '--issuer-certificate-id', caCert, '--tag', 'leafcert');
    t.equal(issued.code, EXIT.OK, issued.stderr);
    const leafCert = issued.stdout.trim();
    const pem = join(dir, 'leaf.pem');
    t.equal((await run('certificates', 'export', leafCert, pem)).code, EXIT.OK);
    const x509 = new X509Certificate(readFileSync(pem));
    t.match(x509.subject, /CN=leaf/);
    t.match(x509.issuer, /CN=Test CA/);
    const der = join(dir, 'leaf.der');
    t.equal((await run('certificates', 'export', leafCert, der, '--format', 'der')).code, EXIT.OK);
    const reimported = await run('--json', 'certificates', 'import', der, '--format', 'der', '--tag', 'again');
    t.equal(reimported.code, EXIT.OK, reimported.stderr);
    t.equal(jsonOf<string[]>(reimported).length, 1);
    const p12 = await run('certificates', 'export', leafCert, join(dir, 'leaf.p12'), '--format', 'pkcs12', '--password', 'pw');
    t.equal(p12.code, EXIT.OK, p12.stderr);
    t.ok(readFileSync(join(dir, 'leaf.p12')).length > 500, 'a PKCS#12 bundle');
  });

  t.test('data import / export keeps keyfiles byte for byte', async (t) => {
    const keyfile = join(dir, 'veracrypt.key');
    const bytes = randomBytes(64);
    writeFileSync(keyfile, bytes);
    const uid = (await run('data', 'import', '--label', 'vc-keyfile', keyfile, '--tag', 'vc')).stdout.trim();
    const attrs = jsonOf<{ SecretDataType?: string }>(await run('--json', 'attributes', uid));
    t.equal(attrs.SecretDataType, 'Seed');
    t.equal((await run('data', 'export', uid, join(dir, 'back.key'))).code, EXIT.OK);
    t.same(readFileSync(join(dir, 'back.key')), bytes);
  });

  t.test('rng, hash, query, revoke, destroy', async (t) => {
    t.match((await run('rng', '16')).stdout.trim(), /^[0-9a-f]{32}$/);
    const f = join(dir, 'abc.txt');
    writeFileSync(f, 'abc');
    t.equal((await run('hash', '--algorithm', 'SHA256', f)).stdout.trim(), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const q = jsonOf<{ operations: string[] }>(await run('--json', 'query'));
    t.ok(q.operations.includes('Locate'));
    const key = (await run('keys', 'create', '--type', 'aes')).stdout.trim();
    t.equal((await run('revoke', key, '--reason', 'keycompromise')).code, EXIT.OK);
    t.equal((await run('destroy', key)).code, EXIT.OK);
    t.same(jsonOf<string[]>(await run('--json', 'locate', '--state', 'Destroyed_Compromised')), [key]);
  });

  t.test('exit codes: usage 2, not found 1, KMIP error 4, unreachable 3, local IO 5', async (t) => {
    t.equal((await run('keys', 'create', '--type', 'blowfish')).code, EXIT.USAGE);
    t.equal((await run('keys', 'create')).code, EXIT.USAGE);
    t.equal((await run('no-such-command')).code, EXIT.USAGE);
    t.equal((await run('revoke', 'x', '--reason', 'bored')).code, EXIT.USAGE);
    const missing = await run('get', 'no-such-uid');
    t.equal(missing.code, EXIT.NEGATIVE);
    t.match(missing.stderr, /^(Item|Object)_Not_Found: /);
    const rsa = jsonOf<{ privateKeyId: string }>(await run('--json', 'keys', 'create', '--type', 'ed25519'));
    const kmip = await run('encrypt', '--key', rsa.privateKeyId, join(dir, 'abc.txt'), join(dir, 'x.p11kms'));
    t.equal(kmip.code, EXIT.KMIP_ERROR, kmip.stderr);
    t.match(kmip.stderr, /^[A-Z][A-Za-z_]+: /);
    const down = await cli(['query'], { P11KMS_SERVER_URL: 'http://127.0.0.1:1' });
    t.equal(down.code, EXIT.UNREACHABLE);
    t.match(down.stderr, /cannot reach the KMS/);
    t.equal((await run('hash', join(dir, 'does-not-exist'))).code, EXIT.IO_ERROR);
    t.equal((await run('--help')).code, EXIT.OK);
  });

  t.test('configuration: flag beats --config beats env; Cosmian ckms.toml layout', async (t) => {
    const ckms = join(dir, 'ckms.toml');
    writeFileSync(ckms, `[http_config]\nserver_url = "${server.url}"\n`);
    t.equal((await cli(['--config', ckms, 'query'], { P11KMS_SERVER_URL: 'http://127.0.0.1:1' })).code, EXIT.OK, 'file beats env');
    const ours = join(dir, 'p11kms.toml');
    writeFileSync(ours, 'server_url = "http://127.0.0.1:1"\n');
    t.equal((await cli(['--config', ours, '--server-url', server.url, 'query'], {})).code, EXIT.OK, 'flag beats file');
    t.equal((await cli(['--config', ours, 'query'], {})).code, EXIT.UNREACHABLE);
    t.equal((await cli(['--config', join(dir, 'missing.toml'), 'query'], {})).code, EXIT.USAGE);
  });
});
