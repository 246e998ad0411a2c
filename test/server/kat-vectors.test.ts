import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { KAT_DIR, startTestServer } from '../support/server';

/**
 * The vector runner: every manifest under shared/kmip-vectors/kat, each step a bare KMIP 2.1
 * operation posted to /kmip/2_1, with captures and exact field assertions, as Cosmian's
 * vector_runner does.
 */

interface Step {
  operation: string;
  request: string;
  assert_success?: boolean;
  capture?: Record<string, string>;
  assert_fields?: Record<string, string>;
  assert_error_reason?: string;
}

interface JsonNode {
  tag: string;
  type?: string;
  value: unknown;
}

function manifests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...manifests(path));
    else if (name === 'manifest.toml') out.push(path);
  }
  return out.sort();
}

/** Depth-first search for the first field with this tag. */
function findField(node: JsonNode, tag: string): JsonNode | undefined {
  if (node.tag === tag) return node;
  if (Array.isArray(node.value)) {
    for (const c of node.value as JsonNode[]) {
      const hit = findField(c, tag);
      if (hit) return hit;
    }
  }
  return undefined;
}

const katDir = KAT_DIR;

t.test('KMIP known-answer vectors', async (t) => {
  const server = await startTestServer(t);
  const all = manifests(katDir);
  t.ok(all.length >= 40, `found ${all.length} vectors under ${katDir}`);
  for (const manifestPath of all) {
    const dir = join(manifestPath, '..');
    const manifest = parseToml(readFileSync(manifestPath, 'utf8')) as unknown as { name: string; steps: Step[] };
    await t.test(relative(katDir, dir), async (t) => {
      const captured: Record<string, string> = {};
      for (const step of manifest.steps) {
        let body = readFileSync(join(dir, step.request), 'utf8');
        body = body.replace(/\{\{(\w+)\}\}/g, (_, name: string) => captured[name] ?? `{{${name}}}`);
        const res = await server.post('/kmip/2_1', body);
        if (step.assert_success === false || step.assert_error_reason) {
          t.not(res.status, 200, `${step.request} must fail`);
          if (step.assert_error_reason) t.match(res.text, step.assert_error_reason, `${step.request} reason`);
          continue;
        }
        t.equal(res.status, 200, `${step.request}: ${res.status === 200 ? 'ok' : res.text}`);
        if (res.status !== 200) return;
        const response = JSON.parse(res.text) as JsonNode;
        for (const [name, field] of Object.entries(step.capture ?? {})) {
          const node = findField(response, field);
          t.ok(node, `${step.request} returns ${field}`);
          if (node) captured[name] = String(node.value);
        }
        for (const [field, expected] of Object.entries(step.assert_fields ?? {})) {
          const node = findField(response, field);
          t.equal(node ? String(node.value) : undefined, expected, `${step.request}: ${field}`);
        }
      }
    });
  }
});
