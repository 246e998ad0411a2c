/**
 * The values PKCS#11 calls carry, as the token receives them from the frame decoder and
 * hands outputs back. Attribute values and mechanism parameters are still raw here; the
 * attribute table and the mechanism table give them meaning.
 */

/** An output buffer: absent (a length query) or present with the caller's capacity. */
export interface OutBuffer {
  present: boolean;
  capacity: number;
}

/** An attribute as the caller passed it: raw host bytes, NULL, or a nested template. */
export interface RawAttribute {
  type: number;
  value: Uint8Array | null | RawAttribute[];
}

export interface AttributeQuery {
  type: number;
  present: boolean;
  capacity: number;
}

export type MechanismParameter =
  | { kind: 'none' }
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'gcm'; iv: Uint8Array; ivBits: number; aad: Uint8Array; tagBits: number; hasIvBits: boolean }
  | { kind: 'oaep'; hashAlg: number; mgf: number; source: number; sourceData: Uint8Array | null }
  | { kind: 'pss'; hashAlg: number; mgf: number; saltLength: number }
  | { kind: 'ecdh1'; kdf: number; sharedData: Uint8Array | null; publicData: Uint8Array }
  | { kind: 'ctr'; counterBits: number; counterBlock: Uint8Array }
  | { kind: 'hkdf'; extract: boolean; expand: boolean; prf: number; saltType: number; salt: Uint8Array | null; saltKey: number; info: Uint8Array | null }
  | { kind: 'eddsa'; prehash: boolean; context: Uint8Array | null };

export interface Mechanism {
  type: number;
  parameter: MechanismParameter;
}

/** What a call hands back for an output buffer: the needed length, and the bytes if they fit. */
export interface OutResult {
  length: number;
  data?: Uint8Array;
}

export interface ListResult {
  count: number;
  items?: number[];
}

export const ResultStatus = { Data: 0, LengthOnly: 1, Unavailable: 2 } as const;

export interface AttributeResult {
  type: number;
  status: (typeof ResultStatus)[keyof typeof ResultStatus];
  length: number;
  value?: Uint8Array;
}

export type ResponseValue = number | string | OutResult | ListResult | AttributeResult[];

/** What every token call returns: the CK_RV, and outputs when the rv makes them meaningful. */
export interface CallOutcome {
  rv: number;
  outputs?: ResponseValue[];
}
