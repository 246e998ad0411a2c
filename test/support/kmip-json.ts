/**
 * Cosmian-style JSON TTLV over HTTP, written by hand the way Cosmian's clients send it
 * (structures without "type", byte strings in upper-case hex), so a test sees exactly what
 * a Cosmian client would.
 */
import type { TestServer } from './server';

export interface JsonTtlv {
  tag: string;
  type?: string;
  value: unknown;
}

export const J = {
  text: (tag: string, value: string): JsonTtlv => ({ tag, type: 'TextString', value }),
  enm: (tag: string, value: string): JsonTtlv => ({ tag, type: 'Enumeration', value }),
  int: (tag: string, value: number): JsonTtlv => ({ tag, type: 'Integer', value }),
  bool: (tag: string, value: boolean): JsonTtlv => ({ tag, type: 'Boolean', value }),
  bytes: (tag: string, value: Buffer): JsonTtlv => ({ tag, type: 'ByteString', value: value.toString('hex').toUpperCase() }),
  date: (tag: string, value: Date): JsonTtlv => ({ tag, type: 'DateTime', value: value.toISOString().replace(/\.\d{3}Z$/, 'Z') }),
  struct: (tag: string, value: JsonTtlv[]): JsonTtlv => ({ tag, value }),
};

export interface JsonAnswer {
  status: number;
  text: string;
  body?: JsonTtlv;
}

/** POSTs one bare operation to /kmip/2_1, as Cosmian's CLI and KmsClient do. */
export async function kmip21(server: TestServer, op: JsonTtlv): Promise<JsonAnswer> {
  const res = await server.post('/kmip/2_1', JSON.stringify(op));
  let body: JsonTtlv | undefined;
  try {
    body = res.status === 200 ? (JSON.parse(res.text) as JsonTtlv) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, text: res.text, ...(body ? { body } : {}) };
}

/** Like kmip21, failing the test's promise with the server's text when the status is not 200. */
export async function ok21(server: TestServer, op: JsonTtlv): Promise<JsonTtlv> {
  const a = await kmip21(server, op);
  if (a.status !== 200 || !a.body) throw new Error(`${op.tag} answered ${a.status}: ${a.text}`);
  return a.body;
}

/** The first direct child with this tag. */
export function field(node: JsonTtlv | undefined, tag: string): JsonTtlv | undefined {
  return Array.isArray(node?.value) ? (node.value as JsonTtlv[]).find((n) => n.tag === tag) : undefined;
}

export function fields(node: JsonTtlv | undefined, tag: string): JsonTtlv[] {
  return Array.isArray(node?.value) ? (node.value as JsonTtlv[]).filter((n) => n.tag === tag) : [];
}

export function textOf(node: JsonTtlv | undefined, tag: string): string {
  const v = field(node, tag)?.value;
  if (typeof v !== 'string') throw new Error(`no ${tag} in ${JSON.stringify(node)}`);
  return v;
}

export function bytesOf(node: JsonTtlv | undefined, tag: string): Buffer {
  return Buffer.from(textOf(node, tag), 'hex');
}
