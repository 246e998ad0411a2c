/**
 * Runs under Debian's Node 18 (the runtime the PKCS#11 module embeds): codecs both ways and
 * a few client calls against the server whose URL is argv[2]. Prints "NODE18 OK" on success.
 */
import { KmipClient } from '../../src/kmip/client';
import { decodeBinary, encodeBinary } from '../../src/kmip/binary-codec';
import { decodeJsonText, encodeJsonText } from '../../src/kmip/json-codec';
import { T, ttlvEqual } from '../../src/kmip/ttlv';

async function main(): Promise<void> {
  const url = process.argv[2];
  if (!url) throw new Error('usage: kmip-smoke URL');
  const node = T.struct('Attributes', [T.int('CryptographicLength', 256), T.long('ProtectionPeriod', -42n), T.big('Modulus', 2n ** 100n), T.bytes('Data', Buffer.from('abc')), T.text('UniqueIdentifier', 'x'), T.date('ActivationDate', 1704067200), T.bool('Sensitive', true)]);
  if (!ttlvEqual(decodeJsonText(encodeJsonText(node)), node)) throw new Error('JSON round trip differs');
  if (!ttlvEqual(decodeBinary(encodeBinary(node)), node)) throw new Error('binary round trip differs');
  const client = new KmipClient({ url });
  try {
    const uid = await client.create({ algorithm: 'AES', length: 256 });
    const out = await client.encrypt(uid, Buffer.from('node 18'));
    const back = await client.decrypt(uid, out.data, { iv: out.iv as Buffer, tag: out.tag as Buffer });
    if (back.toString() !== 'node 18') throw new Error('decrypt differs');
    const found = await client.locate({ objectType: 'SymmetricKey' });
    if (!found.includes(uid)) throw new Error('locate did not find the key');
  } finally {
    await client.close();
  }
  console.log(`NODE18 OK ${process.version}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
