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
  ...Object.fromEntries(['activate_twice', 'destroy_active_refused', 'encrypt_preactive_refused'].map((name) => [name, {
    versions: ['2.0'],
    reason: 'KMIP 2.0 has Wrong Key Lifecycle State (0x43), the reason Cosmian gives for a wrong state; PyKMIP answers ' +
      'Permission Denied in every version (1.x clients get Permission Denied from p11kms too, src/kmip/versions.ts)',
  }])),
  get_unknown: {
    versions: ['2.0'],
    reason: 'KMIP 2.0 has Object Not Found (0x37), which Cosmian answers for a missing object ' +
      '(crate/server/src/core/retrieve_object_utils.rs); PyKMIP answers Item Not Found in every version (1.x clients get ' +
      'Item Not Found from p11kms too)',
  },
  ...Object.fromEntries(['destroy', 'proxy_lifecycle'].map((name) => [name, {
    versions: ['2.0'],
    reason: 'KMIP 2.0 has Object Destroyed (0x36), which Cosmian answers for a destroyed object; PyKMIP deletes the ' +
      'object and answers Item Not Found (1.x clients get Item Not Found from p11kms too)',
  }])),
  get_attributes_all: {
    versions: ['2.0'],
    reason: 'p11kms returns Key Format Type, a KMIP 2.0 attribute (Cosmian returns it too); PyKMIP 0.10\'s client has no ' +
      'value class for it ("Unrecognized attribute type") and its server never returns it',
  },
  proxy_batch: {
    reason: 'two items without Unique Batch Item IDs: KMIP 1.4 §7.2 asks for the IDs when Batch Count > 1 and PyKMIP\'s ' +
      'server refuses the message (Invalid Message); p11kms answers each item in order, as a KMIP 2.1 JSON client of Cosmian\'s ' +
      '/kmip endpoint may send them',
  },
  encrypt_decrypt_cbc: {
    reason: 'p11kms returns the IV even when the client gave it, as Cosmian does ' +
      '(crate/server/src/core/operations/encrypt.rs: iv_counter_nonce: Some(nonce)); PyKMIP returns none',
  },
};

/**
 * The scenarios PyKMIP's side cannot complete, by design of the reference or of its client.
 * Every other scenario must succeed against pykmip-server: otherwise a broken reference (or a
 * broken scenario) would leave nothing to compare and the test would pass on nothing.
 */
const REFERENCE_CANNOT: Readonly<Record<string, { versions?: readonly string[]; reason: string }>> = {
  encrypt_decrypt_rsa_oaep: { reason: 'pykmip-server encrypts with symmetric keys only' },
  check: { reason: 'pykmip-server has no Check; PyKMIP\'s client then fails reading the reply' },
  rekey: { reason: 'pykmip-server has no ReKey (Operation Not Supported)' },
  delete_attribute_missing_index: { versions: ['1.2', '1.4'], reason: 'a refusal on purpose: no Name with index 3, on both servers' },
  set_attribute_sensitive: { versions: ['1.2', '1.4'], reason: 'SetAttribute exists from KMIP 2.0; PyKMIP\'s client refuses to send it' },
  modify_attribute_name: { versions: ['2.0'], reason: 'pykmip-server wants the CurrentAttribute of a multi-valued Name' },
  'register Certificate X.509': { versions: ['2.0'], reason: 'PyKMIP\'s client cannot encode a 2.0 Certificate Register' },
  'register with names, mask, policy, application info': { versions: ['2.0'], reason: 'PyKMIP\'s client has no 2.0 Operation Policy Name' },
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
      { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
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
        const cannot = REFERENCE_CANNOT[expected.name];
        const referenceCannot = cannot !== undefined && (cannot.versions === undefined || cannot.versions.includes(version));
        t.equal(expected.ok, !referenceCannot, referenceCannot ? `${expected.name}: pykmip-server still cannot (${cannot?.reason ?? ''})`
          : `${expected.name}: pykmip-server succeeds, so there is something to compare`, { error: expected.error });
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
