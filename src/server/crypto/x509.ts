/**
 * X.509 v3 certificates: build and sign (self-signed or CA-issued), and parse what PKCS#11 and
 * KMIP need. ASN.1 structures come from @peculiar/asn1-x509; signing stays in node:crypto because
 * WebCrypto has no secp256k1 and no Ed448.
 */
import { KeyObject, createHash, createPublicKey, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  Validity,
} from '@peculiar/asn1-x509';
import { KmipError } from '../../kmip/errors';
import { children, formatName, parseAs, readSpan, serialize, tlv, toAsnName, type DistinguishedName } from './asn1';

export { parseDistinguishedName, type DistinguishedName, type DnAttribute } from './asn1';

export type CertificateHash = 'SHA256' | 'SHA384' | 'SHA512';

export interface CertificateExtensionsRequest {
  ca?: boolean;
  /** RFC 5280 names (digitalSignature, keyCertSign, ...); case, '_' and '-' are ignored. */
  keyUsage?: string[];
  /** serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning or an OID. */
  extendedKeyUsage?: string[];
  /** DNS names, e-mail addresses, IPs, URIs; an OpenSSL-style "DNS:"/"IP:"/"email:"/"URI:" prefix forces the kind. */
  subjectAltNames?: string[];
}

export interface CertificateRequest {
  subjectPublicKey: KeyObject;
  subject: DistinguishedName | string;
  /** Absent: self-signed with subjectPrivateKey. */
  issuer?: { certificateDer: Buffer; privateKey: KeyObject };
  subjectPrivateKey?: KeyObject;
  serial?: bigint;
  notBefore?: Date;
  validityDays?: number;
  /** Ignored for Ed25519/Ed448, which hash internally. */
  hash?: CertificateHash;
  extensions: CertificateExtensionsRequest;
}

export interface ParsedCertificate {
  subjectDer: Buffer;
  issuerDer: Buffer;
  /** Contents of the DER INTEGER, sign byte included, as CKA_SERIAL_NUMBER wants it wrapped. */
  serialNumber: Buffer;
  serialHex: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  spkiDer: Buffer;
  isCA: boolean;
}

const invalid = (msg: string): KmipError => new KmipError('Invalid_Field', msg);

// --------------------------------------------------------------------------------------------
// Signature algorithm selection

const RSA_OIDS: Record<CertificateHash, string> = {
  SHA256: '1.2.840.113549.1.1.11',
  SHA384: '1.2.840.113549.1.1.12',
  SHA512: '1.2.840.113549.1.1.13',
};
const ECDSA_OIDS: Record<CertificateHash, string> = {
  SHA256: '1.2.840.10045.4.3.2',
  SHA384: '1.2.840.10045.4.3.3',
  SHA512: '1.2.840.10045.4.3.4',
};
/** Hash strength matched to curve strength, as RFC 5480 recommends. */
const CURVE_HASH: Record<string, CertificateHash> = { prime256v1: 'SHA256', secp256k1: 'SHA256', secp384r1: 'SHA384', secp521r1: 'SHA512' };

interface SignatureChoice {
  algorithm: AlgorithmIdentifier;
  digest: string | null;
}

function signatureChoice(key: KeyObject, hash?: CertificateHash): SignatureChoice {
  if (hash !== undefined && !(hash in RSA_OIDS)) throw invalid(`unsupported certificate hash "${hash}"`);
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const h = hash ?? 'SHA256';
      // RFC 4055 requires an explicit NULL parameter for the PKCS#1 v1.5 signature OIDs.
      return { algorithm: new AlgorithmIdentifier({ algorithm: RSA_OIDS[h], parameters: null }), digest: h.toLowerCase() };
    }
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
      const h = hash ?? CURVE_HASH[curve] ?? 'SHA256';
      return { algorithm: new AlgorithmIdentifier({ algorithm: ECDSA_OIDS[h] }), digest: h.toLowerCase() };
    }
    case 'ed25519':
      return { algorithm: new AlgorithmIdentifier({ algorithm: '1.3.101.112' }), digest: null };
    case 'ed448':
      return { algorithm: new AlgorithmIdentifier({ algorithm: '1.3.101.113' }), digest: null };
    default:
      throw new KmipError('Feature_Not_Supported', `cannot sign certificates with a ${key.asymmetricKeyType ?? 'symmetric'} key`);
  }
}

