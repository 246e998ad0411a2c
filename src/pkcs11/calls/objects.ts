import { T } from '../../kmip/ttlv';
import { nameAttribute, tagsAttribute, type LocateFilter } from '../../kmip/requests';
import { encodeAttributeValue } from '../attribute-kinds';
import { CKA, CKO, CKR } from '../constants';
import { fail, kmipFailure } from '../errors';
import { APPLICATION_TAG_PREFIX, flag, ID_TAG_PREFIX, OBJECT_TYPE_BY_CLASS, type KmsObject } from '../kms-object';
import { readAttribute, type ObjectContext } from '../object-attributes';
import { commonAttributes, objectFromTemplate, usageMask } from '../object-templates';
import type { Session } from '../session';
import { Template } from '../template';
import type { Token } from '../token';
import { ResultStatus, type AttributeQuery, type AttributeResult, type CallOutcome, type OutBuffer, type RawAttribute } from '../types';
import { listOf } from './slots';

/** Objects: attributes, search, creation and destruction (PKCS#11 2.40 section 5.7). */

/** Precedence when several attributes fail in one C_GetAttributeValue. */
const ATTRIBUTE_ERRORS = [CKR.ATTRIBUTE_SENSITIVE, CKR.ATTRIBUTE_TYPE_INVALID, CKR.BUFFER_TOO_SMALL];

export async function getAttributeValue(token: Token, sessionHandle: number, objectHandle: number, query: AttributeQuery[]): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const context = await token.resolve(session, objectHandle);
  const errors = new Set<number>();
  const results: AttributeResult[] = [];
  for (const q of query) {
    const outcome = await readAttribute(context, q.type);
    if ('sensitive' in outcome || 'invalid' in outcome) {
      errors.add('sensitive' in outcome ? CKR.ATTRIBUTE_SENSITIVE : CKR.ATTRIBUTE_TYPE_INVALID);
      results.push({ type: q.type, status: ResultStatus.Unavailable, length: 0 });
      continue;
    }
    const value = encodeAttributeValue(outcome.value, token.host.ulongSize);
    if (!q.present) {
      results.push({ type: q.type, status: ResultStatus.LengthOnly, length: value.length });
    } else if (q.capacity < value.length) {
      errors.add(CKR.BUFFER_TOO_SMALL);
      results.push({ type: q.type, status: ResultStatus.Unavailable, length: 0 });
    } else {
      results.push({ type: q.type, status: ResultStatus.Data, length: value.length, value });
    }
  }
  const rv = ATTRIBUTE_ERRORS.find((e) => errors.has(e)) ?? CKR.OK;
  return { rv, outputs: [results] };
}

async function matches(context: ObjectContext, template: Template): Promise<boolean> {
  for (const type of template.types()) {
    const outcome = await readAttribute(context, type);
    if (!('value' in outcome) || !template.matches(type, outcome.value)) return false;
  }
  return true;
}

/**
 * Revoking a key on the KMS takes it off the token: a disk unlocked through the token
 * (LUKS, VeraCrypt) must stop unlocking. KMIP would still let a Deactivated key decrypt,
 * so the objects are hidden here unless the slot sets show_revoked.
 */
function hiddenAsRevoked(showRevoked: boolean, state: string | undefined): boolean {
  if (showRevoked || state === undefined) return false;
  return state !== 'Active' && state !== 'PreActive';
}

const ORACLE_KM_PREFIX = 'ORACLE.SECURITY.KM.ENCRYPTION.';
const ORACLE_MK_PREFIX = 'ORACLE.TDE.HSM.MK.';

