import http from 'node:http';
import https from 'node:https';
import { KmipError } from '../kmip/errors';
import { decodeJsonText, encodeJsonText } from '../kmip/json-codec';
import { decodeBinary, encodeBinary } from '../kmip/binary-codec';
import type { TtlvNode } from '../kmip/ttlv';
import { asKmipError, type KmipEndpoint } from './endpoint';
import type { Logger } from './logger';
import { SERVER_VERSION } from './version';

export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Cosmian's fixed reply when not even an error ResponseMessage can be built. */
const TTLV_ERROR_RESPONSE = Buffer.from(
  '42007b010000009842007a0100000048420069010000002042006a0200000004000000010000000042006b020000000400000000000000004200920900000008000000000000000042000d0200000004000000010000000042000f010000004042007f0500000004000000010000000042007e0500000004000000050000000042007d0700000013556e7265636f76657261626c65206572726f720000000000',
  'hex',
);

export interface HttpOptions {
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean };
  defaultUser: string;
  /** GET /hsm/status: each HSM instance and whether its slots answer; [] without HSMs. */
  hsmStatus?: () => unknown[];
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Cosmian answers a failed bare operation with "Reason: message" as text, 422 by default. */
function sendError(res: http.ServerResponse, e: unknown): void {
  const err = asKmipError(e);
  const status = err.httpStatus;
  send(res, status, 'text/html; charset=utf-8', status >= 500 ? 'Internal server error' : err.toText());
}

export function createKmipHttpServer(endpoint: KmipEndpoint, opts: HttpOptions, log: Logger): http.Server {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    route(req, res).catch((e: unknown) => {
      log.error('request failed', { url: req.url, message: e instanceof Error ? e.message : String(e) });
      sendError(res, e);
    });
  };

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/version') return send(res, 200, 'application/json', JSON.stringify(SERVER_VERSION));
    if (req.method === 'GET' && path === '/hsm/status') return send(res, 200, 'application/json', JSON.stringify(opts.hsmStatus?.() ?? []));
    if (req.method === 'GET' && path === '/health') return send(res, 200, 'application/json', JSON.stringify({ status: 'UP' }));
    if (req.method !== 'POST' || (path !== '/kmip/2_1' && path !== '/kmip')) {
      return send(res, 404, 'text/html; charset=utf-8', `Route not found: ${req.method} ${path}`);
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (e) {
      if (e instanceof BodyTooLarge) return send(res, 413, 'text/html; charset=utf-8', `Invalid_Message: request body larger than ${MAX_BODY_BYTES} bytes`);
      throw e;
    }
    const user = opts.defaultUser;
    if (path === '/kmip/2_1') return kmip21(body, user, res);
    return kmipByContentType(req.headers['content-type'] ?? '', body, user, res);
  }

  async function kmip21(body: Buffer, user: string, res: http.ServerResponse): Promise<void> {
    let request: TtlvNode;
    try {
      request = decodeJsonText(body.toString('utf8'));
    } catch (e) {
      return sendError(res, e instanceof KmipError ? e : new KmipError('Codec_Error', String(e)));
    }
    try {
      const response = request.tag === 'RequestMessage' ? await endpoint.runMessage(request, user) : await endpoint.runBare(request, user);
      send(res, 200, 'application/json', encodeJsonText(response));
    } catch (e) {
      sendError(res, e);
    }
  }

  async function kmipByContentType(contentType: string, body: Buffer, user: string, res: http.ServerResponse): Promise<void> {
    if (contentType === 'application/octet-stream') {
      send(res, 200, 'application/octet-stream', await runBinary(endpoint, body, user, log));
      return;
    }
    if (contentType === 'application/json') {
      let request: TtlvNode;
      try {
        request = decodeJsonText(body.toString('utf8'));
      } catch (e) {
        return sendError(res, e);
      }
      send(res, 200, 'application/json', encodeJsonText(await endpoint.runMessage(request, user)));
      return;
    }
    send(res, 422, 'text/html; charset=utf-8', 'Invalid_Message: Unsupported content type');
  }

  const server = opts.tls
    ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: opts.tls.requestCert ?? false, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, handler)
    : http.createServer(handler);
  // Slow or stalled clients must not hold connections forever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.maxHeadersCount = 100;
  return server;
}

/** Binary TTLV in, binary TTLV out; the version decides the tag table. Never throws. */
export async function runBinary(endpoint: KmipEndpoint, body: Buffer, user: string, log: Logger): Promise<Buffer> {
  let request: TtlvNode;
  try {
    request = decodeBinary(body);
  } catch (e) {
    log.info('binary request rejected', { message: e instanceof Error ? e.message : String(e) });
    return TTLV_ERROR_RESPONSE;
  }
  try {
    const response = await endpoint.runMessage(request, user);
    const major = request.type === 'Structure' ? protocolMajor(request) : 2;
    return encodeBinary(response, major);
  } catch (e) {
    log.error('binary response failed', { message: e instanceof Error ? e.message : String(e) });
    return TTLV_ERROR_RESPONSE;
  }
}

function protocolMajor(request: TtlvNode): number {
  if (request.type !== 'Structure') return 2;
  const header = request.value.find((n) => n.tag === 'RequestHeader');
  const version = header && header.type === 'Structure' ? header.value.find((n) => n.tag === 'ProtocolVersion') : undefined;
  const major = version && version.type === 'Structure' ? version.value.find((n) => n.tag === 'ProtocolVersionMajor') : undefined;
  return major && major.type === 'Integer' ? major.value : 2;
}
