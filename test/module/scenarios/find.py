"""C_FindObjectsInit / C_FindObjects / C_FindObjectsFinal (PKCS#11 2.40 section 5.7)."""
from p11check import *

lib = load()
s = open_rw(lib)
L = lib.lib
ID = b"\x00\xff\xfe binary id " + RUN.encode()  # not UTF-8: CKA_ID is bytes


def find_raw(template, page):
    """FindObjectsInit, then FindObjects with room for `page` handles until it returns none."""
    r = L.C_FindObjectsInit(s.session, s._template2ckattrlist(template))
    pages = []
    while r == CKR_OK:
        lst = LowLevel.ckobjlist(page)
        r = L.C_FindObjects(s.session, lst)
        got = [x.value() for x in lst]
        pages.append(got)
        if not got:
            break
    L.C_FindObjectsFinal(s.session)
    return r, pages


pub, priv = s.generateKeyPair([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_EC_PARAMS, OID["P-256"]), (CKA_ID, ID), (CKA_TOKEN, True)],
                              [(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_KEY_TYPE, CKK_EC), (CKA_ID, ID), (CKA_TOKEN, True)], mech(CKM_EC_KEY_PAIR_GEN))
labels = {name: "find-me" + name + "-" + RUN for name in ("", "-too")}
exact = s.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, True), (CKA_LABEL, labels[""]), (CKA_VALUE, b"1")])
longer = s.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, True), (CKA_LABEL, labels["-too"]), (CKA_VALUE, b"2")])
paged = [h(s.createObject([(CKA_CLASS, CKO_DATA), (CKA_TOKEN, True), (CKA_LABEL, "page-" + RUN), (CKA_VALUE, bytes([i]))])) for i in range(3)]
secret = s.generateKey([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE_LEN, 16), (CKA_TOKEN, False), (CKA_LABEL, "session " + RUN)])


@section
def empty_template_lists_everything():
    everything = sorted(h(x) for x in s.findObjects([]))
    by_class = sorted(h(x) for c in (CKO_DATA, CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY) for x in s.findObjects([(CKA_CLASS, c)]))
    mine = [h(pub), h(priv), h(exact), h(longer), h(secret)] + paged
    true("an empty template finds every object made here (token and session objects)", set(mine) <= set(everything), [mine, everything])
    same("an empty template finds exactly the union of the five per-class searches", everything, by_class)


@section
def class_and_id():
    same("CKA_CLASS=PRIVATE_KEY + binary CKA_ID finds exactly the private key", [h(x) for x in s.findObjects([(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_ID, ID)])], [h(priv)])
    same("CKA_CLASS=PUBLIC_KEY + the same CKA_ID finds exactly the public key", [h(x) for x in s.findObjects([(CKA_CLASS, CKO_PUBLIC_KEY), (CKA_ID, ID)])], [h(pub)])
    same("CKA_ID alone finds both halves", sorted(h(x) for x in s.findObjects([(CKA_ID, ID)])), sorted([h(pub), h(priv)]))
    same("CKA_ID with one byte less finds nothing", s.findObjects([(CKA_ID, ID[:-1])]), [])
    same("CKA_CLASS=CERTIFICATE + that CKA_ID finds nothing", s.findObjects([(CKA_CLASS, CKO_CERTIFICATE), (CKA_ID, ID)]), [])


@section
def label_matches_exactly():
    same("CKA_LABEL matches exactly: 'find-me-<run>' finds one object, not 'find-me-too-<run>'", [h(x) for x in s.findObjects([(CKA_LABEL, labels[""])])], [h(exact)])
    same("a label prefix matches nothing", s.findObjects([(CKA_LABEL, labels[""][:-2])]), [])
    same("CKA_CLASS=DATA + CKA_LABEL finds the data object", [h(x) for x in s.findObjects([(CKA_CLASS, CKO_DATA), (CKA_LABEL, labels["-too"])])], [h(longer)])
    same("CKA_CLASS=SECRET_KEY + a data object's label finds nothing", s.findObjects([(CKA_CLASS, CKO_SECRET_KEY), (CKA_LABEL, labels["-too"])]), [])
    same("CKA_TOKEN=FALSE + label finds the session key", [h(x) for x in s.findObjects([(CKA_TOKEN, False), (CKA_LABEL, "session " + RUN)])], [h(secret)])
    same("CKA_TOKEN=TRUE + the session key's label finds nothing", s.findObjects([(CKA_TOKEN, True), (CKA_LABEL, "session " + RUN)]), [])


@section
def paging():
    r, pages = find_raw([(CKA_LABEL, "page-" + RUN)], 1)
    rv("paging with ulMaxObjectCount=1 returns CKR_OK", r, CKR_OK)
    same("pages of one: 1, 1, 1, then 0 handles", [len(p) for p in pages], [1, 1, 1, 0])
    same("the pages hold the three objects once each", sorted(x for p in pages for x in p), sorted(paged))
    r, pages = find_raw([(CKA_LABEL, "page-" + RUN)], 2)
    same("pages of two: 2, 1, then 0 handles", [len(p) for p in pages], [2, 1, 0])


@section
def search_state():
    rv("C_FindObjectsInit returns CKR_OK", L.C_FindObjectsInit(s.session, s._template2ckattrlist([])), CKR_OK)
    rv("C_FindObjectsInit while a search is active is CKR_OPERATION_ACTIVE", L.C_FindObjectsInit(s.session, s._template2ckattrlist([])), CKR_OPERATION_ACTIVE)
    rv("C_FindObjectsFinal returns CKR_OK", L.C_FindObjectsFinal(s.session), CKR_OK)
    rv("C_FindObjects after Final is CKR_OPERATION_NOT_INITIALIZED", L.C_FindObjects(s.session, LowLevel.ckobjlist(1)), CKR_OPERATION_NOT_INITIALIZED)
    rv("C_FindObjectsFinal without a search is CKR_OPERATION_NOT_INITIALIZED", L.C_FindObjectsFinal(s.session), CKR_OPERATION_NOT_INITIALIZED)


run()
