/**
 * ReCertify, as Cosmian's recertify.rs (Cosmian/kms crate/server/src/core/operations/recertify.rs):
 * a new certificate with a fresh UID for the same key pair, subject and issuer; the new one
 * links ReplacedObjectLink to the old one, keeps the PublicKeyLink/PrivateKeyLink; the old one
 * gets ReplacementObjectLink and stays Active; the keys' CertificateLink moves to the new one.
 * Only Active or Deactivated certificates are renewed; a UID that is not a certificate is refused
 * with Cosmian's message.
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { serverAndClient } from '../support/client';
import { J, field, kmip21, ok21, textOf } from '../support/kmip-json';
import type { KmipClient } from '../../src/kmip/client';

async function linksOf(client: KmipClient, uid: string): Promise<Record<string, string>> {
  const raw = (await client.getAttributes(uid, ['Link'])).attributes['Link'];
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<{ LinkType: string; LinkedObjectIdentifier: string }>;
  return Object.fromEntries(list.map((l) => [l.LinkType, l.LinkedObjectIdentifier]));
}

t.test('ReCertify a CA-issued leaf: new UID, same key and issuer, links moved', async (t) => {
  const { server, client } = await serverAndClient(t);
  const ca = await client.createKeyPair({ algorithm: 'ECDSA', curve: 'P256' });
  const caCert = await client.certify({ keyUid: ca.publicKeyId, subject: 'CN=ReCertify CA', isCa: true, days: 3650 });
  const leaf = await client.createKeyPair({ algorithm: 'ECDSA', curve: 'P256' });
  const oldCert = await client.certify({ keyUid: leaf.publicKeyId, subject: 'CN=ReCertify leaf,O=p11kms', issuer: { privateKeyUid: ca.privateKeyId, certificateUid: caCert }, days: 30, tags: ['renew-me'] });

  const answer = await ok21(server, J.struct('ReCertify', [J.text('UniqueIdentifier', oldCert)]));
  const newCert = textOf(answer, 'UniqueIdentifier');
  t.not(newCert, oldCert, 'a fresh UID');

  const before = new X509Certificate((await client.get(oldCert)).bytes as Buffer);
  const after = new X509Certificate((await client.get(newCert)).bytes as Buffer);
  t.equal(after.subject, before.subject, 'same subject');
  t.equal(after.issuer, before.issuer, 'same issuer');
  t.ok(after.publicKey.equals(before.publicKey), 'same public key');
  t.not(after.serialNumber, before.serialNumber, 'a new serial number');
  const days = (Date.parse(after.validTo) - Date.parse(after.validFrom)) / 86_400_000;
  t.ok(Math.abs(days - 30) < 0.01, `as long as the old one (${days} days)`);
  t.ok(Date.parse(after.validFrom) >= Date.parse(before.validFrom), 'starting now');
  t.ok(after.verify(new X509Certificate((await client.get(caCert)).bytes as Buffer).publicKey), 'signed by the same CA');

  const newLinks = await linksOf(client, newCert);
  t.equal(newLinks['ReplacedObjectLink'], oldCert, 'new → old: ReplacedObjectLink');
  t.equal(newLinks['PublicKeyLink'], leaf.publicKeyId);
  t.equal(newLinks['PrivateKeyLink'], leaf.privateKeyId);
  t.equal(newLinks['CertificateLink'], caCert, 'the issuer link is kept');
  t.equal((await linksOf(client, oldCert))['ReplacementObjectLink'], newCert, 'old → new: ReplacementObjectLink');
  t.equal((await client.getAttributes(oldCert, ['State'])).attributes['State'], 'Active', 'the old certificate stays Active');
  t.equal((await linksOf(client, leaf.publicKeyId))['CertificateLink'], newCert, "the public key's CertificateLink moved");
  t.equal((await linksOf(client, leaf.privateKeyId))['CertificateLink'], newCert, "the private key's too");
  t.same(await client.locate({ tags: ['renew-me'] }).then((l) => new Set(l)), new Set([oldCert, newCert]), 'the tags are carried');

  const valid = await ok21(server, J.struct('Validate', [J.text('UniqueIdentifier', newCert), J.text('UniqueIdentifier', caCert)]));
  t.equal(field(valid, 'ValidityIndicator')?.value, 'Valid', 'the new certificate validates with its CA');
});

t.test('ReCertify a self-signed certificate, with an Offset; refusals', async (t) => {
  const { server, client } = await serverAndClient(t);
  const pair = await client.createKeyPair({ algorithm: 'RSA', length: 2048 });
  const cert = await client.certify({ keyUid: pair.publicKeyId, subject: 'CN=self', isCa: true });
  const answer = await ok21(server, J.struct('ReCertify', [J.text('UniqueIdentifier', cert), { tag: 'Offset', type: 'Interval', value: 3600 }]));
  const renewed = textOf(answer, 'UniqueIdentifier');
  const x = new X509Certificate((await client.get(renewed)).bytes as Buffer);
  t.ok(x.checkIssued(x) && x.verify(x.publicKey), 'self-signed again, with the same key');
  t.ok(x.ca, 'still a CA');
  const state = await client.getAttributes(renewed, ['State', 'ActivationDate']);
  t.equal(state.attributes['State'], 'PreActive', 'Offset puts the ActivationDate an hour ahead');

  const notCert = await kmip21(server, J.struct('ReCertify', [J.text('UniqueIdentifier', pair.privateKeyId)]));
  t.equal(notCert.status, 422);
  t.equal(notCert.text, `Invalid_Field: ReCertify: object ${pair.privateKeyId} is not a Certificate`, "Cosmian's message");

  const preActive = await kmip21(server, J.struct('ReCertify', [J.text('UniqueIdentifier', renewed)]));
  t.equal(preActive.status, 422, 'a PreActive certificate is not renewed');
  t.match(preActive.text, /only Active or Deactivated certificates can be renewed/);

  await client.revoke(cert, 'Superseded');
  t.equal((await kmip21(server, J.struct('ReCertify', [J.text('UniqueIdentifier', cert)]))).status, 200, 'a Deactivated one is');
});
