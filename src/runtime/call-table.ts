import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The call table shared with the C shim (native/calls.json). The shim is compiled from the
 * same file; the digest of both is compared at C_Initialize so that a shim and a runtime
 * from different builds refuse to talk instead of misreading each other's frames.
 */
export interface CallSignature {
  id: number;
  name: string;
  req: string;
  res: string;
}

export interface CallTable {
  protocol: { major: number; minor: number };
  paramKinds: Record<string, number>;
  calls: CallSignature[];
  digest: string;
  byId: Map<number, CallSignature>;
}

function locateTable(): string {
  // dist/src/runtime → the package root, which holds native/ next to dist/.
  return join(__dirname, '..', '..', '..', 'native', 'calls.json');
}

function isSignature(value: unknown): value is CallSignature {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['id'] === 'number' && typeof v['name'] === 'string' && typeof v['req'] === 'string' && typeof v['res'] === 'string';
}

export function loadCallTable(path = locateTable()): CallTable {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`${path}: not a call table`);
  const raw = parsed as { protocol?: unknown; paramKinds?: unknown; calls?: unknown };
  if (!Array.isArray(raw.calls) || !raw.calls.every(isSignature)) throw new Error(`${path}: bad calls`);
  const protocol = raw.protocol as { major: number; minor: number };
  const paramKinds = raw.paramKinds as Record<string, number>;
  const calls = raw.calls;
  // Same canonical text as native/gen-calls.js.
  const digest = createHash('sha256').update(JSON.stringify({ calls, paramKinds, protocol })).digest('hex');
  return { protocol, paramKinds, calls, digest, byId: new Map(calls.map((c) => [c.id, c])) };
}

/** A signature string split into its letters; `sNN` stays whole. */
export function signatureItems(signature: string): string[] {
  const items: string[] = [];
  for (let i = 0; i < signature.length; i++) {
    const letter = signature[i] as string;
    if (letter === 's') {
      let j = i + 1;
      while (j < signature.length && /[0-9]/.test(signature[j] as string)) j++;
      items.push(signature.slice(i, j));
      i = j - 1;
    } else {
      items.push(letter);
    }
  }
  return items;
}
