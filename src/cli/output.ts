import type { CliIo } from './io';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };

/** Results go to stdout (JSON with --json, text otherwise); notes and errors to stderr. */
export class Output {
  constructor(private readonly io: CliIo, readonly json: boolean) {}

  /** Prints a result: `value` as JSON under --json, else the human lines. */
  result(value: JsonValue, human: string | string[]): void {
    if (this.json) {
      this.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
      return;
    }
    const lines = Array.isArray(human) ? human : [human];
    if (lines.length > 0) this.io.stdout.write(lines.join('\n') + '\n');
  }

  note(message: string): void {
    if (!this.json) this.io.stderr.write(message + '\n');
  }

  error(message: string): void {
    this.io.stderr.write(message + '\n');
  }

  get stderr(): CliIo['stderr'] {
    return this.io.stderr;
  }
}
