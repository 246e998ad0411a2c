import { KmipError } from '../../src/kmip/errors';

/** The ResultReason a call fails with, or 'no error' — for t.equal in negative tests. */
export function reasonOf(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof KmipError ? String(e.reason) : `non-KMIP error: ${String(e)}`;
  }
}

export async function asyncReasonOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return e instanceof KmipError ? String(e.reason) : `non-KMIP error: ${String(e)}`;
  }
}

/** Error messages must never carry key material or plaintext. */
export function messageOf(f: () => unknown): string {
  try {
    f();
    return '';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
