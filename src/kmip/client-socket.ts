import tls from 'node:tls';
import { KmipError, KmipTransportError } from './errors';
import { decodeBinary, encodeBinary } from './binary-codec';
import { buildRequestMessage, readResponseMessage, type BatchOptions, type BatchResult } from './client-batch';
import { TtlvFrameReader } from './client-frames';
import { transportError } from './client-http-errors';
import { KmipOperations } from './client-operations';
import { tlsConnectOptions, type KmipTlsOptions } from './client';
import type { TtlvNode, TtlvStructure } from './ttlv';

export interface KmipSocketClientOptions {
  host: string;
  /** Cosmian's socket server listens on 5696 by default. */
  port?: number;
  /** The socket server is TLS only and names the user by the client certificate's CN. */
  tls: KmipTlsOptions & { servername?: string };
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

interface Waiter {
  resolve(message: Buffer): void;
  reject(error: Error): void;
}

/**
 * KMIP 2.1 binary TTLV over mutual TLS. A KMIP connection answers requests in order with no
 * correlation field, so one request is in flight per connection and the rest queue behind it.
 */
export class KmipSocketClient extends KmipOperations {
  private socket: tls.TLSSocket | undefined;
  private connecting: Promise<tls.TLSSocket> | undefined;
  private readonly frames = new TtlvFrameReader();
  private waiter: Waiter | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly target: string;

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
    const response = await this.exchange(encodeBinary(buildRequestMessage(ops, opts), 2));
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
