import t from 'tap';
import { COSMIAN_FAILURES, KmipError } from '../../src/kmip/errors';
import { CKR } from '../../src/pkcs11/constants';
import { rvForKmipFailure } from '../../src/pkcs11/errors';

// The KMS answers a key a cryptographic operation cannot use (revoked, PreActive, usage mask) as
// Cosmian does, Item_Not_Found "Encrypt: no valid key for id: …" (test/server/cosmian-errors.test.ts);
// the module, which holds a handle to that key, still reports a forbidden key function.
t.test('"no valid key" is CKR_KEY_FUNCTION_NOT_PERMITTED; a missing object stays an invalid handle', async (t) => {
  t.equal(rvForKmipFailure(COSMIAN_FAILURES.noValidKey('Encrypt', 'k1'), 'key'), CKR.KEY_FUNCTION_NOT_PERMITTED);
  t.equal(rvForKmipFailure(COSMIAN_FAILURES.noValidKey('Decrypt', 'k1'), 'decrypt'), CKR.KEY_FUNCTION_NOT_PERMITTED);
  t.equal(rvForKmipFailure(COSMIAN_FAILURES.objectNotFound('k1'), 'key'), CKR.KEY_HANDLE_INVALID);
  t.equal(rvForKmipFailure(COSMIAN_FAILURES.objectNotFound('k1'), 'object'), CKR.OBJECT_HANDLE_INVALID);
  t.equal(rvForKmipFailure(new KmipError('Item_Not_Found', 'no HSM serves hsm::x'), 'key'), CKR.KEY_HANDLE_INVALID, 'other Item_Not_Found texts keep their mapping');
  t.equal(rvForKmipFailure(COSMIAN_FAILURES.objectDestroyed(), 'key'), CKR.KEY_HANDLE_INVALID);
});
