/**
 * ECIES Encrypt/Decrypt with EC keys, as Cosmian's KMS does it:
 * - NIST curves: Cosmian/kms crate/crypto/src/crypto/elliptic_curves/ecies/standard_curves.rs
 *   (R compressed ‖ AES-GCM ct ‖ tag; key = SHAKE(S compressed), IV = SHAKE(R ‖ Q); P-256 with
 *   SHAKE128/AES-128-GCM, P-384 and P-521 with SHAKE256/AES-256-GCM);
 * - X25519/Ed25519: salsa_sealbox.rs, libsodium's sealed box ("Salsa Sealed Box" in
 *   documentation/docs/algorithms.md).
 * The ciphertexts checked here are built and opened independently: the NIST construction with
 * node:crypto and a BigInt point multiplication written below, the sealed box by libsodium itself.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { serverAndClient } from '../support/client';
import { J, bytesOf, kmip21, ok21, type JsonTtlv } from '../support/kmip-json';
import type { KmipClient } from '../../src/kmip/client';

// ---- an independent P-256/P-384 point multiplication (affine, BigInt), for the checks only
interface Curve { p: bigint; a: bigint; b: bigint; bytes: number }
const P256: Curve = {
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
  b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  bytes: 32,
};
const P384: Curve = {
  p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
  a: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffcn,
  b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  bytes: 48,
};
type Pt = { x: bigint; y: bigint } | null;
const mod = (a: bigint, p: bigint): bigint => ((a % p) + p) % p;
function pow(b: bigint, e: bigint, p: bigint): bigint {
  let r = 1n;
  for (b = mod(b, p); e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) r = (r * b) % p;
  return r;
}
const inv = (a: bigint, p: bigint): bigint => pow(a, p - 2n, p);
function add(c: Curve, P: Pt, Q: Pt): Pt {
  if (!P) return Q;
  if (!Q) return P;
  if (P.x === Q.x && mod(P.y + Q.y, c.p) === 0n) return null;
  const l = P.x === Q.x ? mod((3n * P.x * P.x + c.a) * inv(2n * P.y, c.p), c.p) : mod((Q.y - P.y) * inv(Q.x - P.x, c.p), c.p);
  const x = mod(l * l - P.x - Q.x, c.p);
  return { x, y: mod(l * (P.x - x) - P.y, c.p) };
}
function mul(c: Curve, k: bigint, P: Pt): Pt {
  let r: Pt = null;
  for (let q = P; k > 0n; k >>= 1n, q = add(c, q, q)) if (k & 1n) r = add(c, r, q);
  return r;
}
const big = (b: Buffer): bigint => BigInt('0x' + b.toString('hex'));
const be = (v: bigint, n: number): Buffer => Buffer.from(v.toString(16).padStart(n * 2, '0'), 'hex');
function compress(c: Curve, P: Pt): Buffer {
  if (!P) throw new Error('point at infinity');
  return Buffer.concat([Buffer.from([P.y & 1n ? 3 : 2]), be(P.x, c.bytes)]);
}
function decompress(c: Curve, b: Buffer): Pt {
  const x = big(b.subarray(1));
  const y = pow(mod(x * x * x + c.a * x + c.b, c.p), (c.p + 1n) / 4n, c.p); // p ≡ 3 (mod 4) on both curves
  return { x, y: (y & 1n) === BigInt(b[0] & 1) ? y : c.p - y };
}
const jwk = (k: KeyObject) => k.export({ format: 'jwk' }) as { x: string; y: string; d?: string };
const point = (k: KeyObject): Pt => ({ x: big(Buffer.from(jwk(k).x, 'base64url')), y: big(Buffer.from(jwk(k).y, 'base64url')) });
const scalar = (k: KeyObject): bigint => big(Buffer.from(jwk(k).d as string, 'base64url'));
const shake = (alg: string, n: number, ...parts: Buffer[]): Buffer => {
  const h = createHash(alg, { outputLength: n });
  parts.forEach((p) => h.update(p));
  return h.digest();
};

interface Suite { curve: Curve; kmipCurve: string; node: string; xof: string; aes: string; keyBytes: number }
const SUITES: Suite[] = [
  { curve: P256, kmipCurve: 'P256', node: 'prime256v1', xof: 'shake128', aes: 'aes-128-gcm', keyBytes: 16 },
  { curve: P384, kmipCurve: 'P384', node: 'secp384r1', xof: 'shake256', aes: 'aes-256-gcm', keyBytes: 32 },
];

/** Cosmian's ECIES ciphertext for Q, built here from scratch. */
function sealNist(s: Suite, Q: KeyObject, plaintext: Buffer): Buffer {
  const eph = generateKeyPairSync('ec', { namedCurve: s.node });
  const R = compress(s.curve, point(eph.publicKey));
  const S = compress(s.curve, mul(s.curve, scalar(eph.privateKey), point(Q)));
  const key = shake(s.xof, s.keyBytes, S);
  const iv = shake(s.xof, 12, R, compress(s.curve, point(Q)));
  const c = createCipheriv(s.aes as 'aes-128-gcm', key, iv);
  return Buffer.concat([R, c.update(plaintext), c.final(), c.getAuthTag()]);
}

