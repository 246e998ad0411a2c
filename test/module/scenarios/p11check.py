"""
Shared helpers for the PyKCS11 scenarios run by test/module/pykcs11.test.ts.

Each check prints one JSON line {"name", "actual", "expected"}; the tap test turns every
line into one assertion. A section that raises prints a failed check named after it, so one
broken behaviour does not hide the others. The last line is {"done": true}: without it the
tap test knows the script died.

PyKCS11 1.5.12 hides some details the checks need (the length a token reports with
CKR_BUFFER_TOO_SMALL, CK_UNAVAILABLE_INFORMATION in C_GetAttributeValue, C_CopyObject), so
`Raw` calls the module's exported C_* functions through ctypes. It is the same dlopen()ed
library, so both see the same sessions and handles.
"""
import ctypes
import json
import os
import struct
import sys
import traceback

import PyKCS11
from PyKCS11 import *  # noqa: F401,F403  (CKA_*, CKM_*, CKR_* ...)
from PyKCS11 import LowLevel

MODULE = os.environ["P11KMS_MODULE"]
# Labels a scenario searches for carry this, so a KMS that outlives one run (as in development) does not confuse the next.
RUN = os.urandom(4).hex()
UNAVAILABLE = (1 << (8 * ctypes.sizeof(ctypes.c_ulong))) - 1

# Names PyKCS11 1.5.12 does not define.
CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055
CKM_EDDSA = 0x1057
CKM_HKDF_DERIVE = 0x402A
CKK_EC_EDWARDS = 0x40
CKK_HKDF = 0x42
CKA_PUBLIC_KEY_INFO = 0x129
CKA_UNIQUE_ID = 0x4
CKF_HKDF_SALT_NULL = 0x1
CKF_HKDF_SALT_DATA = 0x2
CKR_ACTION_PROHIBITED = 0x1B
CKR_CURVE_NOT_SUPPORTED = 0x140
CKR_NAMES = dict(PyKCS11.CKR)
CKR_NAMES.update({0x1B: "CKR_ACTION_PROHIBITED", 0x140: "CKR_CURVE_NOT_SUPPORTED"})

OID = {
    "P-256": bytes.fromhex("06082a8648ce3d030107"),
    "P-384": bytes.fromhex("06052b81040022"),
    "P-521": bytes.fromhex("06052b81040023"),
    "secp256k1": bytes.fromhex("06052b8104000a"),
    "Ed25519": bytes.fromhex("06032b6570"),
    "Ed448": bytes.fromhex("06032b6571"),
}


def rv_name(rv):
    if isinstance(rv, str):
        return rv
    return CKR_NAMES.get(rv, "0x%X" % rv)


def _plain(v):
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, (LowLevel.ckbytelist, PyKCS11.ckbytelist)):
        return bytes(v).hex()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def emit(obj):
    print(json.dumps(obj), flush=True)


def same(name, actual, expected):
    emit({"name": name, "actual": _plain(actual), "expected": _plain(expected)})


def rv(name, actual, expected):
    """A CK_RV check: both sides shown by name."""
    if isinstance(expected, (list, tuple, set)):
        names = sorted(rv_name(e) for e in expected)
        a = rv_name(actual)
        emit({"name": name, "actual": a, "expected": a if a in names else "one of " + ", ".join(names)})
    else:
        same(name, rv_name(actual), rv_name(expected))


def true(name, cond, info=None):
    emit({"name": name, "actual": bool(cond), "expected": True, **({"info": _plain(info)} if info is not None else {})})


def skip(name, reason):
    emit({"name": name, "skip": reason})


def fact(key, value):
    emit({"fact": key, "value": _plain(value)})


_sections = []


def section(fn):
    _sections.append(fn)
    return fn


def run():
    failed = False
    for fn in _sections:
        try:
            fn()
        except Exception as e:  # a section that dies is one failed check, the others still run
            failed = True
            emit({"name": "%s runs to the end" % fn.__name__.replace("_", " "), "actual": "%s: %s" % (type(e).__name__, e),
                  "expected": "no exception", "trace": traceback.format_exc()})
    emit({"done": True})
    sys.exit(0)


def rv_of(fn, *args):
    """CK_RV of a high-level PyKCS11 call: CKR_OK or the PyKCS11Error's value."""
    try:
        fn(*args)
        return CKR_OK
    except PyKCS11.PyKCS11Error as e:
        return e.value


def load():
    lib = PyKCS11.PyKCS11Lib()
    lib.load(MODULE)
    return lib


def open_rw(lib, slot=None):
    slot = lib.getSlotList()[0] if slot is None else slot
    return lib.openSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION)


def h(handle):
    """An object handle as an int."""
    return handle if isinstance(handle, int) else handle.value()


def handle(n):
    """An int as the CK_OBJECT_HANDLE PyKCS11's calls take."""
    o = LowLevel.CK_OBJECT_HANDLE()
    o.assign(n)
    return o


def sh(session):
    return session.session.value()


def attr(session, obj, type_):
    return session.getAttributeValue(obj, [type_], allAsBinary=True)[0]


def attr_bytes(session, obj, type_):
    v = attr(session, obj, type_)
    return None if v is None else bytes(v)


def attr_ulong(session, obj, type_):
    b = attr_bytes(session, obj, type_)
    return None if b is None else int.from_bytes(b, sys.byteorder)


def init(fn, session, m, *args):
    """A C_*Init call. `m` (a PyKCS11 mechanism object) owns the parameter bytes and stays
    referenced here for the whole call: `mech(...).to_native()` inline would free them first."""
    return fn(session.session, m.to_native(), *args)


def mech(type_, param=None):
    return PyKCS11.Mechanism(type_, param)


