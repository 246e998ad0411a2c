/**
 * PKCS#11 ECDSA signatures are r‖s, each the size of the curve order; KMIP servers
 * (Cosmian's, ours) return and expect DER. These two functions translate.
 */
function trimmed(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function derInteger(b: Uint8Array): Buffer {
  const t = trimmed(b);
  const content = (t[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), t]) : Buffer.from(t);
  return Buffer.concat([Buffer.from([0x02, content.length]), content]);
}

export function rawToDer(raw: Uint8Array): Buffer {
  const half = raw.length / 2;
  const body = Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  const length = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), length, body]);
}

export function derToRaw(der: Uint8Array, fieldBytes: number): Buffer {
  let at = 0;
  const expect = (tag: number): number => {
    if (der[at] !== tag) throw new Error('not a DER ECDSA signature');
    at++;
    let length = der[at++] as number;
    if (length & 0x80) {
      const n = length & 0x7f;
      length = 0;
      for (let i = 0; i < n; i++) length = (length << 8) | (der[at++] as number);
    }
    return length;
  };
  expect(0x30);
  const out = Buffer.alloc(fieldBytes * 2);
  for (let i = 0; i < 2; i++) {
    const length = expect(0x02);
    const value = trimmed(der.subarray(at, at + length));
    at += length;
    if (value.length > fieldBytes) throw new Error('ECDSA integer larger than the curve');
    Buffer.from(value).copy(out, fieldBytes * (i + 1) - value.length);
  }
  return out;
}
