import t from 'tap';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnwrappedKeyCache } from '../../src/hsm/key-cache';

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const wrappedOf = (): Buffer => randomBytes(60);
const key = (): Buffer => randomBytes(32);
const isZero = (b: Buffer): boolean => b.length > 0 && b.every((x) => x === 0);

t.test('hits and misses are counted; a hit returns the cached bytes', async (t) => {
  const cache = new UnwrappedKeyCache();
  const w = wrappedOf();
  const k = key();
  const copy = Buffer.from(k);
  t.equal(cache.get('a', w), undefined);
  cache.set('a', w, k);
  t.same(cache.get('a', w), copy);
  t.same(cache.get('a', Buffer.from(w)), copy, 'equal wrapped bytes, not the same Buffer, hit');
  t.same(cache.stats, { hits: 2, misses: 1, evictions: 0, expirations: 0, invalidations: 0, size: 1 });
});

t.test('idle expiry: unused entries expire, used ones stay, and expired bytes are zeroed', async (t) => {
  const c = clock();
  const cache = new UnwrappedKeyCache({ idleMs: 1000, now: c.now });
  const w = wrappedOf();
  const k = key();
  cache.set('a', w, k);
  c.advance(999);
  t.ok(cache.get('a', w), 'used just before it would idle out');
  c.advance(999);
  t.ok(cache.get('a', w), 'the use reset the idle timer');
  c.advance(1000);
  t.equal(cache.get('a', w), undefined, 'idle for 1000 ms: gone');
  t.ok(isZero(k), 'and the key bytes were zeroed');
  t.equal(cache.stats.expirations, 1);
});

t.test('absolute expiry: an entry in constant use still expires at maxAgeMs', async (t) => {
  const c = clock();
  const cache = new UnwrappedKeyCache({ idleMs: 1000, maxAgeMs: 5000, now: c.now });
  const w = wrappedOf();
  const k = key();
  cache.set('a', w, k);
  for (let elapsed = 900; elapsed < 5000; elapsed += 900) {
    c.advance(900);
    t.ok(cache.get('a', w), `alive at ${elapsed} ms`);
  }
  c.advance(500); // 5000 ms after set
  t.equal(cache.get('a', w), undefined);
  t.ok(isZero(k));
  t.throws(() => new UnwrappedKeyCache({ idleMs: 1000, maxAgeMs: 999 }), RangeError, 'maxAgeMs below idleMs is refused');
});

t.test('sweep() and the sweep timer zero expired entries nobody asks for', async (t) => {
  const c = clock();
  const cache = new UnwrappedKeyCache({ idleMs: 1000, now: c.now });
  const k1 = key();
  const k2 = key();
  cache.set('a', wrappedOf(), k1);
  c.advance(500);
  cache.set('b', wrappedOf(), k2);
  c.advance(600);
  cache.sweep();
  t.ok(isZero(k1), 'a idled out');
  t.notOk(isZero(k2), 'b did not');
  t.equal(cache.stats.size, 1);

  const c2 = clock();
  const timed = new UnwrappedKeyCache({ idleMs: 1000, sweepIntervalMs: 5, now: c2.now });
  t.teardown(() => timed.close());
  const k3 = key();
  timed.set('c', wrappedOf(), k3);
  c2.advance(1000);
  await sleep(50);
  t.ok(isZero(k3), 'the timer swept it without any get()');
});

t.test('size bound: the least recently used entry is evicted and zeroed', async (t) => {
  const cache = new UnwrappedKeyCache({ maxEntries: 2 });
  const [wa, wb, wc] = [wrappedOf(), wrappedOf(), wrappedOf()];
  const [ka, kb, kc] = [key(), key(), key()];
  cache.set('a', wa, ka);
  cache.set('b', wb, kb);
  t.ok(cache.get('a', wa), 'a is now the most recently used');
  cache.set('c', wc, kc);
  t.ok(isZero(kb), 'b, the least recently used, was evicted and zeroed');
  t.notOk(isZero(ka));
  t.equal(cache.get('b', wb), undefined);
  t.ok(cache.get('a', wa));
  t.ok(cache.get('c', wc));
  t.equal(cache.stats.evictions, 1);
  t.equal(cache.stats.size, 2);
});

t.test('a changed wrapped form is a miss, and the stale key is zeroed', async (t) => {
  const cache = new UnwrappedKeyCache();
  const before = wrappedOf();
  const after = wrappedOf();
  const k = key();
  cache.set('a', before, k);
  t.equal(cache.get('a', after), undefined, 'the re-wrapped form does not get the old key');
  t.ok(isZero(k));
  t.equal(cache.get('a', before), undefined, 'the stale entry is gone for good');
  const fresh = key();
  cache.set('a', after, fresh);
  t.ok(cache.get('a', after));
});

t.test('invalidate() and clear() zero what they drop', async (t) => {
  const cache = new UnwrappedKeyCache();
  const [ka, kb, kc] = [key(), key(), key()];
  cache.set('a', wrappedOf(), ka);
  cache.set('b', wrappedOf(), kb);
  cache.set('c', wrappedOf(), kc);
  t.equal(cache.invalidate('a'), true);
  t.equal(cache.invalidate('a'), false, 'nothing left to invalidate');
  t.ok(isZero(ka));
  t.notOk(isZero(kb));
  cache.clear();
  t.ok(isZero(kb) && isZero(kc));
  t.equal(cache.stats.size, 0);
  t.equal(cache.stats.invalidations, 3);
});

t.test('size 0 disables the cache', async (t) => {
  const cache = new UnwrappedKeyCache({ maxEntries: 0 });
  t.equal(cache.enabled, false);
  const w = wrappedOf();
  const k = key();
  cache.set('a', w, k);
  t.ok(isZero(k), 'a key the cache does not keep is zeroed at once (set() takes ownership)');
  t.equal(cache.get('a', w), undefined);
  t.equal(cache.get('a', w), undefined);
  t.same(cache.stats, { hits: 0, misses: 2, evictions: 0, expirations: 0, invalidations: 0, size: 0 });
});

t.test('a "wrapped" form equal to the key is refused', async (t) => {
  const cache = new UnwrappedKeyCache();
  const k = key();
  t.throws(() => cache.set('a', Buffer.from(k), k), /wrapped form is the key itself/);
  t.equal(cache.stats.size, 0);
});
