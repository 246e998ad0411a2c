import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HsmInstance, type HsmInstanceConfig } from '../../src/hsm/instance';

export const SOFTHSM2_LIB = '/usr/lib/softhsm/libsofthsm2.so';
export const PIN = '12345678';

export interface SoftHsmTokens {
  dir: string;
  /** The SOFTHSM2_CONF for these tokens. */
  conf: string;
  /** Slot IDs as SoftHSM2 reassigned them, in creation order. */
  slots: number[];
  labels: string[];
  /** An instance config for the given slots (all by default), PIN 12345678. */
  config(overrides?: Partial<HsmInstanceConfig>): HsmInstanceConfig;
  /** Opens an instance and closes it when the test ends. */
  open(t: Teardown, overrides?: Partial<HsmInstanceConfig>): HsmInstance;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * Real SoftHSM2 tokens in a temporary directory, set up the way Cosmian's scripts do:
 * `--init-token --free`, slot IDs parsed from "reassigned to slot N". SoftHSM2 reads
 * SOFTHSM2_CONF when the library is initialised, and the library is initialised once per
 * process, so a test file makes its tokens once and every instance in it shares them.
 */
export function makeTokens(t: Teardown, count: number, prefix = 'hsmtest'): SoftHsmTokens {
  const dir = mkdtempSync(join(tmpdir(), 'p11kms-softhsm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const slots: number[] = [];
  const labels: string[] = [];
  for (let i = 0; i < count; i++) {
    const label = `${prefix}_${i}`;
    const out = execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', PIN, '--pin', PIN], {
      env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8',
    });
    const m = /reassigned to slot (\d+)/.exec(out);
    if (!m) throw new Error(`softhsm2-util did not report a slot: ${out}`);
    slots.push(Number(m[1]));
    labels.push(label);
  }
  const config = (overrides: Partial<HsmInstanceConfig> = {}): HsmInstanceConfig => ({
    model: 'softhsm2',
    slots: slots.map((id) => ({ id, pin: PIN })),
    libraryPath: SOFTHSM2_LIB,
    environment: { SOFTHSM2_CONF: conf },
    ...overrides,
  });
  return {
    dir, conf, slots, labels, config,
    open(tt: Teardown, overrides?: Partial<HsmInstanceConfig>): HsmInstance {
      const hsm = HsmInstance.open(config(overrides));
      tt.teardown(() => hsm.close());
      return hsm;
    },
  };
}
