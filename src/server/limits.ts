import { KmipError } from '../kmip/errors';
import type { KeyPairGeneration } from './crypto/keygen';

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
  /**
   * Body bytes of the KMIP requests being read or served at once, across the process: the
   * memory budget. A request that would go beyond it gets 503 with Retry-After (HTTP) or loses
   * its connection (TLS socket). At least maxRequestBytes, so one largest request always fits.
   */
  maxInflightBytes?: number;
  /** Largest PBKDF2 IterationCount × output blocks a DeriveKey may ask for. */
  maxPbkdf2Iterations?: number;
  /** Largest RSA modulus CreateKeyPair and ReKeyKeyPair generate. */
  maxRsaBits?: number;
}

export const DEFAULT_LIMITS: Required<ServerLimits> = {
  maxRequestBytes: 64 * 1024 * 1024,
  maxConnections: 10_000,
  maxConcurrentRequests: 1_024,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
  maxInflightBytes: 128 * 1024 * 1024,
  maxPbkdf2Iterations: 500_000,
  maxRsaBits: 4096,
};

/** The limits among `options` (which may carry other settings too), the defaults for the rest. */
export function withDefaults(options: ServerLimits): Required<ServerLimits> {
  const all = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const value = options[key];
    if (value !== undefined) all[key] = value;
  }
  // Node refuses a headers timeout longer than the request timeout; the shorter one wins anyway.
  // A budget smaller than one request would refuse that request forever: the largest request always fits.
  const inflight = options.maxInflightBytes === undefined ? Math.max(all.maxInflightBytes, all.maxRequestBytes) : all.maxInflightBytes;
  return { ...all, headersTimeoutMs: Math.min(all.headersTimeoutMs, all.requestTimeoutMs), maxInflightBytes: inflight };
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

/**
 * The bytes of the requests in flight, against one budget for the whole process: what bounds
 * the memory requests can pin at once, however many connections carry them.
 */
export class ByteBudget {
  private used = 0;

  constructor(readonly max: number) {}

  get inUse(): number {
    return this.used;
  }

  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.max) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** What one operation may cost in CPU, whatever the size of the request asking for it. */
export type CryptoLimits = Pick<Required<ServerLimits>, 'maxPbkdf2Iterations' | 'maxRsaBits'>;

export function cryptoLimitsOf(options: ServerLimits): CryptoLimits {
  const all = withDefaults(options);
  return { maxPbkdf2Iterations: all.maxPbkdf2Iterations, maxRsaBits: all.maxRsaBits };
}

/**
 * PBKDF2 costs IterationCount HMACs per output block (one block per hash length of output),
 * so the cap is on their product: a 1,000,000-iteration 256-bit key is one block, and the
 * same count for a 1 MiB secret is 32768 times the work.
 */
export function checkPbkdf2Cost(iterations: number, outputBytes: number, hashBytes: number, limits: CryptoLimits): void {
  const cap = limits.maxPbkdf2Iterations;
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new KmipError('Invalid_Field', `IterationCount must be a positive number, not ${iterations}`);
  const blocks = Math.ceil(outputBytes / hashBytes);
  if (iterations * blocks > cap) {
    const what = blocks === 1 ? `IterationCount ${iterations}` : `IterationCount ${iterations} × ${blocks} output blocks`;
    throw new KmipError('Invalid_Field', `${what} is above this server's PBKDF2 cap of ${cap} iterations (max_pbkdf2_iterations)`);
  }
}

/** Generating an RSA key costs roughly the fourth power of its size: 8192 bits is tens of seconds of CPU. */
export function checkKeyPairCost(generation: KeyPairGeneration, limits: CryptoLimits): void {
  if (generation.kind !== 'RSA') return;
  const bits = generation.bits;
  if (bits > limits.maxRsaBits) throw new KmipError('Invalid_Field', `an RSA key of ${bits} bits is above this server's cap of ${limits.maxRsaBits} bits (max_rsa_bits)`);
}
