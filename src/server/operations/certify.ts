import { KmipError } from '../../kmip/errors';
import { T, child, children, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { getAll, linkAttribute, linkedId, links, splitAttributes, withoutAttr, type AttributeList } from '../model/attributes';
import { privateKeyOf, publicKeyOf } from '../model/key-objects';
import { requireUsableState } from '../model/lifecycle';
import type { ManagedObject } from '../model/managed-object';
import { createCertificate } from '../crypto/x509';
import { GENERATED } from '../model/protection';
import { newObject, touch } from './new-object';
import { read } from './payload';

/** Cosmian's CertificateAttributes field → RDN short name. */
const SUBJECT_FIELDS: ReadonlyArray<[string, string]> = [
  ['CertificateSubjectCn', 'CN'], ['CertificateSubjectOu', 'OU'], ['CertificateSubjectO', 'O'],
  ['CertificateSubjectL', 'L'], ['CertificateSubjectSt', 'ST'], ['CertificateSubjectC', 'C'], ['CertificateSubjectEmail', 'emailAddress'],
];

/** The AttributeValue of a vendor attribute the request carries, if any. */
function vendorValue(list: AttributeList, name: string): TtlvNode | undefined {
  const attribute = getAll(list, 'Attribute').find((a) => child(a, 'AttributeName')?.value === name);
  return child(attribute, 'AttributeValue');
}

function vendorText(list: AttributeList, name: string): string | undefined {
  const v = vendorValue(list, name);
  return v?.type === 'TextString' ? v.value : undefined;
}

/** The subject: a vendor "subject_name" ("CN=a,O=b"), or Cosmian's CertificateAttributes structure. */
function subjectName(list: AttributeList): string {
  const direct = vendorText(list, 'subject_name');
  if (direct) return direct;
  const ca = list.find((n) => n.tag === 'CertificateAttributes');
  const parts = SUBJECT_FIELDS.flatMap(([tag, short]) => {
    const v = child(ca, tag);
    return v && v.type === 'TextString' && v.value.length > 0 ? [`${short}=${v.value}`] : [];
  });
  if (parts.length === 0) throw new KmipError('Missing_Data', 'missing the certificate subject (vendor attribute subject_name or CertificateAttributes)');
  return parts.join(',');
}

/** The key pair being certified, from a public or private key UID. */
async function keyPair(ctx: OperationContext, uid: string): Promise<{ pub: ManagedObject; priv: ManagedObject | undefined }> {
  const o = await ctx.load(uid);
  if (o.objectType === 'PublicKey') {
    const privUid = linkedId(o.attributes, 'PrivateKeyLink');
    return { pub: o, priv: privUid ? await ctx.load(privUid) : undefined };
  }
  if (o.objectType === 'PrivateKey') {
    const pubUid = linkedId(o.attributes, 'PublicKeyLink');
    if (!pubUid) throw new KmipError('Item_Not_Found', `private key ${uid} has no linked public key`);
    return { pub: await ctx.load(pubUid), priv: o };
  }
  throw new KmipError('Invalid_Object_Type', 'Certify takes a public or private key');
}

/**
 * The issuer's private key and certificate from either link, the other found through the
 * links Certify left (the certificate's PrivateKeyLink; the key's, or its public key's,
 * CertificateLink), as Cosmian's retrieve_issuer_private_key_and_certificate does: a CA
 * certified a moment ago, in the same batch even, is named by one UID.
 */
async function issuerPair(ctx: OperationContext, keyUid: string | undefined, certUid: string | undefined): Promise<{ issuerKey: ManagedObject; issuerCert: ManagedObject }> {
  const issuerCert = certUid ? await ctx.load(certUid) : undefined;
  const fromCert = issuerCert ? linkedId(issuerCert.attributes, 'PrivateKeyLink') : undefined;
  const issuerKey = keyUid ?? fromCert;
  if (!issuerKey) throw new KmipError('Missing_Data', `the issuer certificate ${certUid ?? ''} has no linked private key; give the issuer's PrivateKeyLink too`);
  const key = await ctx.load(issuerKey);
  if (issuerCert) return { issuerKey: key, issuerCert };
  let found = linkedId(key.attributes, 'CertificateLink');
  if (!found) {
    const pubUid = linkedId(key.attributes, 'PublicKeyLink');
    found = pubUid ? linkedId((await ctx.load(pubUid)).attributes, 'CertificateLink') : undefined;
  }
  if (!found) throw new KmipError('Missing_Data', `the issuer private key ${issuerKey} has no linked certificate; give the issuer's CertificateLink too`);
  return { issuerKey: key, issuerCert: await ctx.load(found) };
}

/**
 * Certify issues an X.509 certificate for a key pair: self-signed, or signed by an issuer named
 * with PrivateKeyLink (its private key) and CertificateLink (its certificate) in the Attributes.
 */
export async function certify(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  if (child(p, 'CertificateRequestValue')) throw new KmipError('Feature_Not_Supported', 'certifying a CSR is not supported yet; certify a key pair');
  const uid = await ctx.resolveUid(p);
  const { pub, priv } = await keyPair(ctx, uid);
  const attrs = read.struct(p, 'Attributes');
  const { list } = splitAttributes(attrs);
  const issuerKeyUid = links(list).find((l) => l.type === 'PrivateKeyLink')?.uid;
  const issuerCertUid = links(list).find((l) => l.type === 'CertificateLink')?.uid;
  let issuer: { certificateDer: Buffer; privateKey: ReturnType<typeof privateKeyOf>; certificateUid: string } | undefined;
  if (issuerKeyUid || issuerCertUid) {
    const { issuerKey, issuerCert } = await issuerPair(ctx, issuerKeyUid, issuerCertUid);
    requireUsableState(issuerKey, 'protect', ctx.now());
    if (!issuerCert.material) throw new KmipError('Key_Value_Not_Present', 'the issuer certificate has no value');
    issuer = { certificateDer: issuerCert.material, privateKey: privateKeyOf(issuerKey), certificateUid: issuerCert.uid };
  } else if (!priv) {
    throw new KmipError('Item_Not_Found', 'a self-signed certificate needs the private key of the pair');
  }
  const daysNode = vendorValue(list, 'requested_validity_days');
  const days = daysNode?.type === 'Integer' ? daysNode.value : 365;
  const isCa = vendorText(list, 'certificate_extensions')?.includes('CA:TRUE') ?? false;
  const der = await createCertificate({
    subjectPublicKey: publicKeyOf(pub),
    subject: subjectName(list),
    ...(issuer ? { issuer: { certificateDer: issuer.certificateDer, privateKey: issuer.privateKey } } : { subjectPrivateKey: privateKeyOf(priv as ManagedObject) }),
    validityDays: days,
    extensions: { ca: isCa },
  });
  const certAttrs = T.struct('Attributes', [
    ...children(attrs).filter((n) => n.tag !== 'Link' && n.tag !== 'CertificateAttributes' && !(n.tag === 'Attribute' && ['subject_name', 'requested_validity_days', 'certificate_extensions'].includes(String(child(n, 'AttributeName')?.value)))),
    T.date('ActivationDate', ctx.now()),
  ]);
  const extraLinks: TtlvNode[] = [linkAttribute('PublicKeyLink', pub.uid), ...(priv ? [linkAttribute('PrivateKeyLink', priv.uid)] : [])];
  if (issuer) extraLinks.push(linkAttribute('CertificateLink', issuer.certificateUid));
  const cert = newObject(ctx, 'Certificate', certAttrs, der, [T.enum('CertificateType', 'X509'), ...extraLinks], GENERATED);
  const certUid = await ctx.insert(cert);
  for (const key of [pub, priv]) {
    if (!key) continue;
    const others = withoutAttr(key.attributes, 'Link');
    const kept = getAll(key.attributes, 'Link').filter((l) => child(l, 'LinkType')?.value !== 'CertificateLink');
    await ctx.save(touch({ ...key, attributes: [...others, ...kept, linkAttribute('CertificateLink', certUid)] }, ctx.now()));
  }
  return T.struct('CertifyResponse', [T.text('UniqueIdentifier', certUid)]);
}
