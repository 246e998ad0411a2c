import { tagCode, tagName } from './tags';

/**
 * KMIP enumerations with their numeric codes. Names are Cosmian's (the Rust variant names:
 * PKCS1, SHA256, SHA3256, HMACSHA3256, Item_Not_Found, Destroyed_Compromised); the
 * OASIS/XML and PyKMIP spellings are accepted on input and mapped to them.
 */

type EnumTable = { readonly byName: ReadonlyMap<string, number>; readonly byCode: ReadonlyMap<number, string> };

/** "Name code, Name code, …" with codes in hex; keeps the tables short enough to read. */
function table(spec: string): EnumTable {
  const byName = new Map<string, number>();
  const byCode = new Map<number, string>();
  for (const entry of spec.trim().split(/\s*,\s*/)) {
    const [name, hex] = entry.split(/\s+/) as [string, string];
    const code = parseInt(hex, 16);
    byName.set(name, code);
    if (!byCode.has(code)) byCode.set(code, name);
  }
  return { byName, byCode };
}

const ENUMS = {
  ObjectType: table('Certificate 1, SymmetricKey 2, PublicKey 3, PrivateKey 4, SplitKey 5, Template 6, SecretData 7, OpaqueObject 8, PGPKey 9, CertificateRequest A'),
  Operation: table(`Create 1, CreateKeyPair 2, Register 3, ReKey 4, DeriveKey 5, Certify 6, ReCertify 7, Locate 8, Check 9, Get A,
    GetAttributes B, GetAttributeList C, AddAttribute D, ModifyAttribute E, DeleteAttribute F, ObtainLease 10, GetUsageAllocation 11,
    Activate 12, Revoke 13, Destroy 14, Archive 15, Recover 16, Validate 17, Query 18, Cancel 19, Poll 1A, Notify 1B, Put 1C,
    ReKeyKeyPair 1D, DiscoverVersions 1E, Encrypt 1F, Decrypt 20, Sign 21, SignatureVerify 22, MAC 23, MACVerify 24,
    RNGRetrieve 25, RNGSeed 26, Hash 27, CreateSplitKey 28, JoinSplitKey 29, Import 2A, Export 2B, Log 2C, Login 2D, Logout 2E,
    DelegatedLogin 2F, AdjustAttribute 30, SetAttribute 31, SetEndpointRole 32, PKCS11 33, Interop 34, ReProvision 35,
    SetDefaults 36, SetConstraints 37, GetConstraints 38, QueryAsynchronousRequests 39, Process 3A, Ping 3B`),
  ResultStatus: table('Success 0, OperationFailed 1, OperationPending 2, OperationUndone 3'),
  ResultReason: table(`Item_Not_Found 1, Response_Too_Large 2, Authentication_Not_Successful 3, Invalid_Message 4,
    Operation_Not_Supported 5, Missing_Data 6, Invalid_Field 7, Feature_Not_Supported 8, Operation_Canceled_By_Requester 9,
    Cryptographic_Failure A, Illegal_Operation B, Permission_Denied C, Object_Archived D, Index_Out_Of_Bounds E,
    Application_Namespace_Not_Supported F, Key_Format_Type_Not_Supported 10, Key_Compression_Type_Not_Supported 11,
    Encoding_Option_Error 12, Key_Value_Not_Present 13, Attestation_Required 14, Attestation_Failed 15, Sensitive 16,
    Not_Extractable 17, Object_Already_Exists 18, Invalid_Ticket 19, Usage_Limit_Exceeded 1A, Numeric_Range 1B,
    Invalid_Data_Type 1C, Read_Only_Attribute 1D, Multi_Valued_Attribute 1E, Unsupported_Attribute 1F,
    Attribute_Instance_Not_Found 20, Attribute_Not_Found 21, Attribute_Read_Only 22, Attribute_Single_Valued 23,
    Bad_Cryptographic_Parameters 24, Bad_Password 25, Codec_Error 26, Illegal_Object_Type 28,
    Incompatible_Cryptographic_Usage_Mask 29, Internal_Server_Error 2A, Invalid_Asynchronous_Correlation_Value 2B,
    Invalid_Attribute 2C, Invalid_Attribute_Value 2D, Invalid_Correlation_Value 2E, Invalid_CSR 2F, Invalid_Object_Type 30,
    Key_Wrap_Type_Not_Supported 32, Missing_Initialization_Vector 34, Non_Unique_Name_Attribute 35, Object_Destroyed 36,
    Object_Not_Found 37, Not_Authorised 39, Server_Limit_Exceeded 3A, Unknown_Enumeration 3B, Unknown_Message_Extension 3C,
    Unknown_Tag 3D, Unsupported_Cryptographic_Parameters 3E, Unsupported_Protocol_Version 3F, Wrapping_Object_Archived 40,
    Wrapping_Object_Destroyed 41, Wrapping_Object_Not_Found 42, Wrong_Key_Lifecycle_State 43,
    Protection_Storage_Unavailable 44, PKCS_11_Codec_Error 45, PKCS_11_Invalid_Function 46, PKCS_11_Invalid_Interface 47,
    Private_Protection_Storage_Unavailable 48, Public_Protection_Storage_Unavailable 49, Unknown_Object_Group 4A,
    Constraint_Violation 4B, Duplicate_Process_Request 4C, General_Failure 100`),
  CryptographicAlgorithm: table(`DES 1, THREE_DES 2, AES 3, RSA 4, DSA 5, ECDSA 6, HMACSHA1 7, HMACSHA224 8, HMACSHA256 9,
    HMACSHA384 A, HMACSHA512 B, HMACMD5 C, DH D, ECDH E, ECMQV F, Blowfish 10, Camellia 11, CAST5 12, IDEA 13, MARS 14, RC2 15,
    RC4 16, RC5 17, SKIPJACK 18, Twofish 19, EC 1A, OneTimePad 1B, ChaCha20 1C, Poly1305 1D, ChaCha20Poly1305 1E,
    SHA3224 1F, SHA3256 20, SHA3384 21, SHA3512 22, HMACSHA3224 23, HMACSHA3256 24, HMACSHA3384 25, HMACSHA3512 26,
    SHAKE128 27, SHAKE256 28, ARIA 29, SEED 2A, SM2 2B, SM3 2C, SM4 2D, GOSTR34102012 2E, GOSTR34112012 2F,
    GOSTR34132015 30, GOST2814789 31, XMSS 32, SPHINCS_256 33, McEliece 34, McEliece6960119 35, McEliece8192128 36,
    Ed25519 37, Ed448 38, CoverCrypt 88800004, CoverCryptBulk 88800005`),
  BlockCipherMode: table(`CBC 1, ECB 2, PCBC 3, CFB 4, OFB 5, CTR 6, CMAC 7, CCM 8, GCM 9, CBCMAC A, XTS B,
    AESKeyWrapPadding C, NISTKeyWrap D, X9102AESKW E, X9102TDKW F, X9102AKW1 10, X9102AKW2 11, AEAD 12, GCMSIV 80000002`),
  PaddingMethod: table('None 1, OAEP 2, PKCS5 3, SSL3 4, Zeros 5, ANSI_X923 6, ISO10126 7, PKCS1v15 8, X931 9, PSS A'),
  HashingAlgorithm: table(`MD2 1, MD4 2, MD5 3, SHA1 4, SHA224 5, SHA256 6, SHA384 7, SHA512 8, RIPEMD160 9, Tiger A,
    Whirlpool B, SHA512224 C, SHA512256 D, SHA3224 E, SHA3256 F, SHA3384 10, SHA3512 11`),
  KeyRoleType: table(`BDK 1, CVK 2, DEK 3, MKAC 4, MKSMC 5, MKSMI 6, MKDAC 7, MKDN 8, MKCP 9, MKOTH A, KEK B, MAC16609 C,
    MAC97971 D, MAC97972 E, MAC97973 F, MAC97974 10, MAC97975 11, ZPK 12, PVKIBM 13, PVKPVV 14, PVKOTH 15, DUKPT 16, IV 17, TRKBK 18`),
  DigitalSignatureAlgorithm: table(`MD2WithRSAEncryption 1, MD5WithRSAEncryption 2, SHA1WithRSAEncryption 3,
    SHA224WithRSAEncryption 4, SHA256WithRSAEncryption 5, SHA384WithRSAEncryption 6, SHA512WithRSAEncryption 7, RSASSAPSS 8,
    DSAWithSHA1 9, DSAWithSHA224 A, DSAWithSHA256 B, ECDSAWithSHA1 C, ECDSAWithSHA224 D, ECDSAWithSHA256 E,
    ECDSAWithSHA384 F, ECDSAWithSHA512 10, SHA3256WithRSAEncryption 11, SHA3384WithRSAEncryption 12, SHA3512WithRSAEncryption 13`),
  KeyFormatType: table(`Raw 1, Opaque 2, PKCS1 3, PKCS8 4, X509 5, ECPrivateKey 6, TransparentSymmetricKey 7,
    TransparentDSAPrivateKey 8, TransparentDSAPublicKey 9, TransparentRSAPrivateKey A, TransparentRSAPublicKey B,
    TransparentDHPrivateKey C, TransparentDHPublicKey D, TransparentECDSAPrivateKey E, TransparentECDSAPublicKey F,
    TransparentECDHPrivateKey 10, TransparentECDHPublicKey 11, TransparentECMQVPrivateKey 12, TransparentECMQVPublicKey 13,
    TransparentECPrivateKey 14, TransparentECPublicKey 15, PKCS12 16, PKCS10 17, PKCS7 88800002,
    CoverCryptSecretKey 88800003, CoverCryptPublicKey 88800004`),
  RecommendedCurve: table(`P192 1, K163 2, B163 3, P224 4, K233 5, B233 6, P256 7, K283 8, B283 9, P384 A, K409 B, B409 C,
    P521 D, K571 E, B571 F, SECP112R1 10, SECP112R2 11, SECP128R1 12, SECP128R2 13, SECP160K1 14, SECP160R1 15,
    SECP160R2 16, SECP192K1 17, SECP224K1 18, SECP256K1 19, SECT113R1 1A, SECT113R2 1B, SECT131R1 1C, SECT131R2 1D,
    SECT163R1 1E, SECT193R1 1F, SECT193R2 20, SECT239K1 21, ANSIX9P192V2 22, ANSIX9P192V3 23, ANSIX9P239V1 24,
    ANSIX9P239V2 25, ANSIX9P239V3 26, ANSIX9C2PNB163V1 27, ANSIX9C2PNB163V2 28, ANSIX9C2PNB163V3 29, ANSIX9C2PNB176V1 2A,
    ANSIX9C2TNB191V1 2B, ANSIX9C2TNB191V2 2C, ANSIX9C2TNB191V3 2D, ANSIX9C2PNB208W1 2E, ANSIX9C2TNB239V1 2F,
    ANSIX9C2TNB239V2 30, ANSIX9C2TNB239V3 31, ANSIX9C2PNB272W1 32, ANSIX9C2PNB304W1 33, ANSIX9C2TNB359V1 34,
    ANSIX9C2PNB368W1 35, ANSIX9C2TNB431R1 36, BRAINPOOLP160R1 37, BRAINPOOLP160T1 38, BRAINPOOLP192R1 39,
    BRAINPOOLP192T1 3A, BRAINPOOLP224R1 3B, BRAINPOOLP224T1 3C, BRAINPOOLP256R1 3D, BRAINPOOLP256T1 3E,
    BRAINPOOLP320R1 3F, BRAINPOOLP320T1 40, BRAINPOOLP384R1 41, BRAINPOOLP384T1 42, BRAINPOOLP512R1 43,
    BRAINPOOLP512T1 44, CURVE25519 45, CURVE448 46, CURVEED25519 80000001, CURVEED448 80000002`),
  State: table('PreActive 1, Active 2, Deactivated 3, Compromised 4, Destroyed 5, Destroyed_Compromised 6'),
  RevocationReasonCode: table(`Unspecified 1, KeyCompromise 2, CACompromise 3, AffiliationChanged 4, Superseded 5,
    CessationOfOperation 6, PrivilegeWithdrawn 7`),
  NameType: table('UninterpretedTextString 1, URI 2'),
  CertificateType: table('X509 1, PGP 2'),
  CertificateRequestType: table('CRMF 1, PKCS10 2, PEM 3, PGP 4'),
  SecretDataType: table('Password 1, Seed 2, FunctionalKey 80000001, FunctionalKeyShare 80000002'),
  OpaqueDataType: table('Unknown 80000001'),
  SplitKeyMethod: table('XOR 1, PolynomialSharingGF216 2, PolynomialSharingPrimeField 3, PolynomialSharingGF28 4'),
  QueryFunction: table(`QueryOperations 1, QueryObjects 2, QueryServerInformation 3, QueryApplicationNamespaces 4,
    QueryExtensionList 5, QueryExtensionMap 6, QueryAttestationTypes 7, QueryRNGs 8, QueryValidations 9, QueryProfiles A,
    QueryCapabilities B, QueryClientRegistrationMethods C, QueryDefaultsInformation D, QueryStorageProtectionMasks E`),
  ValidityIndicator: table('Valid 1, Invalid 2, Unknown 3'),
  LinkType: table(`CertificateLink 101, PublicKeyLink 102, PrivateKeyLink 103, DerivationBaseObjectLink 104,
    DerivedKeyLink 105, ReplacementObjectLink 106, ReplacedObjectLink 107, ParentLink 108, ChildLink 109, PreviousLink 10A,
    NextLink 10B, PKCS12CertificateLink 10C, PKCS12PasswordLink 10D, WrappingKeyLink 10E`),
  WrappingMethod: table('Encrypt 1, MACSign 2, EncryptThenMACSign 3, MACSignThenEncrypt 4, TR31 5'),
  EncodingOption: table('NoEncoding 1, TTLVEncoding 2'),
  KeyWrapType: table('NotWrapped 1, AsRegistered 2'),
  KeyCompressionType: table(`ECPublicKeyTypeUncompressed 1, ECPublicKeyTypeX962CompressedPrime 2,
    ECPublicKeyTypeX962CompressedChar2 3, ECPublicKeyTypeX962Hybrid 4`),
  BatchErrorContinuationOption: table('Continue 1, Stop 2, Undo 3'),
  DerivationMethod: table(`PBKDF2 1, HASH 2, HMAC 3, ENCRYPT 4, NIST800108C 5, NIST800108F 6, NIST800108DPI 7,
    AsymmetricKey 8, AWSSignatureVersion4 9, HKDF A`),
  MaskGenerator: table('MFG1 1'),
  UniqueIdentifier: table(`IDPlaceholder 1, Certify 2, Create 3, CreateKeyPair 4, CreateKeyPairPrivateKey 5,
    CreateKeyPairPublicKey 6, CreateSplitKey 7, DeriveKey 8, Import 9, JoinSplitKey A, Locate B, Register C, ReKey D,
    ReCertify E, ReKeyKeyPair F, ReKeyKeyPairPrivateKey 10, ReKeyKeyPairPublicKey 11`),
  CredentialType: table('UsernameAndPassword 1, Device 2, Attestation 3, OneTimePassword 4, HashedPassword 5, Ticket 6'),
  ObjectGroupMember: table('GroupMemberFresh 1, GroupMemberDefault 2'),
  UsageLimitsUnit: table('Byte 1, Object 2'),
  PutFunction: table('New 1, Replace 2'),
  CancellationResult: table('Canceled 1, UnableToCancel 2, Completed 3, Failed 4, Unavailable 5'),
  DestroyAction: table('Unspecified 1, KeyMaterialDeleted 2, KeyMaterialShredded 3, MetaDataDeleted 4, MetaDataShredded 5, Deleted 6, Shredded 7'),
  AlternativeNameType: table('UninterpretedTextString 1, URI 2, ObjectSerialNumber 3, EmailAddress 4, DNSName 5, X500DistinguishedName 6, IPAddress 7'),
  KeyValueLocationType: table('UninterpretedTextString 1, URI 2'),
  ProtectionLevel: table('High 1, Low 2'),
  ProcessingStage: table('Submitted 1, InProcess 2, Completed 3'),
} as const;

