import t, { type Test } from 'tap';
import { T, type TtlvStructure } from '../../src/kmip/ttlv';
import { decodeJsonText, encodeJsonText } from '../../src/kmip/json-codec';
import { parseResponseMessage, wrapBareOperation } from '../../src/kmip/messages';
import {
  USAGE_MASK, createKeyPairRequest, createSymmetricKeyRequest, encryptRequest, getRequest, revokeRequest, uidRequest,
} from '../../src/kmip/requests';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The failures client code written for Cosmian KMS matches on, answered as Cosmian answers
 * them (src/kmip/errors.ts COSMIAN_FAILURES), each in both of Cosmian's forms:
 *  - bare: POST /kmip/2_1 with the operation alone. Cosmian answers a KmsError::Kmip21Error
 *    with HTTP 422 and "Reason: message" as the body, and its other server errors with 422 (or
 *    500) and their text alone (Cosmian/kms crate/server/src/routes/mod.rs, ResponseError for
 *    KmsError);
 *  - JSON RequestMessage: HTTP 200, the batch item OperationFailed with the Kmip21Error's reason
 *    and message, or Operation_Not_Supported and the text for the other server errors
 *    (crate/server/src/core/operations/message.rs).
 */

interface Failure {
  reason: string;
  message: string;
}

async function bare(server: TestServer, op: TtlvStructure): Promise<{ status: number; text: string }> {
  const res = await server.post('/kmip/2_1', encodeJsonText(op));
  return { status: res.status, text: res.text };
}

async function inMessage(server: TestServer, op: TtlvStructure): Promise<Failure | 'success'> {
  const res = await server.post('/kmip/2_1', encodeJsonText(wrapBareOperation(op)));
  if (res.status !== 200) throw new Error(`a RequestMessage answered HTTP ${res.status}: ${res.text}`);
  const item = parseResponseMessage(decodeJsonText(res.text)).items[0];
  if (!item) throw new Error('no batch item in the response');
  return item.status === 'Success' ? 'success' : { reason: item.reason ?? '', message: item.message ?? '' };
}

/** Asserts one failure in both forms; a `message` RegExp checks Cosmian's stable prefix. */
async function expectFailure(t: Test, server: TestServer, op: TtlvStructure, reason: string, message: string | RegExp, bareText?: string | RegExp): Promise<void> {
  const item = await inMessage(server, op);
  t.not(item, 'success', 'the operation fails');
  if (item === 'success') return;
  t.equal(item.reason, reason, `RequestMessage: ResultReason ${reason}`);
  if (typeof message === 'string') t.equal(item.message, message, 'RequestMessage: ResultMessage as Cosmian words it');
  else t.match(item.message, message, 'RequestMessage: ResultMessage starts as Cosmian\'s does');
  const b = await bare(server, op);
  t.equal(b.status, 422, 'bare operation: HTTP 422');
  const expected = bareText ?? (typeof message === 'string' ? `${reason}: ${message}` : new RegExp(`^${reason}: ${message.source.replace(/^\^/, '')}`));
  if (typeof expected === 'string') t.equal(b.text, expected, 'bare operation: the body is Cosmian\'s text');
  else t.match(b.text, expected, 'bare operation: the body starts as Cosmian\'s does');
}

/** Creates an object and returns its UID, failing the test if the server refuses. */
async function created(server: TestServer, op: TtlvStructure, field = 'UniqueIdentifier'): Promise<string> {
  const res = await server.post('/kmip/2_1', encodeJsonText(op));
  if (res.status !== 200) throw new Error(`${op.tag} answered ${res.status}: ${res.text}`);
  const uid = (JSON.parse(res.text) as { value: Array<{ tag: string; value: unknown }> }).value.find((n) => n.tag === field)?.value;
  if (typeof uid !== 'string') throw new Error(`${op.tag} answered no ${field}`);
  return uid;
}

const aes = (extra: Parameters<typeof createSymmetricKeyRequest>[0] = { algorithm: 'AES' }): TtlvStructure =>
  createSymmetricKeyRequest({ length: 256, usageMask: USAGE_MASK.Encrypt | USAGE_MASK.Decrypt, ...extra });

