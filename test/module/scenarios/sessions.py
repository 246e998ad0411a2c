"""Sessions, login state and session objects (PKCS#11 2.40 sections 5.6 and 4.4)."""
from p11check import *

lib = load()
slot = lib.getSlotList()[0]
L = lib.lib


def open_raw(flags):
    handle = LowLevel.CK_SESSION_HANDLE()
    return L.C_OpenSession(slot, flags, handle), handle


def state(session):
    return session.getSessionInfo().state


@section
def serial_session_required():
    r, _ = open_raw(CKF_RW_SESSION)
    rv("C_OpenSession without CKF_SERIAL_SESSION is CKR_SESSION_PARALLEL_NOT_SUPPORTED", r, CKR_SESSION_PARALLEL_NOT_SUPPORTED)
    r, handle = open_raw(CKF_SERIAL_SESSION)
    rv("C_OpenSession with CKF_SERIAL_SESSION returns CKR_OK", r, CKR_OK)
    L.C_CloseSession(handle)
    r = L.C_OpenSession(slot + 9, CKF_SERIAL_SESSION, LowLevel.CK_SESSION_HANDLE())
    rv("C_OpenSession on an unknown slot is CKR_SLOT_ID_INVALID", r, CKR_SLOT_ID_INVALID)


@section
def read_only_session_objects():
    ro = lib.openSession(slot, CKF_SERIAL_SESSION)
    info = ro.getSessionInfo()
    same("R/O session flags are CKF_SERIAL_SESSION only", info.flags, CKF_SERIAL_SESSION)
    data = [(CKA_CLASS, CKO_DATA), (CKA_LABEL, "ro-data"), (CKA_VALUE, b"ro")]
    rv("R/O session: C_CreateObject with CKA_TOKEN=TRUE is CKR_SESSION_READ_ONLY", rv_of(ro.createObject, data + [(CKA_TOKEN, True)]), CKR_SESSION_READ_ONLY)
    aes = [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 16), (CKA_TOKEN, True)]
    rv("R/O session: C_GenerateKey of a token key is CKR_SESSION_READ_ONLY", rv_of(ro.generateKey, aes), CKR_SESSION_READ_ONLY)
    obj = ro.createObject(data + [(CKA_TOKEN, False)])
    true("R/O session: C_CreateObject with CKA_TOKEN=FALSE returns a handle", h(obj) != 0)
    same("R/O session: the session object reads back CKA_TOKEN=FALSE", ro.getAttributeValue(obj, [CKA_TOKEN])[0], False)
    key = ro.generateKey(aes[:-1] + [(CKA_TOKEN, False)])
    same("R/O session: a generated session key has CKA_TOKEN=FALSE", ro.getAttributeValue(key, [CKA_TOKEN])[0], False)
    rv("R/O session: C_DestroyObject of a session object returns CKR_OK", rv_of(ro.destroyObject, obj), CKR_OK)
    ro.closeSession()


