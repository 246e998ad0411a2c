/**
 * What the fuzz targets share: which exceptions are answers rather than crashes, and a
 * memory report the runner (run.ts) checks. The fuzzer itself bounds time per input
 * (--timeout) and RSS (-rss_limit_mb); this adds the V8 heap, measured after a full GC so
 * that garbage not yet collected is not mistaken for a leak.
 */

export type ErrorClass = abstract new (...args: never[]) => Error;

/** Runs `decode`; an exception of one of the `expected` classes is the decoder's answer, anything else a crash. */
export function onlyTypedErrors(expected: readonly ErrorClass[], decode: () => unknown): void {
  try {
    decode();
  } catch (e) {
    if (!expected.some((c) => e instanceof c)) throw e;
  }
}

const MB = 1024 * 1024;
/** The baseline is taken after warm-up: JIT code, interned strings and caches are not leaks. */
const WARMUP = 10_000;
const REPORT_EVERY = 100_000;
const gc = (globalThis as { gc?: () => void }).gc;
let executions = 0;

function report(target: string): void {
  gc?.();
  const m = process.memoryUsage();
  // One line per sample; the runner takes the first as "before" and the last as "after".
  process.stderr.write(`fuzz-memory ${target} executions=${executions} heapMB=${(m.heapUsed / MB).toFixed(1)} rssMB=${(m.rss / MB).toFixed(1)} gc=${gc ? 'yes' : 'no'}\n`);
}

/** Called once per input by every target. */
export function countExecution(target: string): void {
  executions++;
  if (executions === 1) process.on('exit', () => report(target));
  if (executions === WARMUP || executions % REPORT_EVERY === 0) report(target);
}
