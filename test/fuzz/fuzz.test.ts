import t from 'tap';
import { describe, fuzzTarget, TARGETS } from './run';

/**
 * A short coverage-guided run of every fuzz target under Jazzer.js. The full 1,000,000
 * executions per target take 10 to 12 minutes on two cores, more than `npm test`
 * should spend, so they are `npm run fuzz` (and a CI step of their own); see README "Fuzzing".
 */
const RUNS = Number(process.env['FUZZ_TEST_RUNS'] ?? 100_000);

for (const target of TARGETS) {
  t.test(`${target}: ${RUNS} coverage-guided executions`, async (t) => {
    const r = await fuzzTarget(target, RUNS);
    t.comment(describe(r));
    t.notOk(r.failure, r.failure ?? 'no crash, no hang, heap bounded');
  });
}
