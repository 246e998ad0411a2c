/**
 * What one server process accepts before it refuses: body size, connections, requests in
 * flight, and how long a slow client may take. Each worker of `serve` applies them on its
 * own, so the machine-wide figures are these times the number of workers.
 */
export interface ServerLimits {
  /** Largest HTTP body or binary TTLV message; larger ones get 413 (HTTP) or lose the connection (TLS socket). */
  maxRequestBytes?: number;
  /** Open connections per listener; further ones are closed at once. */
  maxConnections?: number;
  /** KMIP requests being served at once over HTTP; beyond it 503 with Retry-After, at once. */
  maxConcurrentRequests?: number;
  /** From connection (or the previous request) to the end of the request headers. */
  headersTimeoutMs?: number;
  /** From connection to the whole request received, on HTTP; a binary TTLV message, from its first byte, on the TLS socket. */
  requestTimeoutMs?: number;
  /** A TLS socket connection with no traffic for this long is closed. */
  idleTimeoutMs?: number;
}

export const DEFAULT_LIMITS: Required<ServerLimits> = {
  maxRequestBytes: 64 * 1024 * 1024,
  maxConnections: 10_000,
  maxConcurrentRequests: 1_024,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
};

/** The limits among `options` (which may carry other settings too), the defaults for the rest. */
export function withDefaults(options: ServerLimits): Required<ServerLimits> {
  const all = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const value = options[key];
    if (value !== undefined) all[key] = value;
  }
  // Node refuses a headers timeout longer than the request timeout; the shorter one wins anyway.
  return { ...all, headersTimeoutMs: Math.min(all.headersTimeoutMs, all.requestTimeoutMs) };
}

/** The node:http options that enforce the timeouts (Node checks them on a timer, so the timer must be shorter than they are). */
export function httpTimeoutOptions(limits: Required<ServerLimits>): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number; keepAliveTimeout: number } {
  const shortest = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(shortest / 4))),
    // Longer than the usual load balancer's idle timeout (60 s), so the balancer closes first.
    keepAliveTimeout: 65_000,
  };
}

/** Counts requests in flight and refuses the one too many instead of queueing it. */
export class ConcurrencyGate {
  private inFlight = 0;

  constructor(private readonly max: number) {}

  tryEnter(): boolean {
    if (this.inFlight >= this.max) return false;
    this.inFlight++;
    return true;
  }

  leave(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }
}
