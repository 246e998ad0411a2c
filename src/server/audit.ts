import { child, type TtlvStructure } from '../kmip/ttlv';
import type { Logger } from './logger';
import type { AuditQuery, AuditRecord, ObjectStore } from './store/store';

/** Response fields that name the objects an operation produced or acted on. */
const PRODUCED_FIELDS = ['UniqueIdentifier', 'PrivateKeyUniqueIdentifier', 'PublicKeyUniqueIdentifier'];

/** Operations that never act on the batch's ID placeholder: they name no existing object. */
const NO_TARGET = new Set(['Create', 'CreateKeyPair', 'Register', 'Locate', 'Query', 'DiscoverVersions', 'Hash', 'RNGRetrieve', 'RNGSeed', 'Validate']);

/**
 * The objects one operation is about: the UID (or tag selector, or ID placeholder) the request
 * named, and the UIDs its response names. Only identifiers are read, never a value: the
 * record cannot carry key material, plaintext or credentials. A Locate's answer is a search
 * result, not objects it acted on, so it is left out.
 */
export function auditUids(operation: string, request: TtlvStructure, response: TtlvStructure | undefined, placeholder: string | undefined): string[] {
  const uids: string[] = [];
  const asked = child(request, 'UniqueIdentifier');
  if (asked?.type === 'TextString') uids.push(asked.value);
  else if (asked === undefined && placeholder !== undefined && !NO_TARGET.has(operation)) uids.push(placeholder);
  if (response && operation !== 'Locate') {
    for (const field of PRODUCED_FIELDS) {
      const n = child(response, field);
      if (n?.type === 'TextString') uids.push(n.value);
    }
  }
  return [...new Set(uids)];
}

/**
 * Writes audit records; the store commits each with the other writes of the same moment. A
 * failed write is logged and does not fail an operation that already happened, so record()
 * never rejects (the endpoint may leave it running).
 */
export class AuditTrail {
  /** Writes not yet acknowledged: a reader of this server sees every record it has already answered for. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly store: ObjectStore, private readonly log: Logger) {}

  record(user: string, operation: string, uids: string[], result: string): Promise<void> {
    const record: AuditRecord = { time: Date.now(), user, operation, uids, result };
    const written = this.store.appendAudit(record).catch((e: unknown) => {
      this.log.error('audit write failed', { operation, user, result, message: e instanceof Error ? e.message : String(e) });
    });
    this.inFlight.add(written);
    return written.finally(() => this.inFlight.delete(written));
  }

  /** The records, newest first, once this server's pending writes are in. */
  async read(query: AuditQuery): Promise<AuditRecord[]> {
    await Promise.all([...this.inFlight]);
    return this.store.readAudit(query);
  }
}
