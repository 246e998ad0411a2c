/**
 * KMIP tag numbers. One table serves both protocol families: the 1.x table (1.0–1.4) is the
 * part up to ReplaceExisting (0x420124); 2.0/2.1 add the rest. Names are the spec's PascalCase
 * with Cosmian's spellings where they differ (IvLength, RandomIv, Qlength, MacSignature,
 * MacOrSignatureKeyInformation, Pkcs12FriendlyName, NistKeyType), so JSON written from these
 * names is what Cosmian reads.
 */

const TABLE = `
420001 ActivationDate
420002 ApplicationData
420003 ApplicationNamespace
420004 ApplicationSpecificInformation
420005 ArchiveDate
420006 AsynchronousCorrelationValue
420007 AsynchronousIndicator
420008 Attribute
420009 AttributeIndex
42000A AttributeName
42000B AttributeValue
42000C Authentication
42000D BatchCount
42000E BatchErrorContinuationOption
42000F BatchItem
420010 BatchOrderOption
420011 BlockCipherMode
420012 CancellationResult
420013 Certificate
420014 CertificateIdentifier
420015 CertificateIssuer
420016 CertificateIssuerAlternativeName
420017 CertificateIssuerDistinguishedName
420018 CertificateRequest
420019 CertificateRequestType
42001A CertificateSubject
42001B CertificateSubjectAlternativeName
42001C CertificateSubjectDistinguishedName
42001D CertificateType
42001E CertificateValue
42001F CommonTemplateAttribute
420020 CompromiseDate
420021 CompromiseOccurrenceDate
420022 ContactInformation
420023 Credential
420024 CredentialType
420025 CredentialValue
420026 CriticalityIndicator
420027 CRTCoefficient
420028 CryptographicAlgorithm
420029 CryptographicDomainParameters
42002A CryptographicLength
42002B CryptographicParameters
42002C CryptographicUsageMask
42002D CustomAttribute
42002E D
42002F DeactivationDate
420030 DerivationData
420031 DerivationMethod
420032 DerivationParameters
420033 DestroyDate
420034 Digest
420035 DigestValue
420036 EncryptionKeyInformation
420037 G
420038 HashingAlgorithm
420039 InitialDate
42003A InitializationVector
42003B Issuer
42003C IterationCount
42003D IVCounterNonce
42003E J
42003F Key
420040 KeyBlock
420041 KeyCompressionType
420042 KeyFormatType
420043 KeyMaterial
420044 KeyPartIdentifier
420045 KeyValue
420046 KeyWrappingData
420047 KeyWrappingSpecification
420048 LastChangeDate
420049 LeaseTime
42004A Link
42004B LinkType
42004C LinkedObjectIdentifier
42004D MacSignature
42004E MacOrSignatureKeyInformation
42004F MaximumItems
420050 MaximumResponseSize
420051 MessageExtension
420052 Modulus
420053 Name
420054 NameType
420055 NameValue
420056 ObjectGroup
420057 ObjectType
420058 Offset
420059 OpaqueDataType
42005A OpaqueDataValue
42005B OpaqueObject
42005C Operation
42005D OperationPolicyName
42005E P
42005F PaddingMethod
420060 PrimeExponentP
420061 PrimeExponentQ
420062 PrimeFieldSize
420063 PrivateExponent
420064 PrivateKey
420065 PrivateKeyTemplateAttribute
420066 PrivateKeyUniqueIdentifier
420067 ProcessStartDate
420068 ProtectStopDate
420069 ProtocolVersion
42006A ProtocolVersionMajor
42006B ProtocolVersionMinor
42006C PublicExponent
42006D PublicKey
42006E PublicKeyTemplateAttribute
42006F PublicKeyUniqueIdentifier
420070 PutFunction
420071 Q
420072 QString
420073 Qlength
420074 QueryFunction
420075 RecommendedCurve
420076 ReplacedUniqueIdentifier
420077 RequestHeader
420078 RequestMessage
420079 RequestPayload
42007A ResponseHeader
42007B ResponseMessage
42007C ResponsePayload
42007D ResultMessage
42007E ResultReason
42007F ResultStatus
420080 RevocationMessage
420081 RevocationReason
420082 RevocationReasonCode
420083 KeyRoleType
420084 Salt
420085 SecretData
420086 SecretDataType
420087 SerialNumber
420088 ServerInformation
420089 SplitKey
42008A SplitKeyMethod
42008B SplitKeyParts
42008C SplitKeyThreshold
42008D State
42008E StorageStatusMask
42008F SymmetricKey
420090 Template
420091 TemplateAttribute
420092 TimeStamp
420093 UniqueBatchItemID
420094 UniqueIdentifier
420095 UsageLimits
420096 UsageLimitsCount
420097 UsageLimitsTotal
420098 UsageLimitsUnit
420099 Username
42009A ValidityDate
42009B ValidityIndicator
42009C VendorExtension
42009D VendorIdentification
42009E WrappingMethod
42009F X
4200A0 Y
4200A1 Password
4200A2 DeviceIdentifier
4200A3 EncodingOption
4200A4 ExtensionInformation
4200A5 ExtensionName
4200A6 ExtensionTag
4200A7 ExtensionType
4200A8 Fresh
4200A9 MachineIdentifier
4200AA MediaIdentifier
4200AB NetworkIdentifier
4200AC ObjectGroupMember
4200AD CertificateLength
4200AE DigitalSignatureAlgorithm
4200AF CertificateSerialNumber
4200B0 DeviceSerialNumber
4200B1 IssuerAlternativeName
4200B2 IssuerDistinguishedName
4200B3 SubjectAlternativeName
4200B4 SubjectDistinguishedName
4200B5 X509CertificateIdentifier
4200B6 X509CertificateIssuer
4200B7 X509CertificateSubject
4200B8 KeyValueLocation
4200B9 KeyValueLocationValue
4200BA KeyValueLocationType
4200BB KeyValuePresent
4200BC OriginalCreationDate
4200BD PGPKey
4200BE PGPKeyVersion
4200BF AlternativeName
4200C0 AlternativeNameValue
4200C1 AlternativeNameType
4200C2 Data
4200C3 SignatureData
4200C4 DataLength
4200C5 RandomIv
4200C6 MACData
4200C7 AttestationType
4200C8 Nonce
4200C9 NonceID
4200CA NonceValue
4200CB AttestationMeasurement
4200CC AttestationAssertion
4200CD IvLength
4200CE TagLength
4200CF FixedFieldLength
4200D0 CounterLength
4200D1 InitialCounterValue
4200D2 InvocationFieldLength
4200D3 AttestationCapableIndicator
4200D4 OffsetItems
4200D5 LocatedItems
4200D6 CorrelationValue
4200D7 InitIndicator
4200D8 FinalIndicator
4200D9 RNGParameters
4200DA RNGAlgorithm
4200DB DRBGAlgorithm
4200DC FIPS186Variation
4200DD PredictionResistance
4200DE RandomNumberGenerator
4200DF ValidationInformation
4200E0 ValidationAuthorityType
4200E1 ValidationAuthorityCountry
4200E2 ValidationAuthorityURI
4200E3 ValidationVersionMajor
4200E4 ValidationVersionMinor
4200E5 ValidationType
4200E6 ValidationLevel
4200E7 ValidationCertificateIdentifier
4200E8 ValidationCertificateURI
4200E9 ValidationVendorURI
4200EA ValidationProfile
4200EB ProfileInformation
4200EC ProfileName
4200ED ServerURI
4200EE ServerPort
4200EF StreamingCapability
4200F0 AsynchronousCapability
4200F1 AttestationCapability
4200F2 UnwrapMode
4200F3 DestroyAction
4200F4 ShreddingAlgorithm
4200F5 RNGMode
4200F6 ClientRegistrationMethod
4200F7 CapabilityInformation
4200F8 KeyWrapType
4200F9 BatchUndoCapability
4200FA BatchContinueCapability
4200FB Pkcs12FriendlyName
4200FC Description
4200FD Comment
4200FE AuthenticatedEncryptionAdditionalData
4200FF AuthenticatedEncryptionTag
420100 SaltLength
420101 MaskGenerator
420102 MaskGeneratorHashingAlgorithm
420103 PSource
420104 TrailerField
420105 ClientCorrelationValue
420106 ServerCorrelationValue
420107 DigestedData
420108 CertificateSubjectCn
420109 CertificateSubjectO
42010A CertificateSubjectOu
42010B CertificateSubjectEmail
42010C CertificateSubjectC
42010D CertificateSubjectSt
42010E CertificateSubjectL
42010F CertificateSubjectUid
420110 CertificateSubjectSerialNumber
420111 CertificateSubjectTitle
420112 CertificateSubjectDc
420113 CertificateSubjectDnQualifier
420114 CertificateIssuerCn
420115 CertificateIssuerO
420116 CertificateIssuerOu
420117 CertificateIssuerEmail
420118 CertificateIssuerC
420119 CertificateIssuerSt
42011A CertificateIssuerL
42011B CertificateIssuerUid
42011C CertificateIssuerSerialNumber
42011D CertificateIssuerTitle
42011E CertificateIssuerDc
42011F CertificateIssuerDnQualifier
420120 Sensitive
420121 AlwaysSensitive
420122 Extractable
420123 NeverExtractable
420124 ReplaceExisting
420125 Attributes
420126 CommonAttributes
420127 PrivateKeyAttributes
420128 PublicKeyAttributes
420129 ExtensionEnumeration
42012A ExtensionAttribute
42012B ExtensionParentStructureTag
42012C ExtensionDescription
42012D ServerName
42012E ServerSerialNumber
42012F ServerVersion
420130 ServerLoad
420131 ProductName
420132 BuildLevel
420133 BuildDate
420134 ClusterInfo
420135 AlternateFailoverEndpoints
420136 ShortUniqueIdentifier
420138 Tag
420139 CertificateRequestUniqueIdentifier
42013A NistKeyType
42013B AttributeReference
42013C CurrentAttribute
42013D NewAttribute
420140 CertificateRequestValue
420141 LogMessage
420142 ProfileVersion
420143 ProfileVersionMajor
420144 ProfileVersionMinor
420145 ProtectionLevel
420146 ProtectionPeriod
420147 QuantumSafe
420148 QuantumSafeCapability
420149 Ticket
42014A TicketType
42014B TicketValue
42014C RequestCount
42014D Rights
42014E Objects
42014F Operations
420150 Right
420151 EndpointRole
420152 DefaultsInformation
420153 ObjectDefaults
420154 Ephemeral
420155 ServerHashedPassword
420156 OneTimePassword
420157 HashedPassword
420158 AdjustmentType
420159 PKCS11Interface
42015A PKCS11Function
42015B PKCS11InputParameters
42015C PKCS11OutputParameters
42015D PKCS11ReturnCode
42015E ProtectionStorageMask
42015F ProtectionStorageMasks
420160 InteropFunction
420161 InteropIdentifier
420162 AdjustmentValue
420163 CommonProtectionStorageMasks
420164 PrivateProtectionStorageMasks
420165 PublicProtectionStorageMasks
420166 ObjectGroups
420167 ObjectTypes
420168 Constraints
420169 Constraint
42016A RotateInterval
42016B RotateAutomatic
42016C RotateOffset
42016D RotateDate
42016E RotateGeneration
42016F RotateName
420170 RotateNameValue
420171 RotateNameType
420172 RotateLatest
420173 AsynchronousRequest
420174 SubmissionDate
420175 ProcessingStage
420176 AsynchronousCorrelationValues
540001 CertificateAttributes
`;