/**
 * Oracle TDE in HSM mode labels its master key ORACLE.TDE.HSM.MK.<MKID> at C_GenerateKey, and
 * also looks it up as ORACLE.SECURITY.KM.ENCRYPTION.<hex of the MKID's characters>. As in
 * Cosmian's module (Session::map_oracle_tde_security_to_mk), a search whose CKA_LABEL is such a
 * name also matches the object labelled ORACLE.TDE.HSM.MK.<the hex decoded, as UTF-8>, e.g.
 * ORACLE.SECURITY.KM.ENCRYPTION.3036394633...3830 → ORACLE.TDE.HSM.MK.069F3...80. Every other
 * attribute of the template must still match, and an object carrying the KM label itself is
 * found as well. Labels whose rest is not an even number of hex digits are not mapped.
 */
export function oracleMasterKeyLabel(label: string): string | undefined {
  if (!label.startsWith(ORACLE_KM_PREFIX)) return undefined;
  const hex = label.slice(ORACLE_KM_PREFIX.length);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return undefined;
  return ORACLE_MK_PREFIX + Buffer.from(hex, 'hex').toString('utf8');
}

/**
 * One Locate (narrowed by class, label and the slot's tags) and one GetAttributes batch; the rest
 * is matched here. An Oracle KM label adds a second search for the master key's label (above).
 */
export async function findObjectsInit(token: Token, sessionHandle: number, raw: RawAttribute[]): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  if (session.find) fail(CKR.OPERATION_ACTIVE, 'a search is already active');
  const template = Template.decode(raw, token.host.ulongSize);
  const slot = session.slot;
  session.find = { handles: [], next: 0 };
  if (!slot.canSee) return { rv: CKR.OK };
  const filter: LocateFilter = {};
  const cls = template.ulong(CKA.CLASS);
  if (cls !== undefined) {
    const objectType = OBJECT_TYPE_BY_CLASS.get(cls);
    if (objectType === undefined) return { rv: CKR.OK };
    filter.objectType = objectType;
  }
  if (slot.config.tags.length > 0) filter.tags = slot.config.tags;
  const label = template.has(CKA.LABEL) ? template.string(CKA.LABEL) : undefined;
  const searches: Array<[string | undefined, Template]> = [[label, template]];
  const mapped = label !== undefined ? oracleMasterKeyLabel(label) : undefined;
  if (mapped !== undefined) {
    const value = Buffer.from(mapped, 'utf8');
    searches.push([mapped, Template.decode(raw.map((a) => (a.type === CKA.LABEL ? { type: a.type, value } : a)), token.host.ulongSize)]);
  }
  const found = new Set<number>();
  for (const [name, wanted] of searches) {
    for (const object of await slot.store.search(name ? { ...filter, name } : filter)) {
      const context = token.contextFor(session, object);
      if (!context || !token.visible(session, context.cls, object) || hiddenAsRevoked(slot.config.showRevoked, object.state)) continue;
      if (!(await matches(context, wanted))) continue;
      found.add(token.handleFor(session, object.uid));
    }
  }
  session.find = { handles: [...found], next: 0 };
  return { rv: CKR.OK };
}

export function findObjects(token: Token, sessionHandle: number, out: OutBuffer): CallOutcome {
  const session = token.session(sessionHandle);
  const find = session.find;
  if (!find) fail(CKR.OPERATION_NOT_INITIALIZED, 'no active search');
  const page = find.handles.slice(find.next, find.next + out.capacity);
  find.next += page.length;
  return listOf(out, page);
}

export function findObjectsFinal(token: Token, sessionHandle: number): CallOutcome {
  const session = token.session(sessionHandle);
  if (!session.find) fail(CKR.OPERATION_NOT_INITIALIZED, 'no active search');
  session.find = undefined;
  return { rv: CKR.OK };
}

/** Token objects need a read-write session; private ones need a login where the token asks for one. */
export function checkWritable(token: Token, session: Session, template: Template, cls: number | undefined): boolean {
  const isTokenObject = template.bool(CKA.TOKEN) ?? false;
  if (isTokenObject && !session.readWrite) fail(CKR.SESSION_READ_ONLY, 'token objects need a read-write session');
  if (cls !== undefined && !token.visible(session, cls)) fail(CKR.USER_NOT_LOGGED_IN, 'log in to create private objects');
  return isTokenObject;
}

