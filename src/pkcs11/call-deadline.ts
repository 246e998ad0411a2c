import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The time by which the host call being served must be answered. The runtime runs every
 * call inside withCallDeadline; the KMS requests made on its behalf get what is left of it,
 * so a call that needs several requests, or tries several URLs, still answers within
 * timeout_ms rather than timeout_ms per request.
 */
const deadlines = new AsyncLocalStorage<number>();

export function withCallDeadline<T>(timeoutMs: number | undefined, run: () => Promise<T>): Promise<T> {
  if (timeoutMs === undefined) return run();
  return deadlines.run(Date.now() + timeoutMs, run);
}

/** What is left of the current host call's time, never more than `limitMs` (all of it outside a call). */
export function callTimeLeftMs(limitMs: number): number {
  const deadline = deadlines.getStore();
  return deadline === undefined ? limitMs : Math.min(limitMs, Math.max(0, deadline - Date.now()));
}

/**
 * Runs `run` outside any host call: background work (probes) started while serving a call
 * must not inherit that call's deadline, which passes long before the work is due.
 */
export function outsideCall<T>(run: () => T): T {
  return deadlines.exit(run);
}
