import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs a fuzz target on given inputs without the fuzzer, for a finding's stack trace.
 * Usage: node dist/test/fuzz/replay.js <target> <input-file>...
 */
async function main(): Promise<void> {
  const [target, ...files] = process.argv.slice(2);
  const mod = (await import(join(__dirname, `${target ?? ''}.fuzz.js`))) as { fuzz: (data: Buffer) => unknown };
  for (const file of files) {
    try {
      await mod.fuzz(readFileSync(file));
      process.stdout.write(`${file}: ok\n`);
    } catch (e) {
      process.stdout.write(`${file}: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  }
  process.exit();
}

void main();
