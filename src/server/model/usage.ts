import { KmipError } from '../../kmip/errors';
import { intAttr } from './attributes';
import type { ManagedObject } from './managed-object';

/** KMIP CryptographicUsageMask bits. */
export const USAGE = {
  Sign: 0x1, Verify: 0x2, Encrypt: 0x4, Decrypt: 0x8, WrapKey: 0x10, UnwrapKey: 0x20,
  MACGenerate: 0x80, MACVerify: 0x100, DeriveKey: 0x200, KeyAgreement: 0x800,
  CertificateSign: 0x1000, CRLSign: 0x2000, Authenticate: 0x100000, Unrestricted: 0x200000,
} as const;

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
