import { enumCode, enumName, type EnumType } from './enums';
import type { TtlvNode } from './ttlv';

/**
 * What each KMIP protocol version knows, so that a client is answered in its own version:
 * no enumeration value newer than the version it asked for. One table per enumeration, giving
 * the version that introduced each value (values absent from a table are in 1.0), and one
 * table of the nearest older result reason for each reason that a version lacks.
 *
 * Sources: the ResultReason and enumeration tables of the KMIP 1.0–1.4 specifications
 * (§9.1.3.2.x), KMIP 2.0 and 2.1 (§11). KMIP 1.0's ResultReason already has the namespace,
 * key format and compression reasons (1.0 §6.10); 1.1 brought Encoding Option with its
 * error and Re-key Key Pair; 1.2 Attestation and Key Value Present with their errors.
 * PyKMIP 0.10's kmip/core/enums.py marks only 1.x against 2.0. PyKMIP's own server answers Get of a destroyed object with Item Not Found and a
 * wrong lifecycle state with Permission Denied (kmip/services/server/engine.py), as the 1.x
 * error-handling tables do (KMIP 1.4 §11).
 */

/** A protocol version as one comparable number: 1.2 → 102, 2.0 → 200. */
export function versionNumber(major: number, minor: number): number {
  return major * 100 + minor;
}

type SinceTable = ReadonlyMap<string, number>;

/** "1.1: A B, 1.2: C" → {A: 101, B: 101, C: 102}. */
function since(spec: string): SinceTable {
  const out = new Map<string, number>();
  for (const group of spec.trim().split(/\s*;\s*/)) {
    const [version, names] = group.split(/\s*:\s*/) as [string, string];
    const [major, minor] = version.split('.').map(Number) as [number, number];
    for (const name of names.trim().split(/\s+/)) out.set(name, versionNumber(major, minor));
  }
  return out;
}

const SINCE: Partial<Record<EnumType, SinceTable>> = {
  ResultReason: since(`1.1: Encoding_Option_Error;
    1.2: Key_Value_Not_Present Attestation_Required Attestation_Failed;
    1.4: Sensitive Not_Extractable Object_Already_Exists;
    2.0: Invalid_Ticket Usage_Limit_Exceeded Numeric_Range Invalid_Data_Type Read_Only_Attribute Multi_Valued_Attribute
      Unsupported_Attribute Attribute_Instance_Not_Found Attribute_Not_Found Attribute_Read_Only Attribute_Single_Valued
      Bad_Cryptographic_Parameters Bad_Password Codec_Error Illegal_Object_Type Incompatible_Cryptographic_Usage_Mask
      Internal_Server_Error Invalid_Asynchronous_Correlation_Value Invalid_Attribute Invalid_Attribute_Value
      Invalid_Correlation_Value Invalid_CSR Invalid_Object_Type Key_Wrap_Type_Not_Supported Missing_Initialization_Vector
      Non_Unique_Name_Attribute Object_Destroyed Object_Not_Found Not_Authorised Server_Limit_Exceeded Unknown_Enumeration
      Unknown_Message_Extension Unknown_Tag Unsupported_Cryptographic_Parameters Unsupported_Protocol_Version
      Wrapping_Object_Archived Wrapping_Object_Destroyed Wrapping_Object_Not_Found Wrong_Key_Lifecycle_State
      Protection_Storage_Unavailable;
    2.1: PKCS_11_Codec_Error PKCS_11_Invalid_Function PKCS_11_Invalid_Interface Private_Protection_Storage_Unavailable
      Public_Protection_Storage_Unavailable Unknown_Object_Group Constraint_Violation Duplicate_Process_Request`),
  ObjectType: since('1.2: PGPKey; 2.0: CertificateRequest'),
  Operation: since(`1.1: DiscoverVersions ReKeyKeyPair;
    1.2: Encrypt Decrypt Sign SignatureVerify MAC MACVerify RNGRetrieve RNGSeed Hash CreateSplitKey JoinSplitKey;
    1.4: Import Export;
    2.0: Log Login Logout DelegatedLogin AdjustAttribute SetAttribute SetEndpointRole PKCS11 Interop ReProvision
      SetDefaults SetConstraints GetConstraints QueryAsynchronousRequests Process Ping`),
  QueryFunction: since(`1.1: QueryExtensionList QueryExtensionMap; 1.2: QueryAttestationTypes;
    1.3: QueryRNGs QueryValidations QueryProfiles QueryCapabilities QueryClientRegistrationMethods;
    2.0: QueryDefaultsInformation QueryStorageProtectionMasks`),
};

/** The newest version any table above dates a value in: its clients know them all. */
const NEWEST_DATED_VERSION = Math.max(...Object.values(SINCE).flatMap((table) => [...table.values()]));

/**
 * The nearest reason a client of an older version understands. Followed until the version
 * has it: Object_Destroyed → Item_Not_Found, and so on; General_Failure is in every version.
 */
