import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KAT_DIR, SHARED_DIR } from '../support/server';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/** The vectors in test/vectors are a copy of shared/kmip-vectors: they must stay the same. */
t.test('test/vectors/kmip-vectors matches shared/kmip-vectors', { skip: existsSync(join(SHARED_DIR, 'kmip-vectors')) ? false : `no ${SHARED_DIR} beside this clone` }, async (t) => {
  const source = join(SHARED_DIR, 'kmip-vectors', 'kat');
  const expected = files(source).map((f) => relative(source, f)).sort();
  t.same(files(KAT_DIR).map((f) => relative(KAT_DIR, f)).sort(), expected, 'the same files');
  for (const name of expected) t.same(readFileSync(join(KAT_DIR, name)), readFileSync(join(source, name)), name);
});
