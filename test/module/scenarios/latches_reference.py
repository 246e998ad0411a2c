"""The latch rules of CKA_SENSITIVE/CKA_EXTRACTABLE and their history attributes, as one token
answers them: run against SoftHSM2 and against libp11kms.so, and the two outputs compared
(test/module/protection-reference.test.ts). Prints one JSON object: check name -> observed value."""
import json
import sys

from PyKCS11 import *

lib = PyKCS11Lib()
lib.load(sys.argv[1])
pin = sys.argv[2] if len(sys.argv) > 2 else ""
session = lib.openSession(lib.getSlotList(tokenPresent=True)[0], CKF_SERIAL_SESSION | CKF_RW_SESSION)
if pin:
    session.login(pin)
out = {}
HISTORY = [CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE]


def outcome(fn):
    try:
        fn()
        return "CKR_OK"
    except PyKCS11Error as e:
        return CKR[e.value]


def aes(sensitive, extractable, extra=()):
    return session.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 32), (CKA_TOKEN, False),
                                (CKA_SENSITIVE, sensitive), (CKA_EXTRACTABLE, extractable)] + list(extra))


def history(key):
    return [bool(v) for v in session.getAttributeValue(key, HISTORY)]


def set_value(key, attribute, value):
    return outcome(lambda: session.setAttributeValue(key, [(attribute, value)]))


readable = aes(False, True)
out["generated readable: history"] = history(readable)
out["EXTRACTABLE TRUE -> FALSE"] = set_value(readable, CKA_EXTRACTABLE, False)
out["EXTRACTABLE FALSE -> TRUE"] = set_value(readable, CKA_EXTRACTABLE, True)
out["SENSITIVE FALSE -> TRUE"] = set_value(readable, CKA_SENSITIVE, True)
out["SENSITIVE TRUE -> FALSE"] = set_value(readable, CKA_SENSITIVE, False)
out["tightened afterwards: history"] = history(readable)
locked = aes(True, False)
out["generated locked: history"] = history(locked)
out["set NEVER_EXTRACTABLE"] = set_value(locked, CKA_NEVER_EXTRACTABLE, False)
out["set ALWAYS_SENSITIVE"] = set_value(locked, CKA_ALWAYS_SENSITIVE, False)
created = session.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, bytes(range(32))), (CKA_TOKEN, False),
                                (CKA_SENSITIVE, True), (CKA_EXTRACTABLE, False)])
out["C_CreateObject locked: history"] = history(created)
wrapping = aes(True, False, [(CKA_WRAP, True)])
out["C_WrapKey of a non-extractable key"] = outcome(lambda: session.wrapKey(wrapping, locked, Mechanism(CKM_AES_KEY_WRAP)))
print(json.dumps(out))
