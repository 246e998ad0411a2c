import { T, type TtlvStructure } from '../../kmip/ttlv';
import type { OperationContext } from '../context';
import { SUPPORTED_OPERATIONS } from './registry';
import { SERVER_VERSION } from '../version';
import { VENDOR_ID } from '../model/attributes';

const OBJECT_TYPES = ['SymmetricKey', 'PrivateKey', 'PublicKey', 'Certificate', 'SecretData'];

/** Versions we answer, newest first, as Cosmian does. */
export const PROTOCOL_VERSIONS: ReadonlyArray<[number, number]> = [[2, 1], [2, 0], [1, 4], [1, 3], [1, 2], [1, 1], [1, 0]];

export async function query(p: TtlvStructure, _ctx: OperationContext): Promise<TtlvStructure> {
  const functions = new Set(p.value.filter((n) => n.tag === 'QueryFunction').map((n) => String(n.value)));
  const all = functions.size === 0;
  const out = [];
  if (all || functions.has('QueryOperations')) out.push(...SUPPORTED_OPERATIONS.map((op) => T.enum('Operation', op)));
  if (all || functions.has('QueryObjects')) out.push(...OBJECT_TYPES.map((t) => T.enum('ObjectType', t)));
  if (all || functions.has('QueryServerInformation')) {
    // Cosmian's clients take VendorIdentification as the vendor of the tag attributes they then
    // send (crate/clients/pkcs11 query_vendor_id, falling back to VENDOR_ID_COSMIAN "cosmian"),
    // so it is exactly the vendor this server reads tags under. Who we are is ServerInformation's.
    out.push(T.text('VendorIdentification', VENDOR_ID));
    out.push(T.struct('ServerInformation', [T.text('ServerName', 'p11kms'), T.text('ServerVersion', SERVER_VERSION)]));
  }
  return T.struct('QueryResponse', out);
}

export async function discoverVersions(p: TtlvStructure, _ctx: OperationContext): Promise<TtlvStructure> {
  const asked = p.value.filter((n) => n.tag === 'ProtocolVersion');
  const supported = PROTOCOL_VERSIONS.filter(([major, minor]) =>
    asked.length === 0 ||
    asked.some((v) => v.type === 'Structure' && v.value.some((c) => c.tag === 'ProtocolVersionMajor' && c.value === major) &&
      v.value.some((c) => c.tag === 'ProtocolVersionMinor' && c.value === minor)),
  );
  return T.struct('DiscoverVersionsResponse', supported.map(([major, minor]) =>
    T.struct('ProtocolVersion', [T.int('ProtocolVersionMajor', major), T.int('ProtocolVersionMinor', minor)]),
  ));
}
