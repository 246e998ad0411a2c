import { randomUUID } from 'node:crypto';
import { COSMIAN_FAILURES, KmipError } from '../kmip/errors';
import { child, type TtlvNode } from '../kmip/ttlv';
import type { LocateQuery, ObjectStore, StoredObject } from './store/store';
import { fromStored, toStored, type ManagedObject } from './model/managed-object';
import { effectiveState } from './model/lifecycle';
import type { HsmRegistry } from './hsm/hsm-registry';
import { hsmWrappingKeyOf, isWrappingKeyLink } from './hsm/key-wrapping';
import { EVERY_USER, operationTypeOf, type OperationType } from './access/operation-types';
import { isScoped, presentUid, scopedUid } from './access/uid-scope';
import { cryptoLimitsOf, type CryptoLimits } from './limits';
import { linkAttribute, linkedId } from './model/attributes';
import { MAX_GENERATIONS, generationOf, parseKeysetRef, rotateNameOf, type KeysetVersion } from './model/keyset';
import { checkWrappingKey, kmsWrappingKeyOf, unwrapAtRest, wrapAtRest } from './model/kms-wrapping';
import { symmetricKeyOf } from './model/key-objects';
import { canonicalClear, keyWrapModeOf, registeredWrapping, unwrapRegistered } from './model/registered-wrapped';

/** How many keys deep a chain of at-rest wrappings may go (a key wrapped by a key wrapped by…). */
const MAX_WRAPPING_DEPTH = 4;

/** What a text UID was found to name: a key set's generations (oldest first), or the caller's own object, or neither. */
interface KeysetTarget {
  chain?: StoredObject[];
  /** Undefined for a bare set name. */
  version?: KeysetVersion;
  own?: StoredObject;
}

/** What loading an object needs besides ownership: a grant of one operation type, or any grant at all (Locate). */
export type Need = OperationType | 'any';

/**
 * What one KMIP operation runs with: the caller, the store, the clock, and the batch's
 * ID placeholder (the UID produced by an earlier item of the same RequestMessage).
 */
export interface ContextOptions {
  /** The KMIP major version of the request (1 for KMIP 1.x messages). */
  protocolMajor?: number;
  /** The KMIP minor version of the request (1 for a 2.1 RequestMessage or a bare operation). */
  protocolMinor?: number;
  /** The server's HSMs: they unwrap database keys stored wrapped by an hsm:: key. */
  hsm?: HsmRegistry;
  /** The server-wide key-encryption key (hsm::…) that wraps every new symmetric key, if set. */
  kek?: string;
  /** Seconds since the epoch. Injected by tests. */
  clock?: () => number;
  /** The CPU caps of single operations (PBKDF2 iterations, RSA sizes); the defaults without it. */
  limits?: CryptoLimits;
}

export class OperationContext {
  idPlaceholder: string | undefined;
  /** The KMIP operation running now (set by the endpoint for each batch item): it decides the right a non-owner needs. */
  operation: string | undefined;
  readonly protocolMajor: number;
  readonly protocolMinor: number;
  readonly hsm: HsmRegistry | undefined;
  readonly kek: string | undefined;
  readonly limits: CryptoLimits;
  private readonly clock: () => number;
  /** UIDs this context generated: random, so placing them needs no look-up. */
  private readonly generated = new Set<string>();
  /** The object resolveText just read, handed to the load() that follows it instead of a second read. */
  private justResolved: StoredObject | undefined;

