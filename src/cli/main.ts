import { Command, CommanderError } from 'commander';
import { registerAccess } from './commands/access';
import { registerAudit } from './commands/audit';
import { registerCertificates } from './commands/certificates';
import { registerCrypto } from './commands/crypto';
import { registerData } from './commands/data';
import { registerFileCrypto } from './commands/file-crypto';
import { registerKeys } from './commands/keys';
import { registerMasterKey } from './commands/master-key';
import { registerModule } from './commands/module';
import { registerObjects } from './commands/objects';
import { registerServe } from './commands/serve';
import { describeFailure } from './errors';
import { EXIT, type ExitCode } from './exit-codes';
import { processIo, type CliIo } from './io';
import { Runtime } from './runtime';

const VERSION = '0.1.0';

function buildProgram(rt: Runtime): Command {
  const program = new Command('p11kms')
    .description('p11kms: a Cosmian-compatible KMIP 2.1 KMS and its client')
    .version(VERSION)
    .option('--server-url <url>', 'KMS base URL (env P11KMS_SERVER_URL; default http://127.0.0.1:9998)')
    .option('--access-token <token>', 'bearer token (env P11KMS_ACCESS_TOKEN)')
    .option('--config <file>', 'TOML config: server_url, access_token, tls_client_cert, tls_client_key, ca; or Cosmian\'s [http_config] (env P11KMS_CONFIG). For `serve`: the server\'s kms.toml (env P11KMS_SERVER_CONF)')
    .option('--json', 'machine-readable output on stdout')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => rt.io.stdout.write(s),
      writeErr: (s) => rt.io.stderr.write(s),
    });
  // Registered after the settings above, so every subcommand inherits exitOverride and the output routing.
  registerServe(program, rt);
  registerMasterKey(program, rt);
  registerKeys(program, rt);
  registerCertificates(program, rt);
  registerData(program, rt);
  registerObjects(program, rt);
  registerFileCrypto(program, rt);
  registerCrypto(program, rt);
  registerModule(program, rt);
  registerAccess(program, rt);
  registerAudit(program, rt);
  return program;
}

/** Runs one invocation (argv without node and script) and returns its exit code; never exits the process. */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> {
  const rt = new Runtime(io);
  const program = buildProgram(rt);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return rt.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are "errors" to commander; to the user they are success.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const failure = describeFailure(e);
    io.stderr.write(failure.message + '\n');
    return failure.code;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      // exitCode, not exit(): `serve` keeps the process alive after its action returns.
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exitCode = EXIT.IO_ERROR;
    },
  );
}
