import http from 'node:http';
import { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBinary, encodeBinary, findProtocolMajor } from '../../src/kmip/binary-codec';
import { KmipError } from '../../src/kmip/errors';
import { AuditTrail } from '../../src/server/audit';
import { KmipEndpoint } from '../../src/server/endpoint';
import { createKmipHttpServer } from '../../src/server/http';
import type { LogFields, Logger } from '../../src/server/logger';
import { SqliteStore } from '../../src/server/store/sqlite';
import { countExecution } from './harness';

/**
 * The HTTP endpoint in-process: the request handler of createKmipHttpServer, with a real
 * KmipEndpoint on a SQLite file, gets the fuzz input as the body of a POST. The first byte
 * picks the route and content type. A crash is a 500, or an exception other than a KmipError
 * that the server turned into an answer: a batch item reports it as General_Failure, the
 * route's catch logs "request failed", and the binary route answers Cosmian's fixed error
 * for any exception, so there the harness runs the message again to see what was thrown.
 */

const ROUTES = [
  { path: '/kmip/2_1', type: 'application/json' },
  { path: '/kmip', type: 'application/json' },
  { path: '/kmip', type: 'application/octet-stream' },
] as const;

let unexpected: string | undefined;
let binaryFailed = false;
const watch = (level: string) => (msg: string, fields?: LogFields): void => {
  if (msg === 'binary response failed') binaryFailed = true;
  else if (level === 'error' || fields?.['reason'] === 'General_Failure') unexpected ??= `${level} "${msg}" ${JSON.stringify(fields ?? {})}`;
};
const log: Logger = { debug: watch('debug'), info: watch('info'), warn: watch('warn'), error: watch('error') };

const dir = mkdtempSync(join(tmpdir(), 'p11kms-fuzz-http-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const store = new SqliteStore(join(dir, 'kms.sqlite'));
const endpoint = new KmipEndpoint(store, log, new AuditTrail(store, log));
const server = createKmipHttpServer(endpoint, { defaultUser: 'fuzz' }, log);

function request(path: string, type: string, body: Buffer): http.IncomingMessage {
  const req = new http.IncomingMessage(new Socket());
  req.method = 'POST';
  req.url = path;
  req.headers = { 'content-type': type, 'content-length': String(body.length) };
  req.push(body);
  req.push(null);
  // As the parser would mark it: the whole body has arrived (readBody checks this on close).
  req.complete = true;
  return req;
}

/** Resolves with the status once the handler ends the response; nothing goes to a socket. */
function respond(req: http.IncomingMessage): Promise<number> {
  const res = new http.ServerResponse(req);
  return new Promise((resolve) => {
    const end = res.end.bind(res);
    res.end = ((...args: Parameters<typeof end>) => {
      resolve(res.statusCode);
      const ended = end(...args);
      // A response on a real connection emits 'close' once it is out; one with no socket never
      // does, and the server releases the request's in-flight bytes on 'close'.
      process.nextTick(() => res.emit('close'));
      return ended;
    }) as typeof res.end;
    server.emit('request', req, res);
  });
}

export async function fuzz(data: Buffer): Promise<void> {
  countExecution('http');
  const route = ROUTES[(data[0] ?? 0) % ROUTES.length] as (typeof ROUTES)[number];
  unexpected = undefined;
  binaryFailed = false;
  const body = data.subarray(1);
  const status = await respond(request(route.path, route.type, body));
  if (status >= 500) throw new Error(`HTTP ${status} from POST ${route.path} (${route.type})${unexpected ? `: ${unexpected}` : ''}`);
  if (unexpected) throw new Error(`unexpected failure behind HTTP ${status} from POST ${route.path} (${route.type}): ${unexpected}`);
  if (binaryFailed) await rerunBinary(body);
}

/** What runBinary does after decoding, where a KmipError is an answer and anything else a crash. */
async function rerunBinary(body: Buffer): Promise<void> {
  try {
    encodeBinary(await endpoint.runMessage(decodeBinary(body), 'fuzz'), findProtocolMajor(body) ?? 2);
  } catch (e) {
    if (!(e instanceof KmipError)) throw e;
  }
}