/** Callback form of crypto.sign runs on the libuv pool, so RSA signing does not stall the loop. */
function signAsync(digest: string | null, data: Buffer, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign(digest, data, key, (err, sig) =>
      err ? reject(new KmipError('Cryptographic_Failure', `certificate signature failed: ${err.message}`)) : resolve(sig),
    );
  });
}

// --------------------------------------------------------------------------------------------
// Extensions

const KEY_USAGE_FLAGS: Record<string, KeyUsageFlags> = {
  digitalsignature: KeyUsageFlags.digitalSignature,
  nonrepudiation: KeyUsageFlags.nonRepudiation,
  contentcommitment: KeyUsageFlags.nonRepudiation,
  keyencipherment: KeyUsageFlags.keyEncipherment,
  dataencipherment: KeyUsageFlags.dataEncipherment,
  keyagreement: KeyUsageFlags.keyAgreement,
  keycertsign: KeyUsageFlags.keyCertSign,
  crlsign: KeyUsageFlags.cRLSign,
  encipheronly: KeyUsageFlags.encipherOnly,
  decipheronly: KeyUsageFlags.decipherOnly,
};
const EKU_OIDS: Record<string, string> = {
  serverauth: '1.3.6.1.5.5.7.3.1',
  clientauth: '1.3.6.1.5.5.7.3.2',
  codesigning: '1.3.6.1.5.5.7.3.3',
  emailprotection: '1.3.6.1.5.5.7.3.4',
  timestamping: '1.3.6.1.5.5.7.3.8',
  ocspsigning: '1.3.6.1.5.5.7.3.9',
  anyextendedkeyusage: '2.5.29.37.0',
};
const normalize = (s: string): string => s.replace(/[\s_-]/g, '').toLowerCase();

function keyUsageFlags(names: string[] | undefined, ca: boolean, key: KeyObject): number {
  if (!names) {
    if (ca) return KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature;
    return KeyUsageFlags.digitalSignature | (key.asymmetricKeyType === 'rsa' ? KeyUsageFlags.keyEncipherment : 0);
  }
  let flags = 0;
  for (const n of names) {
    const f = KEY_USAGE_FLAGS[normalize(n)];
    if (f === undefined) throw invalid(`unknown key usage "${n}"`);
    flags |= f;
  }
  if (flags === 0) throw invalid('keyUsage must name at least one usage');
  // A CA whose keyUsage forbids certificate signing issues nothing a verifier accepts.
  if (ca && !(flags & KeyUsageFlags.keyCertSign)) throw invalid('a CA certificate needs keyCertSign in keyUsage');
  return flags;
}

function generalName(entry: string): GeneralName {
  const m = /^(DNS|IP|email|URI):(.*)$/i.exec(entry.trim());
  const kind = m ? m[1].toLowerCase() : isIP(entry) ? 'ip' : entry.includes('@') ? 'email' : entry.includes('://') ? 'uri' : 'dns';
  const value = m ? m[2].trim() : entry.trim();
  switch (kind) {
    case 'ip':
      if (!isIP(value)) throw invalid(`"${value}" is not an IP address`);
      return new GeneralName({ iPAddress: value });
    case 'email':
      if (!/^[^@\s]+@[^@\s]+$/.test(value)) throw invalid(`"${value}" is not an e-mail address`);
      return new GeneralName({ rfc822Name: value });
    case 'uri':
      return new GeneralName({ uniformResourceIdentifier: value });
    default:
      if (!/^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(value)) {
        throw invalid(`"${value}" is not a DNS name`);
      }
      return new GeneralName({ dNSName: value });
  }
}

const extension = (extnID: string, critical: boolean, value: unknown): Extension =>
  new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });

