import type { Command } from 'commander';
import { secretDataObject } from '../../kmip/requests';
import { LocalIoError } from '../errors';
import { readLocalFile, writeLocalFile } from '../files';
import { collect, type Runtime } from '../runtime';

/**
 * Opaque keyfiles (e.g. VeraCrypt keyfiles) are stored as SecretData with SecretDataType
 * **Seed**: KMIP's Password means a human-entered secret (text, subject to password policy),
 * while a keyfile is arbitrary binary input to a key derivation — which is what Seed denotes.
 */
export const KEYFILE_SECRET_DATA_TYPE = 'Seed';

export function registerData(program: Command, rt: Runtime): void {
  const data = program.command('data').description('store and fetch opaque secrets (keyfiles) as SecretData');
  data
    .command('import')
    .description('store FILE as SecretData (SecretDataType Seed); prints the new UID')
    .argument('<file>')
    .requiredOption('--label <label>', 'a Name for the secret')
    .option('--tag <tag>', 'a tag (repeatable)', collect, [])
    .action(rt.action<{ label: string; tag: string[] }>(async ({ client, out }, [file], o) => {
      const bytes = await readLocalFile(file as string);
      if (bytes.length === 0) throw new LocalIoError(`${file as string} is empty`);
      const uid = await client().register(secretDataObject(bytes, KEYFILE_SECRET_DATA_TYPE), { label: o.label, ...(o.tag.length ? { tags: o.tag } : {}) });
      out.result({ uid }, uid);
    }));
  data
    .command('export')
    .description('write a SecretData value to FILE')
    .argument('<uid>')
    .argument('<file>')
    .action(rt.action(async ({ client, out }, [uid, file]) => {
      const o = await client().get(uid as string);
      if (!o.bytes) throw new LocalIoError(`${uid as string} has no exportable value`);
      await writeLocalFile(file as string, o.bytes);
      out.result({ uid: o.uid, file: file as string, bytes: o.bytes.length }, `exported ${o.bytes.length} bytes to ${file as string}`);
    }));
}
