/**
 * Entry point of the out-of-process runtime: a node child of the host, reading frames from
 * fd 3 (a socketpair made by native/src/transport_child.c). When the host goes away the
 * socket closes and this process ends with it.
 */
import { Socket } from 'node:net';
import { decodeHeader, HEADER_SIZE, MAX_BODY } from './frame';
import { createRuntime } from './runtime';
import { log } from './log';

const socket = new Socket({ fd: 3, readable: true, writable: true });
const dispatcher = createRuntime('child process');
let pending: Buffer = Buffer.alloc(0);

process.on('uncaughtException', (e) => log.error(`uncaught: ${e.stack ?? e.message}`));
process.on('unhandledRejection', (e) => log.error(`unhandled rejection: ${String(e)}`));

socket.on('data', (chunk: Buffer) => {
  pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
  while (pending.length >= HEADER_SIZE) {
    let bodyLength: number;
    try {
      bodyLength = decodeHeader(pending).bodyLength;
    } catch (e) {
      log.error(`closing the connection: ${(e as Error).message}`);
      socket.destroy();
      return;
    }
    if (bodyLength > MAX_BODY) { socket.destroy(); return; }
    if (pending.length < HEADER_SIZE + bodyLength) break;
    const frame = pending.subarray(0, HEADER_SIZE + bodyLength);
    pending = pending.subarray(HEADER_SIZE + bodyLength);
    // Calls from several host threads run concurrently; each response carries its request id.
    dispatcher.handle(Buffer.from(frame)).then(
      (response) => { if (!socket.destroyed) socket.write(response); },
      (e: unknown) => log.error(`dispatch failed: ${String(e)}`),
    );
  }
});
socket.on('close', () => process.exit(0));
socket.on('error', (e) => log.error(`socket: ${e.message}`));