/** RFC 5280 method 1: SHA-1 over the subjectPublicKey BIT STRING contents. */
function keyIdentifier(spkiDer: Buffer): Buffer {
  const spki = children(spkiDer, readSpan(spkiDer, 0));
  const bits = spki[1];
  return createHash('sha1').update(spkiDer.subarray(bits.contentStart + 1, bits.end)).digest();
}

function buildExtensions(req: CertificateRequest, spkiDer: Buffer, authorityKeyId: Buffer): Extensions {
  const ext = req.extensions ?? {};
  const ca = ext.ca === true;
  const list = [
    extension('2.5.29.19', true, new BasicConstraints({ cA: ca })),
    extension('2.5.29.15', true, new KeyUsage(keyUsageFlags(ext.keyUsage, ca, req.subjectPublicKey))),
    extension('2.5.29.14', false, new SubjectKeyIdentifier(keyIdentifier(spkiDer))),
    extension('2.5.29.35', false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(authorityKeyId) })),
  ];
  if (ext.extendedKeyUsage?.length) {
    const oids = ext.extendedKeyUsage.map((n) => {
      const oid = /^\d+(\.\d+)+$/.test(n) ? n : EKU_OIDS[normalize(n)];
      if (!oid) throw invalid(`unknown extended key usage "${n}"`);
      return oid;
    });
    list.push(extension('2.5.29.37', false, new ExtendedKeyUsage(oids)));
  }
  if (ext.subjectAltNames?.length) {
    list.push(extension('2.5.29.17', false, new SubjectAlternativeName(ext.subjectAltNames.map(generalName))));
  }
  return new Extensions(list);
}

// --------------------------------------------------------------------------------------------
// Certificate creation

/** Minimal two's-complement INTEGER contents of a positive serial (RFC 5280: at most 20 octets). */
function serialBytes(serial: bigint | undefined): Buffer {
  if (serial === undefined) {
    const r = randomBytes(16);
    r[0] = (r[0] & 0x7f) | 0x01; // positive, and a fixed length so it never needs a sign byte
    return r;
  }
  if (serial <= 0n) throw invalid('certificate serial number must be positive');
  let hex = serial.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  const out = bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  if (out.length > 20) throw invalid('certificate serial number exceeds 20 octets');
  return out;
}

function spkiOf(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.type !== 'public') throw invalid('expected an asymmetric key');
  return pub.export({ format: 'der', type: 'spki' });
}

function authorityKeyIdOf(issuerDer: Buffer, issuerSpki: Buffer): Buffer {
  const cert = parseAs(issuerDer, Certificate, 'issuer certificate');
  const ski = cert.tbsCertificate.extensions?.find((e) => e.extnID === '2.5.29.14');
  // Reusing the issuer's own SKI keeps chains built by other tools matching by key id.
  return ski ? Buffer.from(parseAs(ski.extnValue.buffer, SubjectKeyIdentifier, 'issuer SKI').buffer) : keyIdentifier(issuerSpki);
}

