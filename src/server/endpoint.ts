import { KmipError } from '../kmip/errors';
import { T, type TtlvNode, type TtlvStructure } from '../kmip/ttlv';
import { buildResponseMessage, parseRequestMessage, type ResponseItem } from '../kmip/messages';
import { StaleObjectError, type ObjectStore } from './store/store';
import { OperationContext } from './context';
import { canonicalOperation, handlerFor } from './operations/registry';
import { KMIP1_ATTRIBUTE_EDITS, fromKmip1Request, runKmip1AttributeEdit, toKmip1Response, toKmip20Response } from './kmip1';
import { reasonForVersion, withoutNewerEnumerations } from '../kmip/versions';
import type { Logger } from './logger';
import type { HsmRegistry } from './hsm/hsm-registry';
import { hsmUidOf, runHsmOperation } from './operations/hsm-ops';
import { AuditTrail, auditUids } from './audit';
import { presentUids } from './access/uid-scope';
import { READ_ONLY_OPERATIONS } from '../kmip/read-only-operations';
import type { CryptoLimits } from './limits';

/** Response fields that name the object an item produced: they fill the batch's ID placeholder. */
const PLACEHOLDER_FIELDS = ['UniqueIdentifier', 'PrivateKeyUniqueIdentifier'];

/**
 * Runs KMIP operations: a bare operation (Cosmian's /kmip/2_1 form, errors thrown) or a
 * RequestMessage (errors reported per BatchItem, never thrown).
 */
export class KmipEndpoint {
  constructor(
    private readonly store: ObjectStore,
    private readonly log: Logger,
    /** The server's one audit trail, shared with the /audit route so a reader sees what was answered. */
    private readonly audit: AuditTrail,
    private readonly hsm?: HsmRegistry,
    /** The server-wide key-encryption key (hsm::…) that wraps every new symmetric key. */
    private readonly kek?: string,
    /** What one operation may cost (PBKDF2 iterations, RSA sizes). */
    private readonly limits?: CryptoLimits,
  ) {}

  private context(user: string, protocolMajor?: number, protocolMinor?: number): OperationContext {
    return new OperationContext(user, this.store, { protocolMajor, protocolMinor, hsm: this.hsm, kek: this.kek, ...(this.limits ? { limits: this.limits } : {}) });
  }

  async runBare(op: TtlvNode, user: string): Promise<TtlvStructure> {
    if (op.type !== 'Structure') throw new KmipError('Invalid_Message', 'an operation must be a Structure');
    if (op.tag === 'RequestMessage') return this.runMessage(op, user);
    const ctx = this.context(user);
    return this.runOne(op.tag, op, ctx);
  }

  /**
   * Runs one operation and audits it, success or failure: the one place every KMIP operation
   * passes. A change is answered only once its record is on disk; a read-only operation is
   * answered at once and its record joins the next group commit, a few milliseconds later,
   * so an Encrypt does not wait for an fsync.
   */
  private async runOne(operation: string, payload: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
    const placeholder = ctx.idPlaceholder;
    const name = canonicalOperation(operation);
    const record = async (response: TtlvStructure | undefined, result: string): Promise<void> => {
      const written = this.audit.record(ctx.user, name, auditUids(name, payload, response, placeholder), result);
      if (!READ_ONLY_OPERATIONS.has(name)) await written;
    };
    try {
      const response = await this.dispatch(operation, payload, ctx);
      await record(response, 'Success');
      // The caller sees its objects by the UIDs it chose (access/uid-scope.ts); the audit keeps the stored ones.
      return presentUids(response, ctx.user);
    } catch (e) {
      const err = asKmipError(e);
      await record(undefined, err.reason);
      throw err;
    }
  }

