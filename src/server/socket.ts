import tls from 'node:tls';
import type { KmipEndpoint } from './endpoint';
import type { Logger } from './logger';
import { runBinary, MAX_BODY_BYTES } from './http';

export interface SocketOptions {
  cert: Buffer;
  key: Buffer;
  clientCa: Buffer;
  idleTimeoutMs?: number;
}

/**
 * KMIP binary TTLV over TLS (the port 5696 convention). Every client presents a certificate
 * signed by the configured CA; its CN is the user. Messages are framed by the TTLV header:
 * 8 bytes, the length in bytes 4–7, then the body; requests on one connection run in order.
 */
export function createKmipSocketServer(endpoint: KmipEndpoint, opts: SocketOptions, log: Logger): tls.Server {
  const server = tls.createServer({
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
    socket.setTimeout(opts.idleTimeoutMs ?? 120_000, () => socket.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    let busy = false;
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        while (buffered.length >= 8) {
          const length = buffered.readUInt32BE(4);
          if (length > MAX_BODY_BYTES) {
            log.warn('socket frame too large', { remote: socket.remoteAddress, length });
            socket.destroy();
            return;
          }
          if (buffered.length < 8 + length) break;
          const frame = buffered.subarray(0, 8 + length);
          buffered = buffered.subarray(8 + length);
          const response = await runBinary(endpoint, Buffer.from(frame), user, log);
          if (socket.destroyed) return;
          socket.write(response);
        }
      } finally {
        busy = false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length > MAX_BODY_BYTES + 8) {
        socket.destroy();
        return;
      }
      void pump().then(() => (buffered.length >= 8 && !busy ? pump() : undefined));
    });
    socket.on('error', (e) => log.debug('socket error', { message: e.message }));
  });
  server.on('tlsClientError', (e) => log.info('TLS client rejected', { message: e.message }));
  return server;
}
