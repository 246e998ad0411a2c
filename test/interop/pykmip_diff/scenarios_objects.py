"""PyKMIP object kinds, wrapped keys, DeriveKey, Sign and MAC, as kmip.pie.client sends them.

Each scenario takes ctx (ctx.client: a connected ProxyKmipClient, ctx.proxy: its KMIPProxy,
ctx.version: the KMIPVersion) and returns a JSON-able summary that must be the same on
PyKMIP's server and on p11kms: booleans of byte comparisons, lengths, enumeration names and
the bytes of keys derived from fixed inputs, never UIDs. What PyKMIP's own server does is the
reference (kmip/services/server/engine.py and crypto/engine.py in python3-pykmip 0.10).
"""
import binascii

from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from cryptography import x509
from cryptography.x509.oid import NameOID
import datetime

from kmip import enums
from kmip.core import enums as core_enums
from kmip.pie import objects

U = enums.CryptographicUsageMask

# Fixed inputs, so that what is derived from them can be compared byte for byte across servers.
KEY_16 = bytes(range(16))
KEY_32 = bytes(range(32))
KEK_16 = bytes(range(0x40, 0x50))
PASSWORD = b"correct horse battery staple"
DERIVATION_DATA = b"p11kms differential derivation data"
SALT = b"0123456789abcdef"


def _hex(b):
    return binascii.hexlify(b).decode()


def _rsa_private(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits, backend=default_backend())


_RSA = _rsa_private()
_EC = ec.generate_private_key(ec.SECP256R1(), default_backend())


def _rsa_pkcs1_private():
    return _RSA.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())


def _rsa_pkcs8_private():
    return _RSA.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _rsa_pkcs1_public():
    return _RSA.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def _rsa_spki_public():
    return _RSA.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _certificate_der():
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u"pykmip-diff")])
    now = datetime.datetime(2024, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(_RSA.public_key())
            .serial_number(4242).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(_RSA, hashes.SHA256(), default_backend()))
    return cert.public_bytes(serialization.Encoding.DER)


def _register_and_get(ctx, obj):
    uid = ctx.client.register(obj)
    back = ctx.client.get(uid)
    return uid, back


def _attr_values(ctx, uid, names):
    """GetAttributes of the named attributes: {name: value as text}."""
    _, attrs = ctx.client.get_attributes(uid, names)
    out = {}
    for a in attrs:
        name = a.attribute_name.value
        v = a.attribute_value
        if hasattr(v, "name_value"):
            v = v.name_value.value
        elif hasattr(v, "value"):
            v = v.value
        if isinstance(v, enum_types()):
            v = v.name
        elif isinstance(v, bytes):
            v = _hex(v)
        elif not isinstance(v, (int, str, bool)) and v is not None:
            v = str(type(v).__name__)
        out.setdefault(name, []).append(v)
    return out


def enum_types():
    import enum
    return (enum.Enum,)


def _summary(back, registered_value):
    s = {
        "class": type(back).__name__,
        "same_bytes": back.value == registered_value,
    }
    for field in ("key_format_type", "cryptographic_algorithm", "data_type", "opaque_type", "certificate_type"):
        v = getattr(back, field, None)
        if v is not None:
            s[field] = v.name
    length = getattr(back, "cryptographic_length", None)
    if length is not None:
        s["cryptographic_length"] = length
    return s


# --- Register every object kind, Get it back in the format registered, compare bytes ---

def register_symmetric_key(ctx):
    obj = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, KEY_16, masks=[U.ENCRYPT, U.DECRYPT], name="diff-sym")
    uid, back = _register_and_get(ctx, obj)
    s = _summary(back, KEY_16)
    s["attributes"] = _attr_values(ctx, uid, ["Cryptographic Algorithm", "Cryptographic Length", "Object Type", "Name"])
    return s


def _private_key(ctx, value, fmt):
    obj = objects.PrivateKey(enums.CryptographicAlgorithm.RSA, 2048, value, fmt, masks=[U.SIGN])
    uid, back = _register_and_get(ctx, obj)
    s = _summary(back, value)
    s["attributes"] = _attr_values(ctx, uid, ["Cryptographic Algorithm", "Cryptographic Length", "Object Type"])
    return s


def register_rsa_private_pkcs1(ctx):
    return _private_key(ctx, _rsa_pkcs1_private(), enums.KeyFormatType.PKCS_1)


