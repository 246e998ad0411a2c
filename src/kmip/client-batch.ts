import { enumCode, normalizeEnum } from './enums';
import { KmipError } from './errors';
import type { ProtocolVersion } from './responses';
import { tagCode } from './tags';
import { T, child, childrenByTag, type TtlvNode, type TtlvStructure } from './ttlv';

/**
 * Bare operations ⇄ one RequestMessage / ResponseMessage. Each item carries a
 * UniqueBatchItemID (its index) so answers are matched by ID, not by position: with the
 * default Stop option the server omits every item after the first failure.
 */

export type BatchResult = { ok: true; response: TtlvStructure } | { ok: false; error: KmipError };

export interface BatchOptions {
  /** Ask the server to run the remaining items after one fails (BatchErrorContinuationOption Continue). */
  continueOnError?: boolean;
}

function batchItemId(index: number): Uint8Array {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(index);
  return id;
}

/** The header says KMIP 2.1 unless told otherwise: the socket client uses the version it negotiated. */
export function buildRequestMessage(ops: readonly TtlvStructure[], opts: BatchOptions = {}, version: ProtocolVersion = { major: 2, minor: 1 }): TtlvStructure {
  return T.struct('RequestMessage', [
    T.struct('RequestHeader', [
      T.struct('ProtocolVersion', [T.int('ProtocolVersionMajor', version.major), T.int('ProtocolVersionMinor', version.minor)]),
      opts.continueOnError ? T.enum('BatchErrorContinuationOption', 'Continue') : undefined,
      T.int('BatchCount', ops.length),
    ]),
    ...ops.map((op, i) => T.struct('BatchItem', [
      T.enum('Operation', op.tag),
      T.bytes('UniqueBatchItemID', batchItemId(i)),
      T.struct('RequestPayload', op.value),
    ])),
  ]);
}

/** Binary decoding may leave enumerations as numbers when a name is unknown; Success is 0. */
function isSuccess(status: TtlvNode | undefined): boolean {
  return status !== undefined && (status.value === 'Success' || status.value === 0);
}

function enumText(node: TtlvNode | undefined, fallback: string): string {
  if (!node) return fallback;
  if (typeof node.value === 'number') return `0x${node.value.toString(16).toUpperCase().padStart(8, '0')}`;
  return String(node.value);
}

function itemIndex(item: TtlvNode, position: number): number {
  const id = child(item, 'UniqueBatchItemID');
  if (id?.type === 'ByteString' && id.value.length === 4) return Buffer.from(id.value).readUInt32BE(0);
  return position;
}

function itemResult(item: TtlvNode, op: TtlvStructure): BatchResult {
  if (isSuccess(child(item, 'ResultStatus'))) {
    const payload = child(item, 'ResponsePayload');
    return { ok: true, response: T.struct(`${op.tag}Response`, payload?.type === 'Structure' ? payload.value : []) };
  }
  const message = child(item, 'ResultMessage');
  return {
    ok: false,
    error: new KmipError(enumText(child(item, 'ResultReason'), 'General_Failure'), message ? String(message.value) : `${op.tag} failed`),
  };
}

/** One result per requested operation, in request order; items the server skipped are failures. */
export function readResponseMessage(message: TtlvNode, ops: readonly TtlvStructure[]): BatchResult[] {
  if (message.tag !== 'ResponseMessage' || message.type !== 'Structure') {
    throw new KmipError('Invalid_Message', `expected a ResponseMessage, got ${message.tag}`);
  }
  const results: Array<BatchResult | undefined> = ops.map(() => undefined);
  const items = childrenByTag(message, 'BatchItem');
  items.forEach((item, position) => {
    const index = itemIndex(item, position);
    const op = ops[index];
    // An item without an Operation that failed is the server rejecting the whole message.
    if (!op) {
      if (!isSuccess(child(item, 'ResultStatus')) && ops[0]) results.fill(itemResult(item, ops[0]));
      return;
    }
    results[index] = itemResult(item, op);
  });
  return results.map((r, i) => r ?? {
    ok: false,
    error: new KmipError('General_Failure', `${ops[i]?.tag ?? 'operation'} was not run: an earlier item of the batch failed`),
  });
}

// ---- Servers that do not speak Cosmian's dialect ------------------------------------------

/** What a socket client learned about its server from DiscoverVersions and Query. */
export interface PeerDialect {
  /** The protocol version every request is sent with: the highest one both sides know. */
  version: ProtocolVersion;
  /**
   * Cosmian's KMIP 2.1 as the request builders write it: vendor `tag` attributes, an
   * ActivationDate at creation meaning "Active now". Requests go out unchanged.
   */
  cosmian: boolean;
  /** Query's VendorIdentification, when the server gave one. */
  vendor?: string;
}

/** What the socket client assumes when a server cannot be asked: the dialect it always spoke. */
export const COSMIAN_DIALECT: PeerDialect = { version: { major: 2, minor: 1 }, cosmian: true };

