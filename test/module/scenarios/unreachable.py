"""A KMS that cannot be reached (P11KMS_TEST_KMS_STATE says how: a closed port, or a server that
accepts connections and never answers): CKR_DEVICE_ERROR within seconds, never a hang."""
import os
import time

from p11check import *

t0 = time.monotonic()
lib = load()
true("C_Initialize does not wait for the KMS (under 4.5 s, less than the 5 s request timeout)", time.monotonic() - t0 < 4.5, "took %.2f s" % (time.monotonic() - t0))
slot = lib.getSlotList()[0]
s = open_rw(lib, slot)


def timed(fn, *args):
    t = time.monotonic()
    r = rv_of(fn, *args)
    return r, time.monotonic() - t


@section
def local_calls_still_work():
    same("C_GetTokenInfo needs no KMS: flags", lib.getTokenInfo(slot).flags, CKF_RNG | CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED)
    same("C_GenerateRandom needs no KMS", len(s.generateRandom(16)), 16)


@section
def kms_calls_fail_fast():
    how = os.environ.get("P11KMS_TEST_KMS_STATE", "a closed port")
    for name, fn, arg in (("C_FindObjectsInit", s.findObjects, []),
                          ("C_GenerateKey", s.generateKey, [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 16)]),
                          ("C_CreateObject", s.createObject, [(CKA_CLASS, CKO_DATA), (CKA_VALUE, b"x")])):
        r, took = timed(fn, arg)
        rv("%s against %s is CKR_DEVICE_ERROR" % (name, how), r, CKR_DEVICE_ERROR)
        true("%s against %s fails within 10 s" % (name, how), took < 10, "took %.2f s" % took)
    t = time.monotonic()
    s.closeSession()
    true("C_CloseSession returns promptly (under 10 s)", time.monotonic() - t < 10)


run()
