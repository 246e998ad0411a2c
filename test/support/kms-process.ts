import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './server';

/**
 * `p11kms serve` (one process, --workers 0) on a given port and database file, logging every
 * operation (debug) to its own file, so a test can see which server served what. Several of
 * them can share one SQLite file (WAL), and one can be killed and started again on its port.
 */
export class KmsProcess {
  private child: ChildProcess | undefined;

  constructor(readonly port: number, readonly dbPath: string, private readonly logDir: string, readonly name: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again), logging to <name>-<generation>.log; resolves when /version answers. */
  async start(generation = 0): Promise<string> {
    const logPath = join(this.logDir, `${this.name}-${generation}.log`);
    const fd = openSync(logPath, 'a');
    this.child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', String(this.port), '--db', this.dbPath, '--workers', '0', '--log-level', 'debug',
      // The master key's default home on PostgreSQL; the servers of one test share it, as they share the database.
      '--data-dir', this.logDir], {
      stdio: ['ignore', 'ignore', fd],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    closeSync(fd);
    for (let i = 0; i < 150; i++) {
      try {
        if ((await fetch(`${this.url}/version`)).ok) return logPath;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} on ${this.url} did not start`);
  }

  /** kill -9, as a crash would. */
  kill(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  async killAndWait(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.kill();
    await exited;
  }
}

/** How many operations of this kind a server's log shows it served successfully. */
export function servedCount(logPath: string, operation: string): number {
  let text: string;
  try {
    text = readFileSync(logPath, 'utf8');
  } catch {
    return 0;
  }
  return text.split('\n').filter((l) => l.includes('"msg":"operation"') && l.includes(`"operation":"${operation}"`)).length;
}

export interface ConfiguredServe {
  /** Everything the process wrote to stderr (its JSON log lines and any error). */
  stderr(): string;
  /** Resolves with the exit code once the process ended (a refused configuration ends it). */
  exited: Promise<number | null>;
  /** Resolves true once `url`/version answers, false if the process ended first or 15 s passed. */
  ready(url: string): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * `p11kms --config FILE serve --workers 0`, the way an operator starts it from a kms.toml:
 * nothing but the file (and `env`) configures it. Stopped (its process group) in teardown.
 */
export function serveWithConfig(t: { teardown(fn: () => unknown): void }, configPath: string, env: Record<string, string> = {}): ConfiguredServe {
  let err = '';
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), '--config', configPath, 'serve', '--workers', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    detached: true,
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const stop = async (): Promise<void> => {
    if (done || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    await exited;
  };
  t.teardown(stop);
  return {
    stderr: () => err,
    exited,
    async ready(url) {
      for (let i = 0; i < 150 && !done; i++) {
        try {
          if ((await fetch(`${url}/version`)).ok) return true;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    },
    stop,
  };
}
