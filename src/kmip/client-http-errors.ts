import { KmipError, KmipTransportError } from './errors';

/**
 * How Cosmian's /kmip/2_1 reports a failed bare operation: an HTTP status and a text body.
 * 422 carries "Reason: message"; the others only tell us the class of failure.
 */
export function kmipErrorFromHttp(status: number, body: string): KmipError {
  const text = body.trim();
  if (status === 422) {
    const match = /^([A-Za-z][A-Za-z0-9_]*): ([\s\S]*)$/.exec(text);
    return match ? new KmipError(match[1] as string, match[2] as string, status) : new KmipError('General_Failure', text || 'HTTP 422', status);
  }
  // p11kms words its 401 as "Authentication_Not_Successful: reason"; other servers send any text.
  if (status === 401) return new KmipError('Authentication_Not_Successful', text.replace(/^Authentication_Not_Successful: /, '') || 'authentication required', status);
  if (status === 404) return new KmipError('Operation_Not_Supported', text || 'not found', status);
  return new KmipError('General_Failure', `HTTP ${status}${text ? `: ${text.slice(0, 500)}` : ''}`, status);
}

const NETWORK_MESSAGES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for the response',
  UND_ERR_BODY_TIMEOUT: 'timed out reading the response',
  UND_ERR_SOCKET: 'the connection failed',
  UND_ERR_CLOSED: 'the client is closed',
  UND_ERR_DESTROYED: 'the client is closed',
};

function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const cause = (e as { cause?: unknown }).cause;
  return cause !== undefined && cause !== e ? errorCode(cause) : undefined;
}

/** A transport failure worded for an operator: where we were going and what went wrong. */
export function transportError(target: string, e: unknown): KmipTransportError {
  if (e instanceof KmipTransportError) return e;
  const code = errorCode(e);
  const detail = e instanceof Error ? e.message : String(e);
  const what = (code && NETWORK_MESSAGES[code]) ?? (code?.startsWith('ERR_TLS') || code?.includes('CERT') ? `TLS failure (${detail})` : detail);
  return new KmipTransportError(`cannot reach the KMS at ${target}: ${what}${code ? ` [${code}]` : ''}`, e);
}
