import t, { type Test } from 'tap';
import http from 'node:http';
import { KmipClient } from '../../src/kmip/client';
import { encodeBinary } from '../../src/kmip/binary-codec';
import { encodeJsonText } from '../../src/kmip/json-codec';
import { buildRequestMessage } from '../../src/kmip/messages';
import { queryRequest } from '../../src/kmip/requests';
import { startTestServer, type TestServer } from '../support/server';
import { grant } from '../support/two-users';

/**
 * Issue 11 items 8 and 9: a web page a KMS user visits cannot post to the KMS (415 for every
 * body type a browser sends without a CORS preflight), errors are never HTML, there are no CORS
 * headers, and the request target is taken as sent: a path a URL parser would normalise is
 * refused, not routed somewhere else.
 */

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * One request with the path exactly as given: fetch (WHATWG URL) would turn /a/../b into /b
 * before it left, which is the very thing under test.
 */
function raw(server: TestServer, method: string, path: string, headers: Record<string, string | number> = {}, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path, headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // A 413 or 415 can arrive, and the connection close, before the whole body is out: an error after the answer is no failure.
    req.on('error', (e) => (answered ? undefined : reject(e)));
    req.end(body);
  });
}

const CREATE_AES = JSON.stringify({ tag: 'Create', value: [
  { tag: 'ObjectType', type: 'Enumeration', value: 'SymmetricKey' },
  { tag: 'Attributes', value: [
    { tag: 'CryptographicAlgorithm', type: 'Enumeration', value: 'AES' },
    { tag: 'CryptographicLength', type: 'Integer', value: 256 },
    { tag: 'CryptographicUsageMask', type: 'Integer', value: 12 },
  ] },
] });

/** The Content-Type headers a page can make a browser send cross-origin without a preflight, and none at all. */
const BROWSER_TYPES: [string, Record<string, string>][] = [
  ['form-encoded', { 'Content-Type': 'application/x-www-form-urlencoded' }],
  ['multipart', { 'Content-Type': 'multipart/form-data; boundary=x' }],
  ['text/plain', { 'Content-Type': 'text/plain' }],
  ['text/plain with charset', { 'Content-Type': 'text/plain; charset=utf-8' }],
  ['no Content-Type', {}],
];

function assertPlainError(t: Test, res: Answer, what: string): void {
  t.match(res.headers['content-type'], /^(text\/plain|application\/json)/, `${what}: the answer is text or JSON, never HTML`);
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
}

t.test('attack: a web page posts a KMIP Create to the KMS as a form, multipart or text/plain', async (t) => {
  // No authentication: every request runs as the default user, the case a page on any site could reach on localhost.
  const server = await startTestServer(t);
  const client = new KmipClient({ url: server.url });
  t.teardown(() => client.close());
  for (const [what, headers] of BROWSER_TYPES) {
    for (const path of ['/kmip/2_1', '/kmip']) {
      const res = await raw(server, 'POST', path, headers, CREATE_AES);
      t.equal(res.status, 415, `${what} to ${path}: 415`);
      t.match(res.text, /^Invalid_Message: Unsupported content type: /, `${what} to ${path}: the reason`);
      t.equal(res.headers['accept'], path === '/kmip' ? 'application/json, application/octet-stream' : 'application/json', `${what} to ${path}: Accept names what is taken`);
      assertPlainError(t, res, `${what} to ${path}`);
    }
  }
  t.same(await client.locate(), [], 'none of them created anything');
  t.equal((await raw(server, 'POST', '/kmip/2_1', { 'Content-Type': 'application/json' }, CREATE_AES)).status, 200, 'the control: the same body as JSON creates the key');
});

t.test('attack: a web page posts a grant to /access/grant or a revocation to /access/revoke as a form', async (t) => {
  const server = await startTestServer(t);
  const client = new KmipClient({ url: server.url });
  t.teardown(() => client.close());
  const uid = await client.create({ algorithm: 'AES', length: 256 });
  const change = JSON.stringify({ unique_identifier: uid, user_id: 'mallory', operation_types: ['get'] });
  for (const [what, headers] of BROWSER_TYPES) {
    for (const path of ['/access/grant', '/access/revoke']) {
      const res = await raw(server, 'POST', path, headers, change);
      t.equal(res.status, 415, `${what} to ${path}: 415`);
      t.equal(res.text, `Invalid_Message: Unsupported content type: ${path} takes application/json`, `${what} to ${path}: the reason`);
      assertPlainError(t, res, `${what} to ${path}`);
    }
  }
  t.same(await client.rest('GET', `/access/list/${uid}`), [], 'nobody was granted anything');
});