export async function createCertificate(req: CertificateRequest): Promise<Buffer> {
  const subjectSpki = spkiOf(req.subjectPublicKey);
  const subjectName = serialize(toAsnName(req.subject));
  if (subjectName.length <= 2) throw invalid('certificate subject must not be empty');

  let signer: KeyObject;
  let issuerName: Buffer;
  let authorityKeyId: Buffer;
  if (req.issuer) {
    const issuer = parseCertificate(req.issuer.certificateDer);
    if (!issuer.isCA) throw invalid('issuer certificate is not a CA (basicConstraints cA is not set)');
    if (!spkiOf(req.issuer.privateKey).equals(issuer.spkiDer)) throw invalid('issuer private key does not match the issuer certificate');
    signer = req.issuer.privateKey;
    issuerName = issuer.subjectDer; // byte copy: chain building and CKA_ISSUER compare these bytes
    authorityKeyId = authorityKeyIdOf(req.issuer.certificateDer, issuer.spkiDer);
  } else {
    if (!req.subjectPrivateKey) throw invalid('a self-signed certificate needs subjectPrivateKey');
    if (!spkiOf(req.subjectPrivateKey).equals(subjectSpki)) throw invalid('subjectPrivateKey does not match subjectPublicKey');
    signer = req.subjectPrivateKey;
    issuerName = subjectName;
    authorityKeyId = keyIdentifier(subjectSpki);
  }
  if (signer.type !== 'private') throw invalid('the signing key must be a private key');

  const days = req.validityDays ?? 365;
  if (!Number.isFinite(days) || days <= 0) throw invalid('validityDays must be a positive number');
  const notBefore = new Date(Math.floor((req.notBefore ?? new Date()).getTime() / 1000) * 1000);
  if (Number.isNaN(notBefore.getTime())) throw invalid('notBefore is not a valid date');
  const notAfter = new Date(notBefore.getTime() + Math.round(days * 86_400_000));

  const sig = signatureChoice(signer, req.hash);
  const algorithm = serialize(sig.algorithm);
  const tbs = tlv(
    0x30,
    Buffer.concat([
      Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]), // [0] EXPLICIT version v3
      tlv(0x02, serialBytes(req.serial)),
      algorithm,
      issuerName,
      serialize(new Validity({ notBefore, notAfter })),
      subjectName,
      subjectSpki,
      tlv(0xa3, serialize(buildExtensions(req, subjectSpki, authorityKeyId))),
    ]),
  );
  const signature = await signAsync(sig.digest, tbs, signer);
  return tlv(0x30, Buffer.concat([tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
}

// --------------------------------------------------------------------------------------------
// Parsing

export function parseCertificate(der: Buffer): ParsedCertificate {
  const top = readSpan(der, 0);
  if (top.tag !== 0x30 || top.end !== der.length) throw invalid('certificate is not a single DER SEQUENCE');
  const cert = parseAs(der, Certificate, 'certificate');
  const tbsFields = children(der, children(der, top)[0]);
  // version is [0] EXPLICIT and DEFAULT v1, so absent in v1 certificates.
  const i = tbsFields[0]?.tag === 0xa0 ? 1 : 0;
  const [serial, , issuer, , subject, spki] = tbsFields.slice(i, i + 6);
  if (!spki || serial.tag !== 0x02) throw invalid('certificate TBS is missing fields');

  const serialNumber = Buffer.from(der.subarray(serial.contentStart, serial.end));
  const spkiDer = Buffer.from(der.subarray(spki.start, spki.end));
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch (e) {
    throw new KmipError('Feature_Not_Supported', `unsupported certificate public key: ${(e as Error).message}`);
  }
  const tbs = cert.tbsCertificate;
  const bc = tbs.extensions?.find((e) => e.extnID === '2.5.29.19');
  const unsigned = serialNumber.length > 1 && serialNumber[0] === 0 ? serialNumber.subarray(1) : serialNumber;
  return {
    subjectDer: Buffer.from(der.subarray(subject.start, subject.end)),
    issuerDer: Buffer.from(der.subarray(issuer.start, issuer.end)),
    serialNumber,
    serialHex: unsigned.toString('hex').toUpperCase(),
    subject: formatName(tbs.subject),
    issuer: formatName(tbs.issuer),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    publicKey,
    spkiDer,
    isCA: bc ? parseAs(bc.extnValue.buffer, BasicConstraints, 'basicConstraints').cA : false,
  };
}

/** Formats a Name given as DER, e.g. CKA_SUBJECT. */
export function formatDistinguishedName(nameDer: Buffer): string {
  return formatName(parseAs(nameDer, Name, 'distinguished name'));
}

// --------------------------------------------------------------------------------------------
// PEM

/** DER of the first PEM block, or of the first one with `label` when given. */
export function pemToDer(pem: string | Buffer, label?: string): Buffer {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (label && m[1] !== label) continue;
    const body = m[2].replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw invalid(`PEM ${m[1]} block is not base64`);
    return Buffer.from(body, 'base64');
  }
  throw invalid(label ? `no PEM ${label} block found` : 'no PEM block found');
}

export function derToPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