export type EnumType = keyof typeof ENUMS;

/** Which enumeration a tag holds, where the tag name differs from the enumeration name. */
const TAG_ENUM: Readonly<Record<string, EnumType>> = {
  ExpectedObjectType: 'ObjectType',
  MaskGeneratorHashingAlgorithm: 'HashingAlgorithm',
  RotateNameType: 'NameType',
  NistKeyType: 'KeyRoleType',
};

/** OASIS/XML and PyKMIP spellings → Cosmian's, for names that are not just case or underscore variants. */
const SPELLINGS: Readonly<Record<string, string>> = {
  PKCS_1: 'PKCS1', PKCS_8: 'PKCS8', PKCS_12: 'PKCS12', PKCS_10: 'PKCS10', X_509: 'X509',
  TRIPLE_DES: 'THREE_DES', '3DES': 'THREE_DES', DES3: 'THREE_DES',
  MGF1: 'MFG1', PKCS1_V1_5: 'PKCS1v15', PKCS1V15: 'PKCS1v15', PKCS1_V_1_5: 'PKCS1v15',
  ED25519: 'Ed25519', ED448: 'Ed448', NIST_KEY_WRAP: 'NISTKeyWrap', AES_KEY_WRAP_PADDING: 'AESKeyWrapPadding',
  RSASSA_PSS: 'RSASSAPSS', GCM_SIV: 'GCMSIV', CHACHA20_POLY1305: 'ChaCha20Poly1305', CHACHA20: 'ChaCha20',
};