def ctr_params(counter_block, counter_bits=128):
    """CK_AES_CTR_PARAMS: CK_ULONG ulCounterBits; CK_BYTE cb[16]."""
    return struct.pack("=L" if ctypes.sizeof(ctypes.c_ulong) == 4 else "=Q", counter_bits) + counter_block


def der_octet_string(b):
    n = len(b)
    if n < 0x80:
        return bytes([0x04, n]) + b
    lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x04, 0x80 | len(lb)]) + lb + b


def encode_attr(type_, value):
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        return value.to_bytes(ctypes.sizeof(ctypes.c_ulong), sys.byteorder)
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


class CK_ATTRIBUTE(ctypes.Structure):
    _fields_ = [("type", ctypes.c_ulong), ("pValue", ctypes.c_void_p), ("ulValueLen", ctypes.c_ulong)]


class CK_MECHANISM(ctypes.Structure):
    _fields_ = [("mechanism", ctypes.c_ulong), ("pParameter", ctypes.c_void_p), ("ulParameterLen", ctypes.c_ulong)]


class CK_HKDF_PARAMS(ctypes.Structure):
    _fields_ = [("bExtract", ctypes.c_ubyte), ("bExpand", ctypes.c_ubyte), ("prfHashMechanism", ctypes.c_ulong),
                ("ulSaltType", ctypes.c_ulong), ("pSalt", ctypes.c_void_p), ("ulSaltLen", ctypes.c_ulong),
                ("hSaltKey", ctypes.c_ulong), ("pInfo", ctypes.c_void_p), ("ulInfoLen", ctypes.c_ulong)]


class Raw:
    """The module's C_* entry points, called as a C application would."""

    def __init__(self):
        self.dll = ctypes.CDLL(MODULE)
        for f in ("C_GetAttributeValue", "C_CopyObject", "C_DeriveKey", "C_Encrypt", "C_Decrypt", "C_Sign", "C_SignFinal",
                  "C_Digest", "C_DigestFinal", "C_EncryptUpdate", "C_EncryptFinal", "C_DecryptFinal", "C_WrapKey"):
            getattr(self.dll, f).restype = ctypes.c_ulong
        self._keep = []

    def _template(self, template):
        arr = (CK_ATTRIBUTE * len(template))()
        for i, (t, v) in enumerate(template):
            value = encode_attr(t, v)
            b = ctypes.create_string_buffer(value, max(len(value), 1))
            self._keep.append(b)
            arr[i].type, arr[i].pValue, arr[i].ulValueLen = t, ctypes.cast(b, ctypes.c_void_p), len(value)
        return arr

    def get_attributes(self, session, obj, query):
        """query: [(type, capacity or None)]. Returns (rv, [(ulValueLen, bytes or None)])."""
        arr = (CK_ATTRIBUTE * len(query))()
        bufs = []
        for i, (t, cap) in enumerate(query):
            buf = None if cap is None else ctypes.create_string_buffer(max(cap, 1))
            bufs.append(buf)
            arr[i].type = t
            arr[i].pValue = None if buf is None else ctypes.cast(buf, ctypes.c_void_p)
            arr[i].ulValueLen = 0 if cap is None else cap
        r = self.dll.C_GetAttributeValue(ctypes.c_ulong(sh(session)), ctypes.c_ulong(h(obj)), arr, ctypes.c_ulong(len(query)))
        out = []
        for i, (t, cap) in enumerate(query):
            n = arr[i].ulValueLen
            data = bufs[i].raw[:n] if bufs[i] is not None and n != UNAVAILABLE and n <= cap else None
            out.append((n, data))
        return r, out

    def copy_object(self, session, obj, template):
        arr = self._template(template)
        out = ctypes.c_ulong(0)
        r = self.dll.C_CopyObject(ctypes.c_ulong(sh(session)), ctypes.c_ulong(h(obj)), arr, ctypes.c_ulong(len(template)), ctypes.byref(out))
        return r, out.value

    def output(self, fn, session, data, capacity):
        """C_Encrypt/C_Decrypt/C_Sign/C_Digest style: data in, buffer of `capacity` out (None = NULL).
        Returns (rv, *pulLen, bytes written)."""
        n = ctypes.c_ulong(0 if capacity is None else capacity)
        buf = None if capacity is None else ctypes.create_string_buffer(max(capacity, 1))
        args = [ctypes.c_ulong(sh(session))]
        if data is not None:
            args += [ctypes.c_char_p(data), ctypes.c_ulong(len(data))]
        args += [buf, ctypes.byref(n)]
        r = getattr(self.dll, fn)(*args)
        return r, n.value, (buf.raw[:n.value] if buf is not None and r == CKR_OK else None)

    def hkdf_derive(self, session, base, prf, salt, info, template):
        salt_buf = ctypes.create_string_buffer(salt, len(salt)) if salt else None
        info_buf = ctypes.create_string_buffer(info, len(info))
        p = CK_HKDF_PARAMS(1, 1, prf, CKF_HKDF_SALT_DATA if salt else CKF_HKDF_SALT_NULL,
                           ctypes.cast(salt_buf, ctypes.c_void_p) if salt_buf else None, len(salt or b""), 0,
                           ctypes.cast(info_buf, ctypes.c_void_p), len(info))
        m = CK_MECHANISM(CKM_HKDF_DERIVE, ctypes.cast(ctypes.pointer(p), ctypes.c_void_p), ctypes.sizeof(p))
        arr = self._template(template)
        out = ctypes.c_ulong(0)
        r = self.dll.C_DeriveKey(ctypes.c_ulong(sh(session)), ctypes.byref(m), ctypes.c_ulong(h(base)), arr, ctypes.c_ulong(len(template)), ctypes.byref(out))
        return r, out.value
