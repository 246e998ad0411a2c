import t from 'tap';
import { T, child, type TtlvNode, type TtlvStructure } from '../../src/kmip/ttlv';
import { decodeBinary, encodeBinary } from '../../src/kmip/binary-codec';
import { buildRequestMessage, parseResponseMessage, type ResponseItem } from '../../src/kmip/messages';
import { enumCode } from '../../src/kmip/enums';
import { knownInVersion, reasonForVersion } from '../../src/kmip/versions';
import { serverAndClient } from '../support/client';
import type { TestServer } from '../support/server';

/**
 * Each client is answered in its own protocol version (src/kmip/versions.ts): a result reason
 * its version lacks becomes the nearest older one, and no enumeration value newer than its
 * version reaches it. PyKMIP's server, the reference, answers a 1.x Get of a destroyed object
 * with Item Not Found and an operation in the wrong state with Permission Denied
 * (kmip/services/server/engine.py); KMIP 2.0 introduced Object Destroyed (0x36) and Wrong Key
 * Lifecycle State (0x43), which Cosmian answers with.
 */

const VERSIONS = [[1, 0], [1, 1], [1, 2], [1, 3], [1, 4], [2, 0], [2, 1]] as const;

async function send(server: TestServer, major: number, minor: number, ops: TtlvStructure[]): Promise<ResponseItem[]> {
  const message = buildRequestMessage(ops, { major, minor }, true);
  const res = await server.post('/kmip', encodeBinary(message, major), 'application/octet-stream');
  const response = parseResponseMessage(decodeBinary(res.bytes, undefined, major));
  if (response.header.major !== major || response.header.minor !== minor) throw new Error(`answered in ${response.header.major}.${response.header.minor}`);
  return response.items;
}

function v1Attribute(name: string, value: TtlvNode): TtlvStructure {
  return T.struct('Attribute', [T.text('AttributeName', name), { ...value, tag: 'AttributeValue' } as TtlvNode]);
}

function v1Create(names: string[] = []): TtlvStructure {
  return T.struct('Create', [
    T.enum('ObjectType', 'SymmetricKey'),
    T.struct('TemplateAttribute', [
      v1Attribute('Cryptographic Algorithm', T.enum('x', 3)),
      v1Attribute('Cryptographic Length', T.int('x', 128)),
      v1Attribute('Cryptographic Usage Mask', T.int('x', 12)),
      ...names.map((n) => v1Attribute('Name', T.struct('x', [T.text('NameValue', n), T.enum('NameType', 'UninterpretedTextString')]))),
    ]),
  ]);
}

function uidOf(item: ResponseItem | undefined): string {
  const uid = item && item.status === 'Success' ? child(item.payload, 'UniqueIdentifier') : undefined;
  if (!uid || uid.type !== 'TextString') throw new Error(`no UniqueIdentifier: ${JSON.stringify(item)}`);
  return uid.value;
}

t.test('the reason table: every reason becomes one the asked version has', async (t) => {
  for (let code = 1; code <= 0x4c; code++) {
    for (const [major, minor] of VERSIONS) {
      const reason = reasonForVersion(String(code), major, minor);
      if (enumCode('ResultReason', String(code)) === undefined) continue;
      t.ok(knownInVersion('ResultReason', reason, major, minor), `reason 0x${code.toString(16)} → ${reason} in ${major}.${minor}`);
    }
  }
  t.equal(reasonForVersion('Object_Destroyed', 1, 2), 'Item_Not_Found');
  t.equal(reasonForVersion('Wrong_Key_Lifecycle_State', 1, 4), 'Permission_Denied');
  t.equal(reasonForVersion('Non_Unique_Name_Attribute', 1, 4), 'Object_Already_Exists', 'Object Already Exists is in 1.4');
  t.equal(reasonForVersion('Non_Unique_Name_Attribute', 1, 3), 'Invalid_Field', 'and not in 1.3');
  t.equal(reasonForVersion('Object_Destroyed', 2, 0), 'Object_Destroyed', '2.0 has it');
  t.equal(reasonForVersion('Constraint_Violation', 2, 0), 'Invalid_Field', 'a 2.1 reason for a 2.0 client');
  t.equal(reasonForVersion('Item_Not_Found', 1, 0), 'Item_Not_Found');
});

t.test('Get after Destroy, and Activate twice, answered per protocol version', async (t) => {
  const { server } = await serverAndClient(t);
  const expected: Record<string, [string, string]> = {
    '1.0': ['Item_Not_Found', 'Permission_Denied'],
    '1.2': ['Item_Not_Found', 'Permission_Denied'],
    '1.4': ['Item_Not_Found', 'Permission_Denied'],
    '2.0': ['Object_Destroyed', 'Wrong_Key_Lifecycle_State'],
    '2.1': ['Object_Destroyed', 'Wrong_Key_Lifecycle_State'],
  };
  for (const [version, [afterDestroy, activateTwice]] of Object.entries(expected)) {
    const [major, minor] = version.split('.').map(Number) as [number, number];
    const create = major === 1 ? v1Create()
      : T.struct('Create', [T.enum('ObjectType', 'SymmetricKey'), T.struct('Attributes', [T.enum('CryptographicAlgorithm', 'AES'), T.int('CryptographicLength', 128)])]);
    const uid = uidOf((await send(server, major, minor, [create]))[0]);
    const items = await send(server, major, minor, [
      T.struct('Destroy', [T.text('UniqueIdentifier', uid)]),
      T.struct('Get', [T.text('UniqueIdentifier', uid)]),
    ]);
    t.equal(items[0]?.status, 'Success', `${version}: Destroy of a Pre-Active key`);
    t.equal(items[1]?.status === 'OperationFailed' ? items[1].reason : 'no error', afterDestroy, `${version}: Get after Destroy`);
    const other = uidOf((await send(server, major, minor, [create]))[0]);
    const twice = await send(server, major, minor, [T.struct('Activate', [T.text('UniqueIdentifier', other)]), T.struct('Activate', [T.text('UniqueIdentifier', other)])]);
    t.equal(twice[1]?.status === 'OperationFailed' ? twice[1].reason : 'no error', activateTwice, `${version}: Activate of an Active key`);
  }
});

