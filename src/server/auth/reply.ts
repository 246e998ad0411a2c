import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long a client should wait before retrying when a credential could not be checked. */
const RETRY_AFTER_S = 5;

/**
 * 401 with an RFC 6750 challenge (`error="invalid_token"` when a token was sent and refused),
 * or 503 when the issuer's keys are unreachable. The body is the KMIP-style reason line the
 * clients already parse; it never contains the credential.
 */
export function sendAuthFailure(req: IncomingMessage, res: ServerResponse, status: 401 | 503, reason: string): void {
  if (res.headersSent) return;
  const body = `Authentication_Not_Successful: ${reason}`;
  const headers: Record<string, string | number> = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) };
  if (status === 401) headers['WWW-Authenticate'] = req.headers.authorization !== undefined ? 'Bearer realm="p11kms", error="invalid_token"' : 'Bearer realm="p11kms"';
  else headers['Retry-After'] = RETRY_AFTER_S;
  res.writeHead(status, headers);
  res.end(body);
}
