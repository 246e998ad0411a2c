import { Option, type Command } from 'commander';
import type { ContainerMode } from '../container';
import { DEFAULT_CHUNK_SIZE, DEFAULT_CONCURRENCY, decryptFile, encryptFile } from '../file-crypt';
import { ProgressBar } from '../progress';
import { parseInteger, type CommandContext, type Runtime } from '../runtime';

interface FileCryptFlags {
  key?: string;
  mode: ContainerMode;
  chunkSize: number;
  concurrency: number;
}

function progress(ctx: CommandContext, label: string): (total: number | undefined) => ProgressBar {
  return (total) => new ProgressBar(ctx.out.json ? { write: () => undefined } : ctx.io.stderr, total, label);
}

export function registerFileCrypto(program: Command, rt: Runtime): void {
  program
    .command('encrypt')
    .description('encrypt IN to OUT in the P11KMS1 chunked container (any size, streamed)')
    .argument('<in>')
    .argument('<out>')
    .requiredOption('--key <uid>', 'AES key UID')
    .addOption(new Option('--mode <mode>', 'gcm (authenticated) or cbc (confidentiality only)').choices(['gcm', 'cbc']).default('gcm'))
    .option('--chunk-size <bytes>', 'plaintext bytes per KMIP Encrypt', parseInteger('--chunk-size'), DEFAULT_CHUNK_SIZE)
    .option('--concurrency <n>', 'chunks in flight', parseInteger('--concurrency'), DEFAULT_CONCURRENCY)
    .action(rt.action<FileCryptFlags>(async (ctx, [input, output], o) => {
      const r = await encryptFile(ctx.client(), {
        input: input as string, output: output as string, keyUid: o.key as string, mode: o.mode,
        chunkSize: o.chunkSize, concurrency: o.concurrency, progress: progress(ctx, 'encrypt'),
      });
      ctx.out.result({ output: output as string, chunks: r.chunks, bytes: r.bytes }, `encrypted ${r.bytes} bytes in ${r.chunks} chunk(s) to ${output as string}`);
    }));

  program
    .command('decrypt')
    .description('decrypt a P11KMS1 container IN to OUT (streamed; fails on any tampering)')
    .argument('<in>')
    .argument('<out>')
    .option('--key <uid>', 'key UID (default: the one recorded in the container)')
    .option('--concurrency <n>', 'chunks in flight', parseInteger('--concurrency'), DEFAULT_CONCURRENCY)
    .action(rt.action<FileCryptFlags>(async (ctx, [input, output], o) => {
      const r = await decryptFile(ctx.client(), {
        input: input as string, output: output as string, concurrency: o.concurrency, progress: progress(ctx, 'decrypt'),
        ...(o.key !== undefined ? { keyUid: o.key } : {}),
      });
      ctx.out.result({ output: output as string, chunks: r.chunks, bytes: r.bytes, key: r.keyUid }, `decrypted ${r.bytes} bytes from ${r.chunks} chunk(s) to ${output as string}`);
    }));
}