/** A request rewritten for a server that is not Cosmian's. */
export interface PeerRequest {
  op: TtlvStructure;
  /** The objects it creates must be activated afterwards (the request asked for "Active now"). */
  activate: boolean;
}

/** KMIP 2.x attribute holders and their KMIP 1.x TemplateAttribute names. */
const TEMPLATE_BY_HOLDER: Readonly<Record<string, string>> = {
  Attributes: 'TemplateAttribute',
  CommonAttributes: 'CommonTemplateAttribute',
  PrivateKeyAttributes: 'PrivateKeyTemplateAttribute',
  PublicKeyAttributes: 'PublicKeyTemplateAttribute',
};

const CREATING = new Set(['Create', 'CreateKeyPair', 'Register']);

/**
 * Standard attributes a server cannot even parse, by VendorIdentification. PyKMIP 0.10 fails
 * the whole message on Extractable ("Unrecognized attribute type: Tags.EXTRACTABLE"); it
 * does not enforce it either, and GetAttributes never returns it, so the token then shows
 * such keys as extractable, which is what they are on that server.
 */
const UNPARSED_ATTRIBUTES: ReadonlyArray<[RegExp, ReadonlySet<string>]> = [[/^PyKMIP\b/, new Set(['Extractable'])]];

function unparsedAttributes(vendor: string | undefined): ReadonlySet<string> {
  return UNPARSED_ATTRIBUTES.find(([pattern]) => vendor !== undefined && pattern.test(vendor))?.[1] ?? new Set();
}

/** Attributes KMIP 1.4 added; a 1.0–1.3 server does not know them. */
const SINCE_1_4 = new Set(['Sensitive', 'AlwaysSensitive', 'Extractable', 'NeverExtractable', 'Description', 'Comment']);

/** "CryptographicUsageMask" → "Cryptographic Usage Mask", the KMIP 1.x attribute name. */
function v1AttributeName(tag: string): string {
  return tag.replace(/^X509/, 'X.509 ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/\s+/g, ' ');
}

/** "Cryptographic Usage Mask" → "CryptographicUsageMask". */
function v1AttributeTag(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, '');
}

/** A 2.x attribute node → 1.x Attribute{AttributeName, AttributeIndex, AttributeValue}; enumerations go as their codes. */
function toV1Attribute(n: TtlvNode, index: number): TtlvStructure {
  const value: TtlvNode = n.type === 'Enumeration'
    ? T.enum('AttributeValue', enumCode(n.tag, n.value) ?? n.value)
    : ({ ...n, tag: 'AttributeValue' } as TtlvNode);
  return T.struct('Attribute', [T.text('AttributeName', v1AttributeName(n.tag)), index > 0 ? T.int('AttributeIndex', index) : undefined, value]);
}

/** The attributes of one holder as 1.x Attributes; the 2nd, 3rd… instance of a name carries its index. */
function toV1Attributes(attrs: readonly TtlvNode[], minor: number): TtlvStructure[] {
  const seen = new Map<string, number>();
  const out: TtlvStructure[] = [];
  for (const a of attrs) {
    if (tagCode(a.tag, 1) === undefined || (minor < 4 && SINCE_1_4.has(a.tag))) continue;
    const index = seen.get(a.tag) ?? 0;
    seen.set(a.tag, index + 1);
    out.push(toV1Attribute(a, index));
  }
  return out;
}

/** CryptographicParameters fields in the order of the KMIP specification (strict parsers such as PyKMIP read them so). */
const PARAMETER_ORDER = [
  'BlockCipherMode', 'PaddingMethod', 'HashingAlgorithm', 'KeyRoleType', 'DigitalSignatureAlgorithm', 'CryptographicAlgorithm',
  'RandomIv', 'IvLength', 'TagLength', 'FixedFieldLength', 'InvocationFieldLength', 'CounterLength', 'InitialCounterValue',
  'SaltLength', 'MaskGenerator', 'MaskGeneratorHashingAlgorithm', 'PSource', 'TrailerField',
];

/** Paddings only RSA has: the algorithm some servers insist on naming (PyKMIP's Sign) follows from them. */
const RSA_PADDINGS = new Set(['PKCS1v15', 'PSS', 'OAEP']);

/** Spec field order, and CryptographicAlgorithm RSA where an RSA padding implies it and nothing names it. */
function standardParameters(p: TtlvStructure): TtlvStructure {
  const fields = [...p.value];
  const padding = child(p, 'PaddingMethod');
  if (padding && RSA_PADDINGS.has(String(padding.value)) && !child(p, 'CryptographicAlgorithm') && !child(p, 'DigitalSignatureAlgorithm')) {
    fields.push(T.enum('CryptographicAlgorithm', 'RSA'));
  }
  const rank = (n: TtlvNode): number => {
    const i = PARAMETER_ORDER.indexOf(n.tag);
    return i < 0 ? PARAMETER_ORDER.length : i;
  };
  return T.struct(p.tag, fields.map((n, i) => ({ n, i })).sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i).map((x) => x.n));
}

