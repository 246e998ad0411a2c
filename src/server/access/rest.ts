import { KmipError } from '../../kmip/errors';
import { AuditTrail } from '../audit';
import type { AuditQuery, ObjectStore } from '../store/store';
import { GrantService, parseAccess } from './grants';
import { EVERY_USER } from './operation-types';
import { userNameProblem } from '../auth/user-names';

export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 10_000;

export interface RestAnswer {
  status: number;
  json: unknown;
}

/**
 * The JSON routes beside KMIP: Cosmian's /access/* (grant, revoke, list, owned, obtained) and
 * p11kms's /audit. http.ts checks the request target (request-target.ts), resolves the caller
 * and reads the body; this answers, or throws a KmipError that http.ts sends as "Reason: message".
 */
export class AccessApi {
  private readonly grants: GrantService;

  constructor(store: ObjectStore, private readonly audit: AuditTrail, private readonly admins: readonly string[]) {
    this.grants = new GrantService(store);
  }

  static serves(method: string | undefined, path: string): boolean {
    if (method === 'POST') return path === '/access/grant' || path === '/access/revoke';
    if (method === 'GET') return path === '/access/owned' || path === '/access/obtained' || path === '/audit' || path.startsWith('/access/list/');
    return false;
  }

  /** `pathname` as checked by parseRequestTarget: never normalised again here, so the route served is the route matched. */
  async handle(method: string, pathname: string, searchParams: URLSearchParams, user: string, body: Buffer): Promise<RestAnswer> {
    try {
      if (method === 'POST') return await this.change(pathname === '/access/grant' ? 'Grant' : 'RevokeGrant', user, body);
      if (pathname === '/access/owned') return ok(await this.grants.owned(user));
      if (pathname === '/access/obtained') return ok(await this.grants.obtained(user));
      if (pathname === '/audit') return ok(await this.readAudit(user, searchParams));
      return ok(await this.grants.list(user, uidInPath(pathname.slice('/access/list/'.length))));
    } catch (e) {
      throw withStatus(e);
    }
  }

  /** A grant or a revocation, audited like a KMIP operation on the object. */
  private async change(operation: 'Grant' | 'RevokeGrant', user: string, body: Buffer): Promise<RestAnswer> {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new KmipError('Invalid_Message', 'the body is not JSON');
    }
    const access = parseAccess(json);
    // A grantee no authentication method can produce (say JWT:dana, a typo of jwt:dana) would be a grant to nobody.
    const problem = userNameProblem(access.user);
    if (problem !== undefined) throw new KmipError('Invalid_Field', `user_id: ${problem}`);
    try {
      if (operation === 'Grant') await this.grants.grant(user, access);
      else await this.grants.revoke(user, access);
    } catch (e) {
      await this.audit.record(user, operation, [access.uid], e instanceof KmipError ? e.reason : 'General_Failure');
      throw e;
    }
    await this.audit.record(user, operation, [access.uid], 'Success');
    // Cosmian's SuccessResponse wording.
    return ok({ success: `Access for ${access.user} successfully ${operation === 'Grant' ? 'added' : 'deleted'}` });
  }

  private async readAudit(user: string, params: URLSearchParams): Promise<unknown> {
    if (!this.admins.includes(user) && !this.admins.includes(EVERY_USER)) {
      throw new KmipError('Permission_Denied', `${user} is not an admin of this server; the audit is for admins only`);
    }
    const records = await this.audit.read(auditQuery(params));
    return records.map((r) => ({ time: new Date(r.time).toISOString(), user: r.user, operation: r.operation, uids: r.uids, result: r.result }));
  }
}

/** ?uid=&user=&since=<ISO 8601>&limit=<1…10000> */
export function auditQuery(params: URLSearchParams): AuditQuery {
  const q: AuditQuery = { limit: DEFAULT_AUDIT_LIMIT };
  const uid = params.get('uid');
  const user = params.get('user');
  const since = params.get('since');
  const limit = params.get('limit');
  if (uid) q.uid = uid;
  if (user) q.user = user;
  if (since) {
    const t = Date.parse(since);
    if (Number.isNaN(t)) throw new KmipError('Invalid_Field', `since must be an ISO 8601 time, not ${JSON.stringify(since)}`);
    q.since = t;
  }
  if (limit) {
    const n = Number(limit);
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_AUDIT_LIMIT) throw new KmipError('Invalid_Field', `limit must be an integer from 1 to ${MAX_AUDIT_LIMIT}`);
    q.limit = n;
  }
  return q;
}

function uidInPath(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new KmipError('Invalid_Message', 'the UID in the path has a malformed percent-encoding');
  }
}

function ok(json: unknown): RestAnswer {
  return { status: 200, json };
}

/** REST statuses for the failures a REST client tells apart; the body stays "Reason: message". */
function withStatus(e: unknown): unknown {
  if (!(e instanceof KmipError) || e.httpStatus !== 422) return e;
  const status = e.reason === 'Permission_Denied' ? 403 : e.reason === 'Item_Not_Found' || e.reason === 'Object_Not_Found' ? 404 : e.reason === 'Invalid_Message' ? 400 : 422;
  return status === 422 ? e : new KmipError(e.reason, e.message, status);
}
