import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthOutcome } from './outcome';
import { jwtUserName } from './user-names';

export interface JwtSettings {
  /** The `iss` every token must carry, e.g. https://idp.example.com/realms/kms. */
  issuerUri: string;
  /** Where the signing keys are; by default the issuer's OIDC discovery document says, else <issuer>/.well-known/jwks.json. */
  jwksUri?: string;
  /** The `aud` every token must carry (one of them, when several: Cosmian's any-of); unchecked when not set. */
  audience?: string | string[];
}

/** Public-key algorithms only: a JWKS holds public keys, and "none" or HMAC must never pass. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const FETCH_TIMEOUT_MS = 5_000;
/** Issuers' and servers' clocks drift a little; more than this is a wrong clock or a stale token. */
const CLOCK_TOLERANCE_S = 30;

/**
 * Bearer JWTs signed by an OIDC issuer. The keys are fetched on first use and cached by
 * jose (re-fetched when a token names an unknown `kid`, so issuer key rotation needs no
 * restart). The user is `jwt:` and the `email` claim when the issuer says it is verified,
 * else `jwt:` and `sub` (user-names.ts): an unverified email is whatever the user typed at the
 * issuer, so it names nobody here. A token must carry `exp`: one without would be good forever.
 */
export class JwtVerifier {
  private keys: Promise<JWTVerifyGetKey> | undefined;

  constructor(private readonly settings: JwtSettings) {}

  async verify(token: string): Promise<AuthOutcome> {
    let keys: JWTVerifyGetKey;
    try {
      keys = await this.keySet();
    } catch {
      return { status: 503, reason: "the token issuer's keys cannot be fetched now" };
    }
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.settings.issuerUri,
        ...(this.settings.audience !== undefined ? { audience: this.settings.audience } : {}),
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
      });
      const claim = verifiedEmail(payload) ?? nonEmpty(payload.sub);
      return claim !== undefined ? { user: jwtUserName(claim), method: 'jwt' } : { status: 401, reason: 'the token has neither a verified email nor a sub claim' };
    } catch (e) {
      return rejection(e);
    }
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= this.jwksUrl().then(
      (url) => createRemoteJWKSet(url, { timeoutDuration: FETCH_TIMEOUT_MS }),
      (e: unknown) => {
        this.keys = undefined; // an issuer that was down is asked again on the next request
        throw e;
      },
    );
    return this.keys;
  }

  private async jwksUrl(): Promise<URL> {
    if (this.settings.jwksUri !== undefined) return new URL(this.settings.jwksUri);
    const base = this.settings.issuerUri.replace(/\/+$/, '');
    const res = await fetch(`${base}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (res.ok) {
      const doc = (await res.json()) as { jwks_uri?: unknown };
      if (typeof doc.jwks_uri === 'string') return new URL(doc.jwks_uri);
    }
    return new URL(`${base}/.well-known/jwks.json`);
  }
}

/** `email` when `email_verified` is true (some issuers, e.g. Cognito, send the string "true"). */
function verifiedEmail(payload: JWTPayload): string | undefined {
  const verified = payload['email_verified'];
  return verified === true || verified === 'true' ? nonEmpty(payload['email']) : undefined;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Fixed words per failure: jose's messages are safe today, but nothing of the token may ever be echoed. */
function rejection(e: unknown): AuthOutcome {
  if (e instanceof errors.JWTExpired) return { status: 401, reason: 'the token has expired' };
  if (e instanceof errors.JWTClaimValidationFailed && e.claim === 'exp' && e.reason === 'missing') return { status: 401, reason: 'the token has no exp claim; tokens that never expire are refused' };
  if (e instanceof errors.JWTClaimValidationFailed) return { status: 401, reason: `the token's ${e.claim} claim is not accepted` };
  if (e instanceof errors.JWSSignatureVerificationFailed) return { status: 401, reason: 'the token signature does not verify' };
  if (e instanceof errors.JOSEAlgNotAllowed) return { status: 401, reason: 'the token signature algorithm is not accepted' };
  if (e instanceof errors.JWKSNoMatchingKey) return { status: 401, reason: 'no key of the issuer matches the token' };
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid || e instanceof errors.JOSENotSupported) return { status: 401, reason: 'the token is malformed' };
  return { status: 503, reason: "the token issuer's keys cannot be fetched now" };
}
