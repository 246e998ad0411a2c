import t from 'tap';
import { createHash, createPublicKey, verify } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { MODULE_PATH, startModuleFixture } from '../support/module';

/**
 * graphene-pk11 (over pkcs11js) loads the module into this Node process. Two V8s cannot
 * share a process, so the module must notice and host its runtime in a child process.
 */
t.test('graphene-pk11 from Node: out-of-process hosting', async (t) => {
  const f = await startModuleFixture(t, { label: 'graphene', separateProcess: true });
  // The module and its child runtime read their configuration from this process's environment.
  process.env['P11KMS_CONF'] = f.confPath;
  process.env['P11KMS_LOG'] = 'debug';
  process.env['P11KMS_LOG_FILE'] = f.logPath;

  const mod = graphene.Module.load(MODULE_PATH, 'p11kms');
  mod.initialize();
  t.teardown(() => mod.finalize());
  t.match(mod.libraryDescription, /child process/, 'a Node host gets the child-process runtime');
  t.equal(mod.cryptokiVersion.major, 2);
  t.equal(mod.cryptokiVersion.minor, 40);

  const slot = mod.getSlots(0);
  t.equal(slot.getToken().label, 'graphene');
  const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
  t.teardown(() => session.close());

  const keys = session.generateKeyPair(graphene.KeyGenMechanism.EC, {
    keyType: graphene.KeyType.EC, token: true, verify: true, label: 'g-ec', id: Buffer.from([9]),
    paramsECDSA: graphene.NamedCurve.getByName('secp256r1').value,
  }, {
    keyType: graphene.KeyType.EC, token: true, sign: true, label: 'g-ec', id: Buffer.from([9]),
  });
  const message = Buffer.from('signed from Node through a child runtime');
  const signature = session.createSign('ECDSA_SHA256', keys.privateKey).once(message);
  t.equal(signature.length, 64, 'a raw P-256 signature');
  t.ok(session.createVerify('ECDSA_SHA256', keys.publicKey).once(message, signature), 'the module verifies it');

  // And so does OpenSSL, with the public key the token reports.
  graphene.registerAttribute('publicKeyInfo', 0x129, 'buffer');
  const spki = keys.publicKey.getAttribute({ publicKeyInfo: null }).publicKeyInfo as Buffer;
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  t.ok(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature), 'Node verifies the signature');

  const aes = session.generateKey(graphene.KeyGenMechanism.AES, { keyType: graphene.KeyType.AES, valueLen: 32, token: false, encrypt: true, decrypt: true, label: 'g-aes' });
  const iv = Buffer.alloc(16, 1);
  const plain = Buffer.from('sixteen byte msg'.repeat(4));
  const cipher = session.createCipher({ name: 'AES_CBC', params: iv }, aes).once(plain, Buffer.alloc(plain.length + 16));
  const back = session.createDecipher({ name: 'AES_CBC', params: iv }, aes).once(cipher, Buffer.alloc(cipher.length + 16));
  t.same(back, plain, 'AES-CBC round trip through graphene');

  const found = session.find({ label: 'g-ec' });
  t.equal(found.length, 2, 'both halves of the key pair are found by label');
  t.same(createHash('sha256').update(found.items(0).getAttribute({ id: null }).id as Buffer).digest(), createHash('sha256').update(Buffer.from([9])).digest(), 'CKA_ID as given');
});
