/**
 * Certify of a chain whose CA was made in the same request, and Validate of chains.
 * Cosmian references: crate/server/src/core/operations/certify/resolve_issuer.rs (the issuer is
 * named by its CertificateLink and/or PrivateKeyLink, the other found through the links) and
 * crate/server/src/core/operations/validate.rs (one chain, by UIDs and/or DER certificates, with
 * an optional date; signatures, dates and CRL distribution points are checked).
 * Differences kept on purpose: a chain that fails a check answers ValidityIndicator Invalid (as
 * Cosmian 4.x and the KMIP spec) where Cosmian 5 answers an error; a certificate revoked in the
 * KMS makes its chain Invalid; only http(s) CRL distribution points are fetched.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { reasonOf, serverAndClient } from '../support/client';
import { twoUsers } from '../support/two-users';
import { J, field, fields, kmip21, ok21, type JsonTtlv } from '../support/kmip-json';
import type { TestServer } from '../support/server';
import { binaryCall } from '../support/kmip-binary';
import { T, child } from '../../src/kmip/ttlv';

const vendor = (name: string, value: JsonTtlv): JsonTtlv =>
  J.struct('Attribute', [J.text('VendorIdentification', 'cosmian'), J.text('AttributeName', name), { ...value, tag: 'AttributeValue' }]);
const link = (type: string, uid: string): JsonTtlv => J.struct('Link', [J.enm('LinkType', type), J.text('LinkedObjectIdentifier', uid)]);

function keyPair(uid: string): JsonTtlv {
  return J.struct('CreateKeyPair', [J.struct('CommonAttributes', [
    J.enm('CryptographicAlgorithm', 'ECDSA'),
    J.struct('CryptographicDomainParameters', [J.enm('RecommendedCurve', 'P256')]),
    J.text('UniqueIdentifier', uid),
    J.date('ActivationDate', new Date(Date.now() - 60_000)),
  ])]);
}

function certify(publicKeyUid: string, certUid: string, subject: string, extra: JsonTtlv[]): JsonTtlv {
  return J.struct('Certify', [J.text('UniqueIdentifier', publicKeyUid), J.struct('Attributes', [
    J.text('UniqueIdentifier', certUid),
    vendor('subject_name', J.text('v', subject)),
    ...extra,
  ])]);
}

async function batch(server: TestServer, ops: JsonTtlv[]): Promise<JsonTtlv[]> {
  const message = J.struct('RequestMessage', [
    J.struct('RequestHeader', [J.struct('ProtocolVersion', [J.int('ProtocolVersionMajor', 2), J.int('ProtocolVersionMinor', 1)]), J.int('BatchCount', ops.length)]),
    ...ops.map((op) => J.struct('BatchItem', [J.enm('Operation', op.tag), J.struct('RequestPayload', op.value as JsonTtlv[])])),
  ]);
  const res = await server.post('/kmip', JSON.stringify(message));
  if (res.status !== 200) throw new Error(`RequestMessage answered ${res.status}: ${res.text}`);
  return fields(JSON.parse(res.text) as JsonTtlv, 'BatchItem');
}

const validity = async (server: TestServer, items: JsonTtlv[]): Promise<string> =>
  String(field(await ok21(server, J.struct('Validate', items)), 'ValidityIndicator')?.value);

/** A CA and a leaf it issued, made in one RequestMessage. */
async function chainInOneRequest(server: TestServer, prefix: string): Promise<void> {
  const items = await batch(server, [
    keyPair(`${prefix}-ca`),
    certify(`${prefix}-ca_pk`, `${prefix}-ca-cert`, `CN=${prefix} CA,O=p11kms tests`, [vendor('certificate_extensions', J.text('v', 'basicConstraints=critical,CA:TRUE'))]),
    keyPair(`${prefix}-leaf`),
    // Only the CA certificate is named: its private key is found through its PrivateKeyLink.
    certify(`${prefix}-leaf_pk`, `${prefix}-leaf-cert`, `CN=${prefix} leaf`, [link('CertificateLink', `${prefix}-ca-cert`)]),
  ]);
  for (const item of items) {
    if (field(item, 'ResultStatus')?.value !== 'Success') throw new Error(`batch item failed: ${JSON.stringify(item)}`);
  }
}

