import t from 'tap';
import { constants, publicEncrypt, randomBytes, verify } from 'node:crypto';
import { decrypt, encrypt, sign } from '../../src/hsm/crypto';
import { HsmError } from '../../src/hsm/errors';
import * as pkcs11 from 'pkcs11js';
import { createEcKeyPair, createRsaKeyPair, destroyKey, findHandles, findKeys, getKeyInfo, listKeys, readPublicKey } from '../../src/hsm/keys';
import { makeTokens } from './softhsm';

const tokens = makeTokens(t, 1, 'rsa');
const hsm = tokens.open(t);
const slot = hsm.slot(tokens.slots[0]!);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof HsmError) return e.code;
    throw e;
  }
  return 'no error';
}

t.test('the OAEP probe finds SHA-1 only on Debian SoftHSM2 2.6.1, and leaves nothing behind', async (t) => {
  t.same(slot.oaepHashes, ['SHA-1'], 'SHA-256 is listed as a mechanism parameter but refused with CKR_ARGUMENTS_BAD');
  t.same(hsm.status()[0]!.oaepHashes, ['SHA-1']);
  t.same(listKeys(slot), [], 'the probe key pair was a session object');
});

t.test('RSA key pairs: sizes, labels, attributes', async (t) => {
  const pair = createRsaKeyPair(slot, 'rsa-2048', 2048);
  t.same(pair.privateKey, { slot: slot.id, label: 'rsa-2048', keyClass: 'private', keyType: 'RSA', bits: 2048, sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true });
  t.same(pair.publicKey, { slot: slot.id, label: 'rsa-2048_pk', keyClass: 'public', keyType: 'RSA', bits: 2048 });
  t.same(getKeyInfo(slot, 'rsa-2048', 'private'), pair.privateKey);
  t.equal(createRsaKeyPair(slot, 'rsa-3072', 3072).publicKey.bits, 3072);
  t.equal(code(() => createRsaKeyPair(slot, 'rsa-1024', 1024 as 2048)), 'INVALID_ARGUMENT');
  t.equal(code(() => createRsaKeyPair(slot, 'rsa-2048', 2048)), 'ALREADY_EXISTS');
  const pub = readPublicKey(slot, 'rsa-2048');
  t.equal(pub.asymmetricKeyDetails?.modulusLength, 2048);
  t.equal(pub.asymmetricKeyDetails?.publicExponent, 65537n);

  const flags = slot.withSession({ operation: 'read flags' }, (session, p11) => {
    const [h] = findHandles(slot, session, p11, [{ type: pkcs11.CKA_LABEL, value: 'rsa-2048_pk' }]);
    const [priv, id] = p11.C_GetAttributeValue(session, h!, [{ type: pkcs11.CKA_PRIVATE }, { type: pkcs11.CKA_ID }]);
    return { isPrivate: priv!.value[0], id: id!.value.toString() };
  });
  t.same(flags, { isPrivate: 0, id: 'rsa-2048_pk' }, 'the public half is readable without login; CKA_ID = label');
});

t.test('find by label and list keys only return keys', async (t) => {
  // A data object sharing a key's label must not confuse the search.
  slot.withSession({ operation: 'data object' }, (session, p11) => p11.C_CreateObject(session, [
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_DATA }, { type: pkcs11.CKA_TOKEN, value: true },
    { type: pkcs11.CKA_LABEL, value: 'rsa-2048' }, { type: pkcs11.CKA_VALUE, value: Buffer.from('not a key') },
  ]));
  t.same(findKeys(slot, 'rsa-2048').map((k) => `${k.keyClass}:${k.bits}`), ['private:2048']);
  t.same(findKeys(slot, 'rsa-2048_pk').map((k) => k.keyClass), ['public']);
  t.same(findKeys(slot, 'nothing'), []);
  t.same(listKeys(slot).map((k) => k.label).sort(), ['rsa-2048', 'rsa-2048_pk', 'rsa-3072', 'rsa-3072_pk']);
});

