import { KmipError } from '../../kmip/errors';
import { OperationContext } from '../context';
import { effectiveState } from '../model/lifecycle';
import { fromStored, type ManagedObject } from '../model/managed-object';
import type { ObjectStore, StoredObject } from '../store/store';
import { presentUid } from './uid-scope';
import { EVERY_USER, parseOperationType, wireName, type OperationType } from './operation-types';

/** Cosmian's UserAccessResponse: who holds which rights on one object. */
export interface UserAccess {
  user_id: string;
  operations: string[];
}

/** Cosmian's ObjectOwnedResponse, with a summary of the attributes. */
export interface OwnedObject {
  object_id: string;
  state: string;
  attributes: Record<string, string | number>;
}

/** Cosmian's AccessRightsObtainedResponse. */
export interface ObtainedAccess {
  object_id: string;
  owner_id: string;
  state: string;
  operations: string[];
}

/** What /access/grant and /access/revoke carry (Cosmian's Access). */
export interface AccessChange {
  uid: string;
  user: string;
  operations: OperationType[];
}

/**
 * The owner's side of access rights: granting, revoking, listing. Enforcement is
 * OperationContext.load's; both read the same grants from the store.
 */
export class GrantService {
  constructor(private readonly store: ObjectStore) {}

  async grant(caller: string, change: AccessChange): Promise<void> {
    const o = await this.ownedBy(caller, change.uid, 'grant rights on');
    if (change.user === o.owner) throw new KmipError('Invalid_Field', `${change.user} owns ${o.uid} and already has every right on it`);
    const state = effectiveState(o, nowSeconds());
    if (state === 'Destroyed' || state === 'Destroyed_Compromised') throw new KmipError('Wrong_Key_Lifecycle_State', `${o.uid} is destroyed and can no longer be shared`);
    await this.store.grant(o.uid, change.user, change.operations);
  }

  async revoke(caller: string, change: AccessChange): Promise<void> {
    const o = await this.ownedBy(caller, change.uid, 'revoke rights on');
    await this.store.revoke(o.uid, change.user, change.operations);
  }

  async list(caller: string, uid: string): Promise<UserAccess[]> {
    const o = await this.ownedBy(caller, uid, 'list the rights on');
    const byUser = new Map<string, string[]>();
    for (const g of await this.store.grantsOf(o.uid)) byUser.set(g.user, [...(byUser.get(g.user) ?? []), g.operation]);
    return [...byUser].sort(([a], [b]) => a.localeCompare(b)).map(([user, ops]) => ({ user_id: user, operations: wireNames(ops) }));
  }

  async owned(caller: string): Promise<OwnedObject[]> {
    const out: OwnedObject[] = [];
    for (const uid of await this.store.locate({ owner: caller })) {
      const o = await this.store.get(uid);
      if (o) out.push({ object_id: presentUid(uid, caller), state: stateOf(o), attributes: summary(o.objectType, o.algorithm, o.length) });
    }
    return out;
  }

  /** Objects of other users the caller holds rights on, directly or through a grant to everyone. */
  async obtained(caller: string): Promise<ObtainedAccess[]> {
    const byUid = new Map<string, string[]>();
    for (const g of [...(await this.store.grantedTo(caller)), ...(await this.store.grantedTo(EVERY_USER))]) {
      byUid.set(g.uid, [...(byUid.get(g.uid) ?? []), g.operation]);
    }
    const out: ObtainedAccess[] = [];
    for (const [uid, ops] of byUid) {
      const o = await this.store.get(uid);
      if (o && o.owner !== caller) out.push({ object_id: uid, owner_id: o.owner, state: stateOf(o), operations: wireNames(ops) });
    }
    return out;
  }

  /**
   * The object, if the caller owns it. The same rule as every operation: no right at all reads
   * as not found, some right but not ownership as Permission_Denied.
   */
  private async ownedBy(caller: string, uid: string, what: string): Promise<ManagedObject> {
    if (uid.startsWith('hsm::')) throw new KmipError('Feature_Not_Supported', `HSM keys take no grants: the admins of their HSM use them`);
    const ctx = new OperationContext(caller, this.store);
    const o = await ctx.load(await ctx.resolveText(uid), 'any');
    if (o.owner !== caller) throw new KmipError('Permission_Denied', `only the owner of ${uid} may ${what} it`);
    return o;
  }
}

/**
 * Reads Cosmian's Access JSON: {unique_identifier, user_id, operation_types: [...]}, or the KMS
 * 4.x form with one `operation_type` string (cloudproof_js 9.x `KmsClient.grantAccess`).
 */
export function parseAccess(json: unknown): AccessChange {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new KmipError('Invalid_Message', 'the body must be a JSON object {unique_identifier, user_id, operation_types}');
  const { unique_identifier: uid, user_id: user, operation_types: many, operation_type: one } = json as Record<string, unknown>;
  const ops = many === undefined && typeof one === 'string' ? [one] : many;
  if (typeof uid !== 'string' || uid === '') throw new KmipError('Missing_Data', 'unique_identifier must be a non-empty string');
  if (typeof user !== 'string' || user === '') throw new KmipError('Missing_Data', 'user_id must be a non-empty string');
  if (!Array.isArray(ops) || ops.length === 0 || !ops.every((o): o is string => typeof o === 'string')) {
    throw new KmipError('Missing_Data', 'operation_types must be a non-empty array of operation names');
  }
  return { uid, user, operations: [...new Set(ops.map(parseOperationType))] };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The state as operations see it: a PreActive key whose ActivationDate has passed is Active. */
function stateOf(o: StoredObject): string {
  return effectiveState(fromStored(o), nowSeconds());
}

function wireNames(ops: string[]): string[] {
  return [...new Set(ops)].sort().map((o) => wireName(o as OperationType));
}

function summary(objectType: string, algorithm: string | null, length: number | null): Record<string, string | number> {
  return { ObjectType: objectType, ...(algorithm !== null ? { CryptographicAlgorithm: algorithm } : {}), ...(length !== null ? { CryptographicLength: length } : {}) };
}