function openNist(s: Suite, d: KeyObject, ct: Buffer): Buffer {
  const n = s.curve.bytes + 1;
  const R = ct.subarray(0, n);
  const S = compress(s.curve, mul(s.curve, scalar(d), decompress(s.curve, R)));
  const key = shake(s.xof, s.keyBytes, S);
  const iv = shake(s.xof, 12, R, compress(s.curve, point(createPublicKey(d))));
  const dc = createDecipheriv(s.aes as 'aes-128-gcm', key, iv);
  dc.setAuthTag(ct.subarray(ct.length - 16));
  return Buffer.concat([dc.update(ct.subarray(n, ct.length - 16)), dc.final()]);
}

const encryptOp = (uid: string, data: Buffer): JsonTtlv => J.struct('Encrypt', [J.text('UniqueIdentifier', uid), J.bytes('Data', data)]);
const decryptOp = (uid: string, data: Buffer): JsonTtlv => J.struct('Decrypt', [J.text('UniqueIdentifier', uid), J.bytes('Data', data)]);

async function pairOn(client: KmipClient, curve: string, algorithm = 'ECDH'): Promise<{ priv: string; pub: string; privateKey: KeyObject; publicKey: KeyObject }> {
  const ids = await client.createKeyPair({ algorithm, curve });
  const priv = await client.get(ids.privateKeyId, { keyFormatType: 'PKCS8' });
  const privateKey = createPrivateKey({ key: priv.bytes as Buffer, format: 'der', type: 'pkcs8' });
  return { priv: ids.privateKeyId, pub: ids.publicKeyId, privateKey, publicKey: createPublicKey(privateKey) };
}

for (const s of SUITES) {
  t.test(`ECIES on ${s.kmipCurve}: round trip, and both directions against an independent construction`, async (t) => {
    const { server, client } = await serverAndClient(t);
    const k = await pairOn(client, s.kmipCurve);
    const message = Buffer.from('i love pancakes, and ECIES on ' + s.kmipCurve);

    const enc = await ok21(server, encryptOp(k.pub, message));
    const ct = bytesOf(enc, 'Data');
    t.equal(ct.length, s.curve.bytes + 1 + message.length + 16, 'R (compressed) ‖ ciphertext ‖ 16-byte tag');
    t.notOk(JSON.stringify(enc).includes('IVCounterNonce'), 'no IV is returned: it is derived from R and Q');
    t.notOk(JSON.stringify(enc).includes('AuthenticatedEncryptionTag'), 'the tag is inside Data');
    t.same(openNist(s, k.privateKey, ct), message, 'the KMS ciphertext opens with the construction written here');
    t.same(bytesOf(await ok21(server, decryptOp(k.priv, ct)), 'Data'), message, 'and with the KMS');

    const withPrivate = await kmip21(server, encryptOp(k.priv, message));
    t.equal(withPrivate.status, 422, 'encrypting names the public key: a private key UID is refused, as Cosmian refuses it');
    const mine = sealNist(s, k.publicKey, message);
    t.same(bytesOf(await ok21(server, decryptOp(k.priv, mine)), 'Data'), message, 'the KMS opens a ciphertext built here');

    const tampered = Buffer.from(mine);
    tampered[tampered.length - 1] ^= 1;
    const bad = await kmip21(server, decryptOp(k.priv, tampered));
    t.equal(bad.status, 422, 'a tampered ciphertext fails');
    t.match(bad.text, /^Cryptographic_Failure: /);
    t.equal((await kmip21(server, decryptOp(k.priv, mine.subarray(0, s.curve.bytes + 1 + 16)))).status, 422, 'a ciphertext with no room for data fails');
  });
}

t.test('ECIES on P-521 round-trips (R is 67 bytes, as Cosmian sizes it)', async (t) => {
  const { server, client } = await serverAndClient(t);
  const k = await pairOn(client, 'P521');
  const message = randomBytes(100);
  const ct = bytesOf(await ok21(server, encryptOp(k.pub, message)), 'Data');
  t.equal(ct.length, 67 + 100 + 16);
  t.ok(ct[0] === 2 || ct[0] === 3, 'R is a compressed point');
  t.same(bytesOf(await ok21(server, decryptOp(k.priv, ct)), 'Data'), message);
});

