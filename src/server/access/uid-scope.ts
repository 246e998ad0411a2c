import { createHash } from 'node:crypto';
import type { TtlvNode } from '../../kmip/ttlv';

/**
 * Client-chosen UIDs live in their owner's namespace.
 *
 * A UID such as `payments-master` is stored as it is for the first user who takes it. When
 * another user asks for the same UID, telling them "it exists" would reveal someone else's
 * object, and refusing would let the first user squat the name. So the second user's object
 * is stored under `payments-master` + SCOPE_SEPARATOR + a digest of the owner's name, and that
 * user sees it, everywhere, as `payments-master`: requests name it so (resolution looks in the
 * caller's own namespace first) and responses show it so (presentUids strips the suffix).
 * Other users reach it, if it is shared with them, by the stored form.
 *
 * The separator is a control character no client UID may contain, so no one can claim
 * another user's scoped UID in advance.
 */
export const SCOPE_SEPARATOR = '\u001f';

function scopeSuffix(owner: string): string {
  return SCOPE_SEPARATOR + createHash('sha256').update(owner, 'utf8').digest('base64url').slice(0, 22);
}

/** The stored UID of `uid` in `owner`'s namespace. */
export function scopedUid(uid: string, owner: string): string {
  return uid + scopeSuffix(owner);
}

/** Whether a UID carries a scope suffix, anyone's. */
export function isScoped(uid: string): boolean {
  return uid.includes(SCOPE_SEPARATOR);
}

/** `uid` without `viewer`'s own scope suffix; other users' stored UIDs are shown as they are. */
export function presentUid(uid: string, viewer: string): string {
  const suffix = scopeSuffix(viewer);
  return uid.endsWith(suffix) ? uid.slice(0, -suffix.length) : uid;
}

/** The TTLV tree with every text naming one of `viewer`'s scoped objects shown as the viewer named it. */
export function presentUids<N extends TtlvNode>(node: N, viewer: string): N {
  if (node.type === 'TextString') {
    return isScoped(node.value) ? ({ ...node, value: presentUid(node.value, viewer) } as N) : node;
  }
  if (node.type === 'Structure') {
    let changed = false;
    const value = node.value.map((c) => {
      const shown = presentUids(c, viewer);
      if (shown !== c) changed = true;
      return shown;
    });
    return changed ? ({ ...node, value } as N) : node;
  }
  return node;
}
