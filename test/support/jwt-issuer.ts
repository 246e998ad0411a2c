import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type KeyLike } from 'jose';

/**
 * A real local OIDC issuer for tests: an HTTP server that serves a discovery document and a
 * JWKS of a key generated here, and signs tokens with it.
 */
export interface Issuer {
  /** The issuer URI, with OIDC discovery. */
  base: string;
  /** An issuer that serves only <base>/plain/.well-known/jwks.json, without discovery. */
  plainBase: string;
  /** `expiresIn: null` leaves `exp` out. */
  sign(claims: JWTPayload, opts?: { key?: KeyLike; iss?: string; aud?: string; expiresIn?: string | number | null }): Promise<string>;
  jwksFetches: number;
}

export async function startIssuer(t: { teardown(fn: () => unknown): void }): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const issuer: Issuer = { base: '', plainBase: '', jwksFetches: 0, sign: async () => '' };
  const server: Server = createServer((req, res) => {
    const json = (body: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/realm/.well-known/openid-configuration') return json({ issuer: issuer.base, jwks_uri: `${issuer.base}/certs` });
    if (req.url === '/realm/certs' || req.url === '/plain/.well-known/jwks.json') {
      issuer.jwksFetches++;
      return json({ keys: [jwk] });
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer.base = `${origin}/realm`;
  issuer.plainBase = `${origin}/plain`;
  issuer.sign = (claims, opts = {}) => {
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(opts.iss ?? issuer.base)
      .setAudience(opts.aud ?? 'p11kms')
      .setIssuedAt();
    if (opts.expiresIn !== null) jwt.setExpirationTime(opts.expiresIn ?? '5m');
    return jwt.sign(opts.key ?? privateKey);
  };
  return issuer;
}
