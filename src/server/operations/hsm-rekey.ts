import { KmipError } from '../../kmip/errors';
import { T, type TtlvStructure } from '../../kmip/ttlv';
import { createAesKey, type AesBits } from '../../hsm/keys';
import { generationLabel, latestGeneration, parseGenerationLabel } from '../../hsm/generations';
import type { OperationContext } from '../context';
import type { HsmKeyRoute, HsmRegistry } from '../hsm/hsm-registry';
import { linkAttribute, linkedId } from '../model/attributes';
import { isWrappingKeyLink } from '../hsm/key-wrapping';
import { fromStored } from '../model/managed-object';
import { keyInfo } from './hsm-crypto-ops';
import { read } from './payload';
import type { HsmOperationEnv } from './hsm-ops';

/**
 * ReKey of an HSM AES key, typically the key-encryption key (../shared/reference/hsm-model.md
 * §4): a new generation `<base>@<n+1>` is generated on the same slot, and every database key
 * wrapped by an older generation is re-wrapped under it. The older generations stay on the
 * HSM, so a key that could not be re-wrapped, or one wrapped while the re-key ran, still unwraps.
 *
 * Unlike Cosmian, which re-wraps only the keys the caller owns, every dependant is re-wrapped:
 * the HSM admin re-keys the KEK in order to retire the old one, whoever owns the keys under it.
 */
export async function hsmReKey(p: TtlvStructure, route: HsmKeyRoute, { ctx, hsm }: HsmOperationEnv): Promise<TtlvStructure> {
  if (read.int(p, 'Offset') !== undefined) throw new KmipError('Feature_Not_Supported', 'an HSM key is re-keyed at once; Offset is not supported');
  const info = keyInfo(route);
  if (info.keyClass !== 'secret' || info.keyType !== 'AES') throw new KmipError('Invalid_Object_Type', `only AES keys on the HSM can be re-keyed, not ${route.uid}`);
  const { base, generation } = parseGenerationLabel(route.label);
  const newest = latestGeneration(route.slot, base);
  if (generation !== undefined && generation !== newest) {
    throw new KmipError('Invalid_Field', `${route.uid} is generation ${generation} of ${base}; only the newest (${newest}) can be re-keyed`);
  }
  const fresh = hsm.withLabel(route, generationLabel(base, newest + 1));
  createAesKey(route.slot, fresh.label, info.bits as AesBits);
  const previous = Array.from({ length: newest + 1 }, (_, n) => hsm.withLabel(route, generationLabel(base, n)).uid);
  await rewrapDependants(ctx, hsm, previous, fresh.uid);
  return T.struct('ReKeyResponse', [T.text('UniqueIdentifier', fresh.uid)]);
}

/** Re-wraps every live database key wrapped by one of `oldKeks` under `newKek`, one row at a time. */
async function rewrapDependants(ctx: OperationContext, hsm: HsmRegistry, oldKeks: string[], newKek: string): Promise<void> {
  const failed: string[] = [];
  for (const uid of await ctx.store.locate({ wrappedBy: oldKeks })) {
    const stored = await ctx.store.get(uid);
    if (!stored || stored.material === null) continue; // destroyed meanwhile
    const o = fromStored(stored);
    const oldKek = linkedId(o.attributes, 'WrappingKeyLink');
    if (oldKek === undefined || !oldKeks.includes(oldKek)) continue; // re-wrapped meanwhile
    try {
      const material = hsm.rewrapKey(uid, oldKek, newKek, stored.material);
      const attributes = [...o.attributes.filter((a) => !isWrappingKeyLink(a)), linkAttribute('WrappingKeyLink', newKek)];
      await ctx.save({ ...o, attributes, material });
    } catch (e) {
      failed.push(`${uid} (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (failed.length > 0) {
    throw new KmipError('General_Failure', `${newKek} was created, but ${failed.length} key(s) stay wrapped by the previous generation, which still unwraps them: ${failed.slice(0, 5).join('; ')}`);
  }
}
