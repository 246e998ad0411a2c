import t from 'tap';
import { T, child, type TtlvStructure } from '../../src/kmip/ttlv';
import { locateRequest, USAGE_MASK } from '../../src/kmip/requests';
import { readQuery } from '../../src/kmip/responses';
import { SERVER_VERSION } from '../../src/server/version';
import { serverAndClient } from '../support/client';

/**
 * Query as Cosmian's clients read it. Cosmian's server answers QueryServerInformation with
 * VendorIdentification and a ServerInformation naming itself (crate/server/src/core/operations/query.rs:
 * "Cosmian", ServerName "Cosmian KMS"). Its PKCS#11 provider asks Query for the
 * VendorIdentification and uses it as the vendor of the tag attributes it then sends
 * (crate/clients/pkcs11 query_vendor_id, falling back to VENDOR_ID_COSMIAN = "cosmian"): a
 * Cosmian-compatible server answers the vendor its tags live under, "cosmian". p11kms says
 * who it is in ServerInformation.
 */

t.test('QueryServerInformation: VendorIdentification is the tag vendor, ServerInformation names p11kms', async (t) => {
  const { client } = await serverAndClient(t);
  const response = await client.call(T.struct('Query', [T.enum('QueryFunction', 'QueryServerInformation')]));
  const q = readQuery(response);
  t.equal(q.vendorIdentification, 'cosmian', 'VendorIdentification: "cosmian", Cosmian\'s VENDOR_ID_COSMIAN');
  const info = child(response, 'ServerInformation') as TtlvStructure | undefined;
  t.equal(child(info, 'ServerName')?.value, 'p11kms', 'ServerInformation.ServerName: p11kms');
  t.equal(child(info, 'ServerVersion')?.value, SERVER_VERSION, 'ServerInformation.ServerVersion: this build');
  t.same(q.operations, [], 'only what was asked');
});

t.test('a client that takes the vendor from Query, as Cosmian\'s PKCS#11 provider does, finds its tagged keys', async (t) => {
  const { client } = await serverAndClient(t);
  const vendor = readQuery(await client.call(T.struct('Query', [T.enum('QueryFunction', 'QueryServerInformation')]))).vendorIdentification;
  if (vendor === undefined) return t.fail('no VendorIdentification');
  // The provider's set_tags(vendor_id, tags): a vendor attribute under the vendor Query named.
  const tagUnder = (tags: string[]): TtlvStructure => T.struct('Attribute', [T.text('VendorIdentification', vendor), T.text('AttributeName', 'tag'), T.text('AttributeValue', JSON.stringify(tags))]);
  const created = await client.call(T.struct('Create', [T.enum('ObjectType', 'SymmetricKey'), T.struct('Attributes', [
    T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 256), T.int('CryptographicUsageMask', USAGE_MASK.Encrypt), tagUnder(['disk-1']),
  ])]));
  const uid = child(created, 'UniqueIdentifier')?.value;
  const found = await client.call(T.struct('Locate', [T.struct('Attributes', [tagUnder(['disk-1'])])]));
  t.same(found.value.filter((n) => n.tag === 'UniqueIdentifier').map((n) => n.value), [uid], 'Locate by the tag under Query\'s vendor finds the key');
  // And it is the same vendor the server writes its own tag attributes under (locateRequest builds them with "cosmian").
  const same = await client.call(locateRequest({ tags: ['disk-1'] }));
  t.same(same.value.filter((n) => n.tag === 'UniqueIdentifier').map((n) => n.value), [uid]);
});
