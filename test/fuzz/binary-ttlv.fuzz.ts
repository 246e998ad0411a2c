import { KmipError } from '../../src/kmip/errors';
import { decodeBinary, encodeBinary, findProtocolMajor } from '../../src/kmip/binary-codec';
import { countExecution, onlyTypedErrors } from './harness';

/** Binary TTLV in; what it accepts is encoded again under the same major version, as runBinary does. */
export function fuzz(data: Buffer): void {
  countExecution('binary-ttlv');
  onlyTypedErrors([KmipError], () => encodeBinary(decodeBinary(data), findProtocolMajor(data) ?? 2));
}
