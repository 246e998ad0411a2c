import { decodeJsonBytes, encodeJsonBytes } from '../kmip/json-codec';
import type { TtlvNode } from '../kmip/ttlv';
import { serveJobs } from './crypto/worker-messages';

/** The thread side of codec-offload.ts: JSON TTLV in and out, for messages too large for the event loop. */
serveJobs({
  decodeJson: (body: Buffer) => decodeJsonBytes(body),
  encodeJson: (node: TtlvNode) => encodeJsonBytes(node),
});