/** Registers a new object (or records a session object) and returns its handle. */
export function adopt(token: Token, session: Session, uid: string, isTokenObject: boolean): number {
  if (!isTokenObject) session.sessionObjects.add(uid);
  session.slot.store.invalidate(uid);
  return token.handleFor(session, uid);
}

export async function createObject(token: Token, sessionHandle: number, raw: RawAttribute[]): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const template = Template.decode(raw, token.host.ulongSize);
  const isTokenObject = checkWritable(token, session, template, template.ulong(CKA.CLASS));
  const object = objectFromTemplate(template);
  const mask = usageMask(template);
  try {
    const uid = await session.slot.kms().register(object, {
      ...commonAttributes(template, session.slot.config.tags),
      ...(mask !== undefined ? { usageMask: mask } : {}),
    });
    return { rv: CKR.OK, outputs: [adopt(token, session, uid, isTokenObject)] };
  } catch (e) {
    throw kmipFailure(e, 'create');
  }
}

/** A copy is a new KMS object with the same material, which only public or extractable objects allow. */
export async function copyObject(token: Token, sessionHandle: number, objectHandle: number, raw: RawAttribute[]): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const context = await token.resolve(session, objectHandle);
  const template = Template.decode(raw, token.host.ulongSize);
  template.allowOnly(new Set([CKA.TOKEN, CKA.LABEL, CKA.ID, CKA.APPLICATION, CKA.PRIVATE, CKA.MODIFIABLE, CKA.DESTROYABLE, CKA.COPYABLE]), 'C_CopyObject');
  const copyable = await readAttribute(context, CKA.COPYABLE);
  if (!('value' in copyable) || copyable.value.value !== true) fail(CKR.ACTION_PROHIBITED, 'this object cannot be copied');
  const isTokenObject = checkWritable(token, session, template, context.cls);
  const o = context.object;
  const kms = session.slot.kms();
  try {
    const retrieved = await kms.get(o.uid);
    if (!retrieved.object) fail(CKR.DEVICE_ERROR, 'the KMS returned no object to copy');
    const tags = o.tags.filter((t) => !(template.has(CKA.ID) && t.startsWith(ID_TAG_PREFIX)) && !(template.has(CKA.APPLICATION) && t.startsWith(APPLICATION_TAG_PREFIX)));
    const overrides = commonAttributes(template, []);
    const label = overrides.label ?? o.label;
    const uid = await kms.register({ objectType: o.objectType as 'SecretData', node: retrieved.object }, {
      ...(label !== undefined ? { label } : {}),
      tags: [...tags, ...(overrides.tags ?? [])],
      ...(o.usageMask !== undefined ? { usageMask: o.usageMask } : {}),
    });
    return { rv: CKR.OK, outputs: [adopt(token, session, uid, isTokenObject)] };
  } catch (e) {
    throw kmipFailure(e, 'create');
  }
}

export async function destroyObject(token: Token, sessionHandle: number, objectHandle: number): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const context = await token.resolve(session, objectHandle);
  if (context.token && !session.readWrite) fail(CKR.SESSION_READ_ONLY, 'token objects need a read-write session');
  if (!flag(context.object, 'destroyable')) fail(CKR.ACTION_PROHIBITED, 'the object was created with CKA_DESTROYABLE=FALSE');
  const uid = context.object.uid;
  await session.slot.store.destroy(uid, context.object.state);
  for (const s of token.sessionsOf(session.slot)) s.sessionObjects.delete(uid);
  token.handles.retire(objectHandle);
  return { rv: CKR.OK };
}

export async function getObjectSize(token: Token, sessionHandle: number, objectHandle: number): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  await token.resolve(session, objectHandle);
  // The KMS does not report sizes, and the standard lets a token say so.
  return { rv: CKR.OK, outputs: [-1] };
}

