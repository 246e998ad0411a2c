import { randomUUID } from 'node:crypto';
import { KmipError } from '../kmip/errors';
import { child, type TtlvNode } from '../kmip/ttlv';
import type { ObjectStore } from './store/store';
import { fromStored, toStored, type ManagedObject } from './model/managed-object';
import { effectiveState } from './model/lifecycle';
import type { HsmRegistry } from './hsm/hsm-registry';
import { hsmWrappingKeyOf } from './hsm/key-wrapping';

/**
 * What one KMIP operation runs with: the caller, the store, the clock, and the batch's
 * ID placeholder (the UID produced by an earlier item of the same RequestMessage).
 */
export interface ContextOptions {
  /** The KMIP major version of the request (1 for KMIP 1.x messages). */
  protocolMajor?: number;
  /** The server's HSMs: they unwrap database keys stored wrapped by an hsm:: key. */
  hsm?: HsmRegistry;
  /** The server-wide key-encryption key (hsm::…) that wraps every new symmetric key, if set. */
  kek?: string;
  /** Seconds since the epoch. Injected by tests. */
  clock?: () => number;
}

export class OperationContext {
  idPlaceholder: string | undefined;
  readonly protocolMajor: number;
  readonly hsm: HsmRegistry | undefined;
  readonly kek: string | undefined;
  private readonly clock: () => number;

  constructor(readonly user: string, readonly store: ObjectStore, options: ContextOptions = {}) {
    this.protocolMajor = options.protocolMajor ?? 2;
    this.hsm = options.hsm;
    this.kek = options.kek;
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  now(): number {
    return this.clock();
  }

  newUid(): string {
    return randomUUID();
  }

  /**
   * The UniqueIdentifier of a request: a text UID, a JSON tag selector such as
   * `["_kk","disk"]` that must match exactly one object, or the batch's ID placeholder.
   */
  async resolveUid(payload: TtlvNode | undefined, tag = 'UniqueIdentifier'): Promise<string> {
    const node = child(payload, tag);
    if (node === undefined || node.type === 'Enumeration') {
      if (this.idPlaceholder === undefined) throw new KmipError('Missing_Data', `missing ${tag}`);
      return this.idPlaceholder;
    }
    if (node.type !== 'TextString') throw new KmipError('Invalid_Field', `${tag} must be a text string`);
    const value = node.value;
    if (value.startsWith('[')) return this.resolveTagSelector(value);
    return value;
  }

  private async resolveTagSelector(selector: string): Promise<string> {
    let tags: unknown;
    try {
      tags = JSON.parse(selector);
    } catch {
      throw new KmipError('Invalid_Field', 'the identifier looks like a tag selector but is not a JSON array');
    }
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
      throw new KmipError('Invalid_Field', 'a tag selector must be a JSON array of strings');
    }
    const found: string[] = [];
    for (const uid of await this.store.locate({ owner: this.user, tags: tags as string[] })) {
      const s = effectiveState(await this.load(uid), this.now());
      if (s !== 'Destroyed' && s !== 'Destroyed_Compromised') found.push(uid);
    }
    if (found.length === 0) throw new KmipError('Item_Not_Found', `no object has the tags ${selector}`);
    if (found.length > 1) throw new KmipError('Invalid_Field', `the tags ${selector} match ${found.length} objects; they must match exactly one`);
    return found[0] as string;
  }

  /** Loads an object the caller may use. Another user's object is reported as not found. */
  async load(uid: string): Promise<ManagedObject> {
    const stored = await this.store.get(uid);
    if (!stored || stored.owner !== this.user) {
      throw new KmipError('Item_Not_Found', `object not found for identifier ${uid}`);
    }
    const o = fromStored(stored);
    const kek = hsmWrappingKeyOf(o.attributes);
    const hsm = this.hsm;
    if (kek !== undefined && hsm && o.material) {
      const wrapped = o.material;
      // Unwrapping skips KMS permission checks on the HSM key (Cosmian): who may use the key may use its KEK for it.
      o.unwrapKey = () => hsm.unwrapKey(uid, kek, wrapped);
    }
    return o;
  }

  async insert(o: ManagedObject): Promise<void> {
    await this.store.insert(toStored(o));
  }

  async save(o: ManagedObject): Promise<void> {
    // A destroyed key's unwrapped bytes leave the cache (zeroed) at once.
    if (o.material === null) this.hsm?.unwrappedCache.invalidate(o.uid);
    await this.store.update(toStored({ ...o, updatedAt: this.now() }));
  }
}
