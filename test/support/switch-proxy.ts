import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * What a SwitchProxy does with a connection: pass it to the KMS, accept it and never
 * answer, or answer half an HTTP response and then stall (or close).
 */
export type ProxyMode = 'forward' | 'blackhole' | 'half-stall' | 'half-close';

/** The first bytes of a response whose body never fully arrives. */
const HALF_RESPONSE = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{"tag":"SignResponse","type":"Struc';

/**
 * A TCP server in front of a real KMS whose behaviour the test switches: a stand-in for a
 * server that accepts connections and then hangs, or dies half-way through an answer.
 * Switching drops the connections of the previous mode, so the next request meets the new one.
 */
export class SwitchProxy {
  private mode: ProxyMode = 'forward';
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<{ proxy: SwitchProxy; url: string }> {
    const proxy = new SwitchProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return { proxy, url: `http://127.0.0.1:${port}` };
  }

  switchTo(mode: ProxyMode): void {
    this.mode = mode;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.switchTo('forward');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  private accept(client: Socket): void {
    this.track(client);
    switch (this.mode) {
      case 'blackhole':
        client.resume(); // read and drop: the request is taken, no answer ever comes
        return;
      case 'half-stall':
      case 'half-close': {
        const close = this.mode === 'half-close';
        client.once('data', () => {
          client.write(HALF_RESPONSE);
          if (close) client.end();
        });
        client.resume();
        return;
      }
      case 'forward': {
        const upstream = connect(this.target.port, this.target.host);
        this.track(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      }
    }
  }
}