@section
def login_states():
    ro = lib.openSession(slot, CKF_SERIAL_SESSION)
    rw = open_rw(lib, slot)
    same("before login: R/O session is CKS_RO_PUBLIC_SESSION", state(ro), CKS_RO_PUBLIC_SESSION)
    same("before login: R/W session is CKS_RW_PUBLIC_SESSION", state(rw), CKS_RW_PUBLIC_SESSION)
    ti = lib.getTokenInfo(slot)
    same("token info counts 2 open sessions, 1 of them R/W", [ti.ulSessionCount, ti.ulRwSessionCount], [2, 1])
    rv("C_Logout when not logged in is CKR_USER_NOT_LOGGED_IN", L.C_Logout(rw.session), CKR_USER_NOT_LOGGED_IN)
    rv("C_Login(CKU_SO) while a R/O session is open is CKR_SESSION_READ_ONLY_EXISTS", rv_of(rw.login, "1234", CKU_SO), CKR_SESSION_READ_ONLY_EXISTS)
    rv("C_Login(CKU_USER) returns CKR_OK", rv_of(rw.login, "1234"), CKR_OK)
    same("after login: R/O session is CKS_RO_USER_FUNCTIONS", state(ro), CKS_RO_USER_FUNCTIONS)
    same("after login: R/W session is CKS_RW_USER_FUNCTIONS", state(rw), CKS_RW_USER_FUNCTIONS)
    rv("C_Login(CKU_USER) twice is CKR_USER_ALREADY_LOGGED_IN", rv_of(ro.login, "1234"), CKR_USER_ALREADY_LOGGED_IN)
    ro.closeSession()
    rv("C_Login(CKU_SO) while the user is logged in is CKR_USER_ANOTHER_ALREADY_LOGGED_IN", rv_of(rw.login, "1234", CKU_SO), CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
    ro = lib.openSession(slot, CKF_SERIAL_SESSION)
    rv("C_Logout returns CKR_OK", L.C_Logout(rw.session), CKR_OK)
    same("after logout: R/O session is CKS_RO_PUBLIC_SESSION again", state(ro), CKS_RO_PUBLIC_SESSION)
    same("after logout: R/W session is CKS_RW_PUBLIC_SESSION again", state(rw), CKS_RW_PUBLIC_SESSION)
    rv("C_Logout twice is CKR_USER_NOT_LOGGED_IN", L.C_Logout(rw.session), CKR_USER_NOT_LOGGED_IN)
    rw.login("1234")
    rv("C_CloseAllSessions returns CKR_OK", L.C_CloseAllSessions(slot), CKR_OK)
    rv("a session closed by C_CloseAllSessions is CKR_SESSION_HANDLE_INVALID", L.C_GetSessionInfo(rw.session, LowLevel.CK_SESSION_INFO()), CKR_SESSION_HANDLE_INVALID)
    again = open_rw(lib, slot)
    same("closing the last session logged the user out: a new session is CKS_RW_PUBLIC_SESSION", state(again), CKS_RW_PUBLIC_SESSION)
    again.closeSession()


@section
def pin_and_token_management():
    ro = lib.openSession(slot, CKF_SERIAL_SESSION)
    rw = open_rw(lib, slot)
    rv("C_InitToken with sessions open is CKR_SESSION_EXISTS", L.C_InitToken(slot, ckbytelist(b"1234"), "new label".ljust(32)), CKR_SESSION_EXISTS)
    rv("C_InitPIN outside the SO state is CKR_USER_NOT_LOGGED_IN", L.C_InitPIN(rw.session, ckbytelist(b"1234")), CKR_USER_NOT_LOGGED_IN)
    rv("C_SetPIN in a R/O session is CKR_SESSION_READ_ONLY", L.C_SetPIN(ro.session, ckbytelist(b"1234"), ckbytelist(b"5678")), CKR_SESSION_READ_ONLY)
    rv("C_SetPIN in a R/W session is CKR_FUNCTION_NOT_SUPPORTED (the PIN is a KMS credential)", L.C_SetPIN(rw.session, ckbytelist(b"1234"), ckbytelist(b"5678")), CKR_FUNCTION_NOT_SUPPORTED)
    ro.closeSession()
    rw.login("1234", CKU_SO)
    same("SO logged in: R/W session is CKS_RW_SO_FUNCTIONS", state(rw), CKS_RW_SO_FUNCTIONS)
    r, _ = open_raw(CKF_SERIAL_SESSION)
    rv("C_OpenSession R/O while the SO is logged in is CKR_SESSION_READ_WRITE_SO_EXISTS", r, CKR_SESSION_READ_WRITE_SO_EXISTS)
    rv("C_InitPIN as SO is CKR_FUNCTION_NOT_SUPPORTED (the user PIN is managed by the KMS)", L.C_InitPIN(rw.session, ckbytelist(b"1234")), CKR_FUNCTION_NOT_SUPPORTED)
    rw.logout()
    rw.closeSession()
    rv("C_InitToken with no session open is CKR_FUNCTION_NOT_SUPPORTED (a KMS cannot be wiped from PKCS#11)", L.C_InitToken(slot, ckbytelist(b"1234"), "new label".ljust(32)), CKR_FUNCTION_NOT_SUPPORTED)
    true("C_InitToken changed nothing: the label is not 'new label'", lib.getTokenInfo(slot).label.strip() != "new label")


@section
def closing_a_session_destroys_its_objects():
    a = open_rw(lib, slot)
    b = open_rw(lib, slot)
    key = a.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 32), (CKA_TOKEN, False), (CKA_LABEL, "session-key-of-a")])
    data = a.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, False), (CKA_LABEL, "session-data-of-a-" + RUN), (CKA_VALUE, b"gone soon")])
    kept = a.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, True), (CKA_LABEL, "token-data-of-a"), (CKA_VALUE, b"stays")])
    for name, obj in (("session_key_uid", key), ("session_data_uid", data), ("token_data_uid", kept)):
        fact(name, attr_bytes(a, obj, CKA_UNIQUE_ID).decode())
    same("another session sees the session key", b.getAttributeValue(key, [CKA_LABEL])[0], "session-key-of-a")
    same("another session finds the session data object by label", [h(x) for x in b.findObjects([(CKA_LABEL, "session-data-of-a-" + RUN)])], [h(data)])
    a.closeSession()
    raw = Raw()
    rv("after C_CloseSession the session key's handle is CKR_OBJECT_HANDLE_INVALID", raw.get_attributes(b, key, [(CKA_LABEL, None)])[0], CKR_OBJECT_HANDLE_INVALID)
    rv("after C_CloseSession the session data object's handle is CKR_OBJECT_HANDLE_INVALID", raw.get_attributes(b, data, [(CKA_LABEL, None)])[0], CKR_OBJECT_HANDLE_INVALID)
    same("after C_CloseSession a search by label finds no session data object", b.findObjects([(CKA_LABEL, "session-data-of-a-" + RUN)]), [])
    same("the token object made in the closed session survives", b.getAttributeValue(kept, [CKA_LABEL])[0], "token-data-of-a")
    b.closeSession()


run()
