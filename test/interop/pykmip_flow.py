"""Drive the p11kms socket server with Debian's PyKMIP client (binary TTLV over mutual TLS).

Usage: pykmip_flow.py HOST PORT CERT KEY CA
Prints one line per step and exits non-zero on the first failure.
"""
import sys

from kmip import enums
from kmip.pie import client, objects
from kmip.core import enums as core_enums

host, port, cert, key, ca = sys.argv[1:6]

with client.ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                            ssl_version="PROTOCOL_SSLv23",
                            kmip_version=enums.KMIPVersion.KMIP_1_2) as c:
    uid = c.create(enums.CryptographicAlgorithm.AES, 256, name="pykmip-key",
                   cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                             enums.CryptographicUsageMask.DECRYPT])
    print("create", uid)
    c.activate(uid)
    print("activate ok")
    key_obj = c.get(uid)
    assert isinstance(key_obj, objects.SymmetricKey), type(key_obj)
    assert len(key_obj.value) == 32, len(key_obj.value)
    print("get ok", key_obj.cryptographic_algorithm, key_obj.cryptographic_length)
    found = c.locate(attributes=[
        c.attribute_factory.create_attribute(enums.AttributeType.NAME, "pykmip-key")])
    assert uid in found, found
    print("locate ok", found)
    iv = b"\x01" * 16
    params = {
        "block_cipher_mode": enums.BlockCipherMode.CBC,
        "padding_method": enums.PaddingMethod.PKCS5,
        "cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
    }
    ciphertext, _ = c.encrypt(b"attack at dawn", uid=uid, cryptographic_parameters=params, iv_counter_nonce=iv)
    assert len(ciphertext) == 16, len(ciphertext)
    plain = c.decrypt(ciphertext, uid=uid, cryptographic_parameters=params, iv_counter_nonce=iv)
    assert plain == b"attack at dawn", plain
    print("encrypt/decrypt ok")
    attrs = c.get_attributes(uid, ["Cryptographic Algorithm", "State"])
    print("get_attributes ok", [a.attribute_name.value for a in attrs[1]])
    c.revoke(core_enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
    c.destroy(uid)
    print("destroy ok")
    try:
        c.get(uid)
    except Exception as e:  # noqa: BLE001 - the client raises its own KmipOperationFailure
        print("get after destroy fails:", type(e).__name__)
    else:
        raise SystemExit("get after destroy succeeded")
print("PYKMIP FLOW OK")