t.test('an unknown UID: Object_Not_Found, "object not found for identifier <uid>"', async (t) => {
  // Cosmian: crate/server/src/core/retrieve_object_utils.rs, retrieve_object_for_operation.
  const server = await startTestServer(t);
  await expectFailure(t, server, getRequest('no-such-key'), 'Object_Not_Found', 'object not found for identifier no-such-key');
  await expectFailure(t, server, uidRequest('Activate', 'no-such-key'), 'Object_Not_Found', 'object not found for identifier no-such-key');
});

t.test('an unknown UID for a cryptographic operation: Item_Not_Found, "<Op>: no valid key for id: <uid>"', async (t) => {
  // Cosmian: CryptoOpSpec::map_selection_error (crate/server/src/core/operations), the same words as its
  // benches report: "Item_Not_Found: Encrypt: no valid key for id: …".
  const server = await startTestServer(t);
  await expectFailure(t, server, encryptRequest('no-such-key', Buffer.from('x')), 'Item_Not_Found', 'Encrypt: no valid key for id: no-such-key');
});

t.test('a wrong lifecycle state: a PreActive key cannot encrypt, an Active one cannot be destroyed', async (t) => {
  const server = await startTestServer(t);
  // Cosmian selects only Active keys for Encrypt (select_unique_key_for_operation), so a PreActive one is "no valid key".
  const preActive = await created(server, aes({ algorithm: 'AES', activationDate: null }));
  await expectFailure(t, server, encryptRequest(preActive, Buffer.from('x')), 'Item_Not_Found', `Encrypt: no valid key for id: ${preActive}`);
  // Cosmian: crate/server/src/core/operations/destroy.rs, destroy_key_core.
  const active = await created(server, aes());
  await expectFailure(t, server, uidRequest('Destroy', active), 'Wrong_Key_Lifecycle_State', `Object with unique identifier: ${active} is active. It must be revoked first`);
  // A revoked key still decrypts (KMIP 2.1, Deactivated) but no longer encrypts.
  const item = await inMessage(server, revokeRequest(active, 'CessationOfOperation'));
  t.equal(item, 'success', 'the key is revoked');
  await expectFailure(t, server, encryptRequest(active, Buffer.from('x')), 'Item_Not_Found', `Encrypt: no valid key for id: ${active}`);
});

t.test('a usage mask that forbids the operation: Item_Not_Found, "<Op>: no valid key for id: <uid>"', async (t) => {
  // Cosmian's is_key_eligible checks the usage mask; an ineligible key is "no valid key" (CryptoOpSpec).
  const server = await startTestServer(t);
  const decryptOnly = await created(server, aes({ algorithm: 'AES', usageMask: USAGE_MASK.Decrypt }));
  await expectFailure(t, server, encryptRequest(decryptOnly, Buffer.from('x')), 'Item_Not_Found', `Encrypt: no valid key for id: ${decryptOnly}`);
});

t.test('a missing field: Encrypt without Data is Cosmian\'s InvalidRequest', async (t) => {
  // Cosmian: encrypt.rs, KmsError::InvalidRequest("Encrypt: data to encrypt must be provided"): in a
  // RequestMessage Operation_Not_Supported with the error's text, bare the text alone (no reason in front).
  const server = await startTestServer(t);
  const key = await created(server, aes());
  const op = T.struct('Encrypt', [T.text('UniqueIdentifier', key)]);
  await expectFailure(t, server, op, 'Operation_Not_Supported', 'Invalid Request: Encrypt: data to encrypt must be provided', 'Invalid Request: Encrypt: data to encrypt must be provided');
});

t.test('a destroyed object: Get answers Object_Destroyed, "DENIED"', async (t) => {
  // Cosmian: crate/server/src/core/operations/export_get.rs (KMIP vector BL-M-8-21's DENIED).
  const server = await startTestServer(t);
  const key = await created(server, aes());
  t.equal(await inMessage(server, revokeRequest(key, 'CessationOfOperation')), 'success', 'revoked');
  t.equal(await inMessage(server, uidRequest('Destroy', key)), 'success', 'destroyed');
  await expectFailure(t, server, getRequest(key), 'Object_Destroyed', 'DENIED');
  // Other operations do not see a destroyed key, as Cosmian's retrieval skips them.
  await expectFailure(t, server, encryptRequest(key, Buffer.from('x')), 'Item_Not_Found', `Encrypt: no valid key for id: ${key}`);
});