t.test('what our clients and Cosmian clients send is still accepted', async (t) => {
  const server = await startTestServer(t);
  const json = encodeJsonText(queryRequest());
  for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8']) {
    t.equal((await raw(server, 'POST', '/kmip/2_1', { 'Content-Type': type }, json)).status, 200, `/kmip/2_1 takes ${type}`);
    t.equal((await raw(server, 'POST', '/kmip', { 'Content-Type': type }, encodeJsonText(buildRequestMessage([queryRequest()])))).status, 200, `/kmip takes ${type}`);
  }
  const bin = await raw(server, 'POST', '/kmip', { 'Content-Type': 'application/octet-stream' }, encodeBinary(buildRequestMessage([queryRequest()])));
  t.equal(bin.status, 200, '/kmip takes application/octet-stream (Cosmian\'s binary TTLV over HTTP)');
  t.equal(bin.headers['content-type'], 'application/octet-stream');

  // KmipClient is what the CLI and the PKCS#11 module use (src/pkcs11/kms-connection.ts).
  const client = new KmipClient({ url: server.url });
  t.teardown(() => client.close());
  const uid = await client.create({ algorithm: 'AES', length: 128 });
  await grant(client, uid, 'bob', ['encrypt']);
  t.same(await client.rest('GET', `/access/list/${uid}`), [{ user_id: 'bob', operations: ['encrypt'] }], 'KmipClient\'s KMIP and /access calls pass');
});

t.test('attack: input reflected in an error page that a browser renders as HTML', async (t) => {
  const server = await startTestServer(t, { maxRequestBytes: 4096 });
  const markup = '<script>alert(1)</script>';
  const cases: [string, Promise<Answer>, number][] = [
    ['an unknown route with markup in the path', raw(server, 'GET', `/${markup}`), 404],
    ['an unknown KMIP operation, which the error quotes', raw(server, 'POST', '/kmip/2_1', { 'Content-Type': 'application/json' }, JSON.stringify({ tag: markup, value: [] })), 404],
    ['a Get of a UID that is markup', raw(server, 'POST', '/kmip/2_1', { 'Content-Type': 'application/json' }, JSON.stringify({ tag: 'Get', value: [{ tag: 'UniqueIdentifier', type: 'TextString', value: markup }] })), 422],
    ['an audit query with markup', raw(server, 'GET', `/audit?since=${encodeURIComponent(markup)}`), 422],
    ['a body over the limit', raw(server, 'POST', '/kmip/2_1', { 'Content-Type': 'application/json' }, 'x'.repeat(5000)), 413],
    ['a bad path', raw(server, 'GET', '/access/list/%ZZ'), 400],
    ['a form post', raw(server, 'POST', '/kmip/2_1', { 'Content-Type': 'text/plain' }, markup), 415],
  ];
  for (const [what, answer, status] of cases) {
    const res = await answer;
    t.equal(res.status, status, `${what}: ${status}`);
    t.equal(res.headers['content-type'], 'text/plain; charset=utf-8', `${what}: text/plain`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff, so no browser sniffs it as HTML`);
  }
  for (const [path, type] of [['/health', 'application/json'], ['/version', 'application/json']]) {
    const res = await raw(server, 'GET', path as string);
    t.equal(res.headers['content-type'], type, `${path}: ${type}`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${path}: nosniff on successes too`);
  }
  const authServer = await startTestServer(t, { apiTokens: ['alice:alice-token-5c1d'] });
  const refused = await raw(authServer, 'POST', '/kmip/2_1', { 'Content-Type': 'application/json', Authorization: `Bearer ${markup}` }, '{}');
  t.equal(refused.status, 401, 'a refused credential: 401');
  assertPlainError(t, refused, 'the 401');
});

