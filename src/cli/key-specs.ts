import { USAGE_MASK as U, type KeyPairSpec, type SymmetricKeySpec } from '../kmip/requests';
import { UsageError } from './errors';

/** `keys create --type` values and how each maps onto KMIP Create / CreateKeyPair. */
export const KEY_TYPES = ['aes', 'hmac', 'rsa', 'ec', 'ed25519', 'ed448', 'x25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const CURVES: Readonly<Record<string, string>> = { p256: 'P256', p384: 'P384', p521: 'P521', secp256k1: 'SECP256K1' };

export interface KeyRequestOptions {
  length?: number;
  curve?: string;
  label?: string;
  tags: string[];
  sensitive?: boolean;
  extractable?: boolean;
}

export type KeyRequest = { kind: 'symmetric'; spec: SymmetricKeySpec } | { kind: 'pair'; spec: KeyPairSpec };

/** Cosmian's CLI default for symmetric keys: Encrypt|Decrypt|WrapKey|UnwrapKey|KeyAgreement = 2108. */
const AES_USAGE = U.Encrypt | U.Decrypt | U.WrapKey | U.UnwrapKey | U.KeyAgreement;

/** Masks per half: what each key kind is for, so the server can refuse misuse. */
const PAIR_USAGE: Readonly<Record<'rsa' | 'ec' | 'ed' | 'x25519', { priv: number; pub: number }>> = {
  rsa: { priv: U.Sign | U.Decrypt | U.UnwrapKey, pub: U.Verify | U.Encrypt | U.WrapKey },
  ec: { priv: U.Sign | U.KeyAgreement, pub: U.Verify | U.KeyAgreement },
  ed: { priv: U.Sign, pub: U.Verify },
  x25519: { priv: U.KeyAgreement, pub: U.KeyAgreement },
};

export function keyRequest(type: string, o: KeyRequestOptions): KeyRequest {
  const attrs = {
    ...(o.label !== undefined ? { label: o.label } : {}),
    ...(o.tags.length > 0 ? { tags: o.tags } : {}),
    ...(o.sensitive ? { sensitive: true } : {}),
    ...(o.extractable === false ? { extractable: false } : {}),
  };
  const pair = (algorithm: string, usage: { priv: number; pub: number }, extra: Partial<KeyPairSpec> = {}): KeyRequest => ({
    kind: 'pair',
    spec: { ...attrs, algorithm, privateUsageMask: usage.priv, publicUsageMask: usage.pub, ...extra },
  });
  if (o.curve !== undefined && type !== 'ec') throw new UsageError('--curve only applies to --type ec');
  switch (type) {
    case 'aes':
      return { kind: 'symmetric', spec: { ...attrs, algorithm: 'AES', length: o.length ?? 256, usageMask: AES_USAGE } };
    case 'hmac':
      return { kind: 'symmetric', spec: { ...attrs, algorithm: 'HMACSHA256', length: o.length ?? 256, usageMask: U.MACGenerate | U.MACVerify } };
    case 'rsa':
      return pair('RSA', PAIR_USAGE.rsa, { length: o.length ?? 2048 });
    case 'ec': {
      const curve = CURVES[(o.curve ?? 'p256').toLowerCase()];
      if (!curve) throw new UsageError(`unknown curve ${o.curve}; use one of ${Object.keys(CURVES).join(', ')}`);
      return pair('EC', PAIR_USAGE.ec, { curve });
    }
    case 'ed25519':
      return pair('Ed25519', PAIR_USAGE.ed);
    case 'ed448':
      return pair('Ed448', PAIR_USAGE.ed);
    case 'x25519':
      return pair('ECDH', PAIR_USAGE.x25519, { curve: 'CURVE25519' });
    default:
      throw new UsageError(`unknown key type ${type}; use one of ${KEY_TYPES.join(', ')}`);
  }
}
