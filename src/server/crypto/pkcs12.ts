/**
 * PKCS#12 (RFC 7292) in the form OpenSSL 3 writes by default: certificates in a PBES2-encrypted
 * safe, the key in a PBES2 shrouded key bag (PBKDF2-HMAC-SHA256, AES-256-CBC), and an
 * HMAC-SHA256 integrity MAC keyed by the PKCS#12 KDF. The reader also takes the legacy
 * pbeWithSHAAnd3-KeyTripleDES-CBC and SHA-1 MACs that older tools still emit.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { ContentInfo, EncryptedContent, EncryptedContentInfo } from '@peculiar/asn1-cms';
import { EncryptedPrivateKeyInfo } from '@peculiar/asn1-pkcs8';
import { DigestInfo } from '@peculiar/asn1-rsa';
import { AuthenticatedSafe, CertBag, MacData, PFX, PKCS12Attribute, SafeBag, SafeContents } from '@peculiar/asn1-pfx';
import { KmipError } from '../../kmip/errors';
import { CmsEncryptedData, Pbes2Params, Pbkdf2Params, Pkcs12PbeParams, children, parseAs, readSpan, serialize, tlv } from './asn1';
import { parseCertificate } from './x509';

export interface Pkcs12Input {
  certificateDer: Buffer;
  chainDers?: Buffer[];
  privateKeyPkcs8Der: Buffer;
  password: string;
  friendlyName?: string;
}

export interface Pkcs12Contents {
  certificateDer: Buffer;
  chainDers: Buffer[];
  privateKeyPkcs8Der: Buffer;
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbeSha3Des: '1.2.840.113549.1.12.1.3',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  hmacWithSha256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  sha256: '2.16.840.1.101.3.4.2.1',
};

/** OpenSSL 3's PKCS12_DEFAULT_ITER; a KMS export is protected by the KMS, not by KDF cost. */
const ITERATIONS = 2048;
/** Files come from users: bound the KDF work one of them can make the server do. */
const MAX_ITERATIONS = 2_000_000;

/** Digest OID → node name, output size u and block size v (the PKCS#12 KDF needs both). */
const DIGESTS: Record<string, { name: string; u: number; v: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', u: 20, v: 64 },
  '2.16.840.1.101.3.4.2.4': { name: 'sha224', u: 28, v: 64 },
  [OID.sha256]: { name: 'sha256', u: 32, v: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', u: 48, v: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', u: 64, v: 128 },
};
const HMAC_PRFS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  [OID.hmacWithSha256]: 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const CIPHERS: Record<string, { name: string; keyLen: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLen: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLen: 24 },
  [OID.aes256Cbc]: { name: 'aes-256-cbc', keyLen: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLen: 24 },
};

const invalid = (msg: string): KmipError => new KmipError('Invalid_Field', msg);
const badPassword = (): KmipError => new KmipError('Bad_Password', 'PKCS#12 password is incorrect');
const unsupported = (what: string): KmipError => new KmipError('Feature_Not_Supported', `PKCS#12 ${what} is not supported`);
const ab = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
const octets = (b: Buffer): ArrayBuffer => AsnConvert.serialize(new OctetString(b));
const unwrapOctets = (der: ArrayBuffer, what: string): Buffer => Buffer.from(parseAs(der, OctetString, what).buffer);

/** PKCS#12 passwords for the KDF are NUL-terminated BMPStrings (RFC 7292 B.1). */
function bmpPassword(password: string): Buffer {
  return Buffer.from(`${password}\0`, 'utf16le').swap16();
}

function iterationsOf(n: number | string): number {
  const it = Number(n);
  if (!Number.isSafeInteger(it) || it < 1) throw invalid('PKCS#12 iteration count is invalid');
  if (it > MAX_ITERATIONS) throw unsupported(`iteration count ${it}`);
  return it;
}

