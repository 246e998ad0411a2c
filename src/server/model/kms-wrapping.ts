import { KmipError } from '../../kmip/errors';
import { T, type TtlvNode } from '../../kmip/ttlv';
import { symmetricDecrypt, symmetricEncrypt } from '../crypto';
import { linkedId, textAttr, type AttributeList } from './attributes';
import type { ManagedObject } from './managed-object';

/**
 * Keys stored wrapped at rest by another KMS key (not an hsm:: one): Cosmian's
 * `wrapping_key_id` vendor attribute (`ckms sym keys create --wrapping-key-id <uid>`) naming a
 * database key. As Cosmian does for a symmetric wrapping key without parameters
 * (crate/server/src/core/wrapping/wrap.rs), the bytes are wrapped with AES key wrap with
 * padding (RFC 5649); the row holds the wrapped bytes and a WrappingKeyLink to the wrapping
 * key's stored UID. Operations unwrap them transparently for whoever may use the wrapped key:
 * like Cosmian, unwrapping needs no right on the wrapping key, wrapping needs `encrypt` on it.
 * Keys that arrived wrapped by a KMS key (registered-wrapped.ts) join this mechanism: the same
 * WrappingKeyLink, unwrapped on use, with the key wrap mode their KeyWrappingData names.
 */

/** The key an object is stored wrapped by, an hsm:: key or a KMS key. */
export function wrappingKeyOf(attributes: AttributeList): string | undefined {
  return linkedId(attributes, 'WrappingKeyLink');
}

/** The KMS key (not an HSM key) an object is stored wrapped by. */
export function kmsWrappingKeyOf(attributes: AttributeList): string | undefined {
  const uid = wrappingKeyOf(attributes);
  return uid !== undefined && !uid.startsWith('hsm::') ? uid : undefined;
}

/** What may wrap at rest: an AES key, active (wrapping is a protection, KMIP 2.1 §3.22). */
export function checkWrappingKey(w: ManagedObject, state: string): void {
  if (w.objectType !== 'SymmetricKey' || (textAttr(w.attributes, 'CryptographicAlgorithm') ?? 'AES') !== 'AES') {
    throw new KmipError('Feature_Not_Supported', `keys are wrapped at rest by an AES key or an hsm:: key; ${w.uid} is a ${w.objectType}`);
  }
  if (state !== 'Active') throw new KmipError('Wrong_Key_Lifecycle_State', `the wrapping key ${w.uid} is ${state}; wrapping needs an Active key`);
}

export function wrapAtRest(wrappingKey: Buffer, plain: Buffer): Buffer {
  return symmetricEncrypt({ algorithm: 'AES', mode: 'AESKeyWrapPadding', key: wrappingKey, data: plain }).data;
}

export function unwrapAtRest(wrappingKey: Buffer, wrapped: Buffer): Buffer {
  return symmetricDecrypt({ algorithm: 'AES', mode: 'AESKeyWrapPadding', key: wrappingKey, data: wrapped });
}

/**
 * Cosmian's KeyWrappingData for a key stored wrapped at rest: RFC 5649 (AESKeyWrapPadding) under
 * the wrapping key's UID. For a KMS AES key that is the cipher; for an HSM key Cosmian writes the
 * same, though the HSM cipher is AES-GCM.
 */
export function atRestKeyWrappingData(wrappingUid: string): TtlvNode {
  return T.struct('KeyWrappingData', [
    T.enum('WrappingMethod', 'Encrypt'),
    T.struct('EncryptionKeyInformation', [
      T.text('UniqueIdentifier', wrappingUid),
      T.struct('CryptographicParameters', [T.enum('BlockCipherMode', 'AESKeyWrapPadding')]),
    ]),
  ]);
}