/** Last tag of the KMIP 1.4 table; everything after it exists only in 2.x. */
const LAST_V1_TAG = 0x420124;

/** Spellings other implementations use for the same tag (OASIS XML, PyKMIP, older Cosmian docs). */
const ALIASES: Readonly<Record<string, string>> = {
  IVLength: 'IvLength',
  RandomIV: 'RandomIv',
  QLength: 'Qlength',
  MACSignature: 'MacSignature',
  MACSignatureKeyInformation: 'MacOrSignatureKeyInformation',
  PKCS12FriendlyName: 'Pkcs12FriendlyName',
  NISTKeyType: 'NistKeyType',
};

const CODE_BY_NAME = new Map<string, number>();
const NAME_BY_CODE = new Map<number, string>();
for (const line of TABLE.trim().split('\n')) {
  const [hex, name] = line.split(' ') as [string, string];
  const code = parseInt(hex, 16);
  CODE_BY_NAME.set(name, code);
  NAME_BY_CODE.set(code, name);
}

const HEX_TAG = /^0x([0-9A-Fa-f]{6})$/;

export function canonicalTagName(name: string): string {
  return ALIASES[name] ?? name;
}

/** The tag number for a name (or a literal "0x42XXXX"), in the table of that major version. */
export function tagCode(name: string, major = 2): number | undefined {
  const literal = HEX_TAG.exec(name);
  if (literal) return parseInt(literal[1] as string, 16);
  const code = CODE_BY_NAME.get(canonicalTagName(name));
  if (code === undefined) return undefined;
  if (major === 1 && code > LAST_V1_TAG && code < 0x540000) return undefined;
  return code;
}

/** The name for a tag number in the table of that major version. */
export function tagName(code: number, major = 2): string | undefined {
  if (major === 1 && code > LAST_V1_TAG && code < 0x540000) return undefined;
  return NAME_BY_CODE.get(code);
}

export function hexTag(code: number): string {
  return '0x' + code.toString(16).toUpperCase().padStart(6, '0');
}
