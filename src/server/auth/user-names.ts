/**
 * One namespace per authentication method, so that no credential of one method can act as a
 * user of another:
 *
 *   API token            alice                 the name in the token's line; never contains ':'
 *   JWT (one issuer)     jwt:<email>           only when email_verified is true
 *                        jwt:<sub>             otherwise
 *   client certificate   cert:<CN>             HTTPS with --client-ca, and the TLS socket port
 *
 * API-token users keep plain names, so deployments that only use tokens (and the default user
 * of a server without authentication) see no change. Every name another method produces
 * carries a prefix with a colon, and an API-token name cannot contain one, so the namespaces
 * are disjoint. Admins (--admin), HSM admins and grants name users in the same scheme.
 */

import { EVERY_USER } from '../access/operation-types';

export const JWT_PREFIX = 'jwt:';
export const CERTIFICATE_PREFIX = 'cert:';

export function jwtUserName(claim: string): string {
  return JWT_PREFIX + claim;
}

export function certificateUserName(commonName: string): string {
  return CERTIFICATE_PREFIX + commonName;
}

/** Why `name` cannot be an API-token user, or undefined when it can. */
export function apiTokenNameProblem(name: string): string | undefined {
  if (name === EVERY_USER) return `"${EVERY_USER}" means every user and cannot be an API-token user`;
  if (name.includes(':')) return `an API-token user name cannot contain ":" (names with a prefix such as ${JWT_PREFIX} or ${CERTIFICATE_PREFIX} belong to the other authentication methods)`;
  return undefined;
}

/**
 * Why `name` can never be produced by any method (so an admin or grantee spelt that way would
 * match nobody), or undefined. A plain name is an API-token user or the default user.
 */
export function userNameProblem(name: string): string | undefined {
  if (name === EVERY_USER) return undefined;
  for (const prefix of [JWT_PREFIX, CERTIFICATE_PREFIX]) {
    if (name.startsWith(prefix)) return name.length > prefix.length ? undefined : `${JSON.stringify(name)} names no user: ${prefix} must be followed by a name`;
  }
  if (name.includes(':')) return `${JSON.stringify(name)} names no user: a prefixed name is ${JWT_PREFIX}<email or sub> or ${CERTIFICATE_PREFIX}<CN>; API-token names have no ":"`;
  return name.length > 0 ? undefined : 'a user name cannot be empty';
}

/** The CN of a verified certificate's subject; none when it has none or several (Node gives an array), which would make the user ambiguous. */
export function certificateCommonName(cn: string | string[] | undefined): string | undefined {
  return typeof cn === 'string' && cn.length > 0 ? cn : undefined;
}

/** The audit's readers, checked at start: a name no method can produce would silently lock every admin out. */
export function checkAdminNames(admins: readonly string[]): void {
  for (const name of admins) {
    const problem = userNameProblem(name);
    if (problem !== undefined) throw new Error(`--admin ${name}: ${problem}`);
  }
}
