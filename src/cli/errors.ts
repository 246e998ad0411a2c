import { KmipError, KmipTransportError, isNoValidKey } from '../kmip/errors';
import { EXIT, type ExitCode } from './exit-codes';

/** Bad input from the user, caught before anything is sent. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A local file problem, or a container that fails its integrity checks. */
export class LocalIoError extends Error {
  override readonly name = 'LocalIoError';
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

const NOT_FOUND = new Set(['Item_Not_Found', 'Object_Not_Found']);

/**
 * Not found means the object named does not exist. Cosmian's "<Op>: no valid key for id" is an
 * Item_Not_Found too, but it also answers a key that exists and cannot do the operation (wrong
 * state, usage mask): the server refused, which is a KMIP error.
 */
function isNotFound(e: KmipError): boolean {
  return NOT_FOUND.has(e.reason) && !isNoValidKey(e);
}

function isNodeIoError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** The exit code and the stderr line for any error a command can end with. */
export function describeFailure(e: unknown): { code: ExitCode; message: string } {
  if (e instanceof UsageError) return { code: EXIT.USAGE, message: `error: ${e.message}` };
  if (e instanceof KmipTransportError) return { code: EXIT.UNREACHABLE, message: e.message };
  if (e instanceof KmipError) return { code: isNotFound(e) ? EXIT.NEGATIVE : EXIT.KMIP_ERROR, message: e.toText() };
  if (e instanceof LocalIoError) return { code: EXIT.IO_ERROR, message: `error: ${e.message}` };
  if (isNodeIoError(e)) return { code: EXIT.IO_ERROR, message: `error: ${e.message}` };
  return { code: EXIT.IO_ERROR, message: `error: ${e instanceof Error ? e.message : String(e)}` };
}
