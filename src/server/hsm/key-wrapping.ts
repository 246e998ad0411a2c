import { KmipError } from '../../kmip/errors';
import { child, type TtlvNode } from '../../kmip/ttlv';
import { linkAttribute, linkedId, type AttributeList } from '../model/attributes';
import type { HsmRegistry } from './hsm-registry';
import { parseGenerationLabel } from '../../hsm/generations';
import { kmsWrappingKeyOf } from '../model/kms-wrapping';

/**
 * Database symmetric keys wrapped at rest by an HSM AES key (../shared/reference/hsm-model.md §1
 * "Wrapping a KMS key with an HSM key"). The row's material is the HSM's iv‖ciphertext‖tag;
 * the object carries a WrappingKeyLink to the hsm:: UID. The plaintext never reaches the store.
 *
 * How a client asks for it, per key: Cosmian's vendor attribute `wrapping_key_id` (what
 * `ckms sym keys create --wrapping-key-id hsm::…` sends), as a flat
 * {VendorIdentification, AttributeName "wrapping_key_id", AttributeValue TextString} under
 * Attribute or VendorAttribute. Server-wide: ServerOptions.keyEncryptionKey.
 */
export const WRAPPING_KEY_ID = 'wrapping_key_id';

/** What newObject needs to wrap: the HSMs, the server KEK, the caller. */
export interface KeyWrappingContext {
  user: string;
  hsm: HsmRegistry | undefined;
  kek: string | undefined;
}

function isWrappingKeyIdAttr(n: TtlvNode): boolean {
  if (n.tag !== 'Attribute' && n.tag !== 'VendorAttribute') return false;
  return child(n, 'AttributeName')?.value === WRAPPING_KEY_ID;
}

function isWrappingKeyLink(n: TtlvNode): boolean {
  return n.tag === 'Link' && child(n, 'LinkType')?.value === 'WrappingKeyLink';
}

/** The hsm:: key a database object is wrapped by, if any. */
export function hsmWrappingKeyOf(attributes: AttributeList): string | undefined {
  const uid = linkedId(attributes, 'WrappingKeyLink');
  return uid !== undefined && uid.startsWith('hsm::') ? uid : undefined;
}

export { isWrappingKeyLink };

/**
 * A KMS key to wrap a new key's bytes under when it is stored: as the client named it
 * (`stored` false: resolved in the caller's namespace, `encrypt` needed on it), or the stored
 * UID of the key that wrapped the key a ReKey replaces (`stored` true).
 */
export interface PendingWrap {
  uid: string;
  stored: boolean;
}

/**
 * Wraps a new symmetric key's bytes if the request or the server asks for it. Returns the
 * attributes (without the vendor attribute, with a WrappingKeyLink) and the material to store.
 * A client's own WrappingKeyLink is ignored; one the server passes in serverAttributes
 * (ReKey of a wrapped key) keeps the new key wrapped by the same KEK.
 */
export function wrapNewKey(ctx: KeyWrappingContext, objectType: string, list: AttributeList, material: Buffer, serverAttributes: TtlvNode[] = []): { list: AttributeList; material: Buffer; pendingWrap?: PendingWrap } {
  const requested = list.find(isWrappingKeyIdAttr);
  const requestedUid = requested ? child(requested, 'AttributeValue')?.value : undefined;
  if (requested && (typeof requestedUid !== 'string' || requestedUid.length === 0)) {
    throw new KmipError('Invalid_Attribute_Value', `${WRAPPING_KEY_ID} must be a non-empty text string`);
  }
  const copied = hsmWrappingKeyOf(serverAttributes);
  const rest = list.filter((n) => !isWrappingKeyIdAttr(n) && !isWrappingKeyLink(n));
  // A key registered already wrapped (registered-wrapped.ts) is stored as it came: its bytes are ciphertext already.
  if (objectType !== 'SymmetricKey' || serverAttributes.some((n) => n.tag === 'KeyWrappingData')) {
    if (requested) throw new KmipError('Feature_Not_Supported', `only symmetric keys can be created wrapped by an HSM key, not a ${objectType}`);
    return { list: rest, material };
  }
  // Wrapping under a KMS key needs that key, read from the store: OperationContext.insert does it.
  if (typeof requestedUid === 'string' && !requestedUid.startsWith('hsm::')) return { list: rest, material, pendingWrap: { uid: requestedUid, stored: false } };
  const copiedKms = kmsWrappingKeyOf(serverAttributes);
  if (requestedUid === undefined && copiedKms !== undefined) return { list: rest, material, pendingWrap: { uid: copiedKms, stored: true } };
  // A replacement is wrapped by the newest generation of its predecessor's KEK.
  const kek = (requestedUid as string | undefined) ?? (copied !== undefined ? parseGenerationLabel(copied).base : undefined) ?? ctx.kek;
  if (kek === undefined) return { list: rest, material };
  if (!kek.startsWith('hsm::')) throw new KmipError('Feature_Not_Supported', `keys can be wrapped at rest by an hsm:: key only, not ${kek}`);
  if (!ctx.hsm) throw new KmipError('Item_Not_Found', `no HSM is configured; cannot wrap with ${kek}`);
  if (requested) {
    // Cosmian: an explicit wrapping key needs the caller to be an HSM admin (or hold a grant; this KMS has no grants on HSM keys).
    const route = ctx.hsm.route(kek);
    if (!ctx.hsm.isAdmin(ctx.user, route.config)) throw new KmipError('Permission_Denied', `${ctx.user} is not an admin of HSM ${route.config.prefix}; cannot wrap with ${kek}`);
  }
  const { wrapped, kek: generation } = ctx.hsm.wrapKey(kek, material);
  return { list: [...rest, linkAttribute('WrappingKeyLink', generation)], material: wrapped };
}
