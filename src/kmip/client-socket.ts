import tls from 'node:tls';
import { KmipError, KmipTransportError } from './errors';
import { decodeBinary, encodeBinary } from './binary-codec';
import {
  buildRequestMessage, COSMIAN_DIALECT, createdIdentifiers, fromPeerResponse, readResponseMessage, toPeerRequest,
  type BatchOptions, type BatchResult, type PeerDialect,
} from './client-batch';
import { TtlvFrameReader } from './client-frames';
import { transportError } from './client-http-errors';
import { KmipOperations } from './client-operations';
import { tlsConnectOptions, type KmipTlsOptions } from './client';
import { discoverVersionsRequest, queryRequest, uidRequest } from './requests';
import { readProtocolVersions, readQuery, type ProtocolVersion } from './responses';
import type { TtlvNode, TtlvStructure } from './ttlv';

export interface KmipSocketClientOptions {
  host: string;
  /** Cosmian's socket server listens on 5696 by default. */
  port?: number;
  /** The socket server is TLS only and names the user by the client certificate's CN. */
  tls: KmipTlsOptions & { servername?: string };
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** The highest protocol version to use even if the server knows a newer one (default 2.1). */
  maxProtocolVersion?: ProtocolVersion;
}

/** The versions this client speaks, in order of preference. */
const CLIENT_VERSIONS: readonly ProtocolVersion[] = [
  { major: 2, minor: 1 }, { major: 2, minor: 0 }, { major: 1, minor: 4 }, { major: 1, minor: 3 }, { major: 1, minor: 2 },
  { major: 1, minor: 1 }, { major: 1, minor: 0 },
];

/** The oldest header DiscoverVersions may be sent in (the operation is KMIP 1.1). */
const DISCOVERY_FALLBACK: ProtocolVersion = { major: 1, minor: 1 };

function atMost(v: ProtocolVersion, max: ProtocolVersion): boolean {
  return v.major < max.major || (v.major === max.major && v.minor <= max.minor);
}

/** Cosmian's server, or p11kms's own (both answer "cosmian", the vendor of their tag attributes). */
function isCosmianVendor(vendor: string | undefined): boolean {
  return vendor === undefined || /cosmian/i.test(vendor);
}

interface Waiter {
  resolve(message: Buffer): void;
  reject(error: Error): void;
}

/**
 * Binary TTLV over mutual TLS. A KMIP connection answers requests in order with no
 * correlation field, so one request is in flight per connection and the rest queue behind it.
 *
 * Before its first request the client asks the server what it speaks: DiscoverVersions (in
 * a 2.1 header, then in a 1.1 one for servers that cannot read 2.1 messages) picks the
 * highest common version, and Query's VendorIdentification tells Cosmian's server from
 * others. Cosmian (KMIP 2.1, vendor Cosmian or none) gets the requests exactly as built;
 * any other server gets them translated to standard KMIP of the common version
 * (toPeerRequest). A server that answers neither probe is talked to as before: KMIP 2.1,
 * Cosmian's dialect.
 */
export class KmipSocketClient extends KmipOperations {
  private socket: tls.TLSSocket | undefined;
  private connecting: Promise<tls.TLSSocket> | undefined;
  private readonly frames = new TtlvFrameReader();
  private waiter: Waiter | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly target: string;
  private dialectProbe: Promise<PeerDialect> | undefined;

  constructor(readonly options: KmipSocketClientOptions) {
    super();
    this.target = `${options.host}:${options.port ?? 5696}`;
  }

  async call(op: TtlvStructure): Promise<TtlvStructure> {
    const [result] = await this.batch([op]);
    if (!result) throw new KmipError('Invalid_Message', 'empty ResponseMessage');
    if (!result.ok) throw result.error;
    return result.response;
  }

  async batch(ops: TtlvStructure[], opts: BatchOptions = {}): Promise<BatchResult[]> {
    if (ops.length === 0) return [];
    const peer = await this.dialect();
    if (peer.cosmian) return this.send(ops, opts, peer.version);
    const adapted = ops.map((op) => toPeerRequest(op, peer));
    const results = (await this.send(adapted.map((a) => a.op), opts, peer.version))
      .map((r): BatchResult => (r.ok ? { ok: true, response: fromPeerResponse(r.response, peer) } : r));
    // "Active now" as standard KMIP: Activate what was just created.
    const pending = results.flatMap((r, i) => (r.ok && adapted[i]?.activate ? createdIdentifiers(r.response).map((uid) => ({ i, uid })) : []));
    if (pending.length > 0) {
      const activated = await this.send(pending.map((p) => uidRequest('Activate', p.uid)), { continueOnError: true }, peer.version);
      activated.forEach((a, k) => {
        const p = pending[k];
        if (!a.ok && p) results[p.i] = { ok: false, error: new KmipError(a.error.reason, `${p.uid} was created but could not be activated: ${a.error.message}`) };
      });
    }
    return results;
  }

  /**
   * The server's protocol version and dialect, asked once per client (again after a
   * transport failure). KMIP errors while asking mean an older or stricter server, not a
   * failure: the probes fall back as described above.
   */
  dialect(): Promise<PeerDialect> {
    if (!this.dialectProbe) {
      const probe = this.probeDialect();
      this.dialectProbe = probe;
      probe.catch(() => { if (this.dialectProbe === probe) this.dialectProbe = undefined; });
    }
    return this.dialectProbe;
  }

