import { Pool } from 'undici';
import { KmipError, KmipTransportError } from './errors';
import { decodeJsonText, encodeJsonText } from './json-codec';
import { buildRequestMessage, readResponseMessage, type BatchOptions, type BatchResult } from './client-batch';
import { kmipErrorFromHttp, transportError } from './client-http-errors';
import { KmipOperations } from './client-operations';
import type { TtlvNode, TtlvStructure } from './ttlv';

export { KmipOperations, type KmipTransport } from './client-operations';
export type { BatchOptions, BatchResult } from './client-batch';

export interface KmipTlsOptions {
  /** Trust anchors for the server certificate (PEM); the system store when omitted. */
  ca?: Buffer | string;
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: Buffer | string;
  key?: Buffer | string;
  rejectUnauthorized?: boolean;
  /** A PKCS#12 client identity, instead of cert and key. */
  pfx?: Buffer;
  passphrase?: string;
}

/** The TLS settings both transports pass to Node: only the ones given. */
export function tlsConnectOptions(tls: KmipTlsOptions | undefined): KmipTlsOptions {
  const out: KmipTlsOptions = {};
  if (!tls) return out;
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  if (tls.pfx !== undefined) out.pfx = tls.pfx;
  if (tls.passphrase !== undefined) out.passphrase = tls.passphrase;
  if (tls.rejectUnauthorized !== undefined) out.rejectUnauthorized = tls.rejectUnauthorized;
  return out;
}

export interface KmipClientOptions {
  /** http:// or https:// base of the KMS, e.g. http://127.0.0.1:9998 (a path prefix is kept). */
  url: string;
  /** Sent as Authorization: Bearer. */
  accessToken?: string;
  tls?: KmipTlsOptions;
  /** Default 3000. */
  connectTimeoutMs?: number;
  /** Whole request, from send to the last response byte. Default 30000. */
  requestTimeoutMs?: number;
  /** Connections kept open and reused; false closes each connection after its request. */
  keepAlive?: false | { connections?: number; idleTimeoutMs?: number };
}

const KMIP_PATH = '/kmip/2_1';

/**
 * KMIP 2.1 over HTTP(S) the way Cosmian's clients talk: JSON TTLV POSTed to /kmip/2_1, bare
 * operations for single calls and a RequestMessage for batches. Runs on Node 18 and 20.
 */
export class KmipClient extends KmipOperations {
  private readonly pool: Pool;
  private readonly path: string;
  /** The URL's path prefix, without the trailing slash: the REST routes hang off it. */
  private readonly prefix: string;
  private readonly headers: Record<string, string>;
  private readonly requestTimeoutMs: number;
  private readonly target: string;

  constructor(readonly options: KmipClientOptions) {
    super();
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`KMS URL must be http:// or https://, not ${options.url}`);
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.path = this.prefix + KMIP_PATH;
    this.target = url.origin;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(options.accessToken ? { authorization: `Bearer ${options.accessToken}` } : {}),
    };
    const keepAlive = options.keepAlive;
    const tls = options.tls;
    this.pool = new Pool(url.origin, {
      connections: keepAlive === false ? 1 : keepAlive?.connections ?? 8,
      pipelining: keepAlive === false ? 0 : 1,
      // pipelining 0 is undici's way to close each connection after its response.
      ...(keepAlive === false ? {} : { keepAliveTimeout: keepAlive?.idleTimeoutMs ?? 30_000 }),
      headersTimeout: this.requestTimeoutMs,
      bodyTimeout: this.requestTimeoutMs,
      connect: {
        timeout: options.connectTimeoutMs ?? 3_000,
        ...tlsConnectOptions(tls),
      },
    });
  }

  async call(op: TtlvStructure): Promise<TtlvStructure> {
    const response = await this.post(encodeJsonText(op));
    if (response.tag === 'ResponseMessage') {
      const [result] = readResponseMessage(response, [op]);
      if (!result) throw new KmipError('Invalid_Message', 'empty ResponseMessage');
      if (!result.ok) throw result.error;
      return result.response;
    }
    if (response.type !== 'Structure') throw new KmipError('Invalid_Message', `expected ${op.tag}Response, got a ${response.type}`);
    return response;
  }

  async batch(ops: TtlvStructure[], opts: BatchOptions = {}): Promise<BatchResult[]> {
    if (ops.length === 0) return [];
    return readResponseMessage(await this.post(encodeJsonText(buildRequestMessage(ops, opts))), ops);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /**
   * A JSON call to one of the KMS's routes beside KMIP (Cosmian's /access/*, /audit), with the
   * same connection, token and timeouts. A refusal ("Reason: message", any 4xx) is a KmipError.
   */
  async rest(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const { status, text } = await this.send(method, this.prefix + path, body === undefined ? undefined : JSON.stringify(body));
    if (status < 200 || status > 299) {
      const match = /^([A-Z][A-Za-z0-9_]*): ([\s\S]*)$/.exec(text.trim());
      throw match && status < 500 ? new KmipError(match[1] as string, match[2] as string, status) : kmipErrorFromHttp(status, text);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new KmipError('Invalid_Message', `the KMS answered ${path} with something that is not JSON`);
    }
  }

  private async post(body: string): Promise<TtlvNode> {
    const { status, text } = await this.send('POST', this.path, body);
    if (status !== 200) throw kmipErrorFromHttp(status, text);
    return decodeJsonText(text);
  }

  /**
   * undici's headers/body timeouts bound each phase; the abort timer bounds the sum, so a
   * server trickling bytes cannot hold a caller past requestTimeoutMs.
   */
  private async send(method: 'GET' | 'POST', path: string, body: string | undefined): Promise<{ status: number; text: string }> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.requestTimeoutMs);
    timer.unref?.();
    let status: number;
    let text: string;
    try {
      const res = await this.pool.request({ path, method, headers: this.headers, ...(body !== undefined ? { body } : {}), signal: abort.signal });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      if (abort.signal.aborted) {
        throw new KmipTransportError(`no answer from the KMS at ${this.target} within ${this.requestTimeoutMs} ms`, e);
      }
      throw transportError(this.target, e);
    } finally {
      clearTimeout(timer);
    }
    return { status, text };
  }
}
