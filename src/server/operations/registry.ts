import type { TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { create, createKeyPair } from './create';
import { register, importObject } from './register';
import { get, exportObject } from './get';
import { locate } from './locate';
import { addAttribute, deleteAttribute, getAttributeList, getAttributes, modifyAttribute, setAttribute } from './attribute-ops';
import { activate, destroy, revoke } from './lifecycle-ops';
import { reKey, reKeyKeyPair } from './rekey';
import { decrypt, encrypt, hash, mac, macVerify, rngRetrieve, rngSeed, sign, signatureVerify } from './crypto-ops';
import { deriveKey } from './derive';
import { certify } from './certify';
import { reCertify } from './recertify';
import { validate } from './validate';
import { check } from './check';
import { discoverVersions, query } from './query';

export type OperationHandler = (payload: TtlvStructure, ctx: OperationContext) => Promise<TtlvStructure>;

/** The one table of operations: KMIP Operation name → handler. */
const HANDLERS: Readonly<Record<string, OperationHandler>> = {
  Create: create,
  CreateKeyPair: createKeyPair,
  Register: register,
  Import: importObject,
  Get: get,
  Export: exportObject,
  Locate: locate,
  GetAttributes: getAttributes,
  GetAttributeList: getAttributeList,
  AddAttribute: addAttribute,
  SetAttribute: setAttribute,
  ModifyAttribute: modifyAttribute,
  DeleteAttribute: deleteAttribute,
  Activate: activate,
  Revoke: revoke,
  Destroy: destroy,
  ReKey: reKey,
  ReKeyKeyPair: reKeyKeyPair,
  Encrypt: encrypt,
  Decrypt: decrypt,
  Sign: sign,
  SignatureVerify: signatureVerify,
  MAC: mac,
  MACVerify: macVerify,
  Hash: hash,
  RNGRetrieve: rngRetrieve,
  DeriveKey: deriveKey,
  Certify: certify,
  ReCertify: reCertify,
  Validate: validate,
  Check: check,
  RNGSeed: rngSeed,
  Query: query,
  DiscoverVersions: discoverVersions,
};

/** Spellings other clients use for the same operation. */
const ALIASES: Readonly<Record<string, string>> = { Mac: 'MAC', MacVerify: 'MACVerify', Recertify: 'ReCertify', RngSeed: 'RNGSeed' };

export const SUPPORTED_OPERATIONS: readonly string[] = Object.keys(HANDLERS);

export function canonicalOperation(name: string): string {
  return ALIASES[name] ?? name;
}

export function handlerFor(name: string): OperationHandler | undefined {
  return HANDLERS[canonicalOperation(name)];
}
