import type { TextSink } from './io';

const WIDTH = 30;
const REDRAW_MS = 100;

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/**
 * A one-line progress bar on stderr, drawn only for a terminal so logs and pipes stay clean.
 * Hand-written (a dozen lines) rather than a dependency.
 */
export class ProgressBar {
  private done = 0;
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(private readonly sink: TextSink, private readonly total: number | undefined, private readonly label: string) {
    this.enabled = sink.isTTY === true;
  }

  advance(bytes: number): void {
    this.done += bytes;
    const now = Date.now();
    if (this.enabled && now - this.lastDraw >= REDRAW_MS) {
      this.lastDraw = now;
      this.draw();
    }
  }

  finish(): void {
    if (!this.enabled) return;
    this.draw();
    this.sink.write('\n');
  }

  private draw(): void {
    if (this.total === undefined || this.total === 0) {
      this.sink.write(`\r${this.label} ${mib(this.done)} MiB`);
      return;
    }
    const ratio = Math.min(1, this.done / this.total);
    const filled = Math.round(ratio * WIDTH);
    this.sink.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${Math.floor(ratio * 100)}% ${mib(this.done)}/${mib(this.total)} MiB`);
  }
}
