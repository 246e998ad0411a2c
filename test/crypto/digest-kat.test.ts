import t from 'tap';
import { hash, hkdf, hmac, hmacVerify, pbkdf2, type HashAlgorithm } from '../../src/server/crypto/digest';
import { hex, katVectors } from './kat';

/** kat/hash, kat/mac and kat/derive_key replayed on the digest functions. */

/** KMIP enumeration names (SHA3256) → engine names (SHA3_256). */
function hashName(kmip: string | undefined): HashAlgorithm {
  const m = /^SHA3(\d{3})$/.exec(kmip ?? '');
  return (m ? `SHA3_${m[1]}` : kmip) as HashAlgorithm;
}

const hashes = katVectors('hash');
const macs = katVectors('mac');
const derivations = katVectors('derive_key');
t.ok(hashes.length >= 6 && macs.length >= 7 && derivations.length >= 6, 'vectors found');

for (const v of hashes) {
  t.test(`hash ${v.name}`, async (t) => {
    const [step] = v.steps;
    if (!step) throw new Error('empty vector');
    t.equal(hash(hashName(step.fields['HashingAlgorithm']), hex(step.fields['Data'])).toString('hex').toUpperCase(), step.expect['Data']);
  });
}

for (const v of macs) {
  t.test(`mac ${v.name}`, async (t) => {
    const [imp, mac] = v.steps;
    if (!imp || !mac) throw new Error('incomplete vector');
    const alg = hashName(mac.fields['HashingAlgorithm']);
    const key = hex(imp.fields['Key']);
    const data = hex(mac.fields['Data']);
    const expected = mac.expect['MACData'] ?? '';
    t.equal(hmac(alg, key, data).toString('hex').toUpperCase(), expected);
    t.ok(hmacVerify(alg, key, data, hex(expected)), 'verifies');
    const forged = hex(expected);
    forged[0] = (forged[0] as number) ^ 1;
    t.notOk(hmacVerify(alg, key, data, forged), 'a flipped bit fails');
    t.notOk(hmacVerify(alg, key, data, hex(expected).subarray(0, 10)), 'a truncated MAC fails');
  });
}

for (const v of derivations) {
  t.test(`derive ${v.name}`, async (t) => {
    const [imp, derive] = v.steps;
    if (!imp || !derive) throw new Error('incomplete vector');
    const f = derive.fields;
    const alg = hashName(f['HashingAlgorithm']);
    const secret = hex(imp.fields['Key']);
    const expected = v.steps.find((s) => s.expect['KeyMaterial'])?.expect['KeyMaterial'] ?? '';
    // The derived key's length is the requested CryptographicLength; the vectors expect 256 bits.
    const length = Number(f['CryptographicLength'] ?? 256) / 8;
    t.equal(expected.length / 2, length, 'expected length');
    if (f['DerivationMethod'] === 'HKDF') {
      // DerivationData is HKDF's info (RFC 5869 test case 1 layout).
      t.equal(hkdf(alg, secret, hex(f['Salt']), hex(f['DerivationData']), length).toString('hex').toUpperCase(), expected);
    } else {
      t.equal(f['DerivationMethod'], 'PBKDF2');
      const out = await pbkdf2(alg, secret, hex(f['Salt']), Number(f['IterationCount']), length);
      t.equal(out.toString('hex').toUpperCase(), expected);
    }
  });
}
