import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { KAT_DIR } from '../support/server';
import { parse as parseToml } from 'smol-toml';

/**
 * Reads the Cosmian KAT vectors as plain data for the engine tests: each step's request
 * flattened to tag → value, and the manifest's expected response fields. No KMIP layer.
 */

export { KAT_DIR };

interface JsonNode {
  tag: string;
  type?: string;
  value: unknown;
}

export interface KatStep {
  operation: string;
  /** Every leaf field of the request by tag (the first occurrence wins; tags are unique here). */
  fields: Record<string, string>;
  expect: Record<string, string>;
}

export interface KatVector {
  name: string;
  steps: KatStep[];
}

function leaves(node: JsonNode, out: Record<string, string>): Record<string, string> {
  if (Array.isArray(node.value)) for (const c of node.value as JsonNode[]) leaves(c, out);
  else if (!(node.tag in out)) out[node.tag] = String(node.value);
  return out;
}

export function katVectors(category: string): KatVector[] {
  const dir = join(KAT_DIR, category);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().map((name) => {
    const manifest = parseToml(readFileSync(join(dir, name, 'manifest.toml'), 'utf8')) as unknown as {
      steps: { operation: string; request: string; assert_fields?: Record<string, string> }[];
    };
    const steps = manifest.steps.map((s) => ({
      operation: s.operation,
      fields: leaves(JSON.parse(readFileSync(join(dir, name, s.request), 'utf8')) as JsonNode, {}),
      expect: s.assert_fields ?? {},
    }));
    return { name, steps };
  });
}

export const hex = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'hex');
export const opt = (s: string | undefined): Buffer | undefined => (s === undefined ? undefined : hex(s));
