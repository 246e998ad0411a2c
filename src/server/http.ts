import http from 'node:http';
import https from 'node:https';
import { KmipError } from '../kmip/errors';
import { decodeBinaryBody, decodeJsonBody, encodeBinaryBody, encodeJsonBody } from './codec-offload';
import type { TtlvNode, TtlvStructure } from '../kmip/ttlv';
import type { DecodedJson } from '../kmip/json-codec';
import { fromKms4Request, toKms4Response } from './kms4-shapes';
import { asKmipError, type KmipEndpoint } from './endpoint';
import type { Logger } from './logger';
import { SERVER_VERSION } from './version';
import { AccessApi } from './access/rest';
import type { Authenticator } from './auth/authenticator';
import { isAuthenticated } from './auth/outcome';
import { sendAuthFailure } from './auth/reply';
import { ByteBudget, ConcurrencyGate, DEFAULT_LIMITS, httpTimeoutOptions, withDefaults, type ServerLimits } from './limits';
import { isBadTarget, parseRequestTarget } from './request-target';

export const MAX_BODY_BYTES = DEFAULT_LIMITS.maxRequestBytes;
/** A grant or revocation is a few hundred bytes of JSON; more is not a grant. */
export const MAX_ACCESS_BODY_BYTES = 64 * 1024;

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';
const BINARY_TYPE = 'application/octet-stream';

/**
 * The body types each POST route reads. Anything else is 415 before the body is read: the types
 * a web page may send cross-origin without a CORS preflight (form-encoded, multipart,
 * text/plain) are never among them, so no page a KMS user visits can post to the KMS.
 */
const BODY_TYPES: Readonly<Record<string, readonly string[]>> = {
  '/kmip/2_1': [JSON_TYPE],
  '/kmip': [JSON_TYPE, BINARY_TYPE],
  '/access/grant': [JSON_TYPE],
  '/access/revoke': [JSON_TYPE],
};

/** `application/json; charset=utf-8` → `application/json`; '' when absent. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Cosmian's fixed reply when not even an error ResponseMessage can be built. */
const TTLV_ERROR_RESPONSE = Buffer.from(
  '42007b010000009842007a0100000048420069010000002042006a0200000004000000010000000042006b020000000400000000000000004200920900000008000000000000000042000d0200000004000000010000000042000f010000004042007f0500000004000000010000000042007e0500000004000000050000000042007d0700000013556e7265636f76657261626c65206572726f720000000000',
  'hex',
);

export interface HttpOptions {
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert?: boolean };
  defaultUser: string;
  /** With it, every route but /version and /health needs a credential; without it, requests run as defaultUser. */
  auth?: Authenticator;
  limits?: ServerLimits;
  /** GET /hsm/status: each HSM instance and whether its slots answer; [] without HSMs. */
  hsmStatus?: () => unknown[];
  /** /access/* (grants) and /audit; absent, those routes are 404. */
  access?: AccessApi;
  /** The process's in-flight byte budget, shared with the TLS socket; its own one otherwise. */
  inflight?: ByteBudget;
}

class BodyTooLarge extends Error {}
class OverBudget extends Error {}

/**
 * The body, at most maxBytes. `charge` books its bytes against the process's in-flight budget
 * before they are held: the declared length at once, a chunked body as it arrives. A declared
 * body is copied into place chunk by chunk, so no single copy of megabytes holds the event loop.
 */
function readBody(req: http.IncomingMessage, maxBytes: number, charge: (bytes: number) => boolean = () => true): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      reject(new BodyTooLarge());
      return;
    }
    let refused = false;
    // Over budget: the rest of the body is read and dropped, so the client sees the 503 (and may retry on the connection) instead of a reset.
    const refuse = (): void => {
      refused = true;
      req.resume();
      reject(new OverBudget());
    };
    if (declared > 0 && !charge(declared)) return refuse();
    const whole = declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (refused) return;
      const before = size;
      size += c.length;
      if (size > maxBytes) {
        // Stop reading, but keep the connection until the 413 is out (sent with Connection: close).
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      if (whole) {
        c.copy(whole, before);
        return;
      }
      if (!charge(c.length)) return refuse();
      chunks.push(c);
    });
    req.on('end', () => {
      if (!refused) resolve(whole ? whole.subarray(0, size) : Buffer.concat(chunks));
    });
    req.on('error', reject);
    // A client that goes away mid-body must not hold its concurrency slot forever.
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection before the request ended'));
    });
  });
}

/** Every answer's type is the one given: nosniff (set on every response) stops a browser from reading an error as HTML. */
function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer, headers: http.OutgoingHttpHeaders = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Cosmian answers a failed bare operation with "Reason: message" as text, 422 by default. */
function sendError(res: http.ServerResponse, e: unknown): void {
  const err = asKmipError(e);
  const status = err.httpStatus;
  send(res, status, TEXT, status >= 500 ? 'Internal server error' : err.toText());
}

