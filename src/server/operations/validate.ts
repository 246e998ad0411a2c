import { KmipError } from '../../kmip/errors';
import { T, children, child, type TtlvNode, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { effectiveState } from '../model/lifecycle';
import { validateChain, type ChainCertificate, type CrlFetcher } from '../crypto/x509-chain';
import { read } from './payload';

/** A CRL is small; a distribution point that streams more is not one. */
const MAX_CRL_BYTES = 1024 * 1024;
const CRL_TIMEOUT_MS = 5000;

/**
 * CRLs named by http(s) distribution points, as Cosmian's validate.rs fetches them. Local file
 * paths, which Cosmian also reads, are not: a certificate sent by a client would otherwise make
 * the server probe its own file system.
 */
export const fetchCrlOverHttp: CrlFetcher = async (uri) => {
  if (!/^https?:\/\//i.test(uri)) return undefined;
  try {
    const res = await fetch(uri, { redirect: 'error', signal: AbortSignal.timeout(CRL_TIMEOUT_MS) });
    if (!res.ok || !res.body) return undefined;
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Uint8Array).length;
      if (size > MAX_CRL_BYTES) return undefined;
      parts.push(Buffer.from(chunk as Uint8Array));
    }
    return Buffer.concat(parts);
  } catch {
    return undefined;
  }
};

/** A Certificate given inline: Cosmian sends the DER as a ByteString, KMIP as a Certificate object. */
function inlineDer(n: TtlvNode): Buffer {
  if (n.type === 'ByteString') return Buffer.from(n.value);
  const value = n.type === 'Structure' ? read.bytes(n, 'CertificateValue') : undefined;
  if (!value) throw new KmipError('Invalid_Field', 'a Certificate must be the DER bytes or a Certificate object with a CertificateValue');
  return value;
}

async function storedCertificate(ctx: OperationContext, uid: string): Promise<ChainCertificate> {
  const o = await ctx.load(uid);
  if (o.objectType !== 'Certificate') throw new KmipError('Invalid_Object_Type', `Requested a Certificate Object, got a ${o.objectType}`);
  if (!o.material) throw new KmipError('Key_Value_Not_Present', `certificate ${uid} has no value`);
  const state = effectiveState(o, ctx.now());
  // Revoke leaves a certificate Deactivated or Compromised: either way no longer to be trusted.
  return { der: o.material, revoked: state !== 'Active' && state !== 'PreActive' };
}

/**
 * Validate (KMIP 2.1 §6.1.64, 1.x §4.24): one chain, given as UIDs of managed certificates
 * and/or certificates inline, at ValidityDate or now. Nothing given is Unknown, as Cosmian 4.x
 * answered; a chain that fails a check is Invalid (Cosmian 5 answers those with an error instead).
 */
export async function validate(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const inline = children(p).filter((n) => n.tag === 'Certificate');
  const uids = children(p).filter((n) => n.tag === 'UniqueIdentifier');
  const answer = (v: string): TtlvStructure => T.struct('ValidateResponse', [T.enum('ValidityIndicator', v)]);
  if (inline.length === 0 && uids.length === 0) return answer('Unknown');
  const chain: ChainCertificate[] = inline.map((n) => ({ der: inlineDer(n) }));
  for (const n of uids) {
    if (n.type !== 'TextString') throw new KmipError('Invalid_Field', 'UniqueIdentifier must be a text string');
    chain.push(await storedCertificate(ctx, n.value));
  }
  const date = child(p, 'ValidityDate') ? read.date(p, 'ValidityDate') : undefined;
  const verdict = await validateChain(chain, new Date((date ?? ctx.now()) * 1000), fetchCrlOverHttp);
  return answer(verdict.validity);
}
