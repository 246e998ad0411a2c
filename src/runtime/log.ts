import { appendFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { defaultLogFile } from '../pkcs11/config';

/**
 * The module's log. Off by default; P11KMS_LOG=debug|info|error (or log_level in the
 * configuration) turns it on. It goes only to a file: a PKCS#11 module must never write to
 * its host's stdout or stderr. Callers pass only names, handles and lengths — never PINs,
 * key bytes or data.
 */
export type LogLevel = 'off' | 'error' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { off: 0, error: 1, info: 2, debug: 3 };

function envLevel(env: NodeJS.ProcessEnv): LogLevel | undefined {
  const v = env['P11KMS_LOG'];
  return v === 'off' || v === 'error' || v === 'info' || v === 'debug' ? v : undefined;
}

class ModuleLog {
  private level: LogLevel = envLevel(process.env) ?? 'off';
  private file = process.env['P11KMS_LOG_FILE'] || defaultLogFile(process.env, homedir());
  private directoryReady = false;

  configure(level: LogLevel, file: string): void {
    this.level = envLevel(process.env) ?? level;
    if (file !== this.file) this.directoryReady = false;
    this.file = file;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.level] && this.level !== 'off';
  }

  write(level: Exclude<LogLevel, 'off'>, message: string): void {
    if (!this.enabled(level)) return;
    try {
      if (!this.directoryReady) {
        mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
        this.directoryReady = true;
      }
      appendFileSync(this.file, `${new Date().toISOString()} ${level} runtime[${process.pid}] ${message}\n`, { mode: 0o600 });
    } catch {
      // A log that cannot be written must not fail the call that wanted to log.
    }
  }

  error(message: string): void { this.write('error', message); }
  info(message: string): void { this.write('info', message); }
  debug(message: string): void { this.write('debug', message); }
}

export const log = new ModuleLog();