t.test('attack: a cross-origin page reads KMS answers through CORS', async (t) => {
  const server = await startTestServer(t);
  const origin = 'https://evil.example';
  for (const path of ['/kmip/2_1', '/kmip', '/access/grant', '/audit', '/health']) {
    const preflight = await raw(server, 'OPTIONS', path, { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization' });
    t.not(Math.floor(preflight.status / 100), 2, `preflight OPTIONS ${path}: not a success (${preflight.status})`);
    t.same(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-')), [], `preflight OPTIONS ${path}: no Access-Control-* header`);
  }
  const post = await raw(server, 'POST', '/kmip/2_1', { Origin: origin, 'Content-Type': 'application/json' }, encodeJsonText(queryRequest()));
  t.equal(post.status, 200, 'a same-type request with an Origin is served (a browser would have needed the preflight)');
  t.same(Object.keys(post.headers).filter((h) => h.startsWith('access-control-')), [], 'but its answer carries no Access-Control-* header, so the page cannot read it');
  const get = await raw(server, 'GET', '/audit', { Origin: origin });
  t.same(Object.keys(get.headers).filter((h) => h.startsWith('access-control-')), [], 'nor does a GET');
});

t.test('attack: an oversized body on /access/grant answers 500', async (t) => {
  const server = await startTestServer(t);
  const client = new KmipClient({ url: server.url });
  t.teardown(() => client.close());
  const uid = await client.create({ algorithm: 'AES', length: 256 });
  const big = JSON.stringify({ unique_identifier: uid, user_id: 'bob', operation_types: ['get'], padding: 'x'.repeat(100 * 1024) });
  const res = await raw(server, 'POST', '/access/grant', { 'Content-Type': 'application/json' }, big);
  t.equal(res.status, 413, '100 KiB of grant: 413 (a grant takes at most 64 KiB)');
  t.equal(res.text, 'Invalid_Message: request body larger than 65536 bytes');
  t.equal(res.headers['connection'], 'close', 'and the connection closes');
  const declared = await raw(server, 'POST', '/access/revoke', { 'Content-Type': 'application/json', 'Content-Length': 10 * 1024 * 1024 }, Buffer.alloc(1024));
  t.equal(declared.status, 413, 'a declared 10 MiB revocation: 413 before it is read');
  t.same(await client.rest('GET', `/access/list/${uid}`), [], 'nothing was granted');
  t.equal((await raw(server, 'GET', '/health')).status, 200, 'the server still answers');
});

t.test('attack: /access/list/%ZZ (bad percent-encoding) answers 500', async (t) => {
  const server = await startTestServer(t);
  for (const path of ['/access/list/%ZZ', '/access/list/%E2%82', '/access/list/abc%', '/kmip/%zz']) {
    const res = await raw(server, 'GET', path);
    t.equal(res.status, 400, `${path}: 400`);
    t.equal(res.text, 'Invalid_Message: the path has a malformed percent-encoding', `${path}: the reason`);
  }
});

t.test('attack: /access/list/../../audit is routed to the audit handler', async (t) => {
  // The default user is the default admin: the audit answers 200 to it, so a traversal that reached it would show.
  const server = await startTestServer(t);
  const client = new KmipClient({ url: server.url });
  t.teardown(() => client.close());
  await client.create({ algorithm: 'AES', length: 128 });
  t.equal((await raw(server, 'GET', '/audit')).status, 200, 'the control: GET /audit itself answers');
  const traversals: [string, RegExp][] = [
    ['/access/list/../../audit', /"\." or "\.\." segments/],
    ['/access/list/%2e%2e/%2E%2E/audit', /"\." or "\.\." segments/],
    ['/access/list/./../../audit', /"\." or "\.\." segments/],
    ['/access/owned/..', /"\." or "\.\." segments/],
    ['/access/list/..\\..\\audit', /"\\" or "#"/],
    ['/access//list/x', /empty segment/],
    ['//audit', /empty segment/],
    ['/kmip/2_1/../../audit', /"\." or "\.\." segments/],
  ];
  for (const [path, reason] of traversals) {
    const res = await raw(server, 'GET', path);
    t.equal(res.status, 400, `${path}: 400`);
    t.match(res.text, reason, `${path}: ${res.text}`);
    t.notMatch(res.text, /"operation"/, `${path}: no audit record in the answer`);
  }
  const post = await raw(server, 'POST', '/access/grant/../../kmip/2_1', { 'Content-Type': 'application/json' }, CREATE_AES);
  t.equal(post.status, 400, 'a POST that would normalise to /kmip/2_1: 400');
  t.same((await client.locate()).length, 1, 'and it created nothing');
  const encodedSlash = await raw(server, 'GET', '/access/list/..%2F..%2Faudit');
  t.equal(encodedSlash.status, 404, 'an encoded slash is part of the UID, not a separator: Object_Not_Found');
  t.match(encodedSlash.text, /^Object_Not_Found: /);
});
