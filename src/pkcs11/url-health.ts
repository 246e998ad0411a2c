import { outsideCall } from './call-deadline';

/** The first probe of a URL that just failed, and the longest interval between probes. */
const PROBE_FIRST_MS = 1_000;
const PROBE_MAX_MS = 8_000;

interface Down {
  delayMs: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Which of a slot's KMS URLs answer. A URL whose request failed on the transport is down:
 * calls go to the URLs that are up, in configuration order, and only then to the down
 * ones. A down URL is probed in the background, first after PROBE_FIRST_MS, then at
 * doubling intervals up to PROBE_MAX_MS, until it answers; calls then return to it at once,
 * so the first URL is preferred again as soon as it is back. No host call waits on a probe.
 */
export class UrlHealth {
  private readonly down = new Map<number, Down>();
  private closed = false;

  /** `probe` resolves true when the URL answered (even with a KMIP error), false otherwise. */
  constructor(private readonly count: number, private readonly probe: (index: number) => Promise<boolean>) {}

  /** The URL indices to try, best first. */
  order(): number[] {
    const all = Array.from({ length: this.count }, (_, i) => i);
    return [...all.filter((i) => !this.down.has(i)), ...all.filter((i) => this.down.has(i))];
  }

  isDown(index: number): boolean {
    return this.down.has(index);
  }

  succeeded(index: number): void {
    const state = this.down.get(index);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    this.down.delete(index);
  }

  failed(index: number): void {
    if (this.closed || this.down.has(index)) return;
    const state: Down = { delayMs: PROBE_FIRST_MS, timer: undefined };
    this.down.set(index, state);
    this.schedule(index, state);
  }

  close(): void {
    this.closed = true;
    for (const state of this.down.values()) if (state.timer) clearTimeout(state.timer);
    this.down.clear();
  }

  private schedule(index: number, state: Down): void {
    // Scheduled from within a host call, the probe would otherwise carry that call's deadline.
    state.timer = outsideCall(() => setTimeout(() => {
      state.timer = undefined;
      this.probe(index).catch(() => false).then((alive) => {
        // A call may have found the URL alive meanwhile (and another one down again).
        if (this.closed || this.down.get(index) !== state) return;
        if (alive) {
          this.succeeded(index);
          return;
        }
        state.delayMs = Math.min(state.delayMs * 2, PROBE_MAX_MS);
        this.schedule(index, state);
      });
    }, state.delayMs));
    // A pending probe must not keep a process (the CLI, a test) alive.
    state.timer.unref();
  }
}