const OLDER_REASON: Readonly<Record<string, string>> = {
  Application_Namespace_Not_Supported: 'Feature_Not_Supported',
  Key_Format_Type_Not_Supported: 'Feature_Not_Supported',
  Key_Compression_Type_Not_Supported: 'Feature_Not_Supported',
  Encoding_Option_Error: 'Invalid_Field',
  Key_Value_Not_Present: 'Item_Not_Found',
  Attestation_Required: 'Permission_Denied',
  Attestation_Failed: 'Permission_Denied',
  Sensitive: 'Permission_Denied',
  Not_Extractable: 'Permission_Denied',
  Object_Already_Exists: 'Invalid_Field',
  Invalid_Ticket: 'Authentication_Not_Successful',
  Usage_Limit_Exceeded: 'Permission_Denied',
  Numeric_Range: 'Invalid_Field',
  Invalid_Data_Type: 'Invalid_Field',
  Read_Only_Attribute: 'Permission_Denied',
  Multi_Valued_Attribute: 'Invalid_Field',
  Unsupported_Attribute: 'Invalid_Field',
  Attribute_Instance_Not_Found: 'Item_Not_Found',
  Attribute_Not_Found: 'Item_Not_Found',
  Attribute_Read_Only: 'Permission_Denied',
  Attribute_Single_Valued: 'Invalid_Field',
  Bad_Cryptographic_Parameters: 'Invalid_Field',
  Bad_Password: 'Authentication_Not_Successful',
  Codec_Error: 'Invalid_Message',
  Illegal_Object_Type: 'Invalid_Field',
  Incompatible_Cryptographic_Usage_Mask: 'Permission_Denied',
  Internal_Server_Error: 'General_Failure',
  Invalid_Asynchronous_Correlation_Value: 'Invalid_Field',
  Invalid_Attribute: 'Invalid_Field',
  Invalid_Attribute_Value: 'Invalid_Field',
  Invalid_Correlation_Value: 'Invalid_Field',
  Invalid_CSR: 'Invalid_Field',
  Invalid_Object_Type: 'Invalid_Field',
  Key_Wrap_Type_Not_Supported: 'Feature_Not_Supported',
  Missing_Initialization_Vector: 'Missing_Data',
  Non_Unique_Name_Attribute: 'Object_Already_Exists',
  Object_Destroyed: 'Item_Not_Found',
  Object_Not_Found: 'Item_Not_Found',
  Not_Authorised: 'Permission_Denied',
  Server_Limit_Exceeded: 'General_Failure',
  Unknown_Enumeration: 'Invalid_Field',
  Unknown_Message_Extension: 'Invalid_Message',
  Unknown_Tag: 'Invalid_Message',
  Unsupported_Cryptographic_Parameters: 'Invalid_Field',
  Unsupported_Protocol_Version: 'Invalid_Message',
  Wrapping_Object_Archived: 'Object_Archived',
  Wrapping_Object_Destroyed: 'Item_Not_Found',
  Wrapping_Object_Not_Found: 'Item_Not_Found',
  Wrong_Key_Lifecycle_State: 'Permission_Denied',
  Protection_Storage_Unavailable: 'General_Failure',
  PKCS_11_Codec_Error: 'Codec_Error',
  PKCS_11_Invalid_Function: 'Operation_Not_Supported',
  PKCS_11_Invalid_Interface: 'Operation_Not_Supported',
  Private_Protection_Storage_Unavailable: 'Protection_Storage_Unavailable',
  Public_Protection_Storage_Unavailable: 'Protection_Storage_Unavailable',
  Unknown_Object_Group: 'Item_Not_Found',
  Constraint_Violation: 'Invalid_Field',
  Duplicate_Process_Request: 'Invalid_Message',
};

/** The version that introduced an enumeration value (by any spelling or code); 1.0 when no table says otherwise. */
export function introducedIn(type: EnumType, value: string | number): number {
  const table = SINCE[type];
  if (!table) return versionNumber(1, 0);
  const code = enumCode(type, value);
  const name = code === undefined ? undefined : enumName(type, code);
  return (name !== undefined ? table.get(name) : undefined) ?? versionNumber(1, 0);
}

/** Whether a client speaking major.minor knows this enumeration value. Extension values (0x8xxxxxxx) are in every version. */
export function knownInVersion(type: EnumType, value: string | number, major: number, minor: number): boolean {
  const code = enumCode(type, value);
  if (code !== undefined && code >= 0x80000000) return true;
  return introducedIn(type, value) <= versionNumber(major, minor);
}

/** The result reason to answer a client of major.minor with: the reason itself, or its nearest older one. */
export function reasonForVersion(reason: string, major: number, minor: number): string {
  let current = reason;
  for (let hops = 0; hops < 8 && !knownInVersion('ResultReason', current, major, minor); hops++) {
    current = OLDER_REASON[current] ?? 'General_Failure';
  }
  return current;
}

/**
 * A response payload without the enumeration values a client of major.minor does not know
 * (a Query's operation list, say). Only values that a version table dates are dropped.
 */
export function withoutNewerEnumerations(node: TtlvNode, major: number, minor: number): TtlvNode | undefined {
  // A 2.1 client (every Cosmian request) knows every dated value: its answers are not walked.
  if (versionNumber(major, minor) >= NEWEST_DATED_VERSION) return node;
  return dropNewer(node, major, minor);
}

function dropNewer(node: TtlvNode, major: number, minor: number): TtlvNode | undefined {
  if (node.type === 'Enumeration') {
    const type = node.tag as EnumType;
    return SINCE[type] && !knownInVersion(type, node.value, major, minor) ? undefined : node;
  }
  if (node.type !== 'Structure') return node;
  const kept: TtlvNode[] = [];
  for (const c of node.value) {
    const k = dropNewer(c, major, minor);
    if (k) kept.push(k);
  }
  return { ...node, value: kept };
}