/** RFC 7292 appendix B.2 key derivation; id 1 = key, 2 = IV, 3 = MAC key. */
function pkcs12Kdf(digestOid: string, password: Buffer, salt: Buffer, id: number, iterations: number, n: number): Buffer {
  const d = DIGESTS[digestOid];
  if (!d) throw unsupported(`digest ${digestOid}`);
  const stretch = (src: Buffer, len: number): Buffer => Buffer.from(Uint8Array.from({ length: len }, (_, i) => src[i % src.length]));
  const fill = (src: Buffer): Buffer => stretch(src, src.length ? d.v * Math.ceil(src.length / d.v) : 0);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const D = Buffer.alloc(d.v, id);
  const out: Buffer[] = [];
  for (let produced = 0; produced < n; produced += d.u) {
    let A = createHash(d.name).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(d.name).update(A).digest();
    out.push(A);
    const B = stretch(A, d.v);
    for (let j = 0; j < I.length; j += d.v) {
      let carry = 1;
      for (let k = d.v - 1; k >= 0; k--) {
        const sum = I[j + k] + B[k] + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, n);
}

// --------------------------------------------------------------------------------------------
// Encryption

function pbes2Encrypt(plain: Buffer, password: string): { algorithm: AlgorithmIdentifier; data: Buffer } {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const kdf = Object.assign(new Pbkdf2Params(), {
    salt: new OctetString(salt),
    iterationCount: ITERATIONS,
    prf: new AlgorithmIdentifier({ algorithm: OID.hmacWithSha256, parameters: null }),
  });
  const params = Object.assign(new Pbes2Params(), {
    keyDerivationFunc: new AlgorithmIdentifier({ algorithm: OID.pbkdf2, parameters: AsnConvert.serialize(kdf) }),
    encryptionScheme: new AlgorithmIdentifier({ algorithm: OID.aes256Cbc, parameters: octets(iv) }),
  });
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 32, 'sha256');
  const c = createCipheriv('aes-256-cbc', key, iv);
  return {
    algorithm: new AlgorithmIdentifier({ algorithm: OID.pbes2, parameters: AsnConvert.serialize(params) }),
    data: Buffer.concat([c.update(plain), c.final()]),
  };
}

function pbes2Decrypt(params: ArrayBuffer, data: Buffer, password: string): Buffer {
  const p = parseAs(params, Pbes2Params, 'PBES2 parameters');
  if (p.keyDerivationFunc.algorithm !== OID.pbkdf2) throw unsupported(`key derivation ${p.keyDerivationFunc.algorithm}`);
  const kdf = parseAs(p.keyDerivationFunc.parameters ?? new ArrayBuffer(0), Pbkdf2Params, 'PBKDF2 parameters');
  const prf = HMAC_PRFS[kdf.prf?.algorithm ?? '1.2.840.113549.2.7'];
  const cipher = CIPHERS[p.encryptionScheme.algorithm];
  if (!prf) throw unsupported(`PBKDF2 PRF ${kdf.prf?.algorithm}`);
  if (!cipher) throw unsupported(`cipher ${p.encryptionScheme.algorithm}`);
  if (kdf.keyLength !== undefined && Number(kdf.keyLength) !== cipher.keyLen) throw invalid('PBKDF2 key length does not fit the cipher');
  const iv = unwrapOctets(p.encryptionScheme.parameters ?? new ArrayBuffer(0), 'cipher IV');
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(kdf.salt.buffer), iterationsOf(kdf.iterationCount), cipher.keyLen, prf);
  return decipher(cipher.name, key, iv, data);
}

