import { KmipError } from './errors';
import { T, child, childrenByTag, type TtlvNode, type TtlvStructure } from './ttlv';

/**
 * RequestMessage and ResponseMessage over the TTLV tree (KMIP 1.x and 2.x share the shape).
 * A bare operation `{"tag":"Encrypt","value":[…]}` is what Cosmian's /kmip/2_1 takes; inside a
 * message the same children sit in a RequestPayload under a BatchItem.
 */

export interface ProtocolVersion {
  major: number;
  minor: number;
}

export interface RequestHeader extends ProtocolVersion {
  batchCount: number;
  maximumResponseSize?: number;
  batchErrorContinuationOption?: string;
  authentication?: TtlvNode;
}

export interface RequestItem {
  operation: string;
  uniqueBatchItemId?: Uint8Array;
  payload: TtlvStructure;
}

export type ResultStatus = 'Success' | 'OperationFailed' | 'OperationPending' | 'OperationUndone';

export interface ResponseItem {
  operation?: string;
  uniqueBatchItemId?: Uint8Array;
  status: ResultStatus;
  reason?: string;
  message?: string;
  payload?: TtlvStructure;
}

function versionNode(v: ProtocolVersion): TtlvStructure {
  return T.struct('ProtocolVersion', [T.int('ProtocolVersionMajor', v.major), T.int('ProtocolVersionMinor', v.minor)]);
}

function invalid(message: string): KmipError {
  return new KmipError('Invalid_Message', message);
}

function intOf(node: TtlvNode | undefined, what: string): number {
  if (!node || node.type !== 'Integer') throw invalid(`missing or invalid ${what}`);
  return node.value;
}

export function wrapBareOperation(op: TtlvStructure, version: ProtocolVersion = { major: 2, minor: 1 }): TtlvStructure {
  return buildRequestMessage([op], version);
}

export function buildRequestMessage(ops: TtlvStructure[], version: ProtocolVersion = { major: 2, minor: 1 }, continueOnError = false): TtlvStructure {
  return T.struct('RequestMessage', [
    T.struct('RequestHeader', [
      versionNode(version),
      continueOnError ? T.enum('BatchErrorContinuationOption', 'Continue') : undefined,
      T.int('BatchCount', ops.length),
    ]),
    ...ops.map((op) => T.struct('BatchItem', [
      T.enum('Operation', op.tag === 'Mac' ? 'MAC' : op.tag),
      T.struct('RequestPayload', op.value),
    ])),
  ]);
}

export function parseProtocolVersion(node: TtlvNode | undefined): ProtocolVersion {
  if (!node || node.type !== 'Structure') throw invalid('missing ProtocolVersion');
  return { major: intOf(child(node, 'ProtocolVersionMajor'), 'ProtocolVersionMajor'), minor: intOf(child(node, 'ProtocolVersionMinor'), 'ProtocolVersionMinor') };
}

export function parseRequestMessage(node: TtlvNode): { header: RequestHeader; items: RequestItem[] } {
  if (node.tag !== 'RequestMessage' || node.type !== 'Structure') throw invalid('not a RequestMessage');
  const h = child(node, 'RequestHeader');
  if (!h || h.type !== 'Structure') throw invalid('missing RequestHeader');
  const version = parseProtocolVersion(child(h, 'ProtocolVersion'));
  if (version.major < 1 || version.major > 2) throw new KmipError('Unsupported_Protocol_Version', `KMIP ${version.major}.${version.minor} is not supported`);
  const batchCount = intOf(child(h, 'BatchCount'), 'BatchCount');
  const items = childrenByTag(node, 'BatchItem');
  if (items.length !== batchCount) throw invalid(`BatchCount is ${batchCount} but the message has ${items.length} BatchItems`);
  if (items.length === 0) throw invalid('a RequestMessage needs at least one BatchItem');
  const maxSize = child(h, 'MaximumResponseSize');
  const continuation = child(h, 'BatchErrorContinuationOption');
  const auth = child(h, 'Authentication');
  const header: RequestHeader = {
    ...version,
    batchCount,
    ...(maxSize && maxSize.type === 'Integer' ? { maximumResponseSize: maxSize.value } : {}),
    ...(continuation ? { batchErrorContinuationOption: String(continuation.value) } : {}),
    ...(auth ? { authentication: auth } : {}),
  };
  return {
    header,
    items: items.map((item, i) => {
      const op = child(item, 'Operation');
      if (!op || op.type !== 'Enumeration') throw invalid(`BatchItem ${i} has no Operation`);
      const payload = child(item, 'RequestPayload');
      if (!payload || payload.type !== 'Structure') throw invalid(`BatchItem ${i} has no RequestPayload`);
      const id = child(item, 'UniqueBatchItemID');
      return {
        // An unknown code stays a code ("0x" + 8 hex digits), which the response can echo in binary too; "42" could not be.
        operation: typeof op.value === 'number' ? '0x' + op.value.toString(16).toUpperCase().padStart(8, '0') : op.value,
        ...(id && id.type === 'ByteString' ? { uniqueBatchItemId: id.value } : {}),
        payload,
      };
    }),
  };
}

export function buildResponseMessage(version: ProtocolVersion, items: ResponseItem[], now: number): TtlvStructure {
  return T.struct('ResponseMessage', [
    T.struct('ResponseHeader', [versionNode(version), T.date('TimeStamp', now), T.int('BatchCount', items.length)]),
    ...items.map((item) => T.struct('BatchItem', [
      item.operation !== undefined ? T.enum('Operation', item.operation) : undefined,
      item.uniqueBatchItemId ? T.bytes('UniqueBatchItemID', item.uniqueBatchItemId) : undefined,
      T.enum('ResultStatus', item.status),
      item.reason !== undefined ? T.enum('ResultReason', item.reason) : undefined,
      item.message !== undefined ? T.text('ResultMessage', item.message) : undefined,
      item.payload,
    ])),
  ]);
}

export function parseResponseMessage(node: TtlvNode): { header: ProtocolVersion & { batchCount: number }; items: ResponseItem[] } {
  if (node.tag !== 'ResponseMessage' || node.type !== 'Structure') throw invalid('not a ResponseMessage');
  const h = child(node, 'ResponseHeader');
  const version = parseProtocolVersion(child(h, 'ProtocolVersion'));
  const batchCount = intOf(child(h, 'BatchCount'), 'BatchCount');
  const items = childrenByTag(node, 'BatchItem').map((item): ResponseItem => {
    const op = child(item, 'Operation');
    const id = child(item, 'UniqueBatchItemID');
    const reason = child(item, 'ResultReason');
    const message = child(item, 'ResultMessage');
    const payload = child(item, 'ResponsePayload');
    return {
      ...(op ? { operation: String(op.value) } : {}),
      ...(id && id.type === 'ByteString' ? { uniqueBatchItemId: id.value } : {}),
      status: String(child(item, 'ResultStatus')?.value ?? 'OperationFailed') as ResultStatus,
      ...(reason ? { reason: String(reason.value) } : {}),
      ...(message && message.type === 'TextString' ? { message: message.value } : {}),
      ...(payload && payload.type === 'Structure' ? { payload } : {}),
    };
  });
  return { header: { ...version, batchCount }, items };
}

/** `EncryptResponse{…}` ⇄ `ResponsePayload{…}`. */
export function toResponsePayload(bare: TtlvStructure): TtlvStructure {
  return T.struct('ResponsePayload', bare.value);
}

export function toBareResponse(operation: string, payload: TtlvStructure | undefined): TtlvStructure {
  return T.struct(`${operation}Response`, payload?.value ?? []);
}
