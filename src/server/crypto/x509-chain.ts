/**
 * Certificate chain validation for KMIP Validate: one chain, ordered here from its single
 * self-signed root to its leaf, every signature checked with the issuer's key, every issuer a CA,
 * every certificate valid at the requested date, none listed in the CRL its distribution point
 * names. Trust anchors are what the request gives: the server keeps no trust store, as Cosmian's
 * validate.rs (it builds an OpenSSL store from the chain itself).
 */
import { X509Certificate, verify, type KeyObject } from 'node:crypto';
import { CRLDistributionPoints, Certificate, CertificateList, id_ce_cRLDistributionPoints } from '@peculiar/asn1-x509';
import { KmipError } from '../../kmip/errors';
import { children, parseAs, readSpan } from './asn1';

export type Validity = 'Valid' | 'Invalid' | 'Unknown';

export interface ChainVerdict {
  validity: Validity;
  /** Why, for the log and for tests; never sent as key material. */
  reason: string;
}

export interface ChainCertificate {
  der: Buffer;
  /** Revoked in this KMS (Revoke on the Certificate object). */
  revoked?: boolean;
}

/** Fetches a CRL named by a distribution point; undefined when it cannot be had. */
export type CrlFetcher = (uri: string) => Promise<Buffer | undefined>;

interface Link {
  cert: X509Certificate;
  der: Buffer;
  revoked: boolean;
}

const invalid = (reason: string): ChainVerdict => ({ validity: 'Invalid', reason });

function parse(c: ChainCertificate): Link {
  try {
    return { cert: new X509Certificate(c.der), der: c.der, revoked: c.revoked ?? false };
  } catch {
    throw new KmipError('Invalid_Field', 'a certificate of the chain is not a DER X.509 certificate');
  }
}

/** Root first, leaf last; a string when the certificates do not form one chain. */
function order(links: Link[]): Link[] | string {
  const roots = links.filter((l) => l.cert.checkIssued(l.cert) && l.cert.verify(l.cert.publicKey));
  if (roots.length === 0) return 'no root authority found (no self-signed certificate)';
  if (roots.length > 1) return 'more than one self-signed certificate: not a single chain';
  const chain = [roots[0] as Link];
  const rest = links.filter((l) => l !== roots[0]);
  while (rest.length > 0) {
    const parent = chain[chain.length - 1] as Link;
    const issued = rest.filter((l) => l.cert.checkIssued(parent.cert));
    if (issued.length !== 1) return issued.length === 0 ? 'the chain is incomplete' : 'a certificate issues several others: not a single chain';
    const child = issued[0] as Link;
    chain.push(child);
    rest.splice(rest.indexOf(child), 1);
  }
  return chain;
}

export async function validateChain(input: ChainCertificate[], at: Date, fetchCrl: CrlFetcher): Promise<ChainVerdict> {
  const seen = new Set<string>();
  const links = input.map(parse).filter((l) => !seen.has(l.cert.fingerprint256) && seen.add(l.cert.fingerprint256));
  const chain = order(links);
  if (typeof chain === 'string') return invalid(chain);
  for (let i = 0; i < chain.length; i++) {
    const { cert, revoked } = chain[i] as Link;
    const issuer = (chain[Math.max(0, i - 1)] as Link).cert;
    if (!cert.verify(issuer.publicKey)) return invalid(`the signature of ${cert.subject} does not verify`);
    if (i < chain.length - 1 && !cert.ca) return invalid(`${cert.subject} issues a certificate but is not a CA`);
    if (at.getTime() < Date.parse(cert.validFrom) || at.getTime() > Date.parse(cert.validTo)) {
      return invalid(`${cert.subject} is not valid on ${at.toISOString()}`);
    }
    if (revoked) return invalid(`${cert.subject} is revoked in this KMS`);
  }
  for (let i = 0; i < chain.length; i++) {
    const link = chain[i] as Link;
    const issuer = (chain[Math.max(0, i - 1)] as Link).cert;
    const verdict = await crlVerdict(link, issuer.publicKey, fetchCrl);
    if (verdict) return verdict;
  }
  return { validity: 'Valid', reason: 'valid' };
}

// --------------------------------------------------------------------------------------------
// CRLs (RFC 5280 §5): the ones a certificate's distribution points name, signed by its issuer.

function distributionUris(der: Buffer): string[] {
  const parsed = parseAs(der, Certificate, 'certificate');
  const ext = parsed.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_cRLDistributionPoints);
  if (!ext) return [];
  const points = parseAs(ext.extnValue.buffer, CRLDistributionPoints, 'CRL distribution points');
  return points.flatMap((p) => p.distributionPoint?.fullName?.flatMap((n) => (n.uniformResourceIdentifier ? [n.uniformResourceIdentifier] : [])) ?? []);
}

/** Signature algorithm OID → the digest node's verify takes (null: the key decides, EdDSA). */
const CRL_SIGNATURES: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.5': 'sha1', '1.2.840.113549.1.1.11': 'sha256', '1.2.840.113549.1.1.12': 'sha384', '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1', '1.2.840.10045.4.3.2': 'sha256', '1.2.840.10045.4.3.3': 'sha384', '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null, '1.3.101.113': null,
};

function crlDer(bytes: Buffer): Buffer {
  const text = bytes.toString('latin1');
  const m = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(text);
  return m ? Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64') : bytes;
}

/**
 * The serial numbers the CRL lists, once its signature by issuerKey is checked: 'forged' when
 * it is a CRL not signed by that key, undefined when the bytes are no CRL at all.
 */
function revokedSerials(bytes: Buffer, issuerKey: KeyObject): Set<string> | 'forged' | undefined {
  let crl: CertificateList;
  let tbs: Buffer;
  try {
    const der = crlDer(bytes);
    const tbsSpan = children(der, readSpan(der, 0))[0];
    if (!tbsSpan) return undefined;
    crl = parseAs(der, CertificateList, 'CRL');
    tbs = der.subarray(tbsSpan.start, tbsSpan.end);
  } catch {
    return undefined;
  }
  const digest = CRL_SIGNATURES[crl.signatureAlgorithm.algorithm];
  if (digest === undefined) return 'forged';
  try {
    if (!verify(digest, tbs, issuerKey, Buffer.from(crl.signature))) return 'forged';
  } catch {
    return 'forged';
  }
  return new Set((crl.tbsCertList.revokedCertificates ?? []).map((r) => normalSerial(Buffer.from(r.userCertificate))));
}

function normalSerial(b: Buffer): string {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i).toString('hex').toUpperCase();
}

/**
 * Anything short of a CRL (no answer, an error status, a body that is not a CRL) is Unknown, the
 * same answer whatever the reason: the URI comes from a certificate the client chose, and a
 * finer answer would tell it what the server can reach.
 */
async function crlVerdict(link: Link, issuerKey: KeyObject, fetchCrl: CrlFetcher): Promise<ChainVerdict | undefined> {
  const serial = normalSerial(Buffer.from(link.cert.serialNumber.length % 2 ? '0' + link.cert.serialNumber : link.cert.serialNumber, 'hex'));
  for (const uri of distributionUris(link.der)) {
    const bytes = await fetchCrl(uri);
    const serials = bytes ? revokedSerials(bytes, issuerKey) : undefined;
    if (serials === undefined) return { validity: 'Unknown', reason: `no CRL could be had from ${uri}` };
    if (serials === 'forged') return invalid(`the CRL at ${uri} is not signed by the issuer of ${link.cert.subject}`);
    if (serials.has(serial)) return invalid(`${link.cert.subject} is revoked by the CRL at ${uri}`);
  }
  return undefined;
}
