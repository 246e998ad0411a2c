/** How a request authenticated, for the log. */
export type AuthMethod = 'api-token' | 'jwt' | 'client-certificate';

/**
 * The result of authenticating one request: the user, or the HTTP status and a reason that
 * can be shown to the client (fixed words, never the credential itself). 503 means the
 * credential could not be checked now (the issuer's keys are unreachable), not that it is wrong.
 */
export type AuthOutcome = { user: string; method: AuthMethod } | { status: 401 | 503; reason: string };

export function isAuthenticated(o: AuthOutcome): o is { user: string; method: AuthMethod } {
  return 'user' in o;
}