t.test('ECIES to a certificate: Cosmian encrypts with the certificate\'s public key (encrypt_with_certificate)', async (t) => {
  const { server, client } = await serverAndClient(t);
  const k = await pairOn(client, 'P256');
  const cert = await client.certify({ keyUid: k.pub, subject: 'CN=ecies recipient' });
  const message = Buffer.from('to whoever holds the certificate');
  const ct = bytesOf(await ok21(server, encryptOp(cert, message)), 'Data');
  t.same(openNist(SUITES[0] as Suite, k.privateKey, ct), message, 'the ciphertext is for the certified key');
  t.same(bytesOf(await ok21(server, decryptOp(k.priv, ct)), 'Data'), message);
});

t.test('ECIES refuses secp256k1, which Cosmian does not take either', async (t) => {
  const { server, client } = await serverAndClient(t);
  const k = await client.createKeyPair({ algorithm: 'ECDH', curve: 'SECP256K1' });
  const r = await kmip21(server, encryptOp(k.publicKeyId, Buffer.from('x')));
  t.equal(r.status, 422);
  t.match(r.text, /^Bad_Cryptographic_Parameters: ECIES: Unsupported curve/);
});

// ---- the sealed box, checked against libsodium through ctypes (Debian's libsodium23)
const SODIUM = `
import ctypes, sys, json
s = ctypes.CDLL('libsodium.so.23')
assert s.sodium_init() >= 0
a = json.loads(sys.stdin.read())
def b(h): return bytes.fromhex(h)
pk = b(a['pk'])
if a.get('ed'):
    out = ctypes.create_string_buffer(32)
    assert s.crypto_sign_ed25519_pk_to_curve25519(out, pk) == 0
    pk = out.raw
if a['op'] == 'seal':
    m = b(a['data'])
    c = ctypes.create_string_buffer(len(m) + 48)
    assert s.crypto_box_seal(c, m, ctypes.c_ulonglong(len(m)), pk) == 0
    print(c.raw.hex())
else:
    sk = b(a['sk'])
    if a.get('ed'):
        out = ctypes.create_string_buffer(32)
        assert s.crypto_sign_ed25519_sk_to_curve25519(out, sk + b(a['pk'])) == 0
        sk = out.raw
    c = b(a['data'])
    m = ctypes.create_string_buffer(len(c) - 48)
    rc = s.crypto_box_seal_open(m, c, ctypes.c_ulonglong(len(c)), pk, sk)
    print(m.raw.hex() if rc == 0 else 'FAILED')
`;

function sodium(args: Record<string, unknown>): string {
  return execFileSync('/usr/bin/python3', ['-c', SODIUM], { input: JSON.stringify(args) }).toString().trim();
}

const raw = (k: KeyObject, f: 'x' | 'd'): Buffer => Buffer.from(jwk(k)[f] as string, 'base64url');

for (const [name, algorithm, curve, ed] of [['X25519', 'ECDH', 'CURVE25519', false], ['Ed25519', 'Ed25519', 'CURVEED25519', true]] as const) {
  t.test(`${name}: Cosmian's Salsa sealed box, interoperable with libsodium's crypto_box_seal`, async (t) => {
    const { server, client } = await serverAndClient(t);
    const k = await pairOn(client, curve, algorithm);
    t.equal(k.privateKey.asymmetricKeyType, name.toLowerCase(), `the pair is ${name}`);
    const message = Buffer.from(`sealed for ${name}`);

    const ct = bytesOf(await ok21(server, encryptOp(k.pub, message)), 'Data');
    t.equal(ct.length, 32 + 16 + message.length, 'ephemeral public key ‖ tag ‖ ciphertext');
    const opened = sodium({ op: 'open', ed, pk: raw(k.publicKey, 'x').toString('hex'), sk: raw(k.privateKey, 'd').toString('hex'), data: ct.toString('hex') });
    t.equal(opened, message.toString('hex'), 'libsodium opens the KMS sealed box');

    const sealed = Buffer.from(sodium({ op: 'seal', ed, pk: raw(k.publicKey, 'x').toString('hex'), data: message.toString('hex') }), 'hex');
    t.same(bytesOf(await ok21(server, decryptOp(k.priv, sealed)), 'Data'), message, 'the KMS opens a libsodium sealed box');

    sealed[40] ^= 0x80;
    const bad = await kmip21(server, decryptOp(k.priv, sealed));
    t.equal(bad.status, 422);
    t.match(bad.text, /^Cryptographic_Failure: /, 'a tampered box fails');
  });
}
