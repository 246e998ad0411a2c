import type { Command } from 'commander';
import { encodeJsonText } from '../../kmip/json-codec';
import { getAttributesRequest, getRequest } from '../../kmip/requests';
import { readAttributes, readObject, type RetrievedObject } from '../../kmip/responses';
import { UsageError } from '../errors';
import { writeLocalFile } from '../files';
import type { JsonValue } from '../output';
import { collect, parseInteger, type Runtime } from '../runtime';

/** Friendly --type names → KMIP ObjectType; KMIP names are accepted as they are. */
const OBJECT_TYPES: Readonly<Record<string, string>> = {
  symmetric: 'SymmetricKey', 'symmetric-key': 'SymmetricKey', private: 'PrivateKey', 'private-key': 'PrivateKey',
  public: 'PublicKey', 'public-key': 'PublicKey', certificate: 'Certificate', cert: 'Certificate',
  secret: 'SecretData', 'secret-data': 'SecretData', data: 'SecretData', opaque: 'OpaqueObject',
};

/** `export --format` → KMIP KeyFormatType. json-ttlv keeps the server's own answer. */
export const EXPORT_FORMATS: Readonly<Record<string, string | undefined>> = {
  raw: 'Raw', pkcs1: 'PKCS1', pkcs8: 'PKCS8', spki: 'X509', sec1: 'ECPrivateKey', 'json-ttlv': undefined,
};

export const REVOCATION_REASONS = ['Unspecified', 'KeyCompromise', 'CACompromise', 'AffiliationChanged', 'Superseded', 'CessationOfOperation', 'PrivilegeWithdrawn'];

export function objectJson(o: RetrievedObject): JsonValue {
  return {
    uid: o.uid,
    objectType: o.objectType,
    keyFormatType: o.keyFormatType,
    algorithm: o.algorithm,
    length: o.length,
    value: o.bytes?.toString('hex').toUpperCase(),
    attributes: o.attributes ? { ...o.attributes.attributes, tags: o.attributes.tags } as JsonValue : undefined,
  };
}

interface LocateOptions { type?: string; tag: string[]; label?: string; algorithm?: string; state?: string; max?: number }

export function registerObjects(program: Command, rt: Runtime): void {
  program
    .command('locate')
    .description('list the UIDs of the objects matching every filter given')
    .option('--type <type>', 'object type: symmetric, private, public, certificate, secret (or a KMIP ObjectType)')
    .option('--tag <tag>', 'a tag the object must carry (repeatable)', collect, [])
    .option('--label <label>', 'the object Name')
    .option('--algorithm <algorithm>', 'KMIP CryptographicAlgorithm, e.g. AES, RSA, EC')
    .option('--state <state>', 'KMIP State, e.g. Active, PreActive, Deactivated, Destroyed')
    .option('--max <n>', 'at most this many UIDs', parseInteger('--max'))
    .action(rt.action<LocateOptions>(async ({ client, out }, _args, o) => {
      const uids = await client().locate({
        ...(o.type !== undefined ? { objectType: OBJECT_TYPES[o.type.toLowerCase()] ?? o.type } : {}),
        ...(o.tag.length > 0 ? { tags: o.tag } : {}),
        ...(o.label !== undefined ? { name: o.label } : {}),
        ...(o.algorithm !== undefined ? { algorithm: o.algorithm } : {}),
        ...(o.state !== undefined ? { state: o.state } : {}),
        ...(o.max !== undefined ? { maximumItems: o.max } : {}),
      });
      out.result(uids, uids);
    }));

  program
    .command('get')
    .description('show an active object: type, format, algorithm and value (hex)')
    .argument('<uid>')
    .action(rt.action(async ({ client, out }, [uid]) => {
      const o = await client().get(uid as string);
      const lines = [`uid: ${o.uid}`, `type: ${o.objectType}`];
      if (o.keyFormatType) lines.push(`format: ${o.keyFormatType}`);
      if (o.algorithm) lines.push(`algorithm: ${o.algorithm}${o.length ? ` ${o.length}` : ''}`);
      if (o.bytes) lines.push(`value: ${o.bytes.toString('hex')}`);
      out.result(objectJson(o), lines);
    }));

  program
    .command('export')
    .description('write an object (also revoked or destroyed ones) to FILE')
    .argument('<uid>')
    .argument('<file>')
    .option('--format <format>', `${Object.keys(EXPORT_FORMATS).join('|')} (default: the server's format for the object)`)
    .action(rt.action<{ format?: string }>(async ({ client, out }, [uid, file], o) => {
      if (o.format !== undefined && !(o.format in EXPORT_FORMATS)) throw new UsageError(`unknown format ${o.format}; use ${Object.keys(EXPORT_FORMATS).join(', ')}`);
      const format = o.format !== undefined ? EXPORT_FORMATS[o.format] : undefined;
      const response = await client().call(getRequest(uid as string, format ? { keyFormatType: format } : {}, 'Export'));
      const object = readObject(response);
      const asTtlv = o.format === 'json-ttlv' || !object.bytes;
      if (asTtlv && o.format !== 'json-ttlv') out.note(`the ${object.keyFormatType ?? ''} value is a structure: writing the JSON TTLV export`);
      await writeLocalFile(file as string, asTtlv ? encodeJsonText(response) : (object.bytes as Buffer));
      out.result({ uid: object.uid, file: file as string, format: asTtlv ? 'json-ttlv' : object.keyFormatType }, `exported ${object.uid} to ${file as string}`);
    }));

  program
    .command('attributes')
    .description('show every attribute of an object, tags included')
    .argument('<uid>')
    .action(rt.action(async ({ client, out }, [uid]) => {
      // One round trip: the server leaves tags out of "all attributes", so ask for them separately.
      const [all, tags] = await client().batch([getAttributesRequest(uid as string), getAttributesRequest(uid as string, ['tag'])], { continueOnError: true });
      if (!all?.ok) throw all?.error;
      const view = readAttributes(all.response);
      const tagList = tags?.ok ? readAttributes(tags.response).tags : [];
      const merged = { ...view.attributes, tags: tagList };
      out.result(merged as JsonValue, Object.entries(merged).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`));
    }));

  program
    .command('revoke')
    .description('revoke an object (it can still decrypt and verify, no longer encrypt or sign)')
    .argument('<uid>')
    .option('--reason <code>', `RevocationReasonCode: ${REVOCATION_REASONS.join(', ')}`, 'CessationOfOperation')
    .option('--message <text>', 'a free-text revocation message')
    .action(rt.action<{ reason: string; message?: string }>(async ({ client, out }, [uid], o) => {
      const reason = REVOCATION_REASONS.find((r) => r.toLowerCase() === o.reason.toLowerCase());
      if (!reason) throw new UsageError(`unknown revocation reason ${o.reason}; use ${REVOCATION_REASONS.join(', ')}`);
      const revoked = await client().revoke(uid as string, reason, o.message);
      out.result({ uid: revoked, revoked: true }, `revoked ${revoked}`);
    }));

  program
    .command('destroy')
    .description('destroy an object\'s key material (revoke it first if it is active)')
    .argument('<uid>')
    .option('--remove', 'also delete the object record itself')
    .action(rt.action<{ remove?: boolean }>(async ({ client, out }, [uid], o) => {
      const destroyed = await client().destroy(uid as string, { remove: o.remove === true });
      out.result({ uid: destroyed, destroyed: true }, `destroyed ${destroyed}`);
    }));
}