  private async dispatch(operation: string, payload: TtlvStructure, ctx: OperationContext): Promise<TtlvStructure> {
    const handler = handlerFor(operation);
    if (!handler) throw new KmipError('Operation_Not_Supported', `Route not supported: Operation: ${operation}`, 404);
    const name = canonicalOperation(operation);
    ctx.operation = name;
    const started = process.hrtime.bigint();
    try {
      // An hsm:: UID is served by its HSM or refused; it never reaches the database handlers.
      const hsmUid = hsmUidOf(name, payload, ctx);
      const response = hsmUid !== undefined ? await runHsmOperation(name, payload, hsmUid, ctx, this.hsm) : await runFresh(name, () => handler(payload, ctx));
      this.log.debug('operation', { operation: name, user: ctx.user, result: 'Success', us: elapsedUs(started) });
      return response;
    } catch (e) {
      const err = asKmipError(e);
      this.log.info('operation failed', { operation: name, user: ctx.user, reason: err.reason, message: err.message, ...(err.detail !== undefined ? { detail: err.detail } : {}) });
      throw err;
    }
  }

  async runMessage(message: TtlvNode, user: string): Promise<TtlvStructure> {
    let parsed;
    try {
      parsed = parseRequestMessage(message);
    } catch (e) {
      const err = asKmipError(e);
      return buildResponseMessage({ major: 2, minor: 1 }, [{ status: 'OperationFailed', reason: 'Invalid_Message', message: err.message }], now());
    }
    const { header, items } = parsed;
    const version = { major: header.major, minor: header.minor };
    const ctx = this.context(user, header.major, header.minor);
    const continueOnError = header.batchErrorContinuationOption === 'Continue';
    const responses: ResponseItem[] = [];
    for (const item of items) {
      const operation = canonicalOperation(item.operation);
      const base = { operation, ...(item.uniqueBatchItemId ? { uniqueBatchItemId: item.uniqueBatchItemId } : {}) };
      try {
        const bare = header.major === 1 && KMIP1_ATTRIBUTE_EDITS.has(operation)
          ? await runKmip1AttributeEdit(operation, item.payload, (op, p) => this.dispatch(op, p, ctx), (op, p) => this.runOne(op, p, ctx))
          : await this.runOne(operation, T.struct(operation, (header.major === 1 ? fromKmip1Request(operation, item.payload) : item.payload).value), ctx);
        const placeholder = bare.value.find((n) => PLACEHOLDER_FIELDS.includes(n.tag));
        if (placeholder && placeholder.type === 'TextString') ctx.idPlaceholder = placeholder.value;
        const payload = header.major === 1 ? toKmip1Response(operation, bare, header.minor)
          : header.major === 2 && header.minor === 0 ? toKmip20Response(bare) : bare;
        // A client is answered in its own version: nothing it could not decode (kmip/versions.ts).
        const answered = withoutNewerEnumerations(T.struct('ResponsePayload', payload.value), header.major, header.minor) as TtlvStructure;
        responses.push({ ...base, status: 'Success', payload: answered });
      } catch (e) {
        const err = asKmipError(e);
        responses.push({ ...base, status: 'OperationFailed', reason: reasonForVersion(err.reason, header.major, header.minor), message: err.message });
        if (!continueOnError) break;
      }
    }
    return buildResponseMessage(version, responses, now());
  }
}

/**
 * Operations whose only effect is one read-modify-write of an object (the save is conditional,
 * StoredObjectWrite.ifAttributesJson): when another request changed the object in between,
 * they run again on what is now stored instead of failing, since nothing was written.
 */
const RERUN_WHEN_STALE = new Set(['SetAttribute', 'AddAttribute', 'ModifyAttribute', 'DeleteAttribute', 'Activate', 'Revoke', 'Destroy']);
const MAX_RUNS = 32;

async function runFresh(operation: string, run: () => Promise<TtlvStructure>): Promise<TtlvStructure> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (!(e instanceof StaleObjectError && RERUN_WHEN_STALE.has(operation) && attempt < MAX_RUNS)) throw e;
      // Writers that collided would collide again in the same group commit: spread them out.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
    }
  }
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function elapsedUs(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1000n);
}

/** Anything that is not already a KMIP error is an internal failure; its details stay in the log. */
export function asKmipError(e: unknown): KmipError {
  if (e instanceof KmipError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new KmipError('General_Failure', message, 500);
}
