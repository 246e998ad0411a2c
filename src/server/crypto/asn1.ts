/**
 * ASN.1 glue around @peculiar/asn1-*: the few structures those packages lack (PBES2, PKCS#12 PBE,
 * CMS EncryptedData), a DER span walker for callers that need the exact bytes of a field (the
 * schema parser re-encodes, which is not guaranteed to reproduce the signed bytes), and the
 * distinguished-name string codec.
 */
import {
  AsnConvert,
  AsnProp,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
  OctetString,
} from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import { EncryptedContentInfo } from '@peculiar/asn1-cms';
import { KmipError } from '../../kmip/errors';

type PropOptions = Parameters<typeof AsnProp>[0];

/**
 * Registers a SEQUENCE schema by calling the library's decorators directly: the project's
 * tsconfig uses standard (TC39) decorators, whose signature differs from the legacy ones these
 * packages export.
 */
function sequence<T extends object>(ctor: new () => T, props: { [K in keyof T & string]?: PropOptions }): void {
  AsnType({ type: AsnTypeTypes.Sequence })(ctor);
  for (const [key, options] of Object.entries(props)) AsnProp(options as PropOptions)(ctor.prototype, key);
}

/** RFC 8018 PBKDF2-params; only the `specified` salt choice exists in practice. */
export class Pbkdf2Params {
  salt = new OctetString();
  iterationCount = 0;
  keyLength?: number;
  prf?: AlgorithmIdentifier;
}
sequence(Pbkdf2Params, {
  salt: { type: OctetString },
  iterationCount: { type: AsnPropTypes.Integer },
  keyLength: { type: AsnPropTypes.Integer, optional: true },
  prf: { type: AlgorithmIdentifier, optional: true },
});

/** RFC 8018 PBES2-params. */
export class Pbes2Params {
  keyDerivationFunc = new AlgorithmIdentifier();
  encryptionScheme = new AlgorithmIdentifier();
}
sequence(Pbes2Params, {
  keyDerivationFunc: { type: AlgorithmIdentifier },
  encryptionScheme: { type: AlgorithmIdentifier },
});

/** RFC 7292 pkcs-12PbeParams, used by the legacy pbeWithSHAAnd3-KeyTripleDES-CBC. */
export class Pkcs12PbeParams {
  salt = new OctetString();
  iterations = 0;
}
sequence(Pkcs12PbeParams, {
  salt: { type: OctetString },
  iterations: { type: AsnPropTypes.Integer },
});

/** RFC 5652 EncryptedData without unprotectedAttrs, which PKCS#12 writers never emit. */
export class CmsEncryptedData {
  version = 0;
  encryptedContentInfo = new EncryptedContentInfo();
}
sequence(CmsEncryptedData, {
  version: { type: AsnPropTypes.Integer },
  encryptedContentInfo: { type: EncryptedContentInfo },
});

/** Parses with the library and turns its plain Errors into a KMIP reason. */
export function parseAs<T>(der: Uint8Array | ArrayBuffer, type: new () => T, what: string): T {
  try {
    return AsnConvert.parse(der, type);
  } catch (e) {
    throw new KmipError('Invalid_Field', `malformed ${what}: ${(e as Error).message}`);
  }
}

export function serialize(value: unknown): Buffer {
  return Buffer.from(AsnConvert.serialize(value));
}

/** One DER element: its tag byte and where its header, contents and end lie in the buffer. */
export interface DerSpan {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** Reads the element at `offset`; only definite lengths, since DER forbids the others. */
export function readSpan(buf: Buffer, offset: number, limit = buf.length): DerSpan {
  const bad = (why: string): KmipError => new KmipError('Invalid_Field', `malformed DER at byte ${offset}: ${why}`);
  if (offset + 2 > limit) throw bad('truncated header');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw bad('multi-byte tags are not used by X.509');
  let len = buf[offset + 1];
  let contentStart = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw bad('unsupported length form');
    if (contentStart + n > limit) throw bad('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[contentStart + i];
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > limit) throw bad('length runs past the end');
  return { tag, start: offset, contentStart, end };
}

/** The elements directly inside a constructed element. */
export function children(buf: Buffer, parent: DerSpan): DerSpan[] {
  const out: DerSpan[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const span = readSpan(buf, at, parent.end);
    out.push(span);
    at = span.end;
  }
  return out;
}

/** Short definite-length TLV, for the odd primitive (BMPString) the schema layer cannot build. */
export function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const head =
    n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...head]), content]);
}

// ---------------------------------------------------------------------------------------------
// Distinguished names. Strings are read and written in DER order ("CN=disk,O=Acme" puts CN first
// in the RDNSequence), as OpenSSL prints them and Cosmian builds them, rather than RFC 4514's
// reversed order: what a user types is what `openssl x509 -subject` shows back.

export interface DnAttribute {
  /** Short name (CN, O, ...) or dotted OID. */
  type: string;
  value: string;
}
/** RDNs in DER order; each RDN holds one attribute, or several when joined with '+'. */
export type DistinguishedName = DnAttribute[][];

