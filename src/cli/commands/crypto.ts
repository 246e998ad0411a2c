import type { Command } from 'commander';
import { EXIT } from '../exit-codes';
import { readLocalFile, writeLocalFile } from '../files';
import { parseInteger, type Runtime } from '../runtime';

interface SignOptions { key: string; out?: string; algorithm?: string; digest?: string }

function signatureParams(o: { algorithm?: string; digest?: string }): { signatureAlgorithm?: string; hashing?: string } {
  return { ...(o.algorithm ? { signatureAlgorithm: o.algorithm } : {}), ...(o.digest ? { hashing: o.digest } : {}) };
}

/** Most signature/hash names are KMIP enum names; accept the common "sha-256" spelling too. */
export function hashingName(name: string): string {
  return name.toUpperCase().replace(/^SHA-?3-?/, 'SHA3').replace(/^SHA-/, 'SHA');
}

export function registerCrypto(program: Command, rt: Runtime): void {
  program
    .command('sign')
    .description('sign IN with a private key; writes the signature to --out')
    .argument('<in>')
    .requiredOption('--key <uid>', 'private key UID')
    .requiredOption('--out <sig>', 'signature file')
    .option('--algorithm <name>', 'DigitalSignatureAlgorithm, e.g. SHA256WithRSAEncryption, RSASSAPSS, ECDSAWithSHA256')
    .option('--digest <hash>', 'HashingAlgorithm, e.g. SHA256 (RSASSAPSS and ECDSA)')
    .action(rt.action<SignOptions>(async ({ client, out }, [input], o) => {
      const data = await readLocalFile(input as string);
      const signature = await client().sign(o.key, data, signatureParams({ ...o, ...(o.digest ? { digest: hashingName(o.digest) } : {}) }));
      await writeLocalFile(o.out as string, signature, 0o644);
      out.result({ signature: o.out as string, bytes: signature.length }, `wrote a ${signature.length}-byte signature to ${o.out as string}`);
    }));

  program
    .command('verify')
    .description('verify SIG over IN with a public key; exit 0 if valid, 1 if not')
    .argument('<in>')
    .argument('<sig>')
    .requiredOption('--key <uid>', 'public key UID')
    .option('--algorithm <name>', 'DigitalSignatureAlgorithm used to sign')
    .option('--digest <hash>', 'HashingAlgorithm used to sign')
    .action(rt.action<SignOptions>(async ({ client, out }, [input, sig], o) => {
      const [data, signature] = await Promise.all([readLocalFile(input as string), readLocalFile(sig as string)]);
      const valid = await client().verify(o.key, data, signature, signatureParams({ ...o, ...(o.digest ? { digest: hashingName(o.digest) } : {}) }));
      out.result({ valid }, valid ? 'valid' : 'INVALID');
      return valid ? EXIT.OK : EXIT.NEGATIVE;
    }));

  program
    .command('rng')
    .description('N random bytes from the server (hex on stdout, or raw to --out)')
    .argument('<n>', 'number of bytes', parseInteger('N'))
    .option('--out <file>', 'write the raw bytes here')
    .action(rt.action<{ out?: string }>(async ({ client, out }, args, o) => {
      const bytes = await client().rng(Number(args[0]));
      if (o.out) await writeLocalFile(o.out, bytes);
      out.result({ bytes: bytes.length, ...(o.out ? { file: o.out } : { hex: bytes.toString('hex') }) }, o.out ? `wrote ${bytes.length} bytes to ${o.out}` : bytes.toString('hex'));
    }));

  program
    .command('hash')
    .description('digest FILE ("-" for stdin) on the server; prints hex')
    .argument('<file>')
    .option('--algorithm <hash>', 'SHA256, SHA384, SHA512, SHA3256, …', 'SHA256')
    .action(rt.action<{ algorithm: string }>(async ({ client, out }, [file], o) => {
      const digest = await client().hash(hashingName(o.algorithm), await readLocalFile(file as string));
      out.result({ algorithm: hashingName(o.algorithm), digest: digest.toString('hex') }, digest.toString('hex'));
    }));

  program
    .command('query')
    .description('what the server is and which operations and objects it supports')
    .action(rt.action(async ({ client, out }) => {
      const q = await client().query();
      out.result(
        { vendor: q.vendorIdentification ?? null, operations: q.operations, objectTypes: q.objectTypes },
        [`vendor: ${q.vendorIdentification ?? '(not given)'}`, `operations: ${q.operations.join(' ')}`, `object types: ${q.objectTypes.join(' ')}`],
      );
    }));
}
