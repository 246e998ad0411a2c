import { X509Certificate } from 'node:crypto';
import { Option, type Command } from 'commander';
import { certificateObject } from '../../kmip/requests';
import type { PlainValue } from '../../kmip/responses';
import { LocalIoError, UsageError } from '../errors';
import { fromPem, readLocalFile, toPem, writeLocalFile } from '../files';
import { collect, parseInteger, type CommandContext, type Runtime } from '../runtime';

interface CertifyOptions {
  privateKeyId?: string;
  publicKeyId?: string;
  subject: string;
  issuerPrivateKeyId?: string;
  issuerCertificateId?: string;
  days?: number;
  ca?: boolean;
  label?: string;
  tag: string[];
}

/** DER certificates in a file: one DER, or every CERTIFICATE block of a PEM bundle. */
function certificatesIn(bytes: Buffer, format: string, file: string): Buffer[] {
  const ders = format === 'der' ? [bytes] : fromPem(bytes.toString('latin1'), 'CERTIFICATE');
  if (ders.length === 0) throw new LocalIoError(`${file} holds no PEM certificate`);
  for (const der of ders) {
    try {
      new X509Certificate(der);
    } catch {
      throw new LocalIoError(`${file} is not a valid ${format.toUpperCase()} X.509 certificate`);
    }
  }
  return ders;
}

function linkedPrivateKey(links: PlainValue | undefined): string | undefined {
  const list = Array.isArray(links) ? links : links ? [links] : [];
  for (const l of list) {
    if (typeof l === 'object' && !Array.isArray(l) && l['LinkType'] === 'PrivateKeyLink') return String(l['LinkedObjectIdentifier']);
  }
  return undefined;
}

/** PKCS#12 bundles a private key with its certificate; the server builds it from the key's UID. */
async function pkcs12KeyUid(ctx: CommandContext, uid: string): Promise<string> {
  const view = await ctx.client().getAttributes(uid, ['ObjectType', 'Link']);
  if (view.attributes['ObjectType'] === 'PrivateKey') return uid;
  const key = linkedPrivateKey(view.attributes['Link']);
  if (!key) throw new UsageError(`certificate ${uid} is not linked to a private key, so it cannot be exported as PKCS#12`);
  return key;
}

export function registerCertificates(program: Command, rt: Runtime): void {
  const certs = program.command('certificates').description('issue, import and export X.509 certificates');
  certs
    .command('certify')
    .description('issue a certificate for a key pair (self-signed unless an issuer is given); prints its UID')
    .option('--private-key-id <uid>', 'private key of the pair')
    .option('--public-key-id <uid>', 'public key of the pair')
    .requiredOption('--subject <dn>', 'subject, e.g. "CN=server,O=Example"')
    .option('--issuer-private-key-id <uid>', 'issuer CA private key')
    .option('--issuer-certificate-id <uid>', 'issuer CA certificate')
    .option('--days <n>', 'validity in days (default 365)', parseInteger('--days'))
    .option('--ca', 'issue a CA certificate (basicConstraints CA:TRUE)')
    .option('--label <label>', 'a Name for the certificate')
    .option('--tag <tag>', 'a tag (repeatable)', collect, [])
    .action(rt.action<CertifyOptions>(async ({ client, out }, _args, o) => {
      const keyUid = o.publicKeyId ?? o.privateKeyId;
      if (!keyUid) throw new UsageError('give --public-key-id or --private-key-id');
      if ((o.issuerPrivateKeyId === undefined) !== (o.issuerCertificateId === undefined)) {
        throw new UsageError('--issuer-private-key-id and --issuer-certificate-id go together');
      }
      const uid = await client().certify({
        keyUid,
        subject: o.subject,
        ...(o.issuerPrivateKeyId && o.issuerCertificateId ? { issuer: { privateKeyUid: o.issuerPrivateKeyId, certificateUid: o.issuerCertificateId } } : {}),
        ...(o.days !== undefined ? { days: o.days } : {}),
        ...(o.ca ? { isCa: true } : {}),
        ...(o.label !== undefined ? { label: o.label } : {}),
        ...(o.tag.length ? { tags: o.tag } : {}),
      });
      out.result({ uid }, uid);
    }));

  certs
    .command('import')
    .description('register the certificate(s) in FILE; prints their UIDs')
    .argument('<file>')
    .addOption(new Option('--format <format>', 'file format').choices(['pem', 'der', 'pkcs12']).default('pem'))
    .option('--password <password>', 'PKCS#12 password')
    .option('--label <label>', 'a Name for the certificate')
    .option('--tag <tag>', 'a tag (repeatable)', collect, [])
    .action(rt.action<{ format: string; password?: string; label?: string; tag: string[] }>(async ({ client, out }, [file], o) => {
      if (o.format === 'pkcs12') {
        throw new UsageError('PKCS#12 import is not supported yet: import the certificate as PEM/DER and the key with the KMIP Import operation');
      }
      const ders = certificatesIn(await readLocalFile(file as string), o.format, file as string);
      const uids: string[] = [];
      for (const der of ders) {
        uids.push(await client().register(certificateObject(der), { ...(o.label ? { label: o.label } : {}), ...(o.tag.length ? { tags: o.tag } : {}) }));
      }
      out.result(uids, uids);
    }));

  certs
    .command('export')
    .description('write a certificate to FILE as PEM, DER, or PKCS#12 with its private key')
    .argument('<uid>')
    .argument('<file>')
    .addOption(new Option('--format <format>', 'file format').choices(['pem', 'der', 'pkcs12']).default('pem'))
    .option('--password <password>', 'PKCS#12 password')
    .action(rt.action<{ format: string; password?: string }>(async (ctx, [uid, file], o) => {
      let bytes: Buffer | string;
      if (o.format === 'pkcs12') {
        if (o.password === undefined) throw new UsageError('--format pkcs12 needs --password');
        const keyUid = await pkcs12KeyUid(ctx, uid as string);
        const p12 = await ctx.client().export(keyUid, { pkcs12Password: o.password });
        if (!p12.bytes) throw new LocalIoError(`the server returned no PKCS#12 value for ${keyUid}`);
        bytes = p12.bytes;
      } else {
        const cert = await ctx.client().export(uid as string);
        if (cert.objectType !== 'Certificate' || !cert.bytes) throw new UsageError(`${uid as string} is a ${cert.objectType}, not a certificate`);
        bytes = o.format === 'der' ? cert.bytes : toPem('CERTIFICATE', cert.bytes);
      }
      await writeLocalFile(file as string, bytes, 0o644);
      ctx.out.result({ uid: uid as string, file: file as string, format: o.format }, `exported ${uid as string} to ${file as string}`);
    }));
}
