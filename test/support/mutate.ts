/** Deterministic pseudo-random mutations, so a failing fuzz case can be replayed from its seed. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  int(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** One random mutation of a valid message: flip, insert, delete, truncate, splice or duplicate. */
export function mutate(input: Buffer, rng: Rng): Buffer {
  const b = Buffer.from(input);
  switch (rng.int(7)) {
    case 0: {
      const n = 1 + rng.int(8);
      for (let i = 0; i < n && b.length > 0; i++) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 1: {
      const at = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(16)), b.subarray(at)]);
    }
    case 2: {
      const at = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16)))]);
    }
    case 3:
      return b.subarray(0, rng.int(b.length + 1));
    case 4: {
      const at = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(rng.int(b.length + 1))]);
    }
    case 5:
      return rng.bytes(rng.int(256));
    default: {
      // Big-endian length fields are where TTLV decoders go wrong: set one to an extreme.
      if (b.length < 8) return b;
      const at = rng.int(b.length - 3);
      b.writeUInt32BE([0, 0xffffffff, 0x7fffffff, b.length, rng.next()][rng.int(5)] as number, at);
      return b;
    }
  }
}
