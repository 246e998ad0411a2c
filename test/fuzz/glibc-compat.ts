import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * @jazzer.js/fuzzer 4.0.0 ships one linux-x64 prebuild, built against glibc 2.38 and GCC 13,
 * and its older versions download their binaries from GitHub, which CI cannot reach. Debian 12
 * has glibc 2.36 and libstdc++ from GCC 12, so the prebuild fails to load for three symbols:
 * - __isoc23_strtol / __isoc23_strtoul (GLIBC_2.38): C23 strtol, which only adds "0b" prefixes;
 *   libFuzzer uses it to parse its own -flag=N options, so plain strtol is equivalent.
 * - std::ios_base_library_init (GLIBCXX_3.4.32): a versioned reference with no relocation,
 *   there only to pull in the version; Node's own libstdc++ sets up iostreams already.
 * This rewrites, in place, those version needs to the libraries' base versions and the two
 * symbol names to their suffixes ("strtol", "strtoul"). No byte is inserted or moved. On a
 * system with glibc >= 2.38 the prebuild loads as shipped and nothing is changed.
 */

const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const RETARGET: Readonly<Record<string, string>> = { 'GLIBC_2.38': 'GLIBC_2.2.5', 'GLIBCXX_3.4.32': 'GLIBCXX_3.4' };
const C23_PREFIX = '__isoc23_';

interface Section { type: number; offset: number; size: number; link: number; info: number }
interface VersionNeed { at: number; lib: string; name: string; nameOffset: number; hash: number }

function sections(b: Buffer): Section[] {
  const shoff = Number(b.readBigUInt64LE(0x28));
  const size = b.readUInt16LE(0x3a);
  return Array.from({ length: b.readUInt16LE(0x3c) }, (_, i) => {
    const o = shoff + i * size;
    return { type: b.readUInt32LE(o + 4), offset: Number(b.readBigUInt64LE(o + 0x18)), size: Number(b.readBigUInt64LE(o + 0x20)), link: b.readUInt32LE(o + 0x28), info: b.readUInt32LE(o + 0x2c) };
  });
}

/** Rewrites the prebuild if it needs symbol versions this system lacks; true if it did. */
export function patchElf(b: Buffer, canLoad: (version: string) => boolean): boolean {
  const secs = sections(b);
  const dynsym = secs.find((s) => s.type === SHT_DYNSYM);
  const verneed = secs.find((s) => s.type === SHT_GNU_VERNEED);
  if (!dynsym || !verneed) return false;
  const strtab = secs[dynsym.link] as Section;
  const str = (off: number): string => b.toString('latin1', strtab.offset + off, b.indexOf(0, strtab.offset + off));
  const needs: VersionNeed[] = [];
  for (let o = verneed.offset, n = 0; n < verneed.info; n++, o += b.readUInt32LE(o + 12)) {
    const lib = str(b.readUInt32LE(o + 4));
    for (let a = o + b.readUInt32LE(o + 8), k = b.readUInt16LE(o + 2); k > 0; k--, a += b.readUInt32LE(a + 12)) {
      needs.push({ at: a, lib, name: str(b.readUInt32LE(a + 8)), nameOffset: b.readUInt32LE(a + 8), hash: b.readUInt32LE(a) });
    }
  }
  let changed = false;
  for (const need of needs) {
    const base = RETARGET[need.name];
    const target = base === undefined || canLoad(need.name) ? undefined : needs.find((n) => n.lib === need.lib && n.name === base);
    if (!target) continue;
    b.writeUInt32LE(target.hash, need.at);
    b.writeUInt32LE(target.nameOffset, need.at + 8);
    changed = true;
  }
  if (!changed) return false;
  for (let s = dynsym.offset; s < dynsym.offset + dynsym.size; s += 24) {
    if (str(b.readUInt32LE(s)).startsWith(C23_PREFIX)) b.writeUInt32LE(b.readUInt32LE(s) + C23_PREFIX.length, s);
  }
  return true;
}

/** True if the system's libc and libstdc++ define `version` (read from their version strings). */
function systemHas(version: string): boolean {
  const libs = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libstdc++.so.6'];
  return libs.some((lib) => {
    try {
      return readFileSync(lib).includes(Buffer.from(`\0${version}\0`, 'latin1'));
    } catch {
      return false;
    }
  });
}

export function ensureJazzerLoads(): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  const file = join(dirname(require.resolve('@jazzer.js/fuzzer/package.json')), 'prebuilds', 'fuzzer-linux-x64.node');
  const b = readFileSync(file);
  if (patchElf(b, systemHas)) {
    // Renamed into place: a fuzzer starting meanwhile loads either the old file or the whole new one.
    writeFileSync(`${file}.${process.pid}`, b);
    renameSync(`${file}.${process.pid}`, file);
    process.stderr.write(`fuzz: adapted ${file} to this system's glibc/libstdc++ (see test/fuzz/glibc-compat.ts)\n`);
  }
}
