import t from 'tap';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KmipError } from '../../src/kmip/errors';
import {
  createCertificate,
  derToPem,
  formatDistinguishedName,
  parseCertificate,
  parseDistinguishedName,
  pemToDer,
  type CertificateRequest,
} from '../../src/server/crypto/x509';
import { openssl, scratch } from './openssl';

type Pair = { publicKey: KeyObject; privateKey: KeyObject };

const KEYS: { name: string; make: () => Pair; sigAlg: string }[] = [
  { name: 'RSA-2048', make: () => generateKeyPairSync('rsa', { modulusLength: 2048 }), sigAlg: 'sha256WithRSAEncryption' },
  { name: 'P-256', make: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }), sigAlg: 'ecdsa-with-SHA256' },
  { name: 'P-384', make: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }), sigAlg: 'ecdsa-with-SHA384' },
  { name: 'P-521', make: () => generateKeyPairSync('ec', { namedCurve: 'P-521' }), sigAlg: 'ecdsa-with-SHA512' },
  { name: 'secp256k1', make: () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), sigAlg: 'ecdsa-with-SHA256' },
  { name: 'Ed25519', make: () => generateKeyPairSync('ed25519'), sigAlg: 'ED25519' },
  { name: 'Ed448', make: () => generateKeyPairSync('ed448'), sigAlg: 'ED448' },
];

async function selfSignedCa(pair: Pair, subject = 'CN=Test Root,O=Acme,C=FR'): Promise<Buffer> {
  return createCertificate({ subjectPublicKey: pair.publicKey, subjectPrivateKey: pair.privateKey, subject, extensions: { ca: true } });
}

async function reasonOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof KmipError) return e.reason;
    throw e;
  }
  return 'no error';
}

for (const key of KEYS) {
  t.test(`${key.name}: CA and issued leaf pass openssl x509 and verify`, async (t) => {
    const dir = scratch(t);
    const caKeys = key.make();
    const leafKeys = key.make();
    const caDer = await selfSignedCa(caKeys);
    const leafDer = await createCertificate({
      subjectPublicKey: leafKeys.publicKey,
      subject: 'CN=disk.example,O=Acme',
      issuer: { certificateDer: caDer, privateKey: caKeys.privateKey },
      extensions: { extendedKeyUsage: ['serverAuth', 'clientAuth'], subjectAltNames: ['disk.example', '10.1.2.3', 'ops@acme.test'] },
    });
    dir.put('ca.der', caDer);
    dir.put('ca.pem', derToPem('CERTIFICATE', caDer));
    dir.put('leaf.pem', derToPem('CERTIFICATE', leafDer));

    const caText = openssl(['x509', '-inform', 'DER', '-in', 'ca.der', '-noout', '-text'], dir.dir);
    t.equal(caText.code, 0, caText.stderr);
    t.match(caText.stdout, `Signature Algorithm: ${key.sigAlg}`);
    t.match(caText.stdout, /Basic Constraints: critical\s+CA:TRUE/);
    t.match(caText.stdout, /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    t.match(caText.stdout, 'Subject Key Identifier');
    t.match(caText.stdout, 'Issuer: CN = Test Root, O = Acme, C = FR');

    const leafText = openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], dir.dir);
    t.equal(leafText.code, 0, leafText.stderr);
    t.match(leafText.stdout, /CA:FALSE/);
    t.match(leafText.stdout, 'TLS Web Server Authentication, TLS Web Client Authentication');
    t.match(leafText.stdout, 'DNS:disk.example, IP Address:10.1.2.3, email:ops@acme.test');
    t.match(leafText.stdout, 'Subject: CN = disk.example, O = Acme');

    const verify = openssl(['verify', '-x509_strict', '-CAfile', 'ca.pem', '-purpose', 'sslserver', 'leaf.pem'], dir.dir);
    t.equal(verify.stdout.trim(), 'leaf.pem: OK', verify.stderr);
    t.equal(openssl(['verify', '-CAfile', 'ca.pem', 'ca.pem'], dir.dir).stdout.trim(), 'ca.pem: OK');

    const ca = parseCertificate(caDer);
    const leaf = parseCertificate(leafDer);
    t.ok(ca.isCA);
    t.notOk(leaf.isCA);
    t.ok(leaf.issuerDer.equals(ca.subjectDer), 'issuer name is a byte copy of the CA subject');
    t.ok(ca.issuerDer.equals(ca.subjectDer), 'self-signed');
    t.equal(leaf.subject, 'CN=disk.example,O=Acme');
    t.equal(leaf.issuer, 'CN=Test Root,O=Acme,C=FR');
    t.ok(leaf.spkiDer.equals(leafKeys.publicKey.export({ format: 'der', type: 'spki' })));
    t.ok(leaf.publicKey.equals(leafKeys.publicKey));
    t.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), 365 * 86_400_000);
    const serial = openssl(['x509', '-in', 'leaf.pem', '-noout', '-serial'], dir.dir).stdout.trim();
    t.equal(serial, `serial=${leaf.serialHex}`);
    t.equal(leaf.serialNumber.length, 16, 'random serials are 16 positive bytes');
    t.equal(leaf.serialNumber[0] & 0x80, 0);
  });
}

