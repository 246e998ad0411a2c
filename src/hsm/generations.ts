import * as pkcs11 from 'pkcs11js';
import { findHandles } from './keys';
import type { HsmSlot } from './slot';

/**
 * Generations of a re-keyed HSM AES key. Generation 0 is labelled `<base>`; each ReKey adds
 * `<base>@<n>`. The old generations stay on the token, so whatever they encrypted can still
 * be decrypted. (Cosmian also relabels the keys it rotates; we never touch an existing label,
 * so a crash half-way through a ReKey leaves every key findable under the name it had.)
 */

const GENERATION = /^(.+)@(\d+)$/;

export interface GenerationLabel {
  base: string;
  /** undefined when the label names the base, i.e. "the latest generation". */
  generation: number | undefined;
}

export function parseGenerationLabel(label: string): GenerationLabel {
  const m = GENERATION.exec(label);
  if (!m) return { base: label, generation: undefined };
  return { base: m[1] as string, generation: Number(m[2]) };
}

export function generationLabel(base: string, generation: number): string {
  return generation === 0 ? base : `${base}@${generation}`;
}

function secretKeyExists(slot: HsmSlot, label: string): boolean {
  return slot.withSession({ operation: 'find generation', label }, (session, p11) =>
    findHandles(slot, session, p11, [{ type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY }, { type: pkcs11.CKA_LABEL, value: label }]).length > 0);
}

/**
 * The newest generation of `base`: one find for a key that was never re-keyed, one more per
 * ReKey. Generations are consecutive because only ReKey makes them, each from the newest.
 */
export function latestGeneration(slot: HsmSlot, base: string): number {
  let n = 0;
  while (secretKeyExists(slot, generationLabel(base, n + 1))) n++;
  return n;
}