t.test('Certify a CA and a leaf by it in one request, then Validate the chain', async (t) => {
  const { server, client } = await serverAndClient(t);
  await chainInOneRequest(server, 'one');
  const leaf = new X509Certificate((await client.get('one-leaf-cert')).bytes as Buffer);
  const ca = new X509Certificate((await client.get('one-ca-cert')).bytes as Buffer);
  t.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'node:crypto agrees the CA issued and signed the leaf');
  t.ok(ca.ca, 'the CA certificate says CA:TRUE');
  const leafAttrs = await client.getAttributes('one-leaf-cert', ['Link']);
  t.match(JSON.stringify(leafAttrs), /one-ca-cert/, 'the leaf links to its issuer certificate');

  t.equal(await validity(server, [J.text('UniqueIdentifier', 'one-leaf-cert'), J.text('UniqueIdentifier', 'one-ca-cert')]), 'Valid', 'by UIDs, leaf first');
  t.equal(await validity(server, [J.bytes('Certificate', Buffer.from(ca.raw)), J.text('UniqueIdentifier', 'one-leaf-cert')]), 'Valid', 'an inline DER certificate (as Cosmian sends it) with a UID');
  t.equal(await validity(server, [J.struct('Certificate', [J.enm('CertificateType', 'X509'), J.bytes('CertificateValue', Buffer.from(leaf.raw))]), J.bytes('Certificate', Buffer.from(ca.raw))]), 'Valid', 'a KMIP Certificate object inline');
  t.equal(await validity(server, [J.text('UniqueIdentifier', 'one-ca-cert')]), 'Valid', 'a self-signed root alone');
  t.equal(await validity(server, [J.text('UniqueIdentifier', 'one-leaf-cert')]), 'Invalid', 'a leaf without its root');
  t.equal(await validity(server, [J.text('UniqueIdentifier', 'one-leaf-cert'), J.text('UniqueIdentifier', 'one-ca-cert'), J.date('ValidityDate', new Date(Date.now() + 3 * 365 * 86_400_000))]), 'Invalid', 'at a date after the leaf expires');
  t.equal(await validity(server, []), 'Unknown', 'nothing to validate');

  const tampered = Buffer.from(leaf.raw);
  tampered[tampered.length - 10] ^= 1; // inside the signature
  t.equal(await validity(server, [J.bytes('Certificate', tampered), J.bytes('Certificate', Buffer.from(ca.raw))]), 'Invalid', 'a leaf whose signature does not verify');

  await chainInOneRequest(server, 'two');
  t.equal(await validity(server, [J.text('UniqueIdentifier', 'one-leaf-cert'), J.text('UniqueIdentifier', 'two-ca-cert')]), 'Invalid', 'a leaf with another CA');
  t.equal(await validity(server, [J.text('UniqueIdentifier', 'two-leaf-cert'), J.text('UniqueIdentifier', 'one-ca-cert'), J.text('UniqueIdentifier', 'two-ca-cert')]), 'Invalid', 'two roots are not one chain');

  const overBinary = await binaryCall(server, T.struct('Validate', [
    T.struct('Certificate', [T.enum('CertificateType', 'X509'), T.bytes('CertificateValue', Buffer.from(leaf.raw))]),
    T.text('UniqueIdentifier', 'one-ca-cert'),
  ]));
  t.equal(overBinary.item.status, 'Success', 'KMIP 1.4 binary: a Certificate object and a UID');
  t.equal(child(overBinary.item.payload, 'ValidityIndicator')?.value, 'Valid');

  const notCert = await kmip21(server, J.struct('Validate', [J.text('UniqueIdentifier', 'one-leaf')]));
  t.equal(notCert.status, 422);
  t.match(notCert.text, /^Invalid_Object_Type: Requested a Certificate Object, got a PrivateKey/, "Cosmian's message for a UID that is not a certificate");

  await client.revoke('one-ca-cert', 'CACompromise');
  const afterRevoke = await kmip21(server, J.struct('Validate', [J.text('UniqueIdentifier', 'one-leaf-cert'), J.text('UniqueIdentifier', 'one-ca-cert')]));
  t.equal(afterRevoke.status, 200);
  t.equal(field(afterRevoke.body, 'ValidityIndicator')?.value, 'Invalid', 'a CA revoked in the KMS invalidates the chain');
  await client.revoke('two-leaf-cert', 'Superseded');
  t.equal(await validity(server, [J.text('UniqueIdentifier', 'two-leaf-cert'), J.text('UniqueIdentifier', 'two-ca-cert')]), 'Invalid', 'a revoked (Deactivated) leaf too');
});

t.test('Certify names the issuer by its private key alone, and refuses an issuer that is not a CA', async (t) => {
  const { server } = await serverAndClient(t);
  await chainInOneRequest(server, 'ca');
  const items = await batch(server, [
    keyPair('by-key'),
    certify('by-key_pk', 'by-key-cert', 'CN=issued by key', [link('PrivateKeyLink', 'ca-ca')]),
    keyPair('by-leaf'),
    certify('by-leaf_pk', 'by-leaf-cert', 'CN=issued by a leaf', [link('CertificateLink', 'ca-leaf-cert')]),
  ]);
  t.equal(field(items[1], 'ResultStatus')?.value, 'Success', 'the CA certificate is found through the key\'s public key');
  t.equal(await validity(server, [J.text('UniqueIdentifier', 'by-key-cert'), J.text('UniqueIdentifier', 'ca-ca-cert')]), 'Valid');
  t.equal(field(items[3], 'ResultStatus')?.value, 'OperationFailed', 'a leaf cannot issue');
  t.match(String(field(items[3], 'ResultMessage')?.value), /not a CA/);
});

