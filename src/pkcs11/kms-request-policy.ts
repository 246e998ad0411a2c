import { KmipTransportError } from '../kmip/errors';
import type { TtlvStructure } from '../kmip/ttlv';
import { READ_ONLY_OPERATIONS } from '../kmip/read-only-operations';


/** Failures that happen before a request is written: nothing reached the server. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Read-only operations can be sent again to the next URL after a transport failure, even if
 * the first server may have run them already. The others (Create, Destroy, attribute changes,
 * ...) are sent again only when they surely never left this process, or a key could be created twice.
 */
export function readOnly(ops: readonly TtlvStructure[]): boolean {
  return ops.every((op) => READ_ONLY_OPERATIONS.has(op.tag));
}

export function neverSent(e: unknown): boolean {
  for (let c: unknown = e, depth = 0; typeof c === 'object' && c !== null && depth < 8; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
    c = (c as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * `work`, or a KmipTransportError once `ms` have passed. The transports bound every request
 * by timeout_ms themselves; this bounds it by what is left of the host call, which is less
 * once the call has spent time on another request or URL. The abandoned request ends on its
 * own timeout; its outcome is dropped.
 */
export function withinMs<T>(work: Promise<T>, ms: number, target: string): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KmipTransportError(`no answer from the KMS at ${target} within the call's remaining ${ms} ms`)), ms);
  });
  return Promise.race([work, expiry]).finally(() => clearTimeout(timer));
}