/*
 * The three cases below are where Cosmian has no KMIP reason of its own: its crypto layer's
 * errors (CryptoError, OpenSSL's) become KmsError::CryptographicError or NotSupported, which a
 * RequestMessage reports as Operation_Not_Supported with OpenSSL's words and a bare call as
 * HTTP 500 or 422 (crate/server/src/error.rs From<CryptoError>; routes/mod.rs). p11kms keeps a
 * precise reason instead (the PKCS#11 module maps it to CKR_MECHANISM_PARAM_INVALID,
 * CKR_DATA_LEN_RANGE…): these tests pin p11kms's answers so that a change is deliberate.
 */

t.test('an invalid IV or tag length: p11kms answers a precise reason', async (t) => {
  const server = await startTestServer(t);
  const key = await created(server, aes());
  // GCM takes IVs of any length (NIST SP 800-38D), in OpenSSL as in node:crypto: a short one is CBC's.
  const shortIv = encryptRequest(key, Buffer.from('hello'), { mode: 'CBC', padding: 'PKCS5', iv: Buffer.alloc(5) });
  await expectFailure(t, server, shortIv, 'Invalid_Field', 'AES-CBC needs a 16-byte IV, not 5');
  const shortTag = encryptRequest(key, Buffer.from('hello'), { mode: 'GCM', tagLength: 3 });
  await expectFailure(t, server, shortTag, 'Bad_Cryptographic_Parameters', 'the tag length must be 12 to 16 bytes, not 3');
});

t.test('data too large for RSA: p11kms answers a precise reason', async (t) => {
  const server = await startTestServer(t);
  const pub = await created(server, createKeyPairRequest({ algorithm: 'RSA', length: 2048, publicUsageMask: USAGE_MASK.Encrypt, privateUsageMask: USAGE_MASK.Decrypt, activationDate: undefined }), 'PublicKeyUniqueIdentifier');
  const tooLong = encryptRequest(pub, Buffer.alloc(300, 1), { padding: 'OAEP', hashing: 'SHA256' });
  await expectFailure(t, server, tooLong, 'Invalid_Field', 'RSA OAEP with this key encrypts at most 190 bytes');
});

t.test('an unsupported parameter: p11kms answers a precise reason', async (t) => {
  const server = await startTestServer(t);
  const key = await created(server, aes());
  const ofb = encryptRequest(key, Buffer.from('hello'), { mode: 'OFB' });
  await expectFailure(t, server, ofb, 'Bad_Cryptographic_Parameters', 'unsupported block cipher mode OFB');
});

t.test('a KMIP 1.x client gets the 1.x reason for a missing object: Item_Not_Found', async (t) => {
  // Object_Not_Found is new in KMIP 2.0; a 1.4 client (PyKMIP, storage arrays) knows Item Not Found.
  const { encodeBinary, decodeBinary } = await import('../../src/kmip/binary-codec');
  const { buildRequestMessage } = await import('../../src/kmip/messages');
  const server = await startTestServer(t);
  const message = buildRequestMessage([T.struct('Get', [T.text('UniqueIdentifier', 'no-such-key')])], { major: 1, minor: 4 });
  const res = await server.post('/kmip', encodeBinary(message, 1), 'application/octet-stream');
  const item = parseResponseMessage(decodeBinary(res.bytes)).items[0];
  t.equal(item?.reason, 'Item_Not_Found', 'KMIP 1.4: Item_Not_Found');
  t.equal(item?.message, 'object not found for identifier no-such-key', 'with Cosmian\'s message');
  const v2 = await inMessage(server, getRequest('no-such-key'));
  t.same(v2, { reason: 'Object_Not_Found', message: 'object not found for identifier no-such-key' }, 'KMIP 2.1: Object_Not_Found');
});
