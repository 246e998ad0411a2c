import t from 'tap';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KmipError } from '../../src/kmip/errors';
import { buildPkcs12, parsePkcs12 } from '../../src/server/crypto/pkcs12';
import { createCertificate, derToPem, parseCertificate, pemToDer } from '../../src/server/crypto/x509';
import { openssl, scratch } from './openssl';

type Pair = { publicKey: KeyObject; privateKey: KeyObject };

async function chain(make: () => Pair): Promise<{ caDer: Buffer; leafDer: Buffer; leafKey: KeyObject }> {
  const ca = make();
  const leaf = make();
  const caDer = await createCertificate({ subjectPublicKey: ca.publicKey, subjectPrivateKey: ca.privateKey, subject: 'CN=P12 Root', extensions: { ca: true } });
  const leafDer = await createCertificate({
    subjectPublicKey: leaf.publicKey,
    subject: 'CN=p12 leaf',
    issuer: { certificateDer: caDer, privateKey: ca.privateKey },
    extensions: {},
  });
  return { caDer, leafDer, leafKey: leaf.privateKey };
}

const pkcs8 = (k: KeyObject): Buffer => k.export({ format: 'der', type: 'pkcs8' });
const spki = (k: KeyObject): Buffer => createPublicKey(k).export({ format: 'der', type: 'spki' });

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof KmipError) return e.reason;
    throw e;
  }
  return 'no error';
}

const KINDS: { name: string; make: () => Pair }[] = [
  { name: 'RSA-2048', make: () => generateKeyPairSync('rsa', { modulusLength: 2048 }) },
  { name: 'P-256', make: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }) },
  { name: 'Ed25519', make: () => generateKeyPairSync('ed25519') },
];