  private async probeDialect(): Promise<PeerDialect> {
    const max = this.options.maxProtocolVersion ?? COSMIAN_DIALECT.version;
    const ours = CLIENT_VERSIONS.filter((v) => atMost(v, max));
    const first = ours[0];
    if (!first) throw new KmipError('Unsupported_Protocol_Version', `no KMIP version at or below ${max.major}.${max.minor}`);
    let theirs: ProtocolVersion[] | undefined;
    const headers = atMost(DISCOVERY_FALLBACK, first) && !atMost(first, DISCOVERY_FALLBACK) ? [first, DISCOVERY_FALLBACK] : [first];
    for (const header of headers) {
      try {
        theirs = readProtocolVersions(await this.call1(discoverVersionsRequest(), header));
        break;
      } catch (e) {
        if (!(e instanceof KmipError)) throw e;
      }
    }
    if (theirs === undefined) return first.major === 2 && first.minor === 1 ? COSMIAN_DIALECT : { version: first, cosmian: false };
    const version = ours.find((v) => theirs.some((t) => t.major === v.major && t.minor === v.minor));
    if (!version) {
      throw new KmipError('Unsupported_Protocol_Version', `the KMS at ${this.target} speaks KMIP ${theirs.map((v) => `${v.major}.${v.minor}`).join(', ') || '(none)'}, this client ${ours.map((v) => `${v.major}.${v.minor}`).join(', ')}`);
    }
    let vendor: string | undefined;
    try {
      vendor = readQuery(await this.call1(queryRequest(['QueryServerInformation']), version)).vendorIdentification;
    } catch (e) {
      if (!(e instanceof KmipError)) throw e;
    }
    const cosmian = version.major === 2 && version.minor === 1 && isCosmianVendor(vendor);
    return { version, cosmian, ...(vendor !== undefined ? { vendor } : {}) };
  }

  /** One operation in a message of the given version, as is. */
  private async call1(op: TtlvStructure, version: ProtocolVersion): Promise<TtlvStructure> {
    const [result] = await this.send([op], {}, version);
    if (!result) throw new KmipError('Invalid_Message', 'empty ResponseMessage');
    if (!result.ok) throw result.error;
    return result.response;
  }

  private async send(ops: TtlvStructure[], opts: BatchOptions, version: ProtocolVersion): Promise<BatchResult[]> {
    const response = await this.exchange(encodeBinary(buildRequestMessage(ops, opts, version), version.major));
    return readResponseMessage(response, ops);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
    this.drop(new KmipTransportError('the client is closed'));
  }

  private exchange(request: Buffer): Promise<TtlvNode> {
    const run = this.queue.then(() => this.sendAndReceive(request));
    this.queue = run.catch(() => undefined);
    return run.then((bytes) => decodeBinary(bytes));
  }

  private async sendAndReceive(request: Buffer): Promise<Buffer> {
    if (this.closed) throw new KmipTransportError('the client is closed');
    const socket = await this.connect();
    const timeoutMs = this.options.requestTimeoutMs ?? 30_000;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The answer may still arrive later and would be taken for the next request's.
        this.drop(new KmipTransportError(`no answer from the KMS at ${this.target} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
      this.waiter = {
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      socket.write(request);
    });
  }

  private connect(): Promise<tls.TLSSocket> {
    if (this.socket) return Promise.resolve(this.socket);
    if (this.connecting) return this.connecting;
    const { host, tls: t } = this.options;
    const timeoutMs = this.options.connectTimeoutMs ?? 3_000;
    this.connecting = new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect({
        host,
        port: this.options.port ?? 5696,
        servername: t.servername ?? (/^[\d.:]+$/.test(host) ? undefined : host),
        ...tlsConnectOptions(t),
      });
      const timer = setTimeout(() => socket.destroy(new KmipTransportError(`cannot reach the KMS at ${this.target}: connect timed out after ${timeoutMs} ms`)), timeoutMs);
      timer.unref?.();
      const failed = (e: Error): void => {
        clearTimeout(timer);
        this.connecting = undefined;
        reject(transportError(this.target, e));
      };
      socket.once('error', failed);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', failed);
        this.attach(socket);
        this.connecting = undefined;
        resolve(socket);
      });
    });
    return this.connecting;
  }

  private attach(socket: tls.TLSSocket): void {
    this.socket = socket;
    this.frames.reset();
    socket.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = this.frames.push(chunk);
      } catch (e) {
        this.drop(transportError(this.target, e));
        return;
      }
      for (const m of messages) {
        const waiter = this.waiter;
        this.waiter = undefined;
        if (waiter) waiter.resolve(m);
        else this.drop(new KmipTransportError(`the KMS at ${this.target} sent a message nobody asked for`));
      }
    });
    // A socket we already dropped must not tear down its replacement.
    socket.on('error', (e) => { if (this.socket === socket) this.drop(transportError(this.target, e)); });
    socket.on('close', () => { if (this.socket === socket) this.drop(new KmipTransportError(`the KMS at ${this.target} closed the connection`)); });
  }

  /** Forgets the connection (the next request reconnects) and fails the request in flight. */
  private drop(error: Error): void {
    const socket = this.socket;
    this.socket = undefined;
    this.frames.reset();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(error);
    if (socket && !socket.destroyed) socket.destroy();
  }
}
