/** Bounds every decoder enforces, so hostile input cannot exhaust the stack or the heap. */
export interface DecodeLimits {
  /** Nesting depth of Structures. */
  maxDepth: number;
  /** Bytes in one primitive value. */
  maxFieldBytes: number;
  /** Bytes in the whole message (JSON text or binary). */
  maxTotalBytes: number;
  /** Nodes in the whole tree. */
  maxNodes: number;
}

export const DEFAULT_LIMITS: Readonly<DecodeLimits> = {
  maxDepth: 64,
  maxFieldBytes: 64 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxNodes: 1_000_000,
};

export function withDefaults(limits: Partial<DecodeLimits> | undefined): DecodeLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}
