import { COSMIAN_FAILURES, KmipError } from '../../kmip/errors';
import { T } from '../../kmip/ttlv';
import { dateAttr, withAttr } from './attributes';
import type { ManagedObject, State } from './managed-object';

/**
 * KMIP lifecycle (KMIP 2.1 §3.x State): a key is PreActive until its ActivationDate, Active
 * until its DeactivationDate; Revoke moves it to Deactivated or Compromised; Destroy removes
 * its material. Dates in the future are honoured lazily, when the object is next read.
 */
export function effectiveState(o: ManagedObject, now: number): State {
  if (o.state === 'PreActive') {
    const activation = dateAttr(o.attributes, 'ActivationDate');
    if (activation !== undefined && activation <= now) return activeUnlessDeactivated(o, now);
  }
  if (o.state === 'Active') return activeUnlessDeactivated(o, now);
  return o.state;
}

function activeUnlessDeactivated(o: ManagedObject, now: number): State {
  const deactivation = dateAttr(o.attributes, 'DeactivationDate');
  return deactivation !== undefined && deactivation <= now ? 'Deactivated' : 'Active';
}

/** The state a new object starts in, from its requested ActivationDate. */
export function initialState(activationDate: number | undefined, now: number): State {
  return activationDate !== undefined && activationDate <= now ? 'Active' : 'PreActive';
}

export type Usage = 'protect' | 'process' | 'manage' | 'read';

/**
 * Which states allow which use. `protect` (Encrypt, Sign, MAC, wrapping, derivation) needs
 * Active; `process` (Decrypt, SignatureVerify, MACVerify) also allows Deactivated and
 * Compromised, so data protected earlier can still be read.
 */
export function requireUsableState(o: ManagedObject, usage: Usage, now: number): void {
  const s = effectiveState(o, now);
  const destroyed = s === 'Destroyed' || s === 'Destroyed_Compromised';
  if (destroyed && usage !== 'read') {
    throw new KmipError('Object_Destroyed', `object ${o.uid} is destroyed`);
  }
  if (usage === 'protect' && s !== 'Active') {
    throw new KmipError('Wrong_Key_Lifecycle_State', `object ${o.uid} is ${s}; this operation needs an Active object`);
  }
  if (usage === 'process' && s === 'PreActive') {
    throw new KmipError('Wrong_Key_Lifecycle_State', `object ${o.uid} is PreActive; activate it first`);
  }
}

export function activate(o: ManagedObject, now: number): ManagedObject {
  const s = effectiveState(o, now);
  if (s !== 'PreActive') {
    throw new KmipError('Wrong_Key_Lifecycle_State', `object ${o.uid} is ${s}; only a PreActive object can be activated`);
  }
  return { ...o, state: 'Active', attributes: withAttr(o.attributes, T.date('ActivationDate', now)) };
}

export function revoke(o: ManagedObject, compromised: boolean, now: number, compromiseDate?: number): ManagedObject {
  const s = effectiveState(o, now);
  if (s === 'Destroyed' || s === 'Destroyed_Compromised') {
    throw new KmipError('Wrong_Key_Lifecycle_State', `object ${o.uid} is destroyed`);
  }
  if (compromised) {
    let attributes = withAttr(o.attributes, T.date('CompromiseDate', now));
    attributes = withAttr(attributes, T.date('CompromiseOccurrenceDate', compromiseDate ?? now));
    return { ...o, state: 'Compromised', attributes };
  }
  if (s === 'Compromised') return o;
  return { ...o, state: 'Deactivated', attributes: withAttr(o.attributes, T.date('DeactivationDate', now)) };
}

export function destroy(o: ManagedObject, now: number): ManagedObject {
  const s = effectiveState(o, now);
  if (s === 'Active') {
    throw COSMIAN_FAILURES.activeNotDestroyable(o.uid);
  }
  if (s === 'Destroyed' || s === 'Destroyed_Compromised') return o;
  const state: State = s === 'Compromised' ? 'Destroyed_Compromised' : 'Destroyed';
  return { ...o, state, material: null, attributes: withAttr(o.attributes, T.date('DestroyDate', now)) };
}
