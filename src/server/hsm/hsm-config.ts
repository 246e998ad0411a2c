/**
 * Which HSMs the KMS uses, and under which UID prefix (../shared/reference/hsm-model.md §1).
 *
 * Three sources, merged in this order:
 *   - flat settings, Cosmian's legacy form: --hsm-model, --hsm-slot (repeatable),
 *     --hsm-password (repeatable, paired with the slots in order), --hsm-admin; or the
 *     environment KMS_HSM_MODEL, KMS_HSM_SLOT, KMS_HSM_PASSWORD, KMS_HSM_ADMIN
 *     (comma-separated). Their keys are addressed hsm::<slot>::<label>.
 *   - `[[hsm_instances]]` tables in the server's TOML configuration, each with model, slots,
 *     passwords, admins and an optional library. The first instance of a model is
 *     hsm::<model>::<slot>::<label>, the next hsm::<model>_1::..., and so on.
 * Both forms can be active together; a UID is routed by its longest matching prefix.
 *
 * A password "" logs in with a NULL PIN (protected authentication path); "<NO_LOGIN>" skips
 * the login. Admins ("*" for everyone) may create and destroy HSM keys.
 */

import { userNameProblem } from '../auth/user-names';
import { HSM_MODELS, isHsmModel, type HsmModel } from '../../hsm/profiles';

export interface HsmSlotConfig {
  id: number;
  /** As src/hsm takes it: '' logs in with a NULL PIN, NO_LOGIN ('<NO_LOGIN>') skips the login. */
  pin: string;
}

export interface HsmInstanceConfig {
  /** The UID prefix, without the trailing '::': "hsm" or "hsm::softhsm2" or "hsm::softhsm2_1". */
  prefix: string;
  model: HsmModel;
  /** The vendor library; the profile's default when omitted. */
  library?: string;
  slots: HsmSlotConfig[];
  admins: string[];
}

export class HsmConfigError extends Error {}

export interface FlatHsmSettings {
  model?: string;
  slots?: readonly (string | number)[];
  passwords?: readonly string[];
  admins?: readonly string[];
}

/** One [[hsm_instances]] table, as parsed from TOML. */
export type InstanceTable = Record<string, unknown>;

function model(value: unknown, where: string): HsmModel {
  const m = String(value ?? 'proteccio').toLowerCase();
  if (!isHsmModel(m)) throw new HsmConfigError(`${where}: unknown HSM model ${m} (${HSM_MODELS.join(', ')})`);
  return m;
}

function slotIds(values: readonly unknown[], where: string): number[] {
  return values.map((v) => {
    const n = typeof v === 'number' ? v : Number(String(v).trim());
    if (!Number.isSafeInteger(n) || n < 0) throw new HsmConfigError(`${where}: slot ${String(v)} is not a slot number`);
    return n;
  });
}

function pairSlots(ids: number[], passwords: readonly string[], where: string): HsmSlotConfig[] {
  if (passwords.length !== ids.length) throw new HsmConfigError(`${where}: ${ids.length} slot(s) but ${passwords.length} password(s); give one password per slot, in order`);
  return ids.map((id, i) => ({ id, pin: passwords[i] as string }));
}

function stringList(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' || typeof v === 'number')) throw new HsmConfigError(`${where} must be a list`);
  return value.map(String);
}

const split = (v: string | undefined): string[] => (v === undefined || v === '' ? [] : v.split(',').map((s) => s.trim()));

/** Flat settings from the command line, falling back to the environment for each one. */
export function flatSettings(flags: FlatHsmSettings, env: NodeJS.ProcessEnv): FlatHsmSettings {
  return {
    ...(flags.model ?? env['KMS_HSM_MODEL'] ? { model: flags.model ?? env['KMS_HSM_MODEL'] } : {}),
    slots: flags.slots && flags.slots.length ? flags.slots : split(env['KMS_HSM_SLOT']),
    passwords: flags.passwords && flags.passwords.length ? flags.passwords : split(env['KMS_HSM_PASSWORD']),
    admins: flags.admins && flags.admins.length ? flags.admins : split(env['KMS_HSM_ADMIN']),
  };
}