t.test('RSA-OAEP with the probed hash, checked against node:crypto', async (t) => {
  const plain = randomBytes(32);
  const out = encrypt(slot, 'rsa-2048', 'RSA-OAEP', plain);
  t.equal(out.length, 256);
  t.same(decrypt(slot, 'rsa-2048', 'RSA-OAEP', out), plain);
  t.same(decrypt(slot, 'rsa-2048_pk', 'RSA-OAEP', out), plain, 'naming the public key decrypts with its private half');
  const fromNode = publicEncrypt({ key: readPublicKey(slot, 'rsa-2048'), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, plain);
  t.same(decrypt(slot, 'rsa-2048', 'RSA-OAEP', fromNode, { oaepHash: 'SHA-1' }), plain, 'the HSM decrypts node\'s OAEP-SHA1');
  const e = t.throws(() => encrypt(slot, 'rsa-2048', 'RSA-OAEP', plain, { oaepHash: 'SHA-256' })) as unknown as HsmError;
  t.equal(e.code, 'NOT_SUPPORTED');
  t.match(e.message, /SHA-256 is not supported by this token \(probe found: SHA-1\)/);
  t.equal(code(() => decrypt(slot, 'rsa-3072', 'RSA-OAEP', out)), 'CKR_ENCRYPTED_DATA_INVALID', 'another key cannot decrypt it');
});

t.test('RSA PKCS#1 v1.5 encryption, checked against node:crypto', async (t) => {
  const plain = Buffer.from('thirteen byte');
  const out = encrypt(slot, 'rsa-2048', 'RSA-PKCS1', plain);
  t.equal(out.length, 256);
  t.same(decrypt(slot, 'rsa-2048', 'RSA-PKCS1', out), plain);
  const fromNode = publicEncrypt({ key: readPublicKey(slot, 'rsa-2048'), padding: constants.RSA_PKCS1_PADDING }, plain);
  t.same(decrypt(slot, 'rsa-2048', 'RSA-PKCS1', fromNode), plain);
});

t.test('signatures verified by node:crypto with the public key read from the HSM', async (t) => {
  const message = Buffer.from('signed inside the HSM');
  const pub = readPublicKey(slot, 'rsa-2048');
  const pkcs1 = sign(slot, 'rsa-2048', 'RSA-PKCS1-SHA256', message);
  t.ok(verify('sha256', message, pub, pkcs1), 'PKCS#1 v1.5 SHA-256');
  t.notOk(verify('sha256', Buffer.from('another message'), pub, pkcs1), 'and not for another message');
  const pss = sign(slot, 'rsa-2048', 'RSA-PSS-SHA256', message);
  t.ok(verify('sha256', message, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss), 'PSS SHA-256, salt 32');
  t.notSame(sign(slot, 'rsa-2048', 'RSA-PSS-SHA256', message), pss, 'PSS is randomised');

  createEcKeyPair(slot, 'ec-p256', 'P-256');
  t.same(getKeyInfo(slot, 'ec-p256', 'private'), { slot: slot.id, label: 'ec-p256', keyClass: 'private', keyType: 'EC', bits: 256, sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true });
  const ecdsa = sign(slot, 'ec-p256', 'ECDSA-SHA256', message);
  t.equal(ecdsa.length, 64, 'r‖s');
  const ecPub = readPublicKey(slot, 'ec-p256');
  t.equal(ecPub.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.ok(verify('sha256', message, { key: ecPub, dsaEncoding: 'ieee-p1363' }, ecdsa), 'ECDSA P-256 SHA-256');
  t.notOk(verify('sha256', Buffer.from('x'), { key: ecPub, dsaEncoding: 'ieee-p1363' }, ecdsa));
  t.equal(code(() => sign(slot, 'ec-p256', 'RSA-PKCS1-SHA256', message)), 'CKR_KEY_TYPE_INCONSISTENT', 'an EC key does not make RSA signatures');
});

t.test('destroying a key pair removes both halves', async (t) => {
  t.equal(destroyKey(slot, 'rsa-3072'), 2);
  t.equal(code(() => getKeyInfo(slot, 'rsa-3072_pk', 'public')), 'NOT_FOUND');
  t.equal(code(() => sign(slot, 'rsa-3072', 'RSA-PKCS1-SHA256', Buffer.from('x'))), 'NOT_FOUND');
  t.same(listKeys(slot).map((k) => k.label).sort(), ['ec-p256', 'ec-p256_pk', 'rsa-2048', 'rsa-2048_pk']);
  t.equal(destroyKey(slot, 'rsa-2048'), 2, 'the data object labelled rsa-2048 is not a key and stays');
  const left = slot.withSession({ operation: 'count' }, (session, p11) => findHandles(slot, session, p11, [{ type: pkcs11.CKA_LABEL, value: 'rsa-2048' }]).length);
  t.equal(left, 1);
});
