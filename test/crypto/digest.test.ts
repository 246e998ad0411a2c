import t from 'tap';
import { digestLength, hash, hkdf, hmac, hmacVerify, pbkdf2, type HashAlgorithm } from '../../src/server/crypto/digest';
import { randomBytes } from '../../src/server/crypto/random';
import { asyncReasonOf, reasonOf } from './assert-kmip';

const ABC = Buffer.from('abc');

t.test('every hash: FIPS 180-4 / FIPS 202 "abc" digests', async (t) => {
  const expected: Record<HashAlgorithm, string> = {
    SHA1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
    SHA224: '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7',
    SHA256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    SHA384: 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    SHA512: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    SHA3_224: 'e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf',
    SHA3_256: '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532',
    SHA3_384: 'ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25',
    SHA3_512: 'b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0',
    SHA512_224: '4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa',
    SHA512_256: '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23',
  };
  for (const [alg, hex] of Object.entries(expected) as [HashAlgorithm, string][]) {
    t.equal(hash(alg, ABC).toString('hex'), hex, alg);
    t.equal(digestLength(alg), hex.length / 2, `${alg} length`);
    const key = randomBytes(32);
    const mac = hmac(alg, key, ABC);
    t.equal(mac.length, hex.length / 2, `HMAC-${alg} length`);
    t.ok(hmacVerify(alg, key, ABC, mac), `HMAC-${alg} verifies`);
    t.notOk(hmacVerify(alg, randomBytes(32), ABC, mac), `HMAC-${alg} other key`);
  }
  t.equal(reasonOf(() => hash('MD5' as 'SHA1', ABC)), 'Feature_Not_Supported', 'MD5 is not offered');
});

t.test('HKDF RFC 5869 test case 3 (no salt, no info) and limits', async (t) => {
  const okm = hkdf('SHA256', Buffer.alloc(22, 0x0b), Buffer.alloc(0), Buffer.alloc(0), 42);
  t.equal(okm.toString('hex'), '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
  t.equal(hkdf('SHA256', ABC, ABC, ABC, 255 * 32).length, 255 * 32, 'the maximum length');
  t.equal(reasonOf(() => hkdf('SHA256', ABC, ABC, ABC, 255 * 32 + 1)), 'Invalid_Field', 'beyond 255 × HashLen');
  t.equal(reasonOf(() => hkdf('SHA256', ABC, ABC, ABC, 0)), 'Invalid_Field', 'zero length');
});

t.test('PBKDF2 RFC 6070 and limits', async (t) => {
  const dk = await pbkdf2('SHA1', Buffer.from('password'), Buffer.from('salt'), 2, 20);
  t.equal(dk.toString('hex'), 'ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957');
  t.equal(await asyncReasonOf(() => pbkdf2('SHA256', ABC, ABC, 0, 32)), 'Invalid_Field', 'zero iterations');
  t.equal(await asyncReasonOf(() => pbkdf2('SHA256', ABC, ABC, 1.5, 32)), 'Invalid_Field', 'fractional iterations');
  t.equal(await asyncReasonOf(() => pbkdf2('SHA256', ABC, ABC, 1, 0)), 'Invalid_Field', 'zero length');
});

t.test('random bytes', async (t) => {
  t.equal(randomBytes(0).length, 0);
  t.equal(randomBytes(64).length, 64);
  t.equal(reasonOf(() => randomBytes(-1)), 'Invalid_Field');
});
