import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, startTestServer } from '../support/server';
import { makeTestPki } from '../support/pki';
import { pykmipServerUnavailable, startPyKmipServer } from '../support/pykmip-server';

/**
 * The same PyKMIP client calls, with the same client certificate, against Debian's
 * pykmip-server and against p11kms's binary KMIP socket, for each protocol version PyKMIP
 * 0.10 speaks here. test/interop/pykmip_diff/run.py prints one JSON line per scenario; where
 * PyKMIP's server succeeds, p11kms must succeed with an equal summary, unless the scenario is
 * in KNOWN_DIFFERENCES. Where PyKMIP fails and p11kms succeeds, the test says so (t.comment).
 */

const run = promisify(execFile);
// Debian's python3-pykmip lives under /usr/bin/python3, not a pyenv or venv python.
const PYTHON = '/usr/bin/python3';
const RUNNER = join(REPO_ROOT, 'test', 'interop', 'pykmip_diff', 'run.py');
const VERSIONS = ['1.2', '1.4', '2.0'] as const;

interface ScenarioLine {
  name: string;
  ok: boolean;
  summary?: unknown;
  error?: string;
}

interface KnownDifference {
  /** Only these protocol versions; every version when absent. */
  versions?: readonly string[];
  reason: string;
}

/**
 * Where p11kms rightly answers otherwise than PyKMIP's server. A difference because p11kms is
 * wrong is a bug to fix, never an entry here. An entry that no longer differs fails the test,
 * so the table cannot go stale.
 */
const KNOWN_DIFFERENCES: Readonly<Record<string, KnownDifference>> = {
  derive_key_hmac: {
    reason: 'the base key is Pre-Active: KMIP 1.4 §3.22 and 2.1 §4.57 say a Pre-Active object "SHALL NOT be used for any ' +
      'cryptographic purpose", so p11kms refuses; PyKMIP (and Cosmian, crate/server/src/core/operations/derive_key.rs) ' +
      'do not check the state',
  },
  encrypt_decrypt_cbc: {
    reason: 'p11kms returns the IV even when the client gave it, as Cosmian does ' +
      '(crate/server/src/core/operations/encrypt.rs: iv_counter_nonce: Some(nonce)); PyKMIP returns none',
  },
};

function parseLines(stdout: string): ScenarioLine[] {
  return stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ScenarioLine);
}

const unavailable = pykmipServerUnavailable();

t.test('PyKMIP differential: pykmip-server vs p11kms serve --socket-port', { skip: unavailable ?? false, timeout: 480_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-pykmip-diff-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // One PKI for both servers: the same client certificate, so the same CN-based identity.
  const pki = makeTestPki(dir, 'pykmip-diff');
  const [reference, ours] = await Promise.all([
    startPyKmipServer(t, { pki, loggingLevel: 'WARNING' }),
    startTestServer(t, { port: 0, socketPort: 0, tlsCert: pki.serverCert, tlsKey: pki.serverKey, clientCa: pki.caCert }),
  ]);
  const runAgainst = async (port: number, version: string): Promise<ScenarioLine[]> => {
    const { stdout } = await run(PYTHON, [RUNNER, '127.0.0.1', String(port), pki.clientCert, pki.clientKey, pki.caCert, version],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return parseLines(stdout);
  };

  for (const version of VERSIONS) {
    await t.test(`KMIP ${version}`, async (t) => {
      // A crash of run.py rejects here and fails the test; so does a run that printed nothing.
      const [theirs, mine] = await Promise.all([runAgainst(reference.port, version), runAgainst(ours.socketPort as number, version)]);
      t.ok(theirs.length > 0, 'run.py printed scenario lines against pykmip-server');
      t.equal(mine.length, theirs.length, 'run.py printed as many lines against p11kms');
      const byName = new Map(mine.map((l) => [l.name, l]));
      for (const expected of theirs) {
        const got = byName.get(expected.name);
        if (!got) {
          t.fail(`${expected.name}: no line from p11kms`);
          continue;
        }
        const known = KNOWN_DIFFERENCES[expected.name];
        const isKnown = known !== undefined && (known.versions === undefined || known.versions.includes(version));
        const same = got.ok === expected.ok && JSON.stringify(got.summary) === JSON.stringify(expected.summary);
        if (!expected.ok) {
          if (got.ok) t.comment(`${expected.name}: PyKMIP's server fails (${expected.error ?? ''}); p11kms succeeds: ${JSON.stringify(got.summary)}`);
          else t.comment(`${expected.name}: both fail — pykmip-server: ${expected.error ?? ''}; p11kms: ${got.error ?? ''}`);
          continue;
        }
        if (isKnown) {
          t.notOk(same, `${expected.name}: listed in KNOWN_DIFFERENCES, so it must still differ`);
          t.comment(`${expected.name}: known difference (${known.reason}); pykmip-server ${JSON.stringify(expected.summary)}, ` +
            `p11kms ${got.ok ? JSON.stringify(got.summary) : got.error ?? ''}`);
          continue;
        }
        t.ok(got.ok, `${expected.name}: p11kms succeeds as pykmip-server does`, { error: got.error });
        t.same(got.summary, expected.summary, `${expected.name}: same summary`);
      }
    });
  }
});
