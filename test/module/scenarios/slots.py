"""Slots, tokens and mechanism info (PKCS#11 2.40 section 5.5)."""
import hashlib
import os

from p11check import *

LABEL = os.environ["P11KMS_TEST_LABEL"]
URL = os.environ["P11KMS_TEST_URL"]
PIN_IS_TOKEN = os.environ.get("P11KMS_TEST_LOGIN") == "pin-is-token"
lib = load()
slot = None


def mechanism_info(lib, slot, type_):
    info = LowLevel.CK_MECHANISM_INFO()
    r = lib.lib.C_GetMechanismInfo(slot, type_, info)
    return r, (info.ulMinKeySize, info.ulMaxKeySize, info.flags)


def identity(lib):
    t = lib.getTokenInfo(lib.getSlotList()[0])
    return t.label, t.serialNumber


@section
def slot_list_and_flags():
    global slot
    slots = lib.getSlotList(tokenPresent=True)
    same("C_GetSlotList(tokenPresent) lists the one configured slot", len(slots), 1)
    slot = slots[0]
    same("C_GetSlotList(all) lists the same slot", list(lib.getSlotList()), list(slots))
    info = lib.lib
    si = LowLevel.CK_SLOT_INFO()
    rv("C_GetSlotInfo returns CKR_OK", info.C_GetSlotInfo(slot, si), CKR_OK)
    same("slot flags are exactly CKF_TOKEN_PRESENT|CKF_HW_SLOT", si.flags, CKF_TOKEN_PRESENT | CKF_HW_SLOT)
    rv("C_GetSlotInfo of an unknown slot is CKR_SLOT_ID_INVALID", info.C_GetSlotInfo(slot + 7, si), CKR_SLOT_ID_INVALID)


@section
def token_info():
    t = lib.getTokenInfo(slot)
    flags = CKF_RNG | CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | (CKF_LOGIN_REQUIRED if PIN_IS_TOKEN else 0)
    ti = LowLevel.CK_TOKEN_INFO()
    lib.lib.C_GetTokenInfo(slot, ti)
    what = "RNG|TOKEN_INITIALIZED|USER_PIN_INITIALIZED" + ("|LOGIN_REQUIRED (pin-is-token)" if PIN_IS_TOKEN else ", no LOGIN_REQUIRED (login=none)")
    same("token flags are exactly " + what, ti.flags, flags)
    same("token label is the configured label, blank-padded to 32", t.label, LABEL.ljust(32))
    serial = hashlib.sha256((LABEL + URL).encode()).hexdigest()[:16]
    same("token serial is sha256(label + first url)[:16]", t.serialNumber, serial)
    fact("identity", [t.label, t.serialNumber])
    info = lib.getInfo()
    same("C_GetInfo cryptokiVersion is 2.40", list(info.cryptokiVersion), [2, 40])


@section
def identity_stable_across_reload():
    global lib
    before = identity(lib)
    rv("C_Finalize returns CKR_OK", lib.lib.C_Finalize(), CKR_OK)
    rv("C_Initialize again returns CKR_OK", lib.lib.C_Initialize(), CKR_OK)
    same("label and serial unchanged after C_Finalize + C_Initialize", identity(lib), before)
    lib.lib.Unload()
    lib = load()
    same("label and serial unchanged after unloading and loading the module again", identity(lib), before)


@section
def mechanism_info_table():
    sign_verify = CKF_SIGN | CKF_VERIFY
    ec = 0x100000 | 0x800000 | 0x1000000  # CKF_EC_F_P | CKF_EC_OID (NAMEDCURVE) | CKF_EC_UNCOMPRESS
    expected = {
        "CKM_AES_GCM (16..32 bytes, ENCRYPT|DECRYPT)": (CKM_AES_GCM, (16, 32, CKF_ENCRYPT | CKF_DECRYPT)),
        "CKM_RSA_PKCS_PSS (1024..4096 bits, SIGN|VERIFY)": (CKM_RSA_PKCS_PSS, (1024, 4096, sign_verify)),
        "CKM_ECDSA (256..521 bits, SIGN|VERIFY|EC_F_P|EC_OID|EC_UNCOMPRESS)": (CKM_ECDSA, (256, 521, sign_verify | ec)),
        "CKM_EDDSA (255..448 bits, SIGN|VERIFY)": (CKM_EDDSA, (255, 448, sign_verify)),
    }
    mechs = set(int(m) if isinstance(m, int) else CKM[m] for m in lib.getMechanismList(slot))
    for name, (type_, want) in expected.items():
        r, got = mechanism_info(lib, slot, type_)
        rv("C_GetMechanismInfo " + name.split(" ")[0] + " returns CKR_OK", r, CKR_OK)
        same("C_GetMechanismInfo " + name, list(got), list(want))
        true("C_GetMechanismList includes " + name.split(" ")[0], type_ in mechs)
    r, _ = mechanism_info(lib, slot, CKM_RC4)
    rv("C_GetMechanismInfo of an unlisted mechanism (CKM_RC4) is CKR_MECHANISM_INVALID", r, CKR_MECHANISM_INVALID)


run()