/**
 * The protection latches C_SetAttributeValue may move on a secret or private key, each in the
 * one direction PKCS#11 allows (2.40, common footnotes 11 and 12: CKA_SENSITIVE cannot change
 * once TRUE, CKA_EXTRACTABLE once FALSE); the KMS keeps the same rule (src/server/model/protection.ts).
 */
const TIGHTENINGS: ReadonlyMap<number, { tag: 'Sensitive' | 'Extractable'; value: boolean; current: (o: KmsObject) => boolean }> = new Map([
  [CKA.SENSITIVE, { tag: 'Sensitive', value: true, current: (o: KmsObject) => o.sensitive }],
  [CKA.EXTRACTABLE, { tag: 'Extractable', value: false, current: (o: KmsObject) => o.extractable }],
]);

/** CKA_LABEL, CKA_ID and CKA_APPLICATION can change, CKA_SENSITIVE and CKA_EXTRACTABLE only tighten; the rest is fixed by the KMS. */
export async function setAttributeValue(token: Token, sessionHandle: number, objectHandle: number, raw: RawAttribute[]): Promise<CallOutcome> {
  const session = token.session(sessionHandle);
  const context = await token.resolve(session, objectHandle);
  if (context.token && !session.readWrite) fail(CKR.SESSION_READ_ONLY, 'token objects need a read-write session');
  if (!flag(context.object, 'modifiable')) fail(CKR.ACTION_PROHIBITED, 'the object was created with CKA_MODIFIABLE=FALSE');
  const template = Template.decode(raw, token.host.ulongSize);
  const keyWithLatches = context.cls === CKO.SECRET_KEY || context.cls === CKO.PRIVATE_KEY;
  const tightened: Array<{ tag: string; value: boolean }> = [];
  for (const type of template.types()) {
    if (type === CKA.LABEL || type === CKA.ID || (type === CKA.APPLICATION && context.cls === CKO.DATA)) continue;
    const tightening = keyWithLatches ? TIGHTENINGS.get(type) : undefined;
    if (tightening && template.bool(type) === tightening.value) {
      if (tightening.current(context.object) !== tightening.value) tightened.push(tightening);
      continue;
    }
    const current = await readAttribute(context, type);
    if ('invalid' in current) fail(CKR.ATTRIBUTE_TYPE_INVALID, `attribute 0x${type.toString(16)}`);
    // Setting an attribute to the value it already has is harmless.
    if (!('value' in current) || !template.matches(type, current.value)) fail(CKR.ATTRIBUTE_READ_ONLY, `attribute 0x${type.toString(16)} is read-only here`);
  }
  const o = context.object;
  const kms = session.slot.kms();
  try {
    const label = template.has(CKA.LABEL) ? template.string(CKA.LABEL) ?? '' : undefined;
    if (label !== undefined) {
      const op = o.label !== undefined ? 'ModifyAttribute' : 'AddAttribute';
      await kms.call(T.struct(op, [T.text('UniqueIdentifier', o.uid), T.struct('NewAttribute', [nameAttribute(label)])]));
    }
    for (const { tag, value } of tightened) {
      await kms.call(T.struct('SetAttribute', [T.text('UniqueIdentifier', o.uid), T.struct('NewAttribute', [T.bool(tag, value)])]));
    }
    if (template.has(CKA.ID) || template.has(CKA.APPLICATION)) {
      const added = commonAttributes(template, []).tags ?? [];
      const kept = o.tags.filter((t) => !(template.has(CKA.ID) && t.startsWith(ID_TAG_PREFIX)) && !(template.has(CKA.APPLICATION) && t.startsWith(APPLICATION_TAG_PREFIX)));
      await kms.call(T.struct('SetAttribute', [T.text('UniqueIdentifier', o.uid), T.struct('NewAttribute', [tagsAttribute([...kept, ...added])])]));
    }
  } catch (e) {
    throw kmipFailure(e, 'object');
  } finally {
    session.slot.store.invalidate(o.uid);
  }
  return { rv: CKR.OK };
}

