import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Parsing is the expensive part of serving a request: OpenSSL 3 takes about 2 ms to decode
 * a PKCS#8 EC key, and attributes are JSON TTLV text. Results are kept per object UID and
 * reused only while the stored bytes are identical, so a change made by any process (this
 * one or another worker sharing the database) is seen on the next read.
 */
class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
}

const CAPACITY = 10_000;
const keys = new BoundedCache<{ der: Buffer; key: KeyObject }>(CAPACITY);
const parsed = new BoundedCache<{ text: string; value: unknown }>(CAPACITY);

function cachedKey(cacheKey: string, der: Buffer, parse: () => KeyObject): KeyObject {
  const hit = keys.get(cacheKey);
  if (hit && hit.der.equals(der)) return hit.key;
  const key = parse();
  keys.set(cacheKey, { der: Buffer.from(der), key });
  return key;
}

export function cachedPrivateKey(uid: string, pkcs8: Buffer): KeyObject {
  return cachedKey(`sk:${uid}`, pkcs8, () => createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
}

export function cachedPublicKey(uid: string, spki: Buffer): KeyObject {
  return cachedKey(`pk:${uid}`, spki, () => createPublicKey({ key: spki, format: 'der', type: 'spki' }));
}

/** The parsed form of a text, reused while the text is unchanged. */
export function cachedParse<V>(uid: string, text: string, parse: (text: string) => V): V {
  const hit = parsed.get(uid);
  if (hit && hit.text === text) return hit.value as V;
  const value = parse(text);
  parsed.set(uid, { text, value });
  return value;
}