t.test('a CA of one key type issues a leaf of another; explicit hash is honoured', async (t) => {
  const dir = scratch(t);
  const rsa = KEYS[0].make();
  const ed = KEYS[5].make();
  const caDer = await createCertificate({
    subjectPublicKey: rsa.publicKey,
    subjectPrivateKey: rsa.privateKey,
    subject: 'CN=RSA Root',
    hash: 'SHA384',
    extensions: { ca: true, keyUsage: ['keyCertSign', 'cRLSign'] },
  });
  const leafDer = await createCertificate({
    subjectPublicKey: ed.publicKey,
    subject: 'CN=ed leaf',
    issuer: { certificateDer: caDer, privateKey: rsa.privateKey },
    hash: 'SHA512',
    extensions: { keyUsage: ['digital_signature', 'Non-Repudiation'] },
  });
  dir.put('ca.pem', derToPem('CERTIFICATE', caDer));
  dir.put('leaf.pem', derToPem('CERTIFICATE', leafDer));
  t.match(openssl(['x509', '-in', 'ca.pem', '-noout', '-text'], dir.dir).stdout, 'sha384WithRSAEncryption');
  const text = openssl(['x509', '-in', 'leaf.pem', '-noout', '-text'], dir.dir).stdout;
  t.match(text, 'Signature Algorithm: sha512WithRSAEncryption');
  t.match(text, 'Public Key Algorithm: ED25519');
  t.match(text, /Key Usage: critical\s+Digital Signature, Non Repudiation/);
  t.equal(openssl(['verify', '-CAfile', 'ca.pem', 'leaf.pem'], dir.dir).stdout.trim(), 'leaf.pem: OK');
});

t.test('parseCertificate reads what openssl writes, names byte for byte', async (t) => {
  const dir = scratch(t);
  const r = openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem',
      '-subj', '/C=FR/O=Acme, Inc./OU=R\\+D/CN=disk one', '-days', '10', '-set_serial', '0x00ff00aa'],
    dir.dir,
  );
  t.equal(r.code, 0, r.stderr);
  const der = pemToDer(readFileSync(join(dir.dir, 'c.pem'), 'utf8'), 'CERTIFICATE');
  const p = parseCertificate(der);
  t.equal(p.subject, 'C=FR,O=Acme\\, Inc.,OU=R\\+D,CN=disk one');
  t.equal(formatDistinguishedName(p.subjectDer), p.subject);
  t.ok(p.subjectDer.equals(p.issuerDer));
  t.ok(der.indexOf(p.subjectDer) > 0);
  t.equal(p.subjectDer[0], 0x30);
  t.equal(p.serialHex, 'FF00AA');
  t.same([...p.serialNumber], [0x00, 0xff, 0x00, 0xaa], 'INTEGER contents keep the sign byte');
  t.ok(p.isCA, 'openssl req -x509 marks CA:TRUE');
  t.equal(p.notAfter.getTime() - p.notBefore.getTime(), 10 * 86_400_000);
  // Our own encoder must produce the same Name bytes for the same DN.
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ours = await createCertificate({ subjectPublicKey: pair.publicKey, subjectPrivateKey: pair.privateKey, subject: p.subject, extensions: {} });
  t.ok(parseCertificate(ours).subjectDer.equals(p.subjectDer), 'CN/O/OU as UTF8String and C as PrintableString, like OpenSSL');
});

