import { ApiTokens, digestLine } from './api-tokens';
import type { AuthSettings } from './authenticator';

/** Authentication as `serve`'s flags and the config file's [auth] table spell it. */
export interface AuthOptions {
  /** `user:token`, repeatable (--api-token). */
  apiTokens?: string[];
  /** A file of `user token-sha256-hex` lines (--api-tokens-file); read at start. */
  apiTokensFile?: string;
  /** What `serve` hands its workers instead of apiTokens, so no plaintext token sits in their environment. */
  apiTokenDigests?: string[];
  jwtIssuerUri?: string;
  jwksUri?: string;
  /** One audience, or several of which a token must carry one (Cosmian's jwt_auth_provider any-of). */
  jwtAudience?: string | string[];
}

/** The authenticator's settings; `clientCertificates` when the HTTPS server asks for certificates (--client-ca). */
export function authSettings(opts: AuthOptions, clientCertificates: boolean): AuthSettings {
  if (opts.jwtIssuerUri === undefined && (opts.jwksUri !== undefined || opts.jwtAudience !== undefined)) {
    throw new Error('--jwks-uri and --jwt-audience need --jwt-issuer-uri');
  }
  // The file's lines first, so an error's line number is the file's.
  const digests = [...(opts.apiTokensFile !== undefined ? ApiTokens.readFile(opts.apiTokensFile) : []), ...(opts.apiTokenDigests ?? [])];
  return {
    ...(opts.apiTokens ? { apiTokens: opts.apiTokens } : {}),
    apiTokenDigests: digests,
    ...(opts.apiTokensFile !== undefined ? { apiTokensFile: opts.apiTokensFile } : {}),
    ...(opts.jwtIssuerUri !== undefined ? { jwt: { issuerUri: opts.jwtIssuerUri, ...(opts.jwksUri !== undefined ? { jwksUri: opts.jwksUri } : {}), ...(opts.jwtAudience !== undefined ? { audience: opts.jwtAudience } : {}) } } : {}),
    clientCertificates,
  };
}

/** The options a worker process gets: API tokens as digests only. */
export function withHashedTokens<T extends AuthOptions>(opts: T): T {
  if (!opts.apiTokens || opts.apiTokens.length === 0) return opts;
  const { apiTokens, ...rest } = opts;
  return { ...rest, apiTokenDigests: [...(opts.apiTokenDigests ?? []), ...apiTokens.map(digestLine)] } as T;
}