def register_rsa_private_pkcs8(ctx):
    return _private_key(ctx, _rsa_pkcs8_private(), enums.KeyFormatType.PKCS_8)


def _public_key(ctx, value, fmt):
    obj = objects.PublicKey(enums.CryptographicAlgorithm.RSA, 2048, value, fmt, masks=[U.VERIFY])
    uid, back = _register_and_get(ctx, obj)
    s = _summary(back, value)
    s["attributes"] = _attr_values(ctx, uid, ["Cryptographic Algorithm", "Cryptographic Length", "Object Type"])
    return s


def register_rsa_public_pkcs1(ctx):
    return _public_key(ctx, _rsa_pkcs1_public(), enums.KeyFormatType.PKCS_1)


def register_rsa_public_x509(ctx):
    return _public_key(ctx, _rsa_spki_public(), enums.KeyFormatType.X_509)


def register_ec_private_pkcs8(ctx):
    value = _EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    obj = objects.PrivateKey(enums.CryptographicAlgorithm.ECDSA, 256, value, enums.KeyFormatType.PKCS_8, masks=[U.SIGN])
    _, back = _register_and_get(ctx, obj)
    return _summary(back, value)


def register_ec_public_x509(ctx):
    value = _EC.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    obj = objects.PublicKey(enums.CryptographicAlgorithm.ECDSA, 256, value, enums.KeyFormatType.X_509, masks=[U.VERIFY])
    _, back = _register_and_get(ctx, obj)
    return _summary(back, value)


def register_certificate(ctx):
    der = _certificate_der()
    uid, back = _register_and_get(ctx, objects.X509Certificate(der))
    s = _summary(back, der)
    s["attributes"] = _attr_values(ctx, uid, ["Certificate Type", "Object Type"])
    return s


def register_secret_data_password(ctx):
    obj = objects.SecretData(PASSWORD, enums.SecretDataType.PASSWORD, masks=[U.DERIVE_KEY])
    uid, back = _register_and_get(ctx, obj)
    s = _summary(back, PASSWORD)
    s["attributes"] = _attr_values(ctx, uid, ["Object Type"])
    return s


def register_secret_data_seed(ctx):
    obj = objects.SecretData(KEY_32, enums.SecretDataType.SEED, masks=[U.DERIVE_KEY])
    _, back = _register_and_get(ctx, obj)
    return _summary(back, KEY_32)


def register_opaque_object(ctx):
    value = b"\x00opaque bytes\xff"
    obj = objects.OpaqueObject(value, enums.OpaqueDataType.NONE)
    uid, back = _register_and_get(ctx, obj)
    s = _summary(back, value)
    s["attributes"] = _attr_values(ctx, uid, ["Object Type"])
    return s


def register_split_key(ctx):
    obj = objects.SplitKey(
        cryptographic_algorithm=enums.CryptographicAlgorithm.AES, cryptographic_length=128, key_value=KEY_16,
        split_key_parts=4, key_part_identifier=1, split_key_threshold=2,
        split_key_method=enums.SplitKeyMethod.XOR, prime_field_size=None)
    uid, back = _register_and_get(ctx, obj)
    s = _summary(back, KEY_16)
    for field in ("split_key_parts", "key_part_identifier", "split_key_threshold"):
        s[field] = getattr(back, field)
    s["split_key_method"] = back.split_key_method.name
    s["attributes"] = _attr_values(ctx, uid, ["Object Type", "Cryptographic Algorithm", "Cryptographic Length"])
    return s


def register_with_attributes(ctx):
    """Names, usage mask and operation policy name as register() sends them; then ApplicationSpecificInformation
    and ObjectGroup in a TemplateAttribute built by hand (register() itself sends only the first three)."""
    from kmip.core import objects as cobjects
    from kmip.pie import factory
    obj = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, KEY_32, masks=[U.ENCRYPT, U.DECRYPT, U.WRAP_KEY], name="diff-named")
    obj.operation_policy_name = "default"
    uid = ctx.client.register(obj)
    af = ctx.client.attribute_factory
    template = cobjects.TemplateAttribute(attributes=[
        af.create_attribute(enums.AttributeType.APPLICATION_SPECIFIC_INFORMATION,
                            {"application_namespace": "ssl", "application_data": "www.example.com"}),
        af.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK, [U.ENCRYPT]),
        af.create_attribute(enums.AttributeType.OBJECT_GROUP, "diff-group"),
    ])
    secret = factory.ObjectFactory().convert(objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, KEY_16))
    result = ctx.proxy.register(enums.ObjectType.SYMMETRIC_KEY, template, secret)
    if result.result_status.value != enums.ResultStatus.SUCCESS:
        raise RuntimeError("register with ApplicationSpecificInformation: %s %s" % (result.result_reason.value, result.result_message.value))
    uid2 = result.uuid
    return {
        "named": _attr_values(ctx, uid, ["Name", "Cryptographic Usage Mask", "Operation Policy Name"]),
        "app_info": _attr_values(ctx, uid2, ["Cryptographic Usage Mask", "Object Group"]),
        "app_info_present": _app_info(ctx, uid2),
    }