t.test('serials, validity and dates past 2049', async (t) => {
  const dir = scratch(t);
  const pair = KEYS[1].make();
  const base: CertificateRequest = { subjectPublicKey: pair.publicKey, subjectPrivateKey: pair.privateKey, subject: 'CN=s', extensions: {} };
  const one = parseCertificate(await createCertificate({ ...base, serial: 1n }));
  t.same([...one.serialNumber], [1]);
  const high = parseCertificate(await createCertificate({ ...base, serial: 0x80n }));
  t.same([...high.serialNumber], [0, 0x80]);
  t.equal(high.serialHex, '80');
  t.equal(await reasonOf(createCertificate({ ...base, serial: 0n })), 'Invalid_Field');
  t.equal(await reasonOf(createCertificate({ ...base, serial: 1n << 160n })), 'Invalid_Field');

  const notBefore = new Date('2030-01-02T03:04:05.678Z');
  const long = await createCertificate({ ...base, notBefore, validityDays: 365 * 30 });
  const p = parseCertificate(long);
  t.equal(p.notBefore.toISOString(), '2030-01-02T03:04:05.000Z');
  t.equal(p.notAfter.getUTCFullYear(), 2059);
  dir.put('long.pem', derToPem('CERTIFICATE', long));
  t.match(openssl(['x509', '-in', 'long.pem', '-noout', '-enddate'], dir.dir).stdout, /2059 GMT/);
  t.equal(await reasonOf(createCertificate({ ...base, validityDays: 0 })), 'Invalid_Field');
});

t.test('distinguished names', async (t) => {
  t.same(parseDistinguishedName('CN=a\\,b, O=Acme+OU=Ops ,C=FR'), [
    [{ type: 'CN', value: 'a,b' }],
    [{ type: 'O', value: 'Acme' }, { type: 'OU', value: 'Ops' }],
    [{ type: 'C', value: 'FR' }],
  ]);
  t.same(parseDistinguishedName('/CN=x/O=y'), [[{ type: 'CN', value: 'x' }], [{ type: 'O', value: 'y' }]]);
  t.same(parseDistinguishedName('cn=\\C3\\A9t\\C3\\A9'), [[{ type: 'cn', value: 'été' }]]);
  t.equal(await reasonOf(() => parseDistinguishedName('')), 'Invalid_Field');
  t.equal(await reasonOf(() => parseDistinguishedName('CN')), 'Invalid_Field');
  t.equal(await reasonOf(() => parseDistinguishedName('XYZ=1')), 'Invalid_Field');

  const dir = scratch(t);
  const pair = KEYS[5].make();
  const der = await createCertificate({
    subjectPublicKey: pair.publicKey,
    subjectPrivateKey: pair.privateKey,
    subject: [[{ type: 'CN', value: 'Zoë' }], [{ type: 'emailAddress', value: 'z@acme.test' }], [{ type: 'DC', value: 'acme' }, { type: '2.5.4.97', value: 'VATFR-1' }]],
    extensions: {},
  });
  dir.put('c.pem', derToPem('CERTIFICATE', der));
  const subj = openssl(['x509', '-in', 'c.pem', '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb'], dir.dir).stdout;
  t.match(subj, 'organizationIdentifier=VATFR-1+DC=acme,emailAddress=z@acme.test,CN=Zoë');
  t.equal(parseCertificate(der).subject, 'CN=Zoë,emailAddress=z@acme.test,DC=acme+organizationIdentifier=VATFR-1');

  const base = { subjectPublicKey: pair.publicKey, subjectPrivateKey: pair.privateKey, extensions: {} };
  t.equal(await reasonOf(createCertificate({ ...base, subject: 'C=France' })), 'Invalid_Field');
  t.equal(await reasonOf(createCertificate({ ...base, subject: 'CN=x,emailAddress=é@x' })), 'Invalid_Field');
});

