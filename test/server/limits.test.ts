import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { makeTestPki } from '../support/pki';
import { startTestServer } from '../support/server';

/** Request size, connection and concurrency limits, and slow clients, against real listeners. */

interface Teardown {
  teardown(fn: () => unknown): void;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function openTcp(t: Teardown, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    t.teardown(() => s.destroy());
  });
}

/** Milliseconds until the server closes the socket, or undefined if it is still open after `withinMs`. */
function closedWithin(s: Socket, withinMs: number): Promise<number | undefined> {
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), withinMs);
    s.on('error', () => undefined);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
    s.resume(); // read (and drop) whatever the server answers, such as a 408
  });
}

/** Sends one byte of `text` every `everyMs`, as a slowloris client does, until the socket closes. */
function trickle(s: Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (s.destroyed || i >= text.length) return clearInterval(timer);
    s.write(text[i++] as string);
  }, everyMs);
  s.once('close', () => clearInterval(timer));
}

const HEADERS = 'POST /kmip/2_1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n';
const QUERY = JSON.stringify({ tag: 'Query', value: [] });

t.test('HTTP: a client trickling its headers, or its body, is disconnected within the timeout', async (t) => {
  const server = await startTestServer(t, { headersTimeoutMs: 500, requestTimeoutMs: 1000 });
  const headers = await openTcp(t, portOf(server.url));
  trickle(headers, HEADERS + 'X-Padding: ' + 'a'.repeat(200), 100);
  const headersClosed = await closedWithin(headers, 4000);
  t.ok(headersClosed !== undefined && headersClosed < 2000, `trickled headers: dropped after ${headersClosed} ms (headers timeout 500 ms)`);

  const body = await openTcp(t, portOf(server.url));
  body.write(`${HEADERS}Content-Length: 1000\r\n\r\n`);
  trickle(body, 'x'.repeat(1000), 100);
  const bodyClosed = await closedWithin(body, 5000);
  t.ok(bodyClosed !== undefined && bodyClosed < 2500, `trickled body: dropped after ${bodyClosed} ms (request timeout 1000 ms)`);

  const silent = await openTcp(t, portOf(server.url));
  const silentClosed = await closedWithin(silent, 4000);
  t.ok(silentClosed !== undefined && silentClosed < 2000, `a connection that sends nothing: dropped after ${silentClosed} ms`);
  t.equal((await server.post('/kmip/2_1', QUERY)).status, 200, 'the server still answers');
});

t.test('TLS socket: half a TTLV header, trickled, and a silent or handshake-less client are dropped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = makeTestPki(dir, 'slow');
  const server = await startTestServer(t, { tlsCert: pki.serverCert, tlsKey: pki.serverKey, clientCa: pki.caCert, socketPort: 0, headersTimeoutMs: 500, requestTimeoutMs: 1000, idleTimeoutMs: 1500 });
  const port = server.socketPort as number;
  const openTls = (): Promise<Socket> => new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), servername: 'localhost' }, () => resolve(s));
    s.on('error', reject);
    t.teardown(() => s.destroy());
  });

  const half = await openTls();
  half.write(Buffer.from('42007801', 'hex')); // half a header, then nothing
  const halfClosed = await closedWithin(half, 5000);
  t.ok(halfClosed !== undefined && halfClosed < 1400, `half a TTLV header: dropped after ${halfClosed} ms (request timeout 1000 ms, before the 1500 ms idle timeout)`);

  const slow = await openTls();
  slow.write(Buffer.from('4200780100000100', 'hex')); // a header announcing 256 bytes
  trickle(slow, 'z'.repeat(256), 100); // one byte every 100 ms: never idle, never done
  const slowClosed = await closedWithin(slow, 5000);
  t.ok(slowClosed !== undefined && slowClosed < 2500, `a message trickled byte by byte: dropped after ${slowClosed} ms (request timeout 1000 ms)`);

  const idle = await openTls();
  const idleClosed = await closedWithin(idle, 5000);
  t.ok(idleClosed !== undefined && idleClosed >= 1000 && idleClosed < 3000, `a silent TLS client: dropped after ${idleClosed} ms (idle timeout 1500 ms)`);

  const noHandshake = await openTcp(t, port);
  const handshakeClosed = await closedWithin(noHandshake, 4000);
  t.ok(handshakeClosed !== undefined && handshakeClosed < 2000, `no TLS handshake: dropped after ${handshakeClosed} ms (headers timeout 500 ms)`);
  const httpsNoHandshake = await openTcp(t, portOf(server.url));
  const httpsClosed = await closedWithin(httpsNoHandshake, 4000);
  t.ok(httpsClosed !== undefined && httpsClosed < 2000, `nor on the HTTPS port: dropped after ${httpsClosed} ms`);

  const big = await openTls();
  big.write(Buffer.from('42007801ffffffff', 'hex')); // announces a 4 GiB message
  const bigClosed = await closedWithin(big, 2000);
  t.ok(bigClosed !== undefined, 'a message announced larger than --max-request-bytes: dropped at once');
});

