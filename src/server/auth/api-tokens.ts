import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { apiTokenNameProblem } from './user-names';

/**
 * Static API tokens. Only SHA-256 digests are kept, in memory and in the tokens file
 * (`user token-sha256-hex` per line), so neither holds a usable secret; a presented token is
 * hashed and compared with every digest in constant time, without stopping at a match, so
 * the time taken says nothing about which user, if any, it belongs to.
 */
export class ApiTokens {
  private constructor(private readonly entries: readonly { user: string; digest: Buffer }[]) {}

  get size(): number {
    return this.entries.length;
  }

  /** `user:token` pairs (flags), `user sha256hex` lines (the file, or what serve hands its workers). */
  static from(pairs: readonly string[], digestLines: readonly string[], origin = 'api tokens'): ApiTokens {
    const entries = [
      ...pairs.map((pair) => fromPair(pair)),
      ...digestLines.map((line, i) => fromDigestLine(line, `${origin} line ${i + 1}`)).filter((e): e is Entry => e !== undefined),
    ];
    const seen = new Set<string>();
    for (const e of entries) {
      const hex = e.digest.toString('hex');
      // One token, two users: whichever matched would be arbitrary.
      if (seen.has(hex)) throw new Error(`${origin}: the same token is given twice (user ${e.user})`);
      seen.add(hex);
    }
    return new ApiTokens(entries);
  }

  static readFile(path: string): string[] {
    try {
      return readFileSync(path, 'utf8').split(/\r?\n/);
    } catch (e) {
      throw new Error(`cannot read the API tokens file ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  userFor(token: string): string | undefined {
    const presented = sha256(token);
    let found: string | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(presented, e.digest) && found === undefined) found = e.user;
    }
    return found;
  }
}

interface Entry {
  user: string;
  digest: Buffer;
}

export function sha256(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The line the tokens file holds for a token: what `serve` passes its workers instead of the token. */
export function digestLine(pair: string): string {
  const { user, digest } = fromPair(pair);
  return `${user} ${digest.toString('hex')}`;
}

function fromPair(pair: string): Entry {
  const colon = pair.indexOf(':');
  const user = pair.slice(0, colon);
  const token = pair.slice(colon + 1);
  // The message names the user only: the token must not reach a log or a terminal.
  if (colon <= 0 || token.length === 0) throw new Error(`--api-token must be <user>:<token>${colon > 0 ? ` (user ${user} has an empty token)` : ''}`);
  const problem = apiTokenNameProblem(user);
  if (problem !== undefined) throw new Error(`--api-token: ${problem}`);
  return { user, digest: sha256(token) };
}

function fromDigestLine(line: string, where: string): Entry | undefined {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const match = /^(\S+)\s+([0-9a-fA-F]{64})$/.exec(text);
  if (!match) throw new Error(`${where}: expected "<user> <sha256 of the token, 64 hex digits>"`);
  const user = match[1] as string;
  // Another method's name (jwt:…, cert:…) in the tokens file would let a token act as that user.
  const problem = apiTokenNameProblem(user);
  if (problem !== undefined) throw new Error(`${where}: ${problem}`);
  return { user, digest: Buffer.from(match[2] as string, 'hex') };
}