def _app_info(ctx, uid):
    _, attrs = ctx.client.get_attributes(uid, ["Application Specific Information"])
    out = []
    for a in attrs:
        v = a.attribute_value
        out.append([v.application_namespace, v.application_data])
    return out


# --- Wrapped keys ---

def _kek(ctx):
    kek = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, KEK_16, masks=[U.WRAP_KEY, U.UNWRAP_KEY, U.ENCRYPT, U.DECRYPT])
    uid = ctx.client.register(kek)
    ctx.client.activate(uid)
    return uid


def register_wrapped_key(ctx):
    """A KeyBlock with KeyWrappingData (NIST key wrap by a KMS key): stored wrapped, returned as registered."""
    kek_uid = _kek(ctx)
    wrapped = aes_key_wrap(KEK_16, KEY_16, default_backend())
    wrapping = {
        "wrapping_method": enums.WrappingMethod.ENCRYPT,
        "encryption_key_information": {
            "unique_identifier": kek_uid,
            "cryptographic_parameters": {"block_cipher_mode": enums.BlockCipherMode.NIST_KEY_WRAP},
        },
        "encoding_option": enums.EncodingOption.NO_ENCODING,
    }
    obj = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 128, wrapped, key_wrapping_data=wrapping)
    uid, back = _register_and_get(ctx, obj)
    kwd = back.key_wrapping_data
    eki = kwd.get("encryption_key_information", {})
    return {
        "same_bytes": back.value == wrapped,
        "unwraps_to_key": aes_key_unwrap(KEK_16, back.value, default_backend()) == KEY_16,
        "wrapping_method": kwd.get("wrapping_method").name if kwd.get("wrapping_method") else None,
        "names_kek": eki.get("unique_identifier") == kek_uid,
        "block_cipher_mode": (eki.get("cryptographic_parameters") or {}).get("block_cipher_mode").name,
        "encoding_option": kwd.get("encoding_option").name if kwd.get("encoding_option") else None,
    }


def _get_wrapped(ctx, obj, clear):
    kek_uid = _kek(ctx)
    uid = ctx.client.register(obj)
    spec = {
        "wrapping_method": enums.WrappingMethod.ENCRYPT,
        "encryption_key_information": {
            "unique_identifier": kek_uid,
            "cryptographic_parameters": {"block_cipher_mode": enums.BlockCipherMode.NIST_KEY_WRAP},
        },
        "encoding_option": enums.EncodingOption.NO_ENCODING,
    }
    back = ctx.client.get(uid, key_wrapping_specification=spec)
    kwd = back.key_wrapping_data
    eki = kwd.get("encryption_key_information", {})
    return {
        "class": type(back).__name__,
        "unwraps_to_key": aes_key_unwrap(KEK_16, back.value, default_backend()) == clear,
        "wrapping_method": kwd.get("wrapping_method").name if kwd.get("wrapping_method") else None,
        "names_kek": eki.get("unique_identifier") == kek_uid,
        "encoding_option": kwd.get("encoding_option").name if kwd.get("encoding_option") else None,
    }


def get_wrapped_symmetric_key(ctx):
    return _get_wrapped(ctx, objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, KEY_32), KEY_32)


def get_wrapped_private_key(ctx):
    # PyKMIP's server wraps with RFC 3394 only (no padding): a PKCS#8 whose length is a multiple of 8.
    while True:
        key = _rsa_private(1024)
        value = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        if len(value) % 8 == 0:
            break
    return _get_wrapped(ctx, objects.PrivateKey(enums.CryptographicAlgorithm.RSA, 1024, value, enums.KeyFormatType.PKCS_8), value)


