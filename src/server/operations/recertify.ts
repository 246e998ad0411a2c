import { KmipError } from '../../kmip/errors';
import { T, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { linkAttribute, linkedId, withoutAttr } from '../model/attributes';
import { effectiveState } from '../model/lifecycle';
import { privateKeyOf } from '../model/key-objects';
import { userTags, type ManagedObject } from '../model/managed-object';
import { GENERATED } from '../model/protection';
import { createCertificate, parseCertificate } from '../crypto/x509';
import { newObject, touch } from './new-object';
import { read } from './payload';

/** What the new certificate does not take from the old one: identity, dates, state and links. */
const NOT_INHERITED = new Set(['UniqueIdentifier', 'InitialDate', 'LastChangeDate', 'ActivationDate', 'DeactivationDate', 'DestroyDate', 'CompromiseDate', 'CompromiseOccurrenceDate', 'Link', 'State']);
const KEY_LINKS = ['PublicKeyLink', 'PrivateKeyLink', 'CertificateLink'] as const;

const invalidRequest = (message: string): KmipError => new KmipError('Invalid_Field', message);

/** The issuer of a certificate Certify made here: its CertificateLink, or itself when self-signed. */
async function issuerOf(ctx: OperationContext, cert: ManagedObject): Promise<{ certificateDer: Buffer; privateKey: ReturnType<typeof privateKeyOf> } | undefined> {
  const issuerCertUid = linkedId(cert.attributes, 'CertificateLink');
  if (issuerCertUid === undefined || issuerCertUid === cert.uid) return undefined;
  const issuerCert = await ctx.load(issuerCertUid);
  const issuerKeyUid = linkedId(issuerCert.attributes, 'PrivateKeyLink');
  if (!issuerCert.material || issuerKeyUid === undefined) {
    throw new KmipError('Item_Not_Found', `ReCertify: the private key of the issuer ${issuerCertUid} is not known to this KMS`);
  }
  return { certificateDer: issuerCert.material, privateKey: privateKeyOf(await ctx.load(issuerKeyUid)) };
}

/**
 * ReCertify (KMIP 2.1 §6.1.45, 1.x §4.8) as Cosmian's recertify.rs does it: a new certificate
 * with a fresh UID for the same key pair and subject, signed by the same issuer, with a new
 * validity as long as the old one, starting now; Offset moves its ActivationDate. The new one
 * links ReplacedObjectLink to the old, which gets ReplacementObjectLink and stays as it is
 * (Active); the key pair's CertificateLink moves to the new one. Only Active or Deactivated
 * certificates are renewed. CSRs (CertificateRequestValue) are not taken, as in Certify here.
 */
export async function reCertify(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  if (child(p, 'CertificateRequestValue')) throw new KmipError('Feature_Not_Supported', 'certifying a CSR is not supported yet; ReCertify an existing certificate');
  if (child(p, 'ProtectionStorageMasks')) throw new KmipError('Feature_Not_Supported', 'ProtectionStorageMasks are not supported');
  const uid = await ctx.resolveUid(p);
  const old = await ctx.load(uid);
  if (old.objectType !== 'Certificate') throw invalidRequest(`ReCertify: object ${uid} is not a Certificate`);
  const state = effectiveState(old, ctx.now());
  if (state !== 'Active' && state !== 'Deactivated') {
    throw new KmipError('Wrong_Key_Lifecycle_State', `ReCertify: certificate '${uid}' is in state '${state}' — only Active or Deactivated certificates can be renewed`);
  }
  if (!old.material) throw new KmipError('Key_Value_Not_Present', `certificate ${uid} has no value`);
  const parsed = parseCertificate(old.material);
  const issuer = await issuerOf(ctx, old);
  const subjectKeyUid = linkedId(old.attributes, 'PrivateKeyLink');
  if (!issuer && subjectKeyUid === undefined) {
    throw new KmipError('Item_Not_Found', `ReCertify: certificate ${uid} is self-signed and its private key is not known to this KMS`);
  }
  const days = (parsed.notAfter.getTime() - parsed.notBefore.getTime()) / 86_400_000;
  const der = await createCertificate({
    subjectPublicKey: parsed.publicKey,
    subject: parsed.subject,
    ...(issuer ? { issuer } : { subjectPrivateKey: privateKeyOf(await ctx.load(subjectKeyUid as string)) }),
    validityDays: days > 0 ? days : 365,
    extensions: { ca: parsed.isCA },
  });

  // KMIP types Offset as an Interval; some clients send an Integer.
  const offsetNode = child(p, 'Offset');
  const offset = offsetNode?.type === 'Interval' ? offsetNode.value : (read.int(p, 'Offset') ?? 0);
  const attributes = T.struct('Attributes', [...old.attributes.filter((n) => !NOT_INHERITED.has(n.tag)), T.date('ActivationDate', ctx.now() + offset)]);
  const kept: TtlvNode[] = KEY_LINKS.flatMap((type) => {
    const id = linkedId(old.attributes, type);
    return id === undefined ? [] : [linkAttribute(type, id)];
  });
  const fresh = {
    ...newObject(ctx, 'Certificate', attributes, der, [T.enum('CertificateType', 'X509'), ...kept, linkAttribute('ReplacedObjectLink', uid)], GENERATED, userTags(old)),
    owner: old.owner,
  };
  const newUid = await ctx.insert(fresh);
  // Shared as the old one was: a grantee renewing the owner's certificate keeps exactly its rights.
  const byUser = new Map<string, string[]>();
  for (const g of await ctx.store.grantsOf(uid)) byUser.set(g.user, [...(byUser.get(g.user) ?? []), g.operation]);
  for (const [user, operations] of byUser) await ctx.store.grant(newUid, user, operations);

  await ctx.save(touch({ ...old, attributes: [...withoutAttr(old.attributes, 'Link'), ...old.attributes.filter((n) => n.tag === 'Link'), linkAttribute('ReplacementObjectLink', newUid)] }, ctx.now()));
  for (const type of ['PublicKeyLink', 'PrivateKeyLink'] as const) {
    const keyUid = linkedId(old.attributes, type);
    if (keyUid === undefined) continue;
    const key = await ctx.load(keyUid).catch(() => undefined);
    if (!key || linkedId(key.attributes, 'CertificateLink') !== uid) continue;
    const others = key.attributes.filter((n) => n.tag !== 'Link' || child(n, 'LinkType')?.value !== 'CertificateLink');
    await ctx.save(touch({ ...key, attributes: [...others, linkAttribute('CertificateLink', newUid)] }, ctx.now()));
  }
  return T.struct('ReCertifyResponse', [T.text('UniqueIdentifier', newUid)]);
}
