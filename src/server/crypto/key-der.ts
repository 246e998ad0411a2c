import { KmipError } from '../../kmip/errors';
import { OKP, weierstrass, type OkpKind } from './curves';

/**
 * Minimal PKCS#8 builders for keys node cannot import from bare private values: an
 * Edwards/Montgomery seed (JWK import would demand the public half too) and an EC scalar
 * without its point. OpenSSL derives the public half on import in both cases.
 */

function der(tag: number, content: Buffer): Buffer {
  const len = content.length;
  const header = len < 0x80 ? Buffer.from([tag, len]) : len < 0x100 ? Buffer.from([tag, 0x81, len]) : Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([header, content]);
}

/** X.690 §8.19 OBJECT IDENTIFIER contents from the dotted form. */
export function encodeOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((s) => Number(s));
  const [a = 0, b = 0, ...rest] = arcs;
  const out: number[] = [a * 40 + b];
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift((v & 0x7f) | 0x80);
    out.push(...base128);
  }
  return der(0x06, Buffer.from(out));
}

const VERSION_0 = Buffer.from('020100', 'hex');
const VERSION_1 = Buffer.from('020101', 'hex');
const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';

/** RFC 8410 OneAsymmetricKey holding only the seed. */
export function okpPkcs8(kind: OkpKind, seed: Buffer): Buffer {
  const info = OKP[kind];
  if (seed.length !== info.privateBytes) throw new KmipError('Invalid_Field', `a raw ${kind} private key is ${info.privateBytes} bytes, not ${seed.length}`);
  return der(0x30, Buffer.concat([VERSION_0, der(0x30, encodeOid(info.oid)), der(0x04, der(0x04, seed))]));
}

/** RFC 5915 ECPrivateKey without the optional public key, wrapped in PKCS#8. */
export function ecPkcs8(curve: string, d: Buffer): Buffer {
  const info = weierstrass(curve);
  if (d.length !== info.bytes) throw new KmipError('Invalid_Field', `a ${info.kmip} private scalar is ${info.bytes} bytes`);
  const ecPrivateKey = der(0x30, Buffer.concat([VERSION_1, der(0x04, d)]));
  return der(0x30, Buffer.concat([
    VERSION_0,
    der(0x30, Buffer.concat([encodeOid(ID_EC_PUBLIC_KEY), encodeOid(info.oid)])),
    der(0x04, ecPrivateKey),
  ]));
}