const DN_OIDS: Record<string, string> = {
  CN: '2.5.4.3', SN: '2.5.4.4', serialNumber: '2.5.4.5', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8',
  street: '2.5.4.9', O: '2.5.4.10', OU: '2.5.4.11', title: '2.5.4.12', GN: '2.5.4.42', initials: '2.5.4.43',
  dnQualifier: '2.5.4.46', pseudonym: '2.5.4.65', organizationIdentifier: '2.5.4.97',
  DC: '0.9.2342.19200300.100.1.25', UID: '0.9.2342.19200300.100.1.1', emailAddress: '1.2.840.113549.1.9.1',
};
const DN_ALIASES: Record<string, string> = { S: 'ST', E: 'emailAddress', EMAIL: 'emailAddress', GIVENNAME: 'GN', SURNAME: 'SN', T: 'title' };
const OID_NAMES = new Map(Object.entries(DN_OIDS).map(([k, v]) => [v, k]));
const BY_UPPER = new Map(Object.keys(DN_OIDS).map((k) => [k.toUpperCase(), k]));
/** RFC 5280 fixes these to PrintableString / IA5String; everything else is UTF8String. */
const PRINTABLE = new Set(['2.5.4.6', '2.5.4.5', '2.5.4.46']);
const IA5 = new Set(['0.9.2342.19200300.100.1.25', '1.2.840.113549.1.9.1']);

function attributeOid(type: string): string {
  if (/^\d+(\.\d+)+$/.test(type)) return type;
  const upper = type.trim().toUpperCase();
  const name = BY_UPPER.get(upper) ?? DN_ALIASES[upper];
  if (!name) throw new KmipError('Invalid_Field', `unknown distinguished name attribute "${type}"`);
  return DN_OIDS[name];
}

/** Splits on `sep` outside backslash escapes, keeping the escapes for the value decoder. */
function splitUnescaped(s: string, seps: string): { part: string; sep: string }[] {
  const out: { part: string; sep: string }[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s[++i];
    } else if (seps.includes(ch)) {
      out.push({ part: cur, sep: ch });
      cur = '';
    } else cur += ch;
  }
  out.push({ part: cur, sep: '' });
  return out;
}

function unescapeValue(v: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(v.trim(), 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c) bytes.push(raw[i]);
    else if (/^[0-9a-fA-F]{2}$/.test(raw.subarray(i + 1, i + 3).toString())) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 3).toString(), 16));
      i += 2;
    } else if (i + 1 < raw.length) bytes.push(raw[++i]);
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Reads "CN=a,O=b,C=FR" (commas or semicolons, '+' for multi-valued RDNs, RFC 4514 escapes) and
 * also OpenSSL's "/CN=a/O=b" form.
 */
export function parseDistinguishedName(text: string): DistinguishedName {
  const slashForm = text.trim().startsWith('/');
  const body = slashForm ? text.trim().slice(1) : text;
  const dn: DistinguishedName = [];
  let rdn: DnAttribute[] = [];
  for (const { part, sep } of splitUnescaped(body, slashForm ? '/+' : ',;+')) {
    if (part.trim() === '' && sep === '' && dn.length === 0 && rdn.length === 0) break;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new KmipError('Invalid_Field', `distinguished name component "${part}" is not TYPE=value`);
    const type = part.slice(0, eq).trim();
    attributeOid(type);
    rdn.push({ type, value: unescapeValue(part.slice(eq + 1)) });
    if (sep !== '+') {
      dn.push(rdn);
      rdn = [];
    }
  }
  if (dn.length === 0) throw new KmipError('Invalid_Field', 'empty distinguished name');
  return dn;
}

function encodeValue(oid: string, value: string): AttributeValue {
  if (PRINTABLE.has(oid)) {
    if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)) throw new KmipError('Invalid_Field', `"${value}" is not a PrintableString`);
    if (oid === '2.5.4.6' && !/^[A-Za-z]{2}$/.test(value)) throw new KmipError('Invalid_Field', `country "${value}" must be two letters`);
    return new AttributeValue({ printableString: value });
  }
  if (IA5.has(oid)) {
    if (!/^[\x00-\x7f]*$/.test(value)) throw new KmipError('Invalid_Field', `"${value}" is not an IA5String`);
    return new AttributeValue({ ia5String: value });
  }
  return new AttributeValue({ utf8String: value });
}

export function toAsnName(dn: DistinguishedName | string): Name {
  const parsed = typeof dn === 'string' ? parseDistinguishedName(dn) : dn;
  return new Name(
    parsed.map(
      (rdn) =>
        new RelativeDistinguishedName(
          rdn.map((a) => {
            const oid = attributeOid(a.type);
            return new AttributeTypeAndValue({ type: oid, value: encodeValue(oid, a.value) });
          }),
        ),
    ),
  );
}

function escapeValue(v: string): string {
  return v.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).replace(/^[ #]|\s$/g, (c) => `\\${c}`);
}

/** Text form in DER order; unknown attributes as OID=#hex of the DER value, as RFC 4514 does. */
export function formatName(name: Name): string {
  return name
    .map((rdn) =>
      rdn
        .map((atv) => {
          const label = OID_NAMES.get(atv.type) ?? atv.type;
          const v = atv.value;
          if (v.anyValue) return `${label}=#${Buffer.from(v.anyValue).toString('hex')}`;
          return `${label}=${escapeValue(v.toString())}`;
        })
        .join('+'),
    )
    .join(',');
}