t.test('Validate checks the CRLs the distribution points name (openssl CA, CRL served over http)', async (t) => {
  const { server } = await serverAndClient(t);
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-crl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let crl: Buffer | undefined;
  const http = createServer((req, res) => {
    if (req.url === '/ca.crl' && crl) res.end(crl);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => http.close(() => resolve())));
  const port = (http.address() as { port: number }).port;

  const sh = (args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  writeFileSync(join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = test', '[test]', `dir = ${dir}`, 'database = $dir/index.txt', 'crlnumber = $dir/crlnumber',
    'default_md = sha256', 'default_crl_days = 1', '[ca_ext]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = keyCertSign,cRLSign',
    'subjectKeyIdentifier = hash', '[leaf_ext]', 'basicConstraints = CA:FALSE', `crlDistributionPoints = URI:http://127.0.0.1:${port}/ca.crl`,
    'authorityKeyIdentifier = keyid', '',
  ].join('\n'));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=CRL test CA', '-config', 'ca.cnf', '-extensions', 'ca_ext']);
  sh(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=CRL test leaf']);
  sh(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '0x1234', '-days', '10', '-out', 'leaf.pem', '-extfile', 'ca.cnf', '-extensions', 'leaf_ext']);
  const der = (f: string): Buffer => Buffer.from(new X509Certificate(readFileSync(join(dir, f))).raw);
  const chain = [J.bytes('Certificate', der('leaf.pem')), J.bytes('Certificate', der('ca.pem'))];

  t.equal(await validity(server, chain), 'Unknown', 'the CRL cannot be had (404): Unknown');
  crl = Buffer.from('<html>not a CRL</html>');
  t.equal(await validity(server, chain), 'Unknown', 'a body that is no CRL: the same Unknown, so the answer tells nothing more about the URL');
  sh(['ca', '-gencrl', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'empty.crl']);
  crl = readFileSync(join(dir, 'empty.crl'));
  t.equal(await validity(server, chain), 'Valid', 'an empty CRL signed by the CA (PEM)');

  sh(['ca', '-revoke', 'leaf.pem', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem']);
  sh(['ca', '-gencrl', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-out', 'revoked.crl']);
  crl = execFileSync('openssl', ['crl', '-in', join(dir, 'revoked.crl'), '-outform', 'DER']);
  t.match(execFileSync('openssl', ['crl', '-in', join(dir, 'revoked.crl'), '-noout', '-text']).toString(), /Serial Number: 1234/, 'openssl lists the leaf in the CRL');
  t.equal(await validity(server, chain), 'Invalid', 'the leaf is revoked by the CRL (DER)');

  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '30', '-subj', '/CN=CRL test CA', '-config', 'ca.cnf', '-extensions', 'ca_ext']);
  writeFileSync(join(dir, 'index.txt'), '');
  sh(['ca', '-gencrl', '-config', 'ca.cnf', '-keyfile', 'other.key', '-cert', 'other.pem', '-out', 'forged.crl']);
  crl = readFileSync(join(dir, 'forged.crl'));
  t.equal(await validity(server, chain), 'Invalid', 'an empty CRL signed by another key does not clear the leaf');
});

t.test('Validate, Check and ReCertify need the grant Cosmian asks for: validate, get, certify', async (t) => {
  const { alice, bob } = await twoUsers(t);
  const pair = await alice.createKeyPair({ algorithm: 'ECDSA', curve: 'P256' });
  const cert = await alice.certify({ keyUid: pair.publicKeyId, subject: 'CN=alice', isCa: true });
  const validate = T.struct('Validate', [T.text('UniqueIdentifier', cert)]);
  const check = T.struct('Check', [T.text('UniqueIdentifier', cert)]);
  const recertify = T.struct('ReCertify', [T.text('UniqueIdentifier', cert)]);
  for (const [name, op] of [['Validate', validate], ['Check', check], ['ReCertify', recertify]] as const) {
    t.not(await reasonOf(bob.call(op)), 'no error', `${name}: bob cannot use alice's certificate unasked`);
  }
  const grant = (ops: string[]) => alice.rest('POST', '/access/grant', { unique_identifier: cert, user_id: 'bob', operation_types: ops });
  await grant(['validate']);
  t.equal(child(await bob.call(validate), 'ValidityIndicator')?.value, 'Valid', 'validate lets bob Validate');
  t.not(await reasonOf(bob.call(check)), 'no error', 'but not Check');
  await grant(['get']);
  t.equal(child(await bob.call(check), 'UniqueIdentifier')?.value, cert, 'get lets bob Check');
  t.not(await reasonOf(bob.call(recertify)), 'no error', 'but not ReCertify');
});
