import t from 'tap';
import { join } from 'node:path';
import { makeTokens, PIN, SOFTHSM2_LIB } from '../hsm/softhsm';
import { MODULE_PATH, runProgram, startModuleFixture } from '../support/module';
import { REPO_ROOT } from '../support/server';

/**
 * Differential: the same PKCS#11 scenario on SoftHSM2 and on libp11kms.so, compared whole. The
 * expectation is PKCS#11 2.40 (common footnotes 11 and 12: CKA_SENSITIVE only goes to TRUE,
 * CKA_EXTRACTABLE only to FALSE; CKA_ALWAYS_SENSITIVE/CKA_NEVER_EXTRACTABLE are read-only and
 * describe a key's history, FALSE for one created from outside values), which SoftHSM2 follows.
 */
const SCRIPT = join(REPO_ROOT, 'test', 'module', 'scenarios', 'latches_reference.py');
const PYTHON = '/usr/bin/python3';

const STANDARD = {
  'generated readable: history': [false, true, false, false],
  'EXTRACTABLE TRUE -> FALSE': 'CKR_OK',
  'EXTRACTABLE FALSE -> TRUE': 'CKR_ATTRIBUTE_READ_ONLY',
  'SENSITIVE FALSE -> TRUE': 'CKR_OK',
  'SENSITIVE TRUE -> FALSE': 'CKR_ATTRIBUTE_READ_ONLY',
  'tightened afterwards: history': [true, false, false, false],
  'generated locked: history': [true, false, true, true],
  'set NEVER_EXTRACTABLE': 'CKR_ATTRIBUTE_READ_ONLY',
  'set ALWAYS_SENSITIVE': 'CKR_ATTRIBUTE_READ_ONLY',
  'C_CreateObject locked: history': [true, false, false, false],
  'C_WrapKey of a non-extractable key': 'CKR_KEY_UNEXTRACTABLE',
};

async function observe(env: NodeJS.ProcessEnv, args: string[]): Promise<unknown> {
  const r = await runProgram(PYTHON, [SCRIPT, ...args], { env: { ...env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 120_000 });
  if (r.code !== 0) throw new Error(`latches_reference.py failed (${String(r.code)}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

t.test('CKA_SENSITIVE/CKA_EXTRACTABLE latches and their history: libp11kms.so answers as SoftHSM2 does', async (t) => {
  const tokens = makeTokens(t, 1, 'latches');
  const reference = await observe({ PATH: process.env['PATH'], SOFTHSM2_CONF: tokens.conf }, [SOFTHSM2_LIB, PIN]);
  t.same(reference, STANDARD, 'SoftHSM2 answers as PKCS#11 2.40 says');
  const f = await startModuleFixture(t, { label: 'latches' });
  const ours = await observe(f.env, [MODULE_PATH]);
  t.same(ours, reference, 'libp11kms.so answers exactly as SoftHSM2');
});