export function createKmipHttpServer(endpoint: KmipEndpoint, opts: HttpOptions, log: Logger): http.Server {
  const limits = withDefaults(opts.limits ?? {});
  const gate = new ConcurrencyGate(limits.maxConcurrentRequests);
  const inflight = opts.inflight ?? new ByteBudget(limits.maxInflightBytes);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    route(req, res).catch((e: unknown) => {
      log.error('request failed', { url: req.url, message: e instanceof Error ? e.message : String(e) });
      sendError(res, e);
    });
  };

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = parseRequestTarget(req.url ?? '');
    // Refused, not normalised: the route matched must be the route served (request-target.ts).
    if (isBadTarget(target)) return send(res, 400, TEXT, `Invalid_Message: ${target.problem}`, { Connection: 'close' });
    const { path, query } = target;
    // The same 415 whoever asks: a browser's form post is refused before its credential (a client certificate, say) is looked at.
    const bodyTypes = req.method === 'POST' ? BODY_TYPES[path] : undefined;
    if (bodyTypes && !bodyTypes.includes(mediaType(req.headers['content-type']))) {
      return send(res, 415, TEXT, `Invalid_Message: Unsupported content type: ${path} takes ${bodyTypes.join(' or ')}`, { Accept: bodyTypes.join(', '), Connection: 'close' });
    }
    if (req.method === 'GET' && path === '/version') return send(res, 200, 'application/json', JSON.stringify(SERVER_VERSION));
    if (req.method === 'GET' && path === '/health') return send(res, 200, 'application/json', JSON.stringify({ status: 'UP' }));
    if (req.method === 'GET' && path === '/hsm/status') {
      // The HSM layout (instances, slots, which answer) is for the KMS's users, not for anyone who can connect.
      if ((await userOf(req, res)) === undefined) return;
      return send(res, 200, 'application/json', JSON.stringify(opts.hsmStatus?.() ?? []));
    }
    if (opts.access && AccessApi.serves(req.method, path)) return accessRoute(opts.access, req, res, path, query);
    // No CORS: no route answers OPTIONS, and no response carries Access-Control-Allow-*.
    if (req.method !== 'POST' || (path !== '/kmip/2_1' && path !== '/kmip')) {
      return send(res, 404, TEXT, `Route not found: ${req.method} ${path}`);
    }
    // Refused before anything is read or checked: an overloaded server answers at once, and a flood queues nowhere.
    if (!gate.tryEnter()) return send(res, 503, TEXT, 'Server_Limit_Exceeded: too many requests in progress; retry later', { 'Retry-After': 1, Connection: 'close' });
    try {
      const user = await userOf(req, res);
      if (user === undefined) return;
      let body: Buffer;
      try {
        body = await readBody(req, limits.maxRequestBytes, bookAgainstBudget(res));
      } catch (e) {
        if (e instanceof BodyTooLarge) return send(res, 413, TEXT, `Invalid_Message: request body larger than ${limits.maxRequestBytes} bytes`, { Connection: 'close' });
        if (e instanceof OverBudget) return send(res, 503, TEXT, `Server_Limit_Exceeded: the requests in progress already hold ${limits.maxInflightBytes} bytes (max_inflight_bytes); retry later`, { 'Retry-After': 1 });
        throw e;
      }
      if (path === '/kmip/2_1') return await kmip21(body, user, res);
      return await kmipByContentType(mediaType(req.headers['content-type']), body, user, res);
    } finally {
      gate.leave();
    }
  }

  /**
   * Books a request's bytes against the in-flight budget until its response is out (or its
   * connection gone): the decoded request, the work and the response all grow with the body.
   */
  function bookAgainstBudget(res: http.ServerResponse): (bytes: number) => boolean {
    let booked = 0;
    res.once('close', () => {
      inflight.give(booked);
      booked = 0;
    });
    return (bytes) => {
      if (!inflight.tryTake(bytes)) return false;
      booked += bytes;
      return true;
    };
  }

  /** The caller, or undefined once a 401/503 has been sent. Checked before the body is read, so strangers cannot make the server buffer anything. */
  async function userOf(req: http.IncomingMessage, res: http.ServerResponse): Promise<string | undefined> {
    if (!opts.auth) return opts.defaultUser;
    const outcome = await opts.auth.authenticate(req);
    if (isAuthenticated(outcome)) {
      log.debug('authenticated', { user: outcome.user, method: outcome.method });
      return outcome.user;
    }
    log.info('authentication failed', { remote: req.socket.remoteAddress, status: outcome.status, reason: outcome.reason });
    res.setHeader('Connection', 'close');
    sendAuthFailure(req, res, outcome.status, outcome.reason);
    return undefined;
  }

  /** Grants and audit: the same caller as KMIP (userOf); a refusal goes out as "Reason: message". */
  async function accessRoute(access: AccessApi, req: http.IncomingMessage, res: http.ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const user = await userOf(req, res);
    if (user === undefined) return;
    const maxBytes = Math.min(limits.maxRequestBytes, MAX_ACCESS_BODY_BYTES);
    let body: Buffer = Buffer.alloc(0);
    if (req.method === 'POST') {
      try {
        body = await readBody(req, maxBytes);
      } catch (e) {
        if (e instanceof BodyTooLarge) return send(res, 413, TEXT, `Invalid_Message: request body larger than ${maxBytes} bytes`, { Connection: 'close' });
        throw e;
      }
    }
    try {
      const answer = await access.handle(req.method ?? 'GET', path, query, user, body);
      send(res, answer.status, 'application/json', JSON.stringify(answer.json));
    } catch (e) {
      if (!(e instanceof KmipError)) throw e; // logged by the route's catch
      sendError(res, e);
    }
  }

  async function kmip21(body: Buffer, user: string, res: http.ServerResponse): Promise<void> {
    let decoded: DecodedJson;
    try {
      decoded = await decodeJsonBody(body);
    } catch (e) {
      return sendError(res, e instanceof KmipError ? e : new KmipError('Codec_Error', String(e)));
    }
    try {
      const request = inClientShapes(decoded);
      const response = request.tag === 'RequestMessage' ? await endpoint.runMessage(request, user) : await endpoint.runBare(request, user);
      send(res, 200, 'application/json', await encodeJsonBody(answerInClientShapes(decoded, response), decoded.style));
    } catch (e) {
      sendError(res, e);
    }
  }

  /** `contentType` is one of BODY_TYPES['/kmip'], checked before the body was read. */
  async function kmipByContentType(contentType: string, body: Buffer, user: string, res: http.ServerResponse): Promise<void> {
    if (contentType === BINARY_TYPE) {
      send(res, 200, 'application/octet-stream', await runBinary(endpoint, body, user, log));
      return;
    }
    if (contentType === JSON_TYPE) {
      let decoded: DecodedJson;
      try {
        decoded = await decodeJsonBody(body);
      } catch (e) {
        return sendError(res, e);
      }
      const response = await endpoint.runMessage(inClientShapes(decoded), user);
      send(res, 200, 'application/json', await encodeJsonBody(answerInClientShapes(decoded, response), decoded.style));
      return;
    }
    send(res, 415, TEXT, 'Invalid_Message: Unsupported content type');
  }

  // Slow or stalled clients must not hold connections forever: Node drops a request whose headers or body are late.
  const timeouts = httpTimeoutOptions(limits);
  // A certificate is asked for but not required by TLS: a client may authenticate with a bearer token instead, and gets a 401 rather than a handshake failure.
  const server = opts.tls
    ? https.createServer({ ...timeouts, cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: opts.tls.requestCert ?? false, rejectUnauthorized: false, minVersion: 'TLSv1.2', handshakeTimeout: limits.headersTimeoutMs }, handler)
    : http.createServer(timeouts, handler);
  // Node reports a TLS handshake timeout but leaves the connection open: closing it is ours to do.
  if (opts.tls) server.on('tlsClientError', (_e: Error, tlsSocket: import('node:tls').TLSSocket) => tlsSocket.destroy());
  server.maxHeadersCount = 100;
  server.maxConnections = limits.maxConnections;
  return server;
}

/** A request written in the 4.x style (typed Structures) is read in 4.x's shapes (kms4-shapes.ts); any other as it is. */
function inClientShapes(decoded: DecodedJson): TtlvNode {
  return decoded.style === 'typed' ? fromKms4Request(decoded.node, Math.floor(Date.now() / 1000)) : decoded.node;
}

/** And answered in them: today's Cosmian answer, byte for byte, to a client that writes today's style. */
function answerInClientShapes(decoded: DecodedJson, response: TtlvStructure): TtlvStructure {
  return decoded.style === 'typed' ? toKms4Response(response) : response;
}

/** Binary TTLV in, binary TTLV out; the version decides the tag table. Never throws. */
export async function runBinary(endpoint: KmipEndpoint, body: Buffer, user: string, log: Logger): Promise<Buffer> {
  let request: TtlvNode;
  try {
    request = await decodeBinaryBody(body);
  } catch (e) {
    log.info('binary request rejected', { message: e instanceof Error ? e.message : String(e) });
    return TTLV_ERROR_RESPONSE;
  }
  try {
    const response = await endpoint.runMessage(request, user);
    const major = request.type === 'Structure' ? protocolMajor(request) : 2;
    return await encodeBinaryBody(response, major);
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
