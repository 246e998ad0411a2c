import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `p11kms ARGS` in this process with captured output and a clean environment. */
export async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

export function jsonOf<T>(run: CliRun): T {
  return JSON.parse(run.stdout) as T;
}