t.test('Query lists only the operations the asked version has', async (t) => {
  const { server } = await serverAndClient(t);
  const listed = async (major: number, minor: number): Promise<string[]> => {
    const [item] = await send(server, major, minor, [T.struct('Query', [T.enum('QueryFunction', 'QueryOperations')])]);
    if (!item || item.status !== 'Success') throw new Error(JSON.stringify(item));
    return (item.payload?.value ?? []).filter((n) => n.tag === 'Operation').map((n) => String(n.value));
  };
  const v10 = await listed(1, 0);
  const v12 = await listed(1, 2);
  const v21 = await listed(2, 1);
  t.ok(v10.includes('Create') && v10.includes('Locate'), '1.0: the 1.0 operations');
  t.notOk(v10.includes('DiscoverVersions') || v10.includes('Encrypt'), '1.0: nothing from 1.1 or 1.2');
  t.ok(v12.includes('Encrypt') && v12.includes('DiscoverVersions'), '1.2: Encrypt and DiscoverVersions');
  t.notOk(v12.includes('Import') || v12.includes('SetAttribute'), '1.2: nothing from 1.4 or 2.0');
  t.ok(v21.includes('SetAttribute'), '2.1: everything, SetAttribute included');
});

t.test('KMIP 1.x GetAttributes, ModifyAttribute and DeleteAttribute by attribute index', async (t) => {
  const { server } = await serverAndClient(t);
  const [created] = await send(server, 1, 4, [v1Create(['first', 'second'])]);
  const uid = uidOf(created);
  const attributesOf = async (): Promise<Array<[string, number | undefined, string]>> => {
    const [got] = await send(server, 1, 4, [T.struct('GetAttributes', [T.text('UniqueIdentifier', uid), T.text('AttributeName', 'Name'), T.text('AttributeName', 'Cryptographic Length')])]);
    if (!got || got.status !== 'Success') throw new Error(JSON.stringify(got));
    return (got.payload?.value ?? []).filter((n) => n.tag === 'Attribute').map((a) => {
      const index = child(a, 'AttributeIndex');
      const value = child(a, 'AttributeValue');
      const name = value && child(value, 'NameValue');
      return [String(child(a, 'AttributeName')?.value), index?.type === 'Integer' ? index.value : undefined, String(name ? name.value : value?.value)];
    });
  };
  t.same(await attributesOf(), [['Name', 0, 'first'], ['Name', 1, 'second'], ['Cryptographic Length', undefined, '128']],
    'each Name carries its index; a single-instance attribute none');

  const renamed = T.struct('Attribute', [T.text('AttributeName', 'Name'), T.int('AttributeIndex', 1),
    T.struct('AttributeValue', [T.text('NameValue', 'renamed'), T.enum('NameType', 'UninterpretedTextString')])]);
  const [modified] = await send(server, 1, 4, [T.struct('ModifyAttribute', [T.text('UniqueIdentifier', uid), renamed])]);
  t.equal(modified?.status, 'Success', JSON.stringify(modified));
  const echoed = modified?.status === 'Success' ? child(modified.payload, 'Attribute') : undefined;
  t.equal(echoed && child(echoed, 'AttributeIndex')?.value, 1, 'ModifyAttribute answers with the attribute and its index');
  t.same(await attributesOf(), [['Name', 0, 'first'], ['Name', 1, 'renamed'], ['Cryptographic Length', undefined, '128']], 'only instance 1 changed');

  const [deleted] = await send(server, 1, 4, [T.struct('DeleteAttribute', [T.text('UniqueIdentifier', uid), T.text('AttributeName', 'Name'), T.int('AttributeIndex', 0)])]);
  t.equal(deleted?.status, 'Success', JSON.stringify(deleted));
  const gone = deleted?.status === 'Success' ? child(deleted.payload, 'Attribute') : undefined;
  const goneName = gone && child(gone, 'AttributeValue');
  t.equal(goneName && child(goneName, 'NameValue')?.value, 'first', 'DeleteAttribute answers with the deleted instance');
  t.same(await attributesOf(), [['Name', 0, 'renamed'], ['Cryptographic Length', undefined, '128']], 'instance 0 deleted, the other renumbered');

  const [missing] = await send(server, 1, 4, [T.struct('DeleteAttribute', [T.text('UniqueIdentifier', uid), T.text('AttributeName', 'Name'), T.int('AttributeIndex', 5)])]);
  t.equal(missing?.status === 'OperationFailed' ? missing.reason : 'no error', 'Item_Not_Found', 'an index with no instance: Item Not Found, as PyKMIP answers');
  const [singleIndexed] = await send(server, 1, 4, [T.struct('ModifyAttribute', [T.text('UniqueIdentifier', uid),
    T.struct('Attribute', [T.text('AttributeName', 'Cryptographic Usage Mask'), T.int('AttributeIndex', 2), T.int('AttributeValue', 12)])])]);
  t.equal(singleIndexed?.status === 'OperationFailed' ? singleIndexed.reason : 'no error', 'Invalid_Field', `an index > 0 on a single-instance attribute: ${JSON.stringify(singleIndexed)}`);
});