t.test('request errors carry precise reasons', async (t) => {
  const a = KEYS[1].make();
  const b = KEYS[1].make();
  const caDer = await selfSignedCa(a);
  const leafDer = await createCertificate({ subjectPublicKey: b.publicKey, subject: 'CN=l', issuer: { certificateDer: caDer, privateKey: a.privateKey }, extensions: {} });
  const req = (over: Partial<CertificateRequest>): Promise<Buffer> =>
    createCertificate({ subjectPublicKey: b.publicKey, subject: 'CN=x', extensions: {}, ...over });

  t.equal(await reasonOf(req({})), 'Invalid_Field', 'self-signed without a private key');
  t.equal(await reasonOf(req({ subjectPrivateKey: a.privateKey })), 'Invalid_Field', 'private key of another pair');
  t.equal(await reasonOf(req({ issuer: { certificateDer: caDer, privateKey: b.privateKey } })), 'Invalid_Field', 'issuer key mismatch');
  t.equal(await reasonOf(req({ issuer: { certificateDer: leafDer, privateKey: b.privateKey } })), 'Invalid_Field', 'issuer is not a CA');
  t.equal(await reasonOf(req({ subjectPrivateKey: b.privateKey, extensions: { ca: true, keyUsage: ['digitalSignature'] } })), 'Invalid_Field');
  t.equal(await reasonOf(req({ subjectPrivateKey: b.privateKey, extensions: { keyUsage: ['flying'] } })), 'Invalid_Field');
  t.equal(await reasonOf(req({ subjectPrivateKey: b.privateKey, extensions: { extendedKeyUsage: ['nope'] } })), 'Invalid_Field');
  t.equal(await reasonOf(req({ subjectPrivateKey: b.privateKey, extensions: { subjectAltNames: ['IP:300.1.1.1'] } })), 'Invalid_Field');
  t.equal(await reasonOf(req({ subjectPrivateKey: b.privateKey, extensions: { subjectAltNames: ['bad name!'] } })), 'Invalid_Field');
  t.equal(await reasonOf(req({ subjectPrivateKey: b.privateKey, hash: 'MD5' as 'SHA256' })), 'Invalid_Field');

  const x = generateKeyPairSync('x25519');
  t.equal(await reasonOf(createCertificate({ subjectPublicKey: x.publicKey, subjectPrivateKey: x.privateKey, subject: 'CN=x', extensions: {} })), 'Feature_Not_Supported');
  const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
  t.equal(await reasonOf(createCertificate({ subjectPublicKey: pss.publicKey, subjectPrivateKey: pss.privateKey, subject: 'CN=x', extensions: {} })), 'Feature_Not_Supported');

  t.equal(await reasonOf(() => parseCertificate(Buffer.from('not a certificate'))), 'Invalid_Field');
  t.equal(await reasonOf(() => parseCertificate(Buffer.concat([leafDer, Buffer.from([0])]))), 'Invalid_Field', 'trailing bytes');
  t.equal(await reasonOf(() => parseCertificate(leafDer.subarray(0, leafDer.length - 5))), 'Invalid_Field', 'truncated');
});

t.test('PEM helpers', async (t) => {
  const pair = KEYS[5].make();
  const der = await createCertificate({ subjectPublicKey: pair.publicKey, subjectPrivateKey: pair.privateKey, subject: 'CN=p', extensions: {} });
  const pem = derToPem('CERTIFICATE', der);
  t.match(pem, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
  const keyPem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' });
  const bundle = `${keyPem}\n${pem}`;
  t.ok(pemToDer(bundle, 'CERTIFICATE').equals(der));
  t.ok(pemToDer(Buffer.from(bundle)).equals(pair.privateKey.export({ format: 'der', type: 'pkcs8' })), 'first block when no label');
  t.equal(await reasonOf(() => pemToDer(pem, 'PRIVATE KEY')), 'Invalid_Field');
});

t.test('RSA signing runs off the event loop', async (t) => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let ticks = 0;
  let done = false;
  const spin = (): void => {
    if (done) return;
    ticks++;
    setImmediate(spin);
  };
  setImmediate(spin);
  await createCertificate({ subjectPublicKey: pair.publicKey, subjectPrivateKey: pair.privateKey, subject: 'CN=slow', extensions: {} });
  done = true;
  t.ok(ticks > 0, `event loop turned ${ticks} times while signing`);
});