function decipher(name: string, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  try {
    const d = createDecipheriv(name, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    // Without a MAC, bad CBC padding is the only sign of a wrong password.
    throw badPassword();
  }
}

function decrypt(alg: AlgorithmIdentifier, data: Buffer, password: string): Buffer {
  if (alg.algorithm === OID.pbes2) return pbes2Decrypt(alg.parameters ?? new ArrayBuffer(0), data, password);
  if (alg.algorithm === OID.pbeSha3Des) {
    const p = parseAs(alg.parameters ?? new ArrayBuffer(0), Pkcs12PbeParams, 'PKCS#12 PBE parameters');
    const salt = Buffer.from(p.salt.buffer);
    const it = iterationsOf(p.iterations);
    const sha1 = '1.3.14.3.2.26';
    const key = pkcs12Kdf(sha1, bmpPassword(password), salt, 1, it, 24);
    const iv = pkcs12Kdf(sha1, bmpPassword(password), salt, 2, it, 8);
    return decipher('des-ede3-cbc', key, iv, data);
  }
  throw unsupported(`encryption algorithm ${alg.algorithm} (RC2/RC4 legacy files need re-export)`);
}

// --------------------------------------------------------------------------------------------
// Building

function attribute(attrId: string, valueDer: Buffer): PKCS12Attribute {
  // Assigned afterwards: PKCS12Attribute's constructor (asn1-pfx 2.x) drops its params.
  return Object.assign(new PKCS12Attribute(), { attrId, attrValues: [ab(valueDer)] });
}

function bagAttributes(localKeyId: Buffer, friendlyName?: string): PKCS12Attribute[] {
  const attrs = [attribute(OID.localKeyId, tlv(0x04, localKeyId))];
  if (friendlyName) attrs.unshift(attribute(OID.friendlyName, tlv(0x1e, Buffer.from(friendlyName, 'utf16le').swap16())));
  return attrs;
}

function certBag(der: Buffer, attrs?: PKCS12Attribute[]): SafeBag {
  const bag = new CertBag({ certId: OID.x509Certificate, certValue: octets(der) });
  return new SafeBag({ bagId: OID.certBag, bagValue: AsnConvert.serialize(bag), bagAttributes: attrs });
}

const dataContent = (der: ArrayBuffer): ContentInfo => new ContentInfo({ contentType: OID.data, content: octets(Buffer.from(der)) });

export function buildPkcs12(input: Pkcs12Input): Buffer {
  const cert = parseCertificate(input.certificateDer);
  for (const c of input.chainDers ?? []) parseCertificate(c);
  let publicSpki: Buffer;
  try {
    const key = createPrivateKey({ key: input.privateKeyPkcs8Der, format: 'der', type: 'pkcs8' });
    publicSpki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  } catch (e) {
    throw invalid(`private key is not a readable PKCS#8 DER: ${(e as Error).message}`);
  }
  if (!publicSpki.equals(cert.spkiDer)) throw invalid('private key does not match the certificate');

  // OpenSSL's convention: localKeyId is the SHA-1 of the certificate, tying key and cert together.
  const localKeyId = createHash('sha1').update(input.certificateDer).digest();
  const attrs = bagAttributes(localKeyId, input.friendlyName);

  const certs = new SafeContents([certBag(input.certificateDer, attrs), ...(input.chainDers ?? []).map((c) => certBag(c))]);
  const certsEnc = pbes2Encrypt(serialize(certs), input.password);
  const encryptedData = Object.assign(new CmsEncryptedData(), {
    version: 0,
    encryptedContentInfo: new EncryptedContentInfo({
      contentType: OID.data,
      contentEncryptionAlgorithm: certsEnc.algorithm,
      encryptedContent: new EncryptedContent({ value: new OctetString(certsEnc.data) }),
    }),
  });

  const keyEnc = pbes2Encrypt(input.privateKeyPkcs8Der, input.password);
  const shrouded = new EncryptedPrivateKeyInfo({ encryptionAlgorithm: keyEnc.algorithm, encryptedData: new OctetString(keyEnc.data) });
  const keys = new SafeContents([new SafeBag({ bagId: OID.shroudedKeyBag, bagValue: AsnConvert.serialize(shrouded), bagAttributes: attrs })]);

  const authSafe = serialize(
    new AuthenticatedSafe([
      new ContentInfo({ contentType: OID.encryptedData, content: AsnConvert.serialize(encryptedData) }),
      dataContent(AsnConvert.serialize(keys)),
    ]),
  );
  const salt = randomBytes(8);
  const macKey = pkcs12Kdf(OID.sha256, bmpPassword(input.password), salt, 3, ITERATIONS, 32);
  const pfx = new PFX({
    version: 3,
    authSafe: dataContent(ab(authSafe)),
    macData: new MacData({
      mac: new DigestInfo({ digestAlgorithm: new AlgorithmIdentifier({ algorithm: OID.sha256, parameters: null }), digest: new OctetString(createHmac('sha256', macKey).update(authSafe).digest()) }),
      macSalt: new OctetString(salt),
      iterations: ITERATIONS,
    }),
  });
  return serialize(pfx);
}

// --------------------------------------------------------------------------------------------
// Parsing

function verifyMac(mac: MacData, authSafe: Buffer, password: string): void {
  const oid = mac.mac.digestAlgorithm.algorithm;
  const d = DIGESTS[oid];
  if (!d) throw unsupported(`MAC digest ${oid}`);
  const expected = Buffer.from(mac.mac.digest.buffer);
  const salt = Buffer.from(mac.macSalt.buffer);
  const it = iterationsOf(mac.iterations);
  // OpenSSL tries an empty password both as "" (a lone BMP NUL) and as absent (no bytes).
  const candidates = password === '' ? [bmpPassword(''), Buffer.alloc(0)] : [bmpPassword(password)];
  for (const pw of candidates) {
    const got = createHmac(d.name, pkcs12Kdf(oid, pw, salt, 3, it, d.u)).update(authSafe).digest();
    if (got.length === expected.length && timingSafeEqual(got, expected)) return;
  }
  throw badPassword();
}

interface Found {
  certs: { der: Buffer; keyId?: string }[];
  keys: { der: Buffer; keyId?: string }[];
}

function localKeyIdOf(bag: SafeBag): string | undefined {
  const attr = bag.bagAttributes?.find((a) => a.attrId === OID.localKeyId);
  return attr?.attrValues[0] ? Buffer.from(attr.attrValues[0]).toString('hex') : undefined;
}

function collectBags(safeDer: ArrayBuffer | Buffer, password: string, found: Found): void {
  for (const bag of parseAs(safeDer, SafeContents, 'PKCS#12 SafeContents')) {
    const keyId = localKeyIdOf(bag);
    switch (bag.bagId) {
      case OID.certBag: {
        const cb = parseAs(bag.bagValue, CertBag, 'PKCS#12 CertBag');
        if (cb.certId === OID.x509Certificate) found.certs.push({ der: unwrapOctets(cb.certValue, 'certificate bag'), keyId });
        break; // SDSI certificates have no use here
      }
      case OID.keyBag:
        found.keys.push({ der: Buffer.from(bag.bagValue), keyId });
        break;
      case OID.shroudedKeyBag: {
        const epki = parseAs(bag.bagValue, EncryptedPrivateKeyInfo, 'PKCS#12 shrouded key bag');
        found.keys.push({ der: decrypt(epki.encryptionAlgorithm, Buffer.from(epki.encryptedData.buffer), password), keyId });
        break;
      }
      case OID.safeContentsBag:
        collectBags(bag.bagValue, password, found);
        break;
      default: // CRL and secret bags carry nothing this API returns
    }
  }
}

function encryptedSafe(content: ArrayBuffer, password: string): Buffer {
  const eci = parseAs(content, CmsEncryptedData, 'PKCS#12 EncryptedData').encryptedContentInfo;
  const ec = eci.encryptedContent;
  const data = ec?.value ? Buffer.from(ec.value.buffer) : Buffer.concat((ec?.constructedValue ?? []).map((o) => Buffer.from(o.buffer)));
  return decrypt(eci.contentEncryptionAlgorithm, data, password);
}

export function parsePkcs12(der: Buffer, password: string): Pkcs12Contents {
  const pfx = parseAs(der, PFX, 'PKCS#12 PFX');
  if (pfx.version !== 3) throw invalid(`PKCS#12 version ${pfx.version} is not 3`);
  if (pfx.authSafe.contentType !== OID.data) throw unsupported('public-key integrity mode');
  const authSafe = unwrapOctets(pfx.authSafe.content, 'PKCS#12 authSafe');
  // The schema class pre-fills macData, so whether the file has one is read from the DER itself.
  const hasMac = children(der, readSpan(der, 0)).length > 2;
  if (hasMac) verifyMac(pfx.macData, authSafe, password);

  const found: Found = { certs: [], keys: [] };
  for (const ci of parseAs(authSafe, AuthenticatedSafe, 'PKCS#12 AuthenticatedSafe')) {
    if (ci.contentType === OID.data) collectBags(unwrapOctets(ci.content, 'PKCS#12 data safe'), password, found);
    else if (ci.contentType === OID.encryptedData) {
      try {
        collectBags(encryptedSafe(ci.content, password), password, found);
      } catch (e) {
        // Without a MAC, a wrong password can pass the padding check and decrypt to garbage.
        throw !hasMac && e instanceof KmipError && e.reason === 'Invalid_Field' ? badPassword() : e;
      }
    } else throw unsupported(`safe content type ${ci.contentType} (public-key privacy mode)`);
  }
  const key = found.keys[0];
  if (!key) throw invalid('PKCS#12 holds no private key');
  if (found.certs.length === 0) throw invalid('PKCS#12 holds no certificate');
  // A wrong password that slipped past padding checks decrypts to garbage: insist it is a key.
  let spki: Buffer;
  try {
    spki = createPublicKey(createPrivateKey({ key: key.der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  } catch {
    throw hasMac ? invalid('PKCS#12 private key is not valid PKCS#8') : badPassword();
  }
  const leaf =
    found.certs.find((c) => key.keyId !== undefined && c.keyId === key.keyId) ??
    found.certs.find((c) => parseCertificate(c.der).spkiDer.equals(spki)) ??
    found.certs[0];
  return { certificateDer: leaf.der, chainDers: found.certs.filter((c) => c !== leaf).map((c) => c.der), privateKeyPkcs8Der: key.der };
}