/** A Cosmian vendor `tag` attribute that actually filters (a non-empty JSON list). */
function filtersByTags(a: TtlvNode): boolean {
  const value = child(a, 'AttributeValue');
  if (child(a, 'AttributeName')?.value !== 'tag' || value?.type !== 'TextString') return false;
  try {
    const tags: unknown = JSON.parse(value.value);
    return Array.isArray(tags) && tags.length > 0;
  } catch {
    return true;
  }
}

/**
 * A Cosmian-shaped request → standard KMIP of the peer's version, for servers that are not
 * Cosmian's (PyKMIP, HSMs…). Vendor attributes are dropped: a Locate that filters by
 * Cosmian tags is refused instead, since ignoring the filter would show objects the slot
 * must not see. An ActivationDate of now or earlier at creation becomes an Activate after
 * the object exists (many servers refuse to set it directly). KMIP 1.x gets
 * TemplateAttributes, loose Locate attributes and AttributeNames in place of 2.x Attributes
 * and AttributeReferences. Attributes a known server cannot parse are left out
 * (UNPARSED_ATTRIBUTES). CryptographicParameters are put in the specification's field order
 * and name the algorithm an RSA padding implies. Anything else is sent as is.
 */
export function toPeerRequest(op: TtlvStructure, peer: PeerDialect, nowSeconds = Math.floor(Date.now() / 1000)): PeerRequest {
  if (peer.cosmian) return { op, activate: false };
  const v1 = peer.version.major === 1;
  const unparsed = unparsedAttributes(peer.vendor);
  let activate = false;
  const out: TtlvNode[] = [];
  for (const n of op.value) {
    const template = TEMPLATE_BY_HOLDER[n.tag];
    if (template !== undefined && n.type === 'Structure') {
      const attrs: TtlvNode[] = [];
      for (const a of n.value) {
        if (a.tag === 'Attribute' && child(a, 'VendorIdentification') !== undefined) {
          if (op.tag === 'Locate' && filtersByTags(a)) {
            throw new KmipError('Feature_Not_Supported', `the KMS (${peer.vendor ?? `KMIP ${peer.version.major}.${peer.version.minor}`}) has no Cosmian tags to filter objects by`);
          }
          continue;
        }
        if (a.tag === 'ActivationDate' && a.type === 'DateTime' && CREATING.has(op.tag) && a.value <= nowSeconds) {
          activate = true;
          continue;
        }
        if (!unparsed.has(a.tag)) attrs.push(a);
      }
      if (!v1) out.push(T.struct(n.tag, attrs));
      else if (op.tag === 'Locate') out.push(...toV1Attributes(attrs, peer.version.minor));
      else out.push(T.struct(template, toV1Attributes(attrs, peer.version.minor)));
      continue;
    }
    if (op.tag === 'GetAttributes' && n.tag === 'AttributeReference') {
      // A structured reference names a vendor attribute (Cosmian's tags).
      if (n.type !== 'Enumeration') continue;
      out.push(v1 ? T.text('AttributeName', v1AttributeName(String(n.value))) : n);
      continue;
    }
    out.push(n.tag === 'CryptographicParameters' && n.type === 'Structure' ? standardParameters(n) : n);
  }
  return { op: T.struct(op.tag, out), activate };
}

/** One 1.x Attribute → the 2.x node; enumerations are re-read under their real tag. */
function fromV1Attribute(a: TtlvNode): TtlvNode | undefined {
  const name = child(a, 'AttributeName');
  const value = child(a, 'AttributeValue');
  if (name?.type !== 'TextString' || !value) return undefined;
  const tag = v1AttributeTag(name.value);
  // Custom attributes ("x-…") have no 2.x tag.
  if (tagCode(tag) === undefined) return undefined;
  if (value.type === 'Enumeration') return { tag, type: 'Enumeration', value: normalizeEnum(tag, value.value) };
  return { ...value, tag } as TtlvNode;
}

/** A peer's answer → the 2.x shape the readers expect: a 1.x GetAttributes lists Attribute{Name, Value}. */
export function fromPeerResponse(response: TtlvStructure, peer: PeerDialect): TtlvStructure {
  if (peer.version.major !== 1 || response.tag !== 'GetAttributesResponse') return response;
  const attributes: TtlvNode[] = [];
  const rest: TtlvNode[] = [];
  for (const n of response.value) {
    if (n.tag !== 'Attribute') rest.push(n);
    else {
      const converted = fromV1Attribute(n);
      if (converted) attributes.push(converted);
    }
  }
  return T.struct(response.tag, [...rest, T.struct('Attributes', attributes)]);
}

/** The UIDs a Create, CreateKeyPair or Register response names. */
export function createdIdentifiers(response: TtlvStructure): string[] {
  return ['UniqueIdentifier', 'PrivateKeyUniqueIdentifier', 'PublicKeyUniqueIdentifier']
    .map((tag) => child(response, tag))
    .filter((n): n is TtlvNode & { type: 'TextString' } => n?.type === 'TextString')
    .map((n) => n.value);
}
