import { Option, type Command } from 'commander';
import { KEY_TYPES, keyRequest } from '../key-specs';
import { collect, parseInteger, type Runtime } from '../runtime';

interface CreateOptions {
  type: string;
  length?: number;
  curve?: string;
  label?: string;
  tag: string[];
  sensitive?: boolean;
  notExtractable?: boolean;
}

export function registerKeys(program: Command, rt: Runtime): void {
  const keys = program.command('keys').description('create keys and key pairs');
  keys
    .command('create')
    .description('create a symmetric key or a key pair; prints the new UID(s)')
    .addOption(new Option('--type <type>', 'key type').choices([...KEY_TYPES]).makeOptionMandatory())
    .option('--length <bits>', 'key length in bits (aes: 256, hmac: 256, rsa: 2048)', parseInteger('--length'))
    .option('--curve <curve>', 'EC curve: p256, p384, p521, secp256k1 (default p256)')
    .option('--label <label>', 'a Name for the key')
    .option('--tag <tag>', 'a tag (repeatable)', collect, [])
    .option('--sensitive', 'the key can leave the server only wrapped')
    .option('--not-extractable', 'the key can never leave the server')
    .action(rt.action<CreateOptions>(async ({ client, out }, _args, o) => {
      const request = keyRequest(o.type, {
        tags: o.tag,
        extractable: o.notExtractable !== true,
        ...(o.length !== undefined ? { length: o.length } : {}),
        ...(o.curve !== undefined ? { curve: o.curve } : {}),
        ...(o.label !== undefined ? { label: o.label } : {}),
        ...(o.sensitive ? { sensitive: true } : {}),
      });
      if (request.kind === 'symmetric') {
        const uid = await client().create(request.spec);
        out.result({ uid }, uid);
        return;
      }
      const ids = await client().createKeyPair(request.spec);
      out.result({ privateKeyId: ids.privateKeyId, publicKeyId: ids.publicKeyId }, [`private key: ${ids.privateKeyId}`, `public key:  ${ids.publicKeyId}`]);
    }));
}