function enumTypeOf(tag: string): EnumType | undefined {
  const mapped = TAG_ENUM[tag];
  if (mapped) return mapped;
  return tag in ENUMS ? (tag as EnumType) : undefined;
}

/** A name with case, spaces, dashes and underscores removed, for lenient matching. */
function squash(name: string): string {
  return name.replace(/[\s_\-.]/g, '').toUpperCase();
}

const SQUASHED = new Map<EnumType, Map<string, string>>();
function squashedIndex(type: EnumType): Map<string, string> {
  let index = SQUASHED.get(type);
  if (!index) {
    index = new Map();
    for (const name of ENUMS[type].byName.keys()) index.set(squash(name), name);
    SQUASHED.set(type, index);
  }
  return index;
}

/** Whether a tag carries an enumeration this module knows (AttributeReference and Tag hold tag numbers). */
export function isKnownEnumTag(tag: string): boolean {
  return enumTypeOf(tag) !== undefined || tag === 'AttributeReference' || tag === 'Tag';
}

/** Cosmian's name for a value given by any accepted spelling, or undefined if unknown. */
export function canonicalEnumName(tag: string, name: string): string | undefined {
  if (tag === 'AttributeReference' || tag === 'Tag') return tagCode(name) !== undefined ? name : undefined;
  const type = enumTypeOf(tag);
  if (!type) return undefined;
  if (ENUMS[type].byName.has(name)) return name;
  const respelled = SPELLINGS[name];
  if (respelled && ENUMS[type].byName.has(respelled)) return respelled;
  return squashedIndex(type).get(squash(name));
}

/** The code of an enumeration value: a name, a number, or "0x" + exactly 8 hex digits. */
export function enumCode(tag: string, value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 0xffffffff ? value : undefined;
  if (/^0x[0-9A-Fa-f]{8}$/.test(value)) return parseInt(value.slice(2), 16);
  if (tag === 'AttributeReference' || tag === 'Tag') return tagCode(value);
  const type = enumTypeOf(tag);
  if (!type) return undefined;
  const name = canonicalEnumName(tag, value);
  return name === undefined ? undefined : ENUMS[type].byName.get(name);
}

/** Cosmian's name for a code, or undefined when the tag or the code is not known. */
export function enumName(tag: string, code: number): string | undefined {
  if (tag === 'AttributeReference' || tag === 'Tag') return tagName(code);
  const type = enumTypeOf(tag);
  return type ? ENUMS[type].byCode.get(code) : undefined;
}

/** The canonical form of an enumeration value: Cosmian's name when known, else the number. */
export function normalizeEnum(tag: string, value: string | number): string | number {
  const code = enumCode(tag, value);
  if (code === undefined) return value;
  return enumName(tag, code) ?? code;
}
