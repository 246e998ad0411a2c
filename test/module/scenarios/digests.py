"""Digests against hashlib (PKCS#11 2.40 section 5.10)."""
import hashlib

from p11check import *

lib = load()
s = open_rw(lib)
L = lib.lib
raw = Raw()
DATA = bytes(range(256)) * 5 + b"tail"
CHUNKS = [DATA[:1], DATA[1:700], DATA[700:]]
DIGESTS = {"CKM_SHA_1": "sha1", "CKM_SHA224": "sha224", "CKM_SHA256": "sha256", "CKM_SHA384": "sha384", "CKM_SHA512": "sha512"}


@section
def single_and_multi_part():
    for name, hl in DIGESTS.items():
        m = mech(globals()[name])
        want = hashlib.new(hl, DATA).digest()
        same(name + ": single-part C_Digest equals hashlib", bytes(s.digest(DATA, m)), want)
        d = s.digestSession(m)
        for c in CHUNKS:
            d.update(c)
        same(name + ": C_DigestUpdate x3 + C_DigestFinal equals hashlib", bytes(d.final()), want)
        init(L.C_DigestInit, s, m)
        same(name + ": digest of empty input equals hashlib", raw.output("C_Digest", s, b"", 64)[2], hashlib.new(hl, b"").digest())
        init(L.C_DigestInit, s, m)
        r = [raw.output("C_Digest", s, DATA, None), raw.output("C_Digest", s, DATA, 4), raw.output("C_Digest", s, DATA, 64)]
        n = len(want)
        same(name + ": C_Digest NULL / 4-byte / 64-byte buffer: OK+%d, BUFFER_TOO_SMALL+%d, OK with the digest" % (n, n),
             [[rv_name(x[0]), x[1]] for x in r] + [r[2][2]], [["CKR_OK", n], ["CKR_BUFFER_TOO_SMALL", n], ["CKR_OK", n], want])


@section
def digest_key():
    value = bytes(range(16))
    plain = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, value), (CKA_SENSITIVE, False), (CKA_TOKEN, False)])
    d = s.digestSession(mech(CKM_SHA256))
    d.update(b"prefix")
    d.digestKey(plain)
    same("C_DigestKey of a non-sensitive AES key digests its value", bytes(d.final()), hashlib.sha256(b"prefix" + value).digest())
    secret = s.createObject([(CKA_CLASS, CKO_SECRET_KEY), (CKA_KEY_TYPE, CKK_AES), (CKA_VALUE, value), (CKA_SENSITIVE, True), (CKA_TOKEN, False)])
    init(L.C_DigestInit, s, mech(CKM_SHA256))
    rv("C_DigestKey of a sensitive key is CKR_KEY_INDIGESTIBLE", L.C_DigestKey(s.session, secret), CKR_KEY_INDIGESTIBLE)
    rv("C_DigestInit with a signature mechanism is CKR_MECHANISM_INVALID", init(L.C_DigestInit, s, mech(CKM_SHA256_RSA_PKCS)), CKR_MECHANISM_INVALID)


run()
