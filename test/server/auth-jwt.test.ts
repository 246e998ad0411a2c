import t from 'tap';
import { generateKeyPair } from 'jose';
import { KmipClient } from '../../src/kmip/client';
import { startTestServer, type TestServer } from '../support/server';
import { reasonOf } from '../support/client';
import { startIssuer } from '../support/jwt-issuer';

/** Bearer JWTs against a real local issuer (test/support/jwt-issuer.ts). */

async function answer(server: TestServer, token: string): Promise<{ status: number; text: string; retryAfter: string | null }> {
  const res = await fetch(`${server.url}/kmip/2_1`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ tag: 'Query', value: [] }) });
  return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
}

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

t.test('JWTs from the issuer (found by OIDC discovery) authenticate; the user is jwt:<verified email>, else jwt:<sub>', async (t) => {
  const issuer = await startIssuer(t);
  const server = await startTestServer(t, { jwtIssuerUri: issuer.base, jwtAudience: 'p11kms' });
  const clientFor = (token: string): KmipClient => {
    const c = new KmipClient({ url: server.url, accessToken: token });
    t.teardown(() => c.close());
    return c;
  };
  const dana = clientFor(await issuer.sign({ sub: 'u-1', email: 'dana@example.com', email_verified: true }));
  const sub = clientFor(await issuer.sign({ sub: 'u-2' }));
  const danaAgain = clientFor(await issuer.sign({ sub: 'u-3', email: 'dana@example.com', email_verified: true }));
  const unverified = clientFor(await issuer.sign({ sub: 'u-4', email: 'dana@example.com' }));
  const u4 = clientFor(await issuer.sign({ sub: 'u-4' }));
  const uid = await dana.create({ algorithm: 'AES', length: 256 });
  t.ok((await danaAgain.locate()).includes(uid), 'another token with the same verified email is the same user, whatever its sub');
  t.notOk((await sub.locate()).includes(uid), 'a token without email is its sub, another user');
  const u4Key = await unverified.create({ algorithm: 'AES', length: 128 });
  t.notOk((await unverified.locate()).includes(uid), 'an unverified email is not the user');
  t.ok((await u4.locate()).includes(u4Key), 'the token with an unverified email is its sub');
  t.equal(issuer.jwksFetches, 1, 'the JWKS is fetched once and cached');
});

t.test('refused tokens: expired, wrong audience, wrong issuer, wrong signature, alg none', async (t) => {
  const issuer = await startIssuer(t);
  const server = await startTestServer(t, { jwtIssuerUri: issuer.base, jwtAudience: 'p11kms' });
  const now = Math.floor(Date.now() / 1000);
  const good = await issuer.sign({ sub: 'erin' });
  t.equal((await answer(server, good)).status, 200, 'the control: a good token passes');

  const cases: [string, string, RegExp][] = [
    ['expired an hour ago', await issuer.sign({ sub: 'erin' }, { expiresIn: now - 3600 }), /expired/],
    ['for another audience', await issuer.sign({ sub: 'erin' }, { aud: 'someone-else' }), /aud claim/],
    ['from another issuer', await issuer.sign({ sub: 'erin' }, { iss: 'https://evil.example.com' }), /iss claim/],
    ['signed by another key under the same kid', await issuer.sign({ sub: 'erin' }, { key: (await generateKeyPair('ES256')).privateKey }), /signature does not verify/],
    ['alg none', `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'erin', iss: issuer.base, aud: 'p11kms', exp: now + 300 })}.`, /algorithm is not accepted/],
    ['with a tampered payload', `${good.split('.')[0]}.${b64url({ sub: 'admin', iss: issuer.base, aud: 'p11kms', exp: now + 300 })}.${good.split('.')[2]}`, /signature does not verify/],
  ];
  for (const [what, token, reason] of cases) {
    const res = await answer(server, token);
    t.equal(res.status, 401, `${what}: 401`);
    t.match(res.text, reason, `${what}: ${res.text}`);
    t.notOk(res.text.includes(token.split('.')[1] as string), `${what}: the token is not echoed`);
  }
});

t.test('--jwks-uri, the <issuer>/.well-known/jwks.json default, and an unreachable issuer', async (t) => {
  const issuer = await startIssuer(t);
  const explicit = await startTestServer(t, { jwtIssuerUri: 'https://idp.example.com/', jwksUri: `${issuer.base}/certs` });
  t.equal((await answer(explicit, await issuer.sign({ sub: 'fay' }, { iss: 'https://idp.example.com/' }))).status, 200, 'keys from --jwks-uri; the issuer itself is never contacted');

  const plain = await startTestServer(t, { jwtIssuerUri: issuer.plainBase });
  t.equal((await answer(plain, await issuer.sign({ sub: 'fay' }, { iss: issuer.plainBase }))).status, 200, 'no discovery document: <issuer>/.well-known/jwks.json');

  const down = await startTestServer(t, { jwtIssuerUri: 'http://127.0.0.1:1/realm' });
  const res = await answer(down, await issuer.sign({ sub: 'fay' }, { iss: 'http://127.0.0.1:1/realm' }));
  t.equal(res.status, 503, 'keys that cannot be fetched: 503, the credential may be fine');
  t.equal(res.retryAfter, '5', 'with Retry-After');
  const c = new KmipClient({ url: down.url, accessToken: 'an-api-token-nobody-has' });
  t.teardown(() => c.close());
  t.equal(await reasonOf(c.locate()), 'Authentication_Not_Successful', 'a token that is no JWT and no API token is 401 without asking the issuer');
});
