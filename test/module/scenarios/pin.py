"""login = "pin-is-token": the PIN is the KMS bearer token (PKCS#11 2.40 section 5.6, C_Login)."""
import os
from p11check import *

# The API token the test KMS knows its one user by (pykcs11.test.ts).
TOKEN = os.environ["P11KMS_TEST_TOKEN"]

lib = load()
slot = lib.getSlotList()[0]
L = lib.lib
s = open_rw(lib, slot)
AES = [(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 16), (CKA_TOKEN, True), (CKA_LABEL, "pin " + RUN)]


@section
def before_login():
    same("before C_Login the token shows no object", s.findObjects([]), [])
    rv("before C_Login, C_GenerateKey of a private key is CKR_USER_NOT_LOGGED_IN", rv_of(s.generateKey, AES), CKR_USER_NOT_LOGGED_IN)
    rv("C_Login with an empty PIN is CKR_PIN_INCORRECT", rv_of(s.login, ""), CKR_PIN_INCORRECT)
    same("after the refused login the session is still CKS_RW_PUBLIC_SESSION", s.getSessionInfo().state, CKS_RW_PUBLIC_SESSION)
    rv("C_Login with a wrong token is CKR_PIN_INCORRECT", rv_of(s.login, "not-" + TOKEN), CKR_PIN_INCORRECT)
    same("after the wrong token the session is still CKS_RW_PUBLIC_SESSION", s.getSessionInfo().state, CKS_RW_PUBLIC_SESSION)


@section
def login_logout():
    rv("C_Login with the user's token as PIN returns CKR_OK", rv_of(s.login, TOKEN), CKR_OK)
    same("logged in: CKS_RW_USER_FUNCTIONS", s.getSessionInfo().state, CKS_RW_USER_FUNCTIONS)
    k = s.generateKey(AES)
    same("logged in: C_GenerateKey works and the key is found by label", [h(x) for x in s.findObjects([(CKA_LABEL, "pin " + RUN)])], [h(k)])
    rv("C_Logout returns CKR_OK", L.C_Logout(s.session), CKR_OK)
    same("after C_Logout the token shows no object again", s.findObjects([(CKA_LABEL, "pin " + RUN)]), [])
    rv("after C_Logout the key's handle is out of reach: CKR_OBJECT_HANDLE_INVALID or CKR_USER_NOT_LOGGED_IN",
       Raw().get_attributes(s, k, [(CKA_LABEL, None)])[0], [CKR_OBJECT_HANDLE_INVALID, CKR_USER_NOT_LOGGED_IN])


run()
