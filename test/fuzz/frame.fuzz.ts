import { loadCallTable } from '../../src/runtime/call-table';
import { decodeArguments, decodeHeader, FrameError, HEADER_SIZE } from '../../src/runtime/frame';
import { countExecution, onlyTypedErrors } from './harness';

const table = loadCallTable();

/**
 * A whole frame from the shim, read as the dispatcher reads it: the header, then the body by
 * the signature of the call the header names. The length check is skipped so that the
 * fuzzer need not keep bodyLength in step with its mutations to reach the body decoder.
 */
export function fuzz(data: Buffer): void {
  countExecution('frame');
  onlyTypedErrors([FrameError], () => {
    const call = table.byId.get(decodeHeader(data).functionId);
    if (call) decodeArguments(data.subarray(HEADER_SIZE), call, table.paramKinds);
  });
}
