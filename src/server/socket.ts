import tls from 'node:tls';
import type { KmipEndpoint } from './endpoint';
import type { Logger } from './logger';
import { runBinary } from './http';
import { ByteBudget, withDefaults, type ServerLimits } from './limits';
import { certificateCommonName, certificateUserName } from './auth/user-names';

export interface SocketOptions {
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer;
  /** maxRequestBytes, maxConnections, headersTimeoutMs (the TLS handshake), requestTimeoutMs (one message), idleTimeoutMs. */
  limits?: ServerLimits;
  /** The process's in-flight byte budget, shared with the HTTP listener; its own one otherwise. */
  inflight?: ByteBudget;
}

/**
 * KMIP binary TTLV over TLS (the port 5696 convention). Every client presents a certificate
 * signed by the configured CA; `cert:<CN>` is the user, as on HTTPS (auth/user-names.ts).
 * Messages are framed by the TTLV header: 8 bytes, the length in bytes 4–7, then the body;
 * requests on one connection run in order, so a connection has at most one request in flight
 * and maxConnections bounds the work queued.
 */
export function createKmipSocketServer(endpoint: KmipEndpoint, opts: SocketOptions, log: Logger): tls.Server {
  const limits = withDefaults(opts.limits ?? {});
  const maxBytes = limits.maxRequestBytes;
  const inflight = opts.inflight ?? new ByteBudget(limits.maxInflightBytes);
  const server = tls.createServer({
    handshakeTimeout: limits.headersTimeoutMs,
    cert: opts.cert,
    key: opts.key,
    ca: opts.clientCa,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  server.on('secureConnection', (socket) => {
    const peer = socket.getPeerCertificate();
    const cn = peer && peer.subject ? certificateCommonName(peer.subject.CN) : undefined;
    if (cn === undefined) {
      log.warn('socket client certificate without exactly one CN', { remote: socket.remoteAddress });
      socket.destroy();
      return;
    }
    const user = certificateUserName(cn);
    socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
    // The message being received is written into a buffer of its announced length as it
    // arrives (no copy of megabytes on the event loop, never one per chunk), and booked against
    // the in-flight budget from its header on. While it is served the socket is paused, so a
    // connection holds one message at a time whatever its client pipelines.
    const pending: Buffer[] = [];
    let header: Buffer = Buffer.alloc(0);
    let message: Buffer | undefined;
    let filled = 0;
    let booked = 0;
    let busy = false;
    // Idle time is reset by every byte, so a client trickling one byte at a time needs a deadline per message too.
    let messageDeadline: NodeJS.Timeout | undefined;
    const startDeadline = (): void => {
      if (messageDeadline !== undefined) return;
      messageDeadline = setTimeout(() => {
        log.info('socket client too slow to send a message', { remote: socket.remoteAddress });
        socket.destroy();
      }, limits.requestTimeoutMs);
    };
    const clearDeadline = (): void => {
      clearTimeout(messageDeadline);
      messageDeadline = undefined;
    };
    socket.on('close', () => {
      clearDeadline();
      inflight.give(booked);
      booked = 0;
    });
    /** The message's buffer once its header is whole; false (and the connection closed) if it is too large or the budget is spent. */
    const beginMessage = (): boolean => {
      const total = 8 + header.readUInt32BE(4);
      if (total > maxBytes + 8 || !inflight.tryTake(total)) {
        log.warn('socket message refused: larger than max_request_bytes, or the in-flight budget is spent', { remote: socket.remoteAddress, length: total - 8 });
        socket.destroy();
        return false;
      }
      booked = total;
      message = Buffer.allocUnsafe(total);
      header.copy(message, 0);
      filled = 8;
      header = Buffer.alloc(0);
      return true;
    };
    const drain = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        while (pending.length > 0 && !socket.destroyed) {
          let chunk = pending[0] as Buffer;
          if (!message) {
            const need = 8 - header.length;
            header = Buffer.concat([header, chunk.subarray(0, need)]);
            chunk = chunk.subarray(need);
            if (header.length === 8 && !beginMessage()) return;
          }
          if (message) {
            const n = Math.min(chunk.length, message.length - filled);
            chunk.copy(message, filled, 0, n);
            filled += n;
            chunk = chunk.subarray(n);
          }
          if (chunk.length === 0) pending.shift();
          else pending[0] = chunk;
          if (!message || filled < message.length) {
            startDeadline();
            continue;
          }
          const frame = message;
          message = undefined;
          // The message is complete: the next one, if it has begun, gets a deadline of its own.
          clearDeadline();
          if (pending.length > 0) startDeadline();
          socket.pause();
          const response = await runBinary(endpoint, frame, user, log);
          if (socket.destroyed) return;
          const served = booked;
          booked = 0;
          socket.write(response, () => inflight.give(served));
          socket.resume();
        }
      } finally {
        busy = false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      void drain();
    });
    socket.on('error', (e) => log.debug('socket error', { message: e.message }));
  });
  server.maxConnections = limits.maxConnections;
  // Node reports a handshake timeout here but leaves the connection open: closing it is ours to do.
  server.on('tlsClientError', (e, tlsSocket) => {
    log.info('TLS client rejected', { message: e.message });
    tlsSocket.destroy();
  });
  return server;
}
