/** Where a command writes; tests pass buffers, the binary passes the process streams. */
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  env: Readonly<Record<string, string | undefined>>;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
