import { KmipError } from '../../kmip/errors';
import { USAGE_MASK } from '../../kmip/requests';
import { intAttr } from './attributes';
import type { ManagedObject } from './managed-object';

/** KMIP CryptographicUsageMask bits: the same table the client builds requests with. */
export const USAGE = USAGE_MASK;

/**
 * An object with a usage mask may only be used for what the mask allows. No mask (or 0)
 * means no restriction, which is how keys registered by older clients arrive.
 */
export function requireUsage(o: ManagedObject, operation: string, anyOf: number): void {
  const mask = intAttr(o.attributes, 'CryptographicUsageMask');
  if (mask === undefined || mask === 0 || (mask & USAGE.Unrestricted) !== 0) return;
  if ((mask & anyOf) === 0) {
    throw new KmipError('Incompatible_Cryptographic_Usage_Mask', `the usage mask of ${o.uid} does not allow ${operation}`);
  }
}
