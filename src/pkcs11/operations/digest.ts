import { createHash, type Hash } from 'node:crypto';
import { HASHES, type HashName } from '../mechanisms';
import { ResultCache } from './output';

/** Digests are computed here: hashing public data needs no key and no round trip. */
export class DigestOperation {
  private readonly hash: Hash;
  private readonly cache = new ResultCache();
  private multiPart = false;

  constructor(readonly hashName: HashName) {
    this.hash = createHash(HASHES[hashName].node);
  }

  get length(): number {
    return HASHES[this.hashName].length;
  }

  get started(): boolean {
    return this.multiPart;
  }

  update(data: Uint8Array): void {
    this.multiPart = true;
    this.hash.update(data);
  }

  /** The digest, computed once: a length query and the call after it see the same bytes. */
  finish(single?: Uint8Array): Promise<Buffer> {
    return this.cache.get(new Uint8Array(), async () => {
      if (single) this.hash.update(single);
      return this.hash.digest();
    });
  }

  clear(): void {
    this.cache.clear();
  }
}
