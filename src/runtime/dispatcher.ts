import { loadCallTable, type CallSignature, type CallTable } from './call-table';
import {
  decodeArguments, decodeHeader, encodeHeader, encodeResponseBody, FrameFlag, FrameKind, HEADER_SIZE,
  type FrameValue,
} from './frame';
import { CKR } from '../pkcs11/constants';
import type { CallOutcome } from '../pkcs11/types';
import { log } from './log';

export type CallResult = CallOutcome;

export type CallHandler = (args: FrameValue[]) => Promise<CallResult>;


/** Which rvs carry outputs, by the kind of output the call has (style-and-frame.md §6). */
function outputsAllowed(call: CallSignature, rv: number): boolean {
  if (rv === CKR.OK) return true;
  if (call.res.includes('Q')) return rv === CKR.ATTRIBUTE_SENSITIVE || rv === CKR.ATTRIBUTE_TYPE_INVALID || rv === CKR.BUFFER_TOO_SMALL;
  if (call.res.includes('F') || call.res.includes('L')) return rv === CKR.BUFFER_TOO_SMALL;
  return false;
}

/**
 * Turns request frames into response frames: decodes the arguments by the call table, runs
 * the handler, and encodes the rv and outputs. It knows nothing of PKCS#11 semantics; the
 * handlers do. Whatever goes wrong, the caller gets a frame back, never silence.
 */
export class Dispatcher {
  readonly table: CallTable;

  constructor(private readonly handlers: Readonly<Record<string, CallHandler>>, table: CallTable = loadCallTable()) {
    this.table = table;
  }

  async handle(frame: Uint8Array): Promise<Buffer> {
    let header;
    try {
      header = decodeHeader(frame);
    } catch (e) {
      log.error(`malformed frame: ${(e as Error).message}`);
      return encodeHeader({ kind: FrameKind.ProtocolError, flags: 0, functionId: 0, requestId: 0, bodyLength: 0 }, this.table.protocol.major, this.table.protocol.minor);
    }
    const reply = (kind: number, body: Buffer, flags = 0): Buffer => Buffer.concat([
      encodeHeader({ kind, flags, functionId: header.functionId, requestId: header.requestId, bodyLength: body.length }, this.table.protocol.major, this.table.protocol.minor),
      body,
    ]);
    const call = this.table.byId.get(header.functionId);
    const handler = call ? this.handlers[call.name] : undefined;
    if (!call || !handler || header.kind !== FrameKind.Request || frame.length !== HEADER_SIZE + header.bodyLength) {
      log.error(`unexpected frame: function ${header.functionId}, kind ${header.kind}`);
      return reply(FrameKind.ProtocolError, Buffer.alloc(0));
    }
    let args: FrameValue[];
    try {
      args = decodeArguments(frame.subarray(HEADER_SIZE), call, this.table.paramKinds);
    } catch (e) {
      log.error(`C_${call.name}: malformed request: ${(e as Error).message}`);
      return reply(FrameKind.ProtocolError, Buffer.alloc(0));
    }
    let result: CallResult;
    try {
      result = await handler(args);
    } catch (e) {
      // Handlers report PKCS#11 errors as results; an exception here is a bug in p11kms.
      log.error(`C_${call.name}: unexpected failure: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      result = { rv: CKR.FUNCTION_FAILED };
    }
    if (log.enabled('debug')) log.debug(`C_${call.name} -> 0x${result.rv.toString(16)}`);
    try {
      const outputs = result.outputs && outputsAllowed(call, result.rv) ? result.outputs : undefined;
      const sensitive = outputs && /[FQ]/.test(call.res) ? FrameFlag.Sensitive : 0;
      return reply(FrameKind.Response, encodeResponseBody(call, result.rv, outputs), sensitive);
    } catch (e) {
      log.error(`C_${call.name}: cannot encode the response: ${(e as Error).message}`);
      return reply(FrameKind.Response, encodeResponseBody(call, CKR.FUNCTION_FAILED, undefined));
    }
  }
}