for (const kind of KINDS) {
  t.test(`${kind.name}: openssl pkcs12 reads what buildPkcs12 writes`, async (t) => {
    const dir = scratch(t);
    const { caDer, leafDer, leafKey } = await chain(kind.make);
    const password = 'correct horse é';
    const pfx = buildPkcs12({ certificateDer: leafDer, chainDers: [caDer], privateKeyPkcs8Der: pkcs8(leafKey), password, friendlyName: 'disk key' });
    dir.put('f.p12', pfx);

    const info = openssl(['pkcs12', '-in', 'f.p12', '-passin', `pass:${password}`, '-info', '-noout'], dir.dir);
    t.equal(info.code, 0, info.stderr);
    t.match(info.stderr + info.stdout, 'MAC: sha256, Iteration 2048');
    t.match(info.stderr + info.stdout, /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
    t.match(info.stderr + info.stdout, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);

    const out = openssl(['pkcs12', '-in', 'f.p12', '-passin', `pass:${password}`, '-nodes', '-out', 'all.pem'], dir.dir);
    t.equal(out.code, 0, out.stderr);
    const pem = readFileSync(join(dir.dir, 'all.pem'), 'utf8');
    t.match(pem, 'friendlyName: disk key');
    t.ok(pem.includes(derToPem('CERTIFICATE', leafDer)), 'leaf certificate');
    t.ok(pem.includes(derToPem('CERTIFICATE', caDer)), 'chain certificate');
    const key = createPrivateKey({ key: pemToDer(pem, 'PRIVATE KEY'), format: 'der', type: 'pkcs8' });
    t.ok(spki(key).equals(spki(leafKey)), 'private key survives');

    t.not(openssl(['pkcs12', '-in', 'f.p12', '-passin', 'pass:wrong', '-nodes'], dir.dir).code, 0, 'openssl rejects a wrong password');

    const back = parsePkcs12(pfx, password);
    t.ok(back.certificateDer.equals(leafDer));
    t.equal(back.chainDers.length, 1);
    t.ok(back.chainDers[0].equals(caDer));
    t.ok(back.privateKeyPkcs8Der.equals(pkcs8(leafKey)));
    t.equal(reasonOf(() => parsePkcs12(pfx, 'wrong')), 'Bad_Password');
  });
}

t.test('parsePkcs12 reads OpenSSL 3 defaults, legacy 3DES/SHA-1, no-MAC and empty passwords', async (t) => {
  const dir = scratch(t);
  const { caDer, leafDer, leafKey } = await chain(KINDS[0].make);
  dir.put('leaf.pem', derToPem('CERTIFICATE', leafDer));
  dir.put('ca.pem', derToPem('CERTIFICATE', caDer));
  dir.put('key.pem', leafKey.export({ format: 'pem', type: 'pkcs8' }));
  const variants: { file: string; pass: string; extra: string[] }[] = [
    { file: 'default.p12', pass: 's3cret', extra: [] },
    { file: 'legacy.p12', pass: 's3cret', extra: ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1'] },
    { file: 'sha512mac.p12', pass: 's3cret', extra: ['-macalg', 'sha512', '-iter', '5000'] },
    { file: 'nomac.p12', pass: 's3cret', extra: ['-nomac'] },
    { file: 'empty.p12', pass: '', extra: [] },
  ];
  for (const v of variants) {
    const r = openssl(
      ['pkcs12', '-export', '-in', 'leaf.pem', '-inkey', 'key.pem', '-certfile', 'ca.pem', '-name', 'x', '-passout', `pass:${v.pass}`, '-out', v.file, ...v.extra],
      dir.dir,
    );
    t.equal(r.code, 0, `${v.file}: ${r.stderr}`);
    const der = readFileSync(join(dir.dir, v.file));
    const got = parsePkcs12(der, v.pass);
    t.ok(got.certificateDer.equals(leafDer), `${v.file}: leaf picked by localKeyId`);
    t.same(got.chainDers.map((c) => parseCertificate(c).subject), ['CN=P12 Root'], `${v.file}: chain`);
    t.ok(spki(createPrivateKey({ key: got.privateKeyPkcs8Der, format: 'der', type: 'pkcs8' })).equals(spki(leafKey)), `${v.file}: key`);
    t.equal(reasonOf(() => parsePkcs12(der, `${v.pass}x`)), 'Bad_Password', `${v.file}: wrong password`);
  }
});

t.test('buildPkcs12 with an empty password is read by openssl', async (t) => {
  const dir = scratch(t);
  const { leafDer, leafKey } = await chain(KINDS[1].make);
  dir.put('e.p12', buildPkcs12({ certificateDer: leafDer, privateKeyPkcs8Der: pkcs8(leafKey), password: '' }));
  const r = openssl(['pkcs12', '-in', 'e.p12', '-passin', 'pass:', '-nodes'], dir.dir);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, 'BEGIN PRIVATE KEY');
});

t.test('bad inputs', async (t) => {
  const a = await chain(KINDS[1].make);
  const b = await chain(KINDS[1].make);
  t.equal(reasonOf(() => buildPkcs12({ certificateDer: a.leafDer, privateKeyPkcs8Der: pkcs8(b.leafKey), password: 'x' })), 'Invalid_Field', 'key of another certificate');
  t.equal(reasonOf(() => buildPkcs12({ certificateDer: a.leafDer, privateKeyPkcs8Der: Buffer.from('junk'), password: 'x' })), 'Invalid_Field');
  t.equal(reasonOf(() => buildPkcs12({ certificateDer: Buffer.from('junk'), privateKeyPkcs8Der: pkcs8(a.leafKey), password: 'x' })), 'Invalid_Field');
  t.equal(reasonOf(() => parsePkcs12(Buffer.from('junk'), 'x')), 'Invalid_Field');
  const pfx = buildPkcs12({ certificateDer: a.leafDer, privateKeyPkcs8Der: pkcs8(a.leafKey), password: 'x' });
  const flipped = Buffer.from(pfx);
  flipped[Math.floor(flipped.length / 2)] ^= 1;
  t.not(reasonOf(() => parsePkcs12(flipped, 'x')), 'no error', 'tampering is detected');
});
