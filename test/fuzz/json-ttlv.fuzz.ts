import { KmipError } from '../../src/kmip/errors';
import { decodeJsonText, encodeJsonText } from '../../src/kmip/json-codec';
import { countExecution, onlyTypedErrors } from './harness';

/** JSON TTLV text in; what it accepts must also encode again (the server echoes what it decoded). */
export function fuzz(data: Buffer): void {
  countExecution('json-ttlv');
  onlyTypedErrors([KmipError], () => encodeJsonText(decodeJsonText(data.toString('utf8'))));
}
