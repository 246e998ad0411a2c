/** One operation in a binary TTLV RequestMessage posted to /kmip, as KMIP 1.x devices send it. */
import { decodeBinary, encodeBinary } from '../../src/kmip/binary-codec';
import { buildRequestMessage, parseResponseMessage, type ProtocolVersion } from '../../src/kmip/messages';
import type { TtlvStructure } from '../../src/kmip/ttlv';
import type { TestServer } from './server';

export async function binaryCall(server: TestServer, op: TtlvStructure, version: ProtocolVersion = { major: 1, minor: 4 }) {
  const res = await server.post('/kmip', encodeBinary(buildRequestMessage([op], version), version.major), 'application/octet-stream');
  if (res.status !== 200) throw new Error(`binary RequestMessage answered ${res.status}: ${res.text}`);
  const parsed = parseResponseMessage(decodeBinary(res.bytes, undefined, version.major));
  const item = parsed.items[0];
  if (!item) throw new Error('no batch item in the response');
  return { header: parsed.header, item };
}