t.test('--max-connections: the connection too many is closed; a freed place is usable again', async (t) => {
  const server = await startTestServer(t, { maxConnections: 2 });
  const port = portOf(server.url);
  const first = await openTcp(t, port);
  await openTcp(t, port);
  const third = await openTcp(t, port);
  t.ok((await closedWithin(third, 2000)) !== undefined, 'the third connection is closed by the server');
  first.destroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const res = await fetch(server.url + '/kmip/2_1', { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: QUERY });
  t.equal(res.status, 200, 'once one closes, a new request is served');
});

t.test('--max-request-bytes: a larger body is 413, declared or streamed', async (t) => {
  const server = await startTestServer(t, { maxRequestBytes: 1024 });
  t.equal((await server.post('/kmip/2_1', QUERY)).status, 200, 'a small request passes');
  const declared = await server.post('/kmip/2_1', ' '.repeat(2000) + QUERY);
  t.equal(declared.status, 413, 'a 2 KB body: 413');
  t.match(declared.text, /larger than 1024 bytes/);
  const chunked = await fetch(server.url + '/kmip/2_1', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(' '.repeat(4096))); c.close(); } }),
    duplex: 'half',
  } as RequestInit).then((r) => r.status, () => 'closed');
  t.equal(chunked, 413, 'a chunked body without Content-Length is cut off too');
  const endless = await openTcp(t, portOf(server.url));
  let answer = '';
  endless.on('data', (d: Buffer) => (answer += d.toString()));
  endless.write(`${HEADERS}Transfer-Encoding: chunked\r\n\r\n`);
  const chunk = `400\r\n${' '.repeat(1024)}\r\n`;
  const flood = setInterval(() => endless.writable && endless.write(chunk), 5);
  const endlessClosed = await closedWithin(endless, 3000);
  clearInterval(flood);
  t.ok(endlessClosed !== undefined, `a client that never stops sending is answered and disconnected (after ${endlessClosed} ms)`);
  t.match(answer, /^HTTP\/1\.1 413/, 'with a 413');
});

t.test('--max-concurrent-requests: the request too many gets 503 and Retry-After at once', async (t) => {
  const server = await startTestServer(t, { maxConcurrentRequests: 2 });
  const port = portOf(server.url);
  // Two requests whose bodies never come hold both places.
  const holders = await Promise.all([openTcp(t, port), openTcp(t, port)]);
  for (const h of holders) h.write(`${HEADERS}Content-Length: ${QUERY.length}\r\n\r\n`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = Date.now();
  const busy = await fetch(server.url + '/kmip/2_1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY });
  t.equal(busy.status, 503, 'the third: 503');
  t.equal(busy.headers.get('retry-after'), '1', 'with Retry-After');
  t.match(await busy.text(), /Server_Limit_Exceeded/);
  t.ok(Date.now() - started < 1000, 'answered at once, not queued');
  t.equal((await fetch(server.url + '/health')).status, 200, '/health is not counted');
  for (const h of holders) h.end(QUERY);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal((await server.post('/kmip/2_1', QUERY)).status, 200, 'once they finish, requests are served again');
});
