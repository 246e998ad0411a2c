import { decodeBinary, encodeBinary } from '../kmip/binary-codec';
import { decodeJsonBytesStyled, encodeJsonBytes, type StructureStyle } from '../kmip/json-codec';
import type { TtlvNode } from '../kmip/ttlv';
import { serveJobs } from './crypto/worker-messages';

/** The thread side of codec-offload.ts: JSON and binary TTLV in and out, for messages too large for the event loop. */
serveJobs({
  decodeJson: (body: Buffer) => decodeJsonBytesStyled(body),
  encodeJson: (node: TtlvNode, style: StructureStyle) => encodeJsonBytes(node, style),
  decodeBinary: (body: Buffer) => decodeBinary(body),
  encodeBinary: (node: TtlvNode, major: number) => encodeBinary(node, major),
});
