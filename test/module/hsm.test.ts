import t, { type Test } from 'tap';
import { createCipheriv, createPublicKey, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KmipClient } from '../../src/kmip/client';
import { createSymmetricKeyRequest } from '../../src/kmip/requests';
import { T, child, type TtlvStructure } from '../../src/kmip/ttlv';
import { vendorAttribute } from '../../src/server/model/attributes';
import { flatHsm } from '../support/hsm-kms';
import { pkcs11Tool, startModuleFixture, type ModuleFixture } from '../support/module';
import { makeTokens } from '../hsm/softhsm';

/**
 * pkcs11-tool, through libp11kms.so, using keys the KMS keeps with a SoftHSM2 token: a
 * database key wrapped at rest by an HSM key, and an HSM key itself (hsm::<slot>::<label>).
 */

const tokens = makeTokens(t, 1, 'modhsm');
const slot = tokens.slots[0] as number;
process.env['SOFTHSM2_CONF'] = tokens.conf;
const uid = (label: string): string => `hsm::${slot}::${label}`;
const IV = '000102030405060708090a0b0c0d0e0f';
/** pkcs11-tool's --encrypt, --decrypt and --sign pick the key by CKA_ID (the module's is the UID), not by label. */
const idOf = (id: string): string[] => ['--id', Buffer.from(id, 'utf8').toString('hex')];

async function tool(t: Test, f: ModuleFixture, what: string, args: string[]): Promise<string> {
  const r = await pkcs11Tool(f, args);
  t.equal(r.code, 0, `${what} exits 0${r.code ? `: ${r.stderr}` : ''}`);
  return r.stdout + r.stderr;
}

function aesCbcPad(key: Buffer, data: Buffer): Buffer {
  const c = createCipheriv(`aes-${key.length * 8}-cbc`, key, Buffer.from(IV, 'hex'));
  return Buffer.concat([c.update(data), c.final()]);
}

t.test('pkcs11-tool with keys protected by a SoftHSM2 token', async (t) => {
  const f = await startModuleFixture(t, { label: 'p11kms-hsm' }, { hsm: flatHsm(slot) });
  const kms = new KmipClient({ url: f.server.url });
  t.teardown(() => kms.close());

  // The KEK and an RSA pair live on the token; the DEK lives in the database, wrapped by the KEK.
  await kms.create({ algorithm: 'AES', length: 256, uniqueIdentifier: uid('kek') });
  await kms.createKeyPair({ algorithm: 'RSA', length: 2048, uniqueIdentifier: uid('hsmrsa') });
  const request = createSymmetricKeyRequest({ algorithm: 'AES', length: 256, label: 'wrapped-dek' });
  const attrs = child(request, 'Attributes') as TtlvStructure;
  const dek = String(child(await kms.call(T.struct('Create', [child(request, 'ObjectType'),
    T.struct('Attributes', [...attrs.value, vendorAttribute('wrapping_key_id', T.text('AttributeValue', uid('kek')))])])), 'UniqueIdentifier')?.value);
  t.equal((await kms.get(dek)).bytes?.length, 60, 'the DEK is stored wrapped by the HSM key');
  const dekBytes = (await kms.get(dek, { keyWrapType: 'NotWrapped' })).bytes as Buffer;

  const objects = await tool(t, f, 'list objects', ['-O']);
  for (const label of ['wrapped-dek', 'kek', 'hsmrsa', 'hsmrsa_pk']) t.match(objects, new RegExp(`label:\\s+${label}\\n`), `${label} is on the token`);

  const data = join(f.dir, 'data');
  writeFileSync(data, Buffer.from('a disk key, a tablespace key, anything under 1 KB'));

  t.test('a database key wrapped by the HSM key', async (t) => {
    const enc = join(f.dir, 'dek.enc');
    await tool(t, f, 'encrypt', ['--encrypt', ...idOf(dek), '-m', 'AES-CBC-PAD', '--iv', IV, '-i', data, '-o', enc]);
    t.same(readFileSync(enc), aesCbcPad(dekBytes, readFileSync(data)), 'the ciphertext is AES-256-CBC under the unwrapped DEK');
    await tool(t, f, 'decrypt', ['--decrypt', ...idOf(dek), '-m', 'AES-CBC-PAD', '--iv', IV, '-i', enc, '-o', join(f.dir, 'dek.dec')]);
    t.same(readFileSync(join(f.dir, 'dek.dec')), readFileSync(data));
  });

  t.test('an hsm:: key, used directly', async (t) => {
    const enc = join(f.dir, 'kek.enc');
    await tool(t, f, 'encrypt on the HSM', ['--encrypt', ...idOf(uid('kek')), '-m', 'AES-CBC-PAD', '--iv', IV, '-i', data, '-o', enc]);
    const viaKmip = await kms.decrypt(uid('kek'), readFileSync(enc), { mode: 'CBC', iv: Buffer.from(IV, 'hex') });
    t.same(viaKmip, readFileSync(data), 'KMIP Decrypt on the hsm:: UID reads what pkcs11-tool wrote');
    await tool(t, f, 'decrypt on the HSM', ['--decrypt', ...idOf(uid('kek')), '-m', 'AES-CBC-PAD', '--iv', IV, '-i', enc, '-o', join(f.dir, 'kek.dec')]);
    t.same(readFileSync(join(f.dir, 'kek.dec')), readFileSync(data));

    const attributes = await tool(t, f, 'read the attributes', ['-O', '--label', 'kek', '--type', 'secrkey']);
    t.match(attributes, /Secret Key Object; AES length 32/);
    t.match(attributes, /Access:\s+sensitive, always sensitive, never extractable/);
    const exported = await pkcs11Tool(f, ['--read-object', '--type', 'secrkey', '--label', 'kek', '-o', join(f.dir, 'kek.bin')]);
    t.not(exported.code, 0, 'the HSM key value cannot be read');

    const sig = join(f.dir, 'sig');
    await tool(t, f, 'sign on the HSM', ['--sign', ...idOf(uid('hsmrsa')), '-m', 'SHA256-RSA-PKCS', '-i', data, '-o', sig]);
    const pair = await tool(t, f, 'list the pair', ['-O', ...idOf(uid('hsmrsa'))]);
    t.match(pair, /Private Key Object; RSA[\s\S]*label:\s+hsmrsa\n/);
    t.match(pair, /Public Key Object; RSA 2048 bits[\s\S]*label:\s+hsmrsa_pk\n/, 'both halves share one CKA_ID');
    const spki = (await kms.get(uid('hsmrsa_pk'))).bytes as Buffer;
    t.ok(verify('sha256', readFileSync(data), createPublicKey({ key: spki, format: 'der', type: 'spki' }), readFileSync(sig)), 'the signature verifies with the HSM public key');
  });
});