export function hsmInstances(flat: FlatHsmSettings, tables: readonly InstanceTable[] = []): HsmInstanceConfig[] {
  const out: HsmInstanceConfig[] = [];
  // Flat settings count only when they name slots, as in Cosmian's server.
  if (flat.slots && flat.slots.length > 0) {
    const ids = slotIds(flat.slots, 'hsm_slot');
    out.push({
      prefix: 'hsm',
      model: model(flat.model, 'hsm_model'),
      slots: pairSlots(ids, flat.passwords ?? [], 'hsm_password'),
      admins: flat.admins && flat.admins.length ? [...flat.admins] : ['admin'],
    });
  }
  const seen = new Map<HsmModel, number>();
  tables.forEach((table, i) => {
    const where = `hsm_instances[${i}]`;
    const known = new Set(['model', 'slots', 'passwords', 'admins', 'library']);
    for (const key of Object.keys(table)) if (!known.has(key)) throw new HsmConfigError(`${where}: unknown key ${key}`);
    const m = model(table['model'], `${where}.model`);
    const n = seen.get(m) ?? 0;
    seen.set(m, n + 1);
    const ids = slotIds(stringList(table['slots'], `${where}.slots`), `${where}.slots`);
    if (ids.length === 0) throw new HsmConfigError(`${where}: no slots`);
    const library = table['library'];
    if (library !== undefined && typeof library !== 'string') throw new HsmConfigError(`${where}.library must be a path`);
    const admins = stringList(table['admins'], `${where}.admins`);
    out.push({
      prefix: n === 0 ? `hsm::${m}` : `hsm::${m}_${n}`,
      model: m,
      ...(library !== undefined ? { library } : {}),
      slots: pairSlots(ids, stringList(table['passwords'], `${where}.passwords`), `${where}.passwords`),
      admins: admins.length ? admins : ['admin'],
    });
  });
  // An admin spelt as no authentication method names a user would lock every admin out of the HSM.
  for (const instance of out) {
    for (const admin of instance.admins) {
      const problem = userNameProblem(admin);
      if (problem !== undefined) throw new HsmConfigError(`${instance.prefix} admin ${admin}: ${problem}`);
    }
  }
  return out;
}

export interface HsmUid {
  instance: HsmInstanceConfig;
  slot: number;
  label: string;
}

/**
 * Routes a UID to its HSM by the longest matching prefix. undefined for ordinary KMS UIDs;
 * an error for an hsm:: UID that no configured instance or slot serves (never a fallback
 * to the database).
 */
export function routeHsmUid(uid: string, instances: readonly HsmInstanceConfig[]): HsmUid | undefined {
  if (!uid.startsWith('hsm::')) return undefined;
  const candidates = instances
    .filter((i) => uid.startsWith(`${i.prefix}::`))
    .map((i) => ({ instance: i, rest: uid.slice(i.prefix.length + 2) }))
    .filter(({ rest }) => /^\d+::./.test(rest))
    .sort((a, b) => b.instance.prefix.length - a.instance.prefix.length);
  const best = candidates[0];
  if (!best) throw new HsmConfigError(`no configured HSM serves ${uid}`);
  const separator = best.rest.indexOf('::');
  const slot = Number(best.rest.slice(0, separator));
  if (!best.instance.slots.some((s) => s.id === slot)) throw new HsmConfigError(`slot ${slot} of ${best.instance.prefix} is not configured`);
  return { instance: best.instance, slot, label: best.rest.slice(separator + 2) };
}

export function isHsmAdmin(user: string, instances: readonly HsmInstanceConfig[], instance?: HsmInstanceConfig): boolean {
  // Unlike Cosmian (any instance's admins), an admin is checked against the key's own HSM.
  const scope = instance ? [instance] : instances;
  return scope.some((i) => i.admins.includes('*') || i.admins.includes(user));
}