# --- DeriveKey, as the client's derive_key sends it ---

def _derive(ctx, base, method, params, length=128, object_type=enums.ObjectType.SYMMETRIC_KEY):
    kwargs = {"cryptographic_length": length}
    if object_type == enums.ObjectType.SYMMETRIC_KEY:
        kwargs["cryptographic_algorithm"] = enums.CryptographicAlgorithm.AES
    uid = ctx.client.derive_key(object_type, [base], method, params, **kwargs)
    derived = ctx.client.get(uid)
    return {"class": type(derived).__name__, "length": len(derived.value), "value": _hex(derived.value)}


def _derive_base(ctx, value=KEY_32, kind="key"):
    if kind == "key":
        obj = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, len(value) * 8, value, masks=[U.DERIVE_KEY, U.ENCRYPT])
    else:
        obj = objects.SecretData(value, enums.SecretDataType.PASSWORD, masks=[U.DERIVE_KEY])
    uid = ctx.client.register(obj)
    # KMIP forbids cryptographic use of a PreActive object; PyKMIP's server does not check (p11kms does).
    ctx.client.activate(uid)
    return uid


def derive_encrypt(ctx):
    base = _derive_base(ctx, KEY_16)
    return _derive(ctx, base, enums.DerivationMethod.ENCRYPT, {
        "cryptographic_parameters": {
            "block_cipher_mode": enums.BlockCipherMode.CBC,
            "padding_method": enums.PaddingMethod.PKCS5,
            "cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
        },
        "initialization_vector": b"\x01" * 16,
        "derivation_data": b"0123456789abcdef0123456789abcdef",
    }, length=256)


def derive_hmac(ctx):
    base = _derive_base(ctx)
    return _derive(ctx, base, enums.DerivationMethod.HMAC, {
        "cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_256},
        "derivation_data": DERIVATION_DATA,
        "salt": SALT,
    }, length=256)


def derive_nist800_108_counter(ctx):
    # 384 bits of SHA-256 output: two counter blocks, the second cut.
    base = _derive_base(ctx)
    return _derive(ctx, base, enums.DerivationMethod.NIST800_108_C, {
        "cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_256},
        "derivation_data": DERIVATION_DATA,
    }, length=384, object_type=enums.ObjectType.SECRET_DATA)


def derive_nist800_108_counter_key(ctx):
    base = _derive_base(ctx)
    return _derive(ctx, base, enums.DerivationMethod.NIST800_108_C, {
        "cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_512},
        "derivation_data": DERIVATION_DATA,
    }, length=256)


def derive_pbkdf2(ctx):
    base = _derive_base(ctx, PASSWORD, kind="secret")
    return _derive(ctx, base, enums.DerivationMethod.PBKDF2, {
        "cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_256},
        "salt": SALT,
        "iteration_count": 1000,
    }, length=256)


def derive_hash(ctx):
    base = _derive_base(ctx)
    return _derive(ctx, base, enums.DerivationMethod.HASH, {
        "cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_256},
    }, length=256)


def derive_secret_data(ctx):
    base = _derive_base(ctx)
    return _derive(ctx, base, enums.DerivationMethod.HMAC, {
        "cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_1},
        "derivation_data": DERIVATION_DATA,
        "salt": SALT,
    }, length=160, object_type=enums.ObjectType.SECRET_DATA)


# --- Sign, SignatureVerify, MAC ---

def _signing_pair(ctx):
    priv = objects.PrivateKey(enums.CryptographicAlgorithm.RSA, 2048, _rsa_pkcs8_private(), enums.KeyFormatType.PKCS_8, masks=[U.SIGN])
    pub = objects.PublicKey(enums.CryptographicAlgorithm.RSA, 2048, _rsa_spki_public(), enums.KeyFormatType.X_509, masks=[U.VERIFY])
    priv_uid = ctx.client.register(priv)
    pub_uid = ctx.client.register(pub)
    ctx.client.activate(priv_uid)
    ctx.client.activate(pub_uid)
    return priv_uid, pub_uid


