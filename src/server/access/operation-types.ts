import { KmipError } from '../../kmip/errors';

/**
 * Cosmian's access-right names (KmipOperation in cosmian_kmip): what a grant allows. They are
 * spelt here as Cosmian's CLI and Display spell them (snake_case); on the wire Cosmian's serde
 * writes them without underscores ("getattributes"), so both spellings are read and the
 * HTTP answers use the wire one (wireName).
 */
export const OPERATION_TYPES = [
  'create', 'certify', 'decrypt', 'derive_key', 'destroy', 'encrypt', 'export', 'get', 'get_attributes', 'hash',
  'import', 'locate', 'mac', 'revoke', 'rekey', 'sign', 'signature_verify', 'validate', 'set_attribute',
  'modify_attribute', 'add_attribute', 'delete_attribute', 'activate',
] as const;

export type OperationType = (typeof OPERATION_TYPES)[number];

/** The user a grant to everyone is made to. */
export const EVERY_USER = '*';

/**
 * The one table from KMIP operation to the right it needs on an existing object. Operations
 * absent here touch no stored object (Query, Hash, RNGRetrieve, DiscoverVersions); only the
 * owner may use an object through them.
 */
const TYPE_OF_OPERATION: Readonly<Record<string, OperationType>> = {
  Create: 'create',
  CreateKeyPair: 'create',
  Register: 'import',
  Import: 'import',
  Get: 'get',
  Export: 'export',
  Locate: 'locate',
  GetAttributes: 'get_attributes',
  GetAttributeList: 'get_attributes',
  AddAttribute: 'add_attribute',
  SetAttribute: 'set_attribute',
  ModifyAttribute: 'modify_attribute',
  DeleteAttribute: 'delete_attribute',
  Activate: 'activate',
  Revoke: 'revoke',
  Destroy: 'destroy',
  ReKey: 'rekey',
  ReKeyKeyPair: 'rekey',
  Encrypt: 'encrypt',
  Decrypt: 'decrypt',
  Sign: 'sign',
  SignatureVerify: 'signature_verify',
  MAC: 'mac',
  MACVerify: 'mac',
  DeriveKey: 'derive_key',
  Certify: 'certify',
  // As in Cosmian: ReCertify needs certify on the certificate, Validate validate on each one, Check get.
  ReCertify: 'certify',
  Validate: 'validate',
  Check: 'get',
};

export function operationTypeOf(kmipOperation: string): OperationType | undefined {
  return TYPE_OF_OPERATION[kmipOperation];
}

const BY_SQUASHED = new Map<string, OperationType>(OPERATION_TYPES.map((t) => [wireName(t), t]));

/** "get_attributes", "getattributes" and "GetAttributes" all name the same right. */
export function parseOperationType(name: string): OperationType {
  const found = BY_SQUASHED.get(name.toLowerCase().replace(/_/g, ''));
  if (!found) throw new KmipError('Invalid_Field', `unknown operation type ${JSON.stringify(name)}; use ${OPERATION_TYPES.join(', ')}`);
  return found;
}

/** Cosmian's serde spelling, which its clients expect in JSON answers. */
export function wireName(t: OperationType): string {
  return t.replace(/_/g, '');
}
