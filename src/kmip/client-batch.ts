import { KmipError } from './errors';
import { T, child, childrenByTag, type TtlvNode, type TtlvStructure } from './ttlv';

/**
 * Bare operations ⇄ one RequestMessage / ResponseMessage. Each item carries a
 * UniqueBatchItemID (its index) so answers are matched by ID, not by position: with the
 * default Stop option the server omits every item after the first failure.
 */

export type BatchResult = { ok: true; response: TtlvStructure } | { ok: false; error: KmipError };

export interface BatchOptions {
  /** Ask the server to run the remaining items after one fails (BatchErrorContinuationOption Continue). */
  continueOnError?: boolean;
}

function batchItemId(index: number): Uint8Array {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(index);
  return id;
}

export function buildRequestMessage(ops: readonly TtlvStructure[], opts: BatchOptions = {}): TtlvStructure {
  return T.struct('RequestMessage', [
    T.struct('RequestHeader', [
      T.struct('ProtocolVersion', [T.int('ProtocolVersionMajor', 2), T.int('ProtocolVersionMinor', 1)]),
      opts.continueOnError ? T.enum('BatchErrorContinuationOption', 'Continue') : undefined,
      T.int('BatchCount', ops.length),
    ]),
    ...ops.map((op, i) => T.struct('BatchItem', [
      T.enum('Operation', op.tag),
      T.bytes('UniqueBatchItemID', batchItemId(i)),
      T.struct('RequestPayload', op.value),
    ])),
  ]);
}

/** Binary decoding may leave enumerations as numbers when a name is unknown; Success is 0. */
function isSuccess(status: TtlvNode | undefined): boolean {
  return status !== undefined && (status.value === 'Success' || status.value === 0);
}

function enumText(node: TtlvNode | undefined, fallback: string): string {
  if (!node) return fallback;
  if (typeof node.value === 'number') return `0x${node.value.toString(16).toUpperCase().padStart(8, '0')}`;
  return String(node.value);
}

function itemIndex(item: TtlvNode, position: number): number {
  const id = child(item, 'UniqueBatchItemID');
  if (id?.type === 'ByteString' && id.value.length === 4) return Buffer.from(id.value).readUInt32BE(0);
  return position;
}

function itemResult(item: TtlvNode, op: TtlvStructure): BatchResult {
  if (isSuccess(child(item, 'ResultStatus'))) {
    const payload = child(item, 'ResponsePayload');
    return { ok: true, response: T.struct(`${op.tag}Response`, payload?.type === 'Structure' ? payload.value : []) };
  }
  const message = child(item, 'ResultMessage');
  return {
    ok: false,
    error: new KmipError(enumText(child(item, 'ResultReason'), 'General_Failure'), message ? String(message.value) : `${op.tag} failed`),
  };
}

/** One result per requested operation, in request order; items the server skipped are failures. */
export function readResponseMessage(message: TtlvNode, ops: readonly TtlvStructure[]): BatchResult[] {
  if (message.tag !== 'ResponseMessage' || message.type !== 'Structure') {
    throw new KmipError('Invalid_Message', `expected a ResponseMessage, got ${message.tag}`);
  }
  const results: Array<BatchResult | undefined> = ops.map(() => undefined);
  const items = childrenByTag(message, 'BatchItem');
  items.forEach((item, position) => {
    const index = itemIndex(item, position);
    const op = ops[index];
    // An item without an Operation that failed is the server rejecting the whole message.
    if (!op) {
      if (!isSuccess(child(item, 'ResultStatus')) && ops[0]) results.fill(itemResult(item, ops[0]));
      return;
    }
    results[index] = itemResult(item, op);
  });
  return results.map((r, i) => r ?? {
    ok: false,
    error: new KmipError('General_Failure', `${ops[i]?.tag ?? 'operation'} was not run: an earlier item of the batch failed`),
  });
}