def _sign_verify(ctx, params, local_padding):
    priv_uid, pub_uid = _signing_pair(ctx)
    message = b"message to sign for the differential test"
    signature = ctx.client.sign(message, uid=priv_uid, cryptographic_parameters=params)
    local_ok = True
    try:
        _RSA.public_key().verify(signature, message, local_padding, hashes.SHA256())
    except Exception:  # noqa: BLE001 - cryptography raises InvalidSignature
        local_ok = False
    valid = ctx.client.signature_verify(message, signature, uid=pub_uid, cryptographic_parameters=params)
    invalid = ctx.client.signature_verify(message + b"!", signature, uid=pub_uid, cryptographic_parameters=params)
    return {"signature_length": len(signature), "verifies_locally": local_ok, "server_valid": valid.name, "server_tampered": invalid.name}


def sign_rsa_pkcs1v15_sha256(ctx):
    return _sign_verify(ctx, {
        "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
        "hashing_algorithm": enums.HashingAlgorithm.SHA_256,
        "padding_method": enums.PaddingMethod.PKCS1v15,
    }, padding.PKCS1v15())


def sign_rsa_pss_sha256(ctx):
    return _sign_verify(ctx, {
        "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
        "hashing_algorithm": enums.HashingAlgorithm.SHA_256,
        "padding_method": enums.PaddingMethod.PSS,
    }, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO))


def sign_rsa_dsa_sha256_with_rsa(ctx):
    """The digital signature algorithm alone (SHA256WithRSAEncryption), as a PKCS#11-minded client sends it."""
    return _sign_verify(ctx, {
        "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
        "digital_signature_algorithm": enums.DigitalSignatureAlgorithm.SHA256_WITH_RSA_ENCRYPTION,
        "padding_method": enums.PaddingMethod.PKCS1v15,
    }, padding.PKCS1v15())


def _mac(ctx, algorithm, key):
    uid = ctx.client.register(objects.SymmetricKey(enums.CryptographicAlgorithm.HMAC_SHA256 if algorithm == enums.CryptographicAlgorithm.HMAC_SHA256 else algorithm,
                                                   len(key) * 8, key, masks=[U.MAC_GENERATE, U.MAC_VERIFY]))
    ctx.client.activate(uid)
    _, mac = ctx.client.mac(b"data to authenticate", uid=uid, algorithm=algorithm)
    return {"mac": _hex(mac)}


def mac_hmac_sha256(ctx):
    return _mac(ctx, enums.CryptographicAlgorithm.HMAC_SHA256, KEY_32)


def mac_hmac_sha512(ctx):
    return _mac(ctx, enums.CryptographicAlgorithm.HMAC_SHA512, KEY_32)


SCENARIOS = [
    ("register SymmetricKey", register_symmetric_key),
    ("register RSA private key PKCS#1", register_rsa_private_pkcs1),
    ("register RSA private key PKCS#8", register_rsa_private_pkcs8),
    ("register RSA public key PKCS#1", register_rsa_public_pkcs1),
    ("register RSA public key X.509", register_rsa_public_x509),
    ("register EC private key PKCS#8", register_ec_private_pkcs8),
    ("register EC public key X.509", register_ec_public_x509),
    ("register Certificate X.509", register_certificate),
    ("register SecretData password", register_secret_data_password),
    ("register SecretData seed", register_secret_data_seed),
    ("register OpaqueObject", register_opaque_object),
    ("register SplitKey", register_split_key),
    ("register with names, mask, policy, application info", register_with_attributes),
    ("register wrapped key (NIST key wrap)", register_wrapped_key),
    ("get SymmetricKey wrapped (NIST key wrap)", get_wrapped_symmetric_key),
    ("get PrivateKey wrapped (NIST key wrap)", get_wrapped_private_key),
    ("derive ENCRYPT AES-CBC", derive_encrypt),
    ("derive HMAC SHA-256", derive_hmac),
    ("derive NIST800-108 counter SHA-256 SecretData", derive_nist800_108_counter),
    ("derive NIST800-108 counter SHA-512 key", derive_nist800_108_counter_key),
    ("derive PBKDF2 SHA-256", derive_pbkdf2),
    ("derive HASH SHA-256", derive_hash),
    ("derive SecretData HMAC SHA-1", derive_secret_data),
    ("sign RSA PKCS#1 v1.5 SHA-256", sign_rsa_pkcs1v15_sha256),
    ("sign RSA PSS SHA-256", sign_rsa_pss_sha256),
    ("sign RSA SHA256WithRSAEncryption", sign_rsa_dsa_sha256_with_rsa),
    ("mac HMAC-SHA256", mac_hmac_sha256),
    ("mac HMAC-SHA512", mac_hmac_sha512),
]
