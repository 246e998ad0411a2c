import { KmipError } from '../../kmip/errors';
import { T, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { intAttr } from '../model/attributes';
import { USAGE } from '../model/usage';
import { read } from './payload';

/**
 * Check (KMIP 2.1 §6.1.9, 1.x §4.10), as Cosmian 5.11 implements it
 * (Cosmian/kms crate/server/src/core/operations/check.rs): the object must exist and be
 * readable by the caller; a CryptographicUsageMask in the request must be wholly allowed by the
 * object's mask, else Incompatible_Cryptographic_Usage_Mask "Check Failed". UsageLimitsCount and
 * LeaseTime are accepted and not checked, and the answer carries only the UniqueIdentifier,
 * as there.
 */
export async function check(p: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
  const uid = await ctx.resolveUid(p);
  const o = await ctx.load(uid);
  const requested = read.int(p, 'CryptographicUsageMask');
  if (requested !== undefined) {
    const mask = intAttr(o.attributes, 'CryptographicUsageMask');
    // No mask, or Unrestricted, allows everything (the same rule as every cryptographic operation here).
    const unrestricted = mask === undefined || mask === 0 || (mask & USAGE.Unrestricted) !== 0;
    if (!unrestricted && ((mask as number) & requested) !== requested) {
      throw new KmipError('Incompatible_Cryptographic_Usage_Mask', 'Check Failed');
    }
  }
  return T.struct('CheckResponse', [T.text('UniqueIdentifier', uid)]);
}
