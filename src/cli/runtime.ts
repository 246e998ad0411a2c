import { InvalidArgumentError, type Command } from 'commander';
import { KmipClient } from '../kmip/client';
import { resolveClientOptions, type ConnectionFlags } from './config';
import { EXIT, type ExitCode } from './exit-codes';
import type { CliIo } from './io';
import { Output } from './output';

export interface GlobalOptions extends ConnectionFlags {
  json?: boolean;
}

/** What a command body gets: its output channel and a client made on first use. */
export interface CommandContext {
  out: Output;
  io: CliIo;
  client(): KmipClient;
}

/** One CLI invocation: the IO, and the exit code the last command chose. */
export class Runtime {
  exitCode: ExitCode = EXIT.OK;

  constructor(readonly io: CliIo) {}

  /**
   * Wraps a command body for commander: reads the positional arguments and options, makes the
   * client lazily (so `serve` and usage errors never touch the network), always closes it.
   */
  action<O>(body: (ctx: CommandContext, args: string[], opts: O) => Promise<ExitCode | void>): (...raw: unknown[]) => Promise<void> {
    return async (...raw: unknown[]) => {
      const command = raw[raw.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      let client: KmipClient | undefined;
      const ctx: CommandContext = {
        io: this.io,
        out: new Output(this.io, globals.json === true),
        client: () => (client ??= new KmipClient(resolveClientOptions(globals, this.io.env))),
      };
      try {
        this.exitCode = (await body(ctx, command.processedArgs as string[], command.opts<O & object>() as O)) ?? EXIT.OK;
      } finally {
        await client?.close();
      }
    };
  }
}

/** commander's collector for options given several times (--tag a --tag b). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseInteger(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, not ${value}`);
    return n;
  };
}
