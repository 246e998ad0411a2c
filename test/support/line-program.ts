import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A program driven line by line: commands on its stdin, answers read from its stdout.
 * Every line it printed is kept, for assertions over the whole run.
 */
export class LineProgram {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  stderr = '';
  private waiters: { test: RegExp; resolve: (line: string) => void }[] = [];
  private exited = false;

  constructor(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string) {
    this.child = spawn(file, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.child.on('exit', () => { this.exited = true; });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.test.test(line) ? (w.resolve(line), false) : true));
    });
  }

  /** The next line matching `test` (or one already printed since `from`), failing after `timeoutMs`. */
  waitFor(test: RegExp, timeoutMs: number, from = this.lines.length): Promise<string> {
    const seen = this.lines.slice(from).find((l) => test.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${test} within ${timeoutMs} ms; exited ${this.exited}; last lines:\n${this.lines.slice(-10).join('\n')}\n${this.stderr.slice(-2000)}`)), timeoutMs);
      this.waiters.push({ test, resolve: (l) => { clearTimeout(timer); resolve(l); } });
    });
  }

  /** Sends a command and returns the lines printed up to its `DONE`. */
  async command(line: string, timeoutMs = 60_000): Promise<string[]> {
    const from = this.lines.length;
    this.child.stdin?.write(line + '\n');
    await this.waitFor(new RegExp(`^DONE ${line}$`), timeoutMs, from);
    return this.lines.slice(from);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