  constructor(readonly user: string, readonly store: ObjectStore, options: ContextOptions = {}) {
    this.protocolMajor = options.protocolMajor ?? 2;
    this.protocolMinor = options.protocolMinor ?? (this.protocolMajor === 2 ? 1 : 0);
    this.hsm = options.hsm;
    this.kek = options.kek;
    this.limits = options.limits ?? cryptoLimitsOf({});
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  now(): number {
    return this.clock();
  }

  newUid(): string {
    const uid = randomUUID();
    this.generated.add(uid);
    return uid;
  }

  /**
   * The UniqueIdentifier of a request: a text UID, a JSON tag selector such as
   * `["_kk","disk"]` that must match exactly one object, or the batch's ID placeholder.
   */
  async resolveUid(payload: TtlvNode | undefined, tag = 'UniqueIdentifier'): Promise<string> {
    const node = child(payload, tag);
    if (node === undefined || node.type === 'Enumeration') {
      if (this.idPlaceholder === undefined) throw new KmipError('Missing_Data', `missing ${tag}`);
      // The placeholder is the UID an earlier item answered with, as the caller sees it.
      return this.resolveText(this.idPlaceholder);
    }
    if (node.type !== 'TextString') throw new KmipError('Invalid_Field', `${tag} must be a text string`);
    const value = node.value;
    if (value.startsWith('[')) return this.resolveTagSelector(value);
    return this.resolveTarget(value, await this.keysetTarget(value));
  }

  /** The one UID a text names, given what keysetTarget read for it. */
  private async resolveTarget(text: string, target: KeysetTarget): Promise<string> {
    if (target.chain) return this.pickGeneration(text, target.chain, target.version ?? { kind: 'latest' });
    if (target.own) {
      // The caller's own object, read already: load() takes it from here.
      this.justResolved = target.own;
      return target.own.uid;
    }
    return this.resolveText(text);
  }

  /**
   * The keys Decrypt, SignatureVerify and MACVerify try, in order: for the bare name of one of
   * the caller's key sets, every generation, newest first (Cosmian's walk_keyset_chain); for
   * anything else, the one key resolveUid names.
   */
  async resolveUidCandidates(payload: TtlvNode | undefined, tag = 'UniqueIdentifier'): Promise<string[]> {
    const node = child(payload, tag);
    if (node?.type === 'TextString' && !node.value.startsWith('[')) {
      const target = await this.keysetTarget(node.value);
      if (target.chain && target.version === undefined) return target.chain.map((g) => g.uid).reverse();
      return [await this.resolveTarget(node.value, target)];
    }
    return [await this.resolveUid(payload, tag)];
  }

  /**
   * The caller's key set a text UID addresses (`k@latest`, `k@first`, `k@N`, or the bare set name
   * `k`), with its generations oldest first; undefined when it addresses none, and the text is
   * then an ordinary UID. `version` is undefined for a bare name.
   */
  private async keysetTarget(text: string): Promise<KeysetTarget> {
    if (text.startsWith('hsm::') || isScoped(text)) return {};
    const ref = parseKeysetRef(text);
    if (ref) {
      const named = await this.ownStored(ref.name);
      const chain = named && await this.keysetGenerations(ref.name, named);
      if (chain) return { chain, version: ref.version };
    }
    // `own` (the caller's object of that UID, outside any set) spares resolveText a second read.
    const own = await this.ownStored(text);
    const chain = own && await this.keysetGenerations(text, own);
    return chain ? { chain } : own ? { own } : {};
  }

  private pickGeneration(text: string, chain: StoredObject[], version: KeysetVersion): string {
    const picked = version.kind === 'latest'
      ? chain[chain.length - 1]
      : chain.find((g) => generationOf(fromStored(g).attributes) === version.n);
    if (!picked) throw new KmipError('Item_Not_Found', `object not found for identifier ${text}: the key set has no such generation`);
    this.justResolved = picked;
    return picked.uid;
  }

  /**
   * The generations of the caller's key set `name`, oldest first: `first`, its own key of UID
   * `name`, if its RotateName is `name` (generation 0), then each ReplacementObjectLink that stays in the set.
   * Only the caller's own keys: a set name never resolves to another user's key.
   */
  private async keysetGenerations(name: string, first: StoredObject): Promise<StoredObject[] | undefined> {
    if (rotateNameOf(fromStored(first).attributes) !== name) return undefined;
    const chain = [first];
    const seen = new Set([first.uid]);
    for (let current = first; chain.length < MAX_GENERATIONS;) {
      const next = linkedId(fromStored(current).attributes, 'ReplacementObjectLink');
      if (next === undefined || seen.has(next)) break;
      const stored = await this.store.get(next);
      if (!stored || stored.owner !== this.user || rotateNameOf(fromStored(stored).attributes) !== name) break;
      chain.push(stored);
      seen.add(next);
      current = stored;
    }
    return chain;
  }

  /** The caller's own object of a client UID, stored as it is or in the caller's namespace. */
  private async ownStored(uid: string): Promise<StoredObject | undefined> {
    const plain = await this.store.get(uid);
    if (plain?.owner === this.user) return plain;
    const scoped = await this.store.get(scopedUid(uid, this.user));
    return scoped?.owner === this.user ? scoped : undefined;
  }

  /**
   * The stored UID a text UID names for the caller: the caller's own object of that UID first
   * (stored as it is, or in the caller's namespace when another user took the UID first, see
   * access/uid-scope.ts); only then another user's object of that UID, which load() lets
   * through only with a grant. So an object merely shared with the caller never stands in
   * for the caller's own.
   */
  async resolveText(uid: string): Promise<string> {
    if (uid.startsWith('hsm::') || isScoped(uid)) return uid;
    const plain = await this.store.get(uid);
    if (plain?.owner === this.user) {
      this.justResolved = plain;
      return uid;
    }
    const own = scopedUid(uid, this.user);
    return (await this.store.exists(own)) ? own : uid;
  }

  /**
   * Where a new object with a client-chosen UID is stored: the UID itself when free, the
   * caller's namespace when another user holds it. The answer is the same either way, so a
   * Create or Import tells the caller nothing about other users' UIDs. Only the caller's own
   * objects make a UID "already exist".
   */
  async placeUid(requested: string): Promise<string> {
    if (isScoped(requested)) {
      // Only the caller's own namespace may be named this way (a key pair's halves are placed
      // before they are inserted); it is the same object as the bare UID.
      const bare = presentUid(requested, this.user);
      if (bare === requested || isScoped(bare)) {
        throw new KmipError('Invalid_Attribute_Value', 'a UniqueIdentifier cannot contain the control character U+001F');
      }
      if (await this.store.exists(requested)) throw alreadyExists(bare);
      return requested;
    }
    const plain = await this.store.get(requested);
    if (plain === undefined) return requested;
    if (plain.owner === this.user) throw alreadyExists(requested);
    const own = scopedUid(requested, this.user);
    if (await this.store.exists(own)) throw alreadyExists(requested);
    return own;
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
    // Only the caller's own objects: another user could otherwise tag a key of theirs like the
    // caller's, share it, and break the caller's lookup or, once the caller's key is gone,
    // have the caller encrypt under a key they know. A shared object is named by its UID.
    const found: string[] = [];
    for (const uid of await this.store.locate({ tags: tags as string[], owner: this.user })) {
      const s = effectiveState(await this.load(uid, 'any'), this.now());
      if (s !== 'Destroyed' && s !== 'Destroyed_Compromised') found.push(uid);
    }
    if (found.length === 0) throw COSMIAN_FAILURES.objectNotFound(selector, `none of your objects has the tags ${selector}`);
    if (found.length > 1) throw new KmipError('Invalid_Field', `the tags ${selector} match ${found.length} objects; they must match exactly one`);
    return found[0] as string;
  }

  /**
   * UIDs matching the indexed query that the caller may see: its own (oldest first), then the
   * ones granted to it or to everyone, whatever the operation granted.
   */
  async visible(query: Omit<LocateQuery, 'owner' | 'uids'>): Promise<string[]> {
    const owned = await this.store.locate({ ...query, owner: this.user });
    const granted = new Set([...(await this.store.grantedTo(this.user)), ...(await this.store.grantedTo(EVERY_USER))].map((g) => g.uid));
    if (granted.size === 0) return owned;
    const mine = new Set(owned);
    const others = await this.store.locate({ ...query, uids: [...granted].filter((u) => !mine.has(u)) });
    return [...owned, ...others];
  }

  /** The operation types granted to the caller (directly or through "*") on an object. */
  async grantedOperations(uid: string): Promise<Set<string>> {
    const grants = await this.store.grantsOf(uid);
    return new Set(grants.filter((g) => g.user === this.user || g.user === EVERY_USER).map((g) => g.operation));
  }

  /**
   * Loads an object the caller may use: its own, or one granted to it for `need` (by default
   * the right the running operation needs). An object the caller was granted nothing on is
   * reported as not found, so UIDs of other users' keys do not leak; one granted only for
   * other operations is Permission_Denied.
   */
  async load(uid: string, need: Need | undefined = this.operation !== undefined ? operationTypeOf(this.operation) : undefined): Promise<ManagedObject> {
    const prefetched = this.justResolved;
    this.justResolved = undefined;
    const stored = prefetched?.uid === uid ? prefetched : await this.store.get(uid);
    if (!stored) throw COSMIAN_FAILURES.objectNotFound(uid);
    if (stored.owner !== this.user) {
      const granted = await this.grantedOperations(uid);
      if (granted.size === 0) throw COSMIAN_FAILURES.objectNotFound(uid);
      if (need !== 'any' && (need === undefined || !granted.has(need))) {
        throw new KmipError('Permission_Denied', `${this.user} may not ${this.operation ?? 'use'} ${uid}: it is owned by another user, who granted ${[...granted].sort().join(', ')}`);
      }
    }
    const o = fromStored(stored);
    await this.attachUnwrap(o, 0);
    return o;
  }

  /**
   * Lets a key stored wrapped (by an HSM key or a KMS key) give its bytes. Unwrapping skips the
   * permission checks on the wrapping key (Cosmian): who may use the key may use its wrapping
   * key for it. A KMS wrapping key is read here, once, and may itself be wrapped.
   */
  private async attachUnwrap(o: ManagedObject, depth: number): Promise<void> {
    if (!o.material) return;
    const wrapped = o.material;
    const kek = hsmWrappingKeyOf(o.attributes);
    const hsm = this.hsm;
    if (kek !== undefined && hsm) {
      o.unwrapKey = () => hsm.unwrapKey(o.uid, kek, wrapped);
      return;
    }
    const kmsKek = kmsWrappingKeyOf(o.attributes);
    if (kmsKek === undefined) return;
    if (depth >= MAX_WRAPPING_DEPTH) throw new KmipError('General_Failure', `object ${o.uid}: wrapping keys nest more than ${MAX_WRAPPING_DEPTH} deep`);
    const stored = await this.store.get(kmsKek);
    if (!stored?.material) return; // symmetricKeyOf then says the key cannot be read
    const wrapping = fromStored(stored);
    await this.attachUnwrap(wrapping, depth + 1);
    // A key that arrived wrapped is unwrapped the way its KeyWrappingData says (checked at Register/Import).
    const arrived = registeredWrapping(o.attributes);
    const mode = arrived ? keyWrapModeOf(arrived) : undefined;
    if (arrived && mode === undefined) return;
    o.unwrapKey = mode !== undefined
      ? () => canonicalClear(o, unwrapRegistered(`object ${o.uid}`, wrapping.uid, symmetricKeyOf(wrapping), mode, wrapped))
      : () => unwrapAtRest(symmetricKeyOf(wrapping), wrapped);
  }

  /** The key a ReKey or a new key is wrapped under, read without the caller's rights (it was chosen when the first key was wrapped). */
  private async storedWrappingKey(uid: string): Promise<ManagedObject> {
    const stored = await this.store.get(uid);
    if (!stored) throw new KmipError('Item_Not_Found', `the wrapping key ${uid} no longer exists`);
    const o = fromStored(stored);
    await this.attachUnwrap(o, 1);
    return o;
  }

  /** Wraps a new key's bytes under the KMS key it asked for (wrapping_key_id), before it is stored. */
  private async wrapPending(o: ManagedObject): Promise<ManagedObject> {
    const { pendingWrap, ...rest } = o;
    if (pendingWrap === undefined || !o.material) return rest;
    let wrapping: ManagedObject;
    if (pendingWrap.stored) {
      wrapping = await this.storedWrappingKey(pendingWrap.uid);
    } else {
      // Wrapping encrypts under the key: the caller needs `encrypt` on it, as for Cosmian's wrap_object.
      const wuid = await this.resolveUid({ tag: 'Attributes', type: 'Structure', value: [{ tag: 'UniqueIdentifier', type: 'TextString', value: pendingWrap.uid }] });
      wrapping = await this.load(wuid, 'encrypt');
    }
    checkWrappingKey(wrapping, effectiveState(wrapping, this.now()));
    const material = wrapAtRest(symmetricKeyOf(wrapping), o.material);
    return { ...rest, material, attributes: [...o.attributes.filter((a) => !isWrappingKeyLink(a)), linkAttribute('WrappingKeyLink', wrapping.uid)] };
  }

  /**
   * Stores a new object under the UID placeUid chooses for it and returns that UID. An object
   * whose links name other new objects (a key pair) must have its UIDs placed beforehand.
   */
  async insert(o: ManagedObject): Promise<string> {
    if (o.pendingWrap !== undefined) o = await this.wrapPending(o);
    this.justResolved = undefined;
    const uid = this.generated.delete(o.uid) ? o.uid : await this.placeUid(o.uid);
    await this.store.insert(toStored({ ...o, uid }));
    return uid;
  }

  /** Deletes every grant on an object: destroying it ends what its owner shared. */
  async dropGrants(uid: string): Promise<void> {
    this.justResolved = undefined;
    const byUser = new Map<string, string[]>();
    for (const g of await this.store.grantsOf(uid)) byUser.set(g.user, [...(byUser.get(g.user) ?? []), g.operation]);
    for (const [user, operations] of byUser) await this.store.revoke(uid, user, operations);
  }

  async save(o: ManagedObject): Promise<void> {
    // An Import over an existing object may ask for wrapping under a KMS key too.
    if (o.pendingWrap !== undefined) o = await this.wrapPending(o);
    // A destroyed key's unwrapped bytes leave the cache (zeroed) at once.
    this.justResolved = undefined;
    if (o.material === null) this.hsm?.unwrappedCache.invalidate(o.uid);
    await this.store.update(toStored({ ...o, updatedAt: this.now() }));
  }
}

function alreadyExists(uid: string): KmipError {
  return new KmipError('Object_Already_Exists', `you already have an object with identifier ${uid}`);
}
