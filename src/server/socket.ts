import tls from 'node:tls';
import type { KmipEndpoint } from './endpoint';
import type { Logger } from './logger';
import { runBinary } from './http';
import { ByteBudget, withDefaults, type ServerLimits } from './limits';

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
 * signed by the configured CA; its CN is the user. Messages are framed by the TTLV header:
 * 8 bytes, the length in bytes 4–7, then the body; requests on one connection run in order,
 * so a connection has at most one request in flight and maxConnections bounds the work queued.
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
    const user = peer && peer.subject && typeof peer.subject.CN === 'string' ? peer.subject.CN : undefined;
    if (!user) {
      log.warn('socket client without a certificate CN', { remote: socket.remoteAddress });
      socket.destroy();
      return;
    }
    socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    let busy = false;
    // Idle time is reset by every byte, so a client trickling one byte at a time needs a deadline per message too.
    let messageDeadline: NodeJS.Timeout | undefined;
    const watchPartialMessage = (): void => {
      if (buffered.length === 0) {
        clearTimeout(messageDeadline);
        messageDeadline = undefined;
      } else if (messageDeadline === undefined) {
        messageDeadline = setTimeout(() => {
          log.info('socket client too slow to send a message', { remote: socket.remoteAddress });
          socket.destroy();
        }, limits.requestTimeoutMs);
      }
    };
    // The message being received or served is booked against the in-flight budget from its header on.
    let booked = 0;
    const bookNextMessage = (): boolean => {
      if (booked > 0 || buffered.length < 8) return true;
      const length = 8 + buffered.readUInt32BE(4);
      if (length > maxBytes + 8 || !inflight.tryTake(length)) {
        log.warn('socket message refused: too large, or the in-flight budget is spent', { remote: socket.remoteAddress, length });
        socket.destroy();
        return false;
      }
      booked = length;
      return true;
    };
    const releaseMessage = (): void => {
      inflight.give(booked);
      booked = 0;
    };
    socket.on('close', () => {
      clearTimeout(messageDeadline);
      releaseMessage();
    });
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        while (buffered.length >= 8) {
          if (!bookNextMessage()) return;
          const length = buffered.readUInt32BE(4);
          if (length > maxBytes) {
            log.warn('socket frame too large', { remote: socket.remoteAddress, length });
            socket.destroy();
            return;
          }
          if (buffered.length < 8 + length) break;
          const frame = buffered.subarray(0, 8 + length);
          buffered = buffered.subarray(8 + length);
          // The message is complete: the next one, if it has begun, gets a deadline of its own.
          clearTimeout(messageDeadline);
          messageDeadline = undefined;
          watchPartialMessage();
          const response = await runBinary(endpoint, Buffer.from(frame), user, log);
          if (socket.destroyed) return;
          const served = booked;
          booked = 0;
          socket.write(response, () => inflight.give(served));
        }
      } finally {
        busy = false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length > maxBytes + 8) {
        socket.destroy();
        return;
      }
      watchPartialMessage();
      if (!busy && !bookNextMessage()) return;
      void pump().then(() => (buffered.length >= 8 && !busy ? pump() : undefined));
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
