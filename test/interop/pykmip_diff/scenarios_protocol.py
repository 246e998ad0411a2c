"""Protocol scenarios: every method of ProxyKmipClient and KMIPProxy on symmetric keys and key pairs.

Each scenario returns what should be equal between two conforming servers: object types,
lengths, states, reasons, deterministic ciphertexts and MACs, never UIDs or dates. Names are
made unique per run so that scenarios can share a server. Object kinds (PKCS#1, X.509,
opaque, split keys, wrapped keys, derivation forms) are in scenarios_objects.py (helper A2).
"""
import os
import uuid as uuidlib

from kmip import enums
from kmip.core import attributes as cattributes
from kmip.core import enums as core_enums
from kmip.core import objects as cobjects
from kmip.core import primitives
from kmip.core.factories import attributes as attribute_factories
from kmip.pie import exceptions as pie_exceptions
from kmip.pie import objects

RUN = uuidlib.uuid4().hex[:8]
ATTR = attribute_factories.AttributeFactory()
ENC_DEC = [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]
AES_KEY_128 = bytes(range(16))
HMAC_KEY = bytes(range(32))


def unique(label):
    return "pykmip-diff-{}-{}-{}".format(label, RUN, uuidlib.uuid4().hex[:6])


def reason_of(fn):
    """The ResultReason name of a call that must fail with KmipOperationFailure."""
    try:
        fn()
    except pie_exceptions.KmipOperationFailure as e:
        return {"failed": True, "reason": e.reason.name if hasattr(e.reason, "name") else str(e.reason)}
    return {"failed": False}


def value_of(a):
    """An Attribute's value as plain data: enums by name, Names by their text, masks as ints."""
    v = a.attribute_value
    if isinstance(v, cattributes.Name):
        return v.name_value.value
    if isinstance(v, list):
        return [x.value for x in v]
    inner = getattr(v, "value", v)
    if hasattr(inner, "name") and not isinstance(inner, (int, str)):
        return inner.name
    return inner


def create_aes(ctx, name=None, masks=ENC_DEC, length=256):
    return ctx.client.create(enums.CryptographicAlgorithm.AES, length, name=name or unique("aes"),
                             cryptographic_usage_mask=masks)


def state_of(ctx, uid):
    _, attrs = ctx.client.get_attributes(uid, ["State"])
    return [value_of(a) for a in attrs if a.attribute_name.value == "State"]


def register_aes(ctx, value=AES_KEY_128, masks=ENC_DEC, name=None):
    key = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, len(value) * 8, value, masks=masks,
                               name=name or unique("reg"))
    return ctx.client.register(key)


# ---------------------------------------------------------------- ProxyKmipClient

def create(ctx):
    uid = create_aes(ctx)
    key = ctx.client.get(uid)
    return {"type": type(key).__name__, "algorithm": key.cryptographic_algorithm, "length": key.cryptographic_length,
            "bytes": len(key.value), "format": key.key_format_type}


def create_key_pair_rsa(ctx):
    public_uid, private_uid = ctx.client.create_key_pair(
        enums.CryptographicAlgorithm.RSA, 2048, public_name=unique("pub"), private_name=unique("priv"),
        public_usage_mask=[enums.CryptographicUsageMask.VERIFY], private_usage_mask=[enums.CryptographicUsageMask.SIGN])
    public = ctx.client.get(public_uid)
    private = ctx.client.get(private_uid)
    return {"public": [type(public).__name__, public.cryptographic_algorithm, public.cryptographic_length],
            "private": [type(private).__name__, private.cryptographic_algorithm, private.cryptographic_length],
            "distinct": public_uid != private_uid}


def register_symmetric(ctx):
    uid = register_aes(ctx)
    key = ctx.client.get(uid)
    return {"type": type(key).__name__, "value_equal": key.value == AES_KEY_128, "length": key.cryptographic_length}


def derive_key_hmac(ctx):
    base = register_aes(ctx, value=HMAC_KEY, masks=[enums.CryptographicUsageMask.DERIVE_KEY])
    derived = ctx.client.derive_key(
        enums.ObjectType.SYMMETRIC_KEY, [base], enums.DerivationMethod.HMAC,
        {"cryptographic_parameters": {"hashing_algorithm": enums.HashingAlgorithm.SHA_256},
         "derivation_data": b"pykmip differential", "salt": b"salt"},
        cryptographic_algorithm=enums.CryptographicAlgorithm.AES, cryptographic_length=128)
    key = ctx.client.get(derived)
    return {"type": type(key).__name__, "length": key.cryptographic_length, "value": key.value.hex()}


def locate_no_filter(ctx):
    uid = create_aes(ctx)
    found = ctx.client.locate()
    return {"includes_new": uid in found}


def locate_by_name(ctx):
    name = unique("named")
    uid = create_aes(ctx, name=name)
    found = ctx.client.locate(attributes=[ATTR.create_attribute(enums.AttributeType.NAME, name)])
    return {"found": [u == uid for u in found]}


def locate_by_object_type(ctx):
    uid = create_aes(ctx)
    keys = ctx.client.locate(attributes=[ATTR.create_attribute(enums.AttributeType.OBJECT_TYPE, enums.ObjectType.SYMMETRIC_KEY)])
    pairs = ctx.client.locate(attributes=[ATTR.create_attribute(enums.AttributeType.OBJECT_TYPE, enums.ObjectType.PRIVATE_KEY)])
    return {"in_symmetric": uid in keys, "in_private": uid in pairs}


def locate_by_state(ctx):
    name = unique("state")
    uid = create_aes(ctx, name=name)
    by_name = ATTR.create_attribute(enums.AttributeType.NAME, name)
    pre = ctx.client.locate(attributes=[by_name, ATTR.create_attribute(enums.AttributeType.STATE, enums.State.PRE_ACTIVE)])
    active = ctx.client.locate(attributes=[by_name, ATTR.create_attribute(enums.AttributeType.STATE, enums.State.ACTIVE)])
    return {"pre_active": [u == uid for u in pre], "active": [u == uid for u in active]}


def locate_offset_maximum(ctx):
    name = unique("paged")
    uids = {create_aes(ctx, name=name) for _ in range(3)}
    by_name = [ATTR.create_attribute(enums.AttributeType.NAME, name)]
    every = ctx.client.locate(attributes=by_name)
    first_two = ctx.client.locate(attributes=by_name, maximum_items=2)
    skip_one = ctx.client.locate(attributes=by_name, offset_items=1)
    last = ctx.client.locate(attributes=by_name, offset_items=2, maximum_items=5)
    return {"all": sorted(every) == sorted(uids), "maximum_2": len(first_two), "offset_1": len(skip_one),
            "offset_2_maximum_5": len(last), "subsets": set(first_two) <= uids and set(skip_one) <= uids}


def get(ctx):
    uid = register_aes(ctx)
    key = ctx.client.get(uid)
    return {"type": type(key).__name__, "algorithm": key.cryptographic_algorithm, "length": key.cryptographic_length,
            "value_equal": key.value == AES_KEY_128, "masks": sorted(m.name for m in key.cryptographic_usage_masks)}


def get_attributes_named(ctx):
    name = unique("attrs")
    uid = create_aes(ctx, name=name)
    returned_uid, attrs = ctx.client.get_attributes(
        uid, ["Cryptographic Algorithm", "Cryptographic Length", "Object Type", "State", "Name", "Cryptographic Usage Mask"])
    out = sorted([a.attribute_name.value,
                  a.attribute_index.value if a.attribute_index is not None else None,
                  value_of(a) if a.attribute_name.value != "Name" else value_of(a) == name] for a in attrs)
    return {"uid_echoed": returned_uid == uid, "attributes": out}


def get_attributes_all(ctx):
    uid = create_aes(ctx)
    _, attrs = ctx.client.get_attributes(uid)
    names = {a.attribute_name.value for a in attrs}
    required = ["Cryptographic Algorithm", "Cryptographic Length", "Object Type", "State", "Unique Identifier",
                "Cryptographic Usage Mask"]
    return {"has": {n: n in names for n in required}}


def get_attribute_list(ctx):
    uid = create_aes(ctx)
    names = ctx.client.get_attribute_list(uid)
    required = ["Cryptographic Algorithm", "Cryptographic Length", "Object Type", "State", "Unique Identifier"]
    return {"has": {n: n in names for n in required}}


def activate(ctx):
    uid = create_aes(ctx)
    before = state_of(ctx, uid)
    ctx.client.activate(uid)
    return {"before": before, "after": state_of(ctx, uid)}


def revoke(ctx):
    uid = create_aes(ctx)
    ctx.client.activate(uid)
    ctx.client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid, revocation_message="retired")
    return {"after": state_of(ctx, uid)}


def revoke_compromised(ctx):
    uid = create_aes(ctx)
    ctx.client.activate(uid)
    ctx.client.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, uid, compromise_occurrence_date=1_600_000_000)
    return {"after": state_of(ctx, uid)}


def destroy(ctx):
    uid = create_aes(ctx)
    ctx.client.destroy(uid)
    return {"get_after": reason_of(lambda: ctx.client.get(uid))}


def destroy_active_refused(ctx):
    uid = create_aes(ctx)
    ctx.client.activate(uid)
    return {"destroy": reason_of(lambda: ctx.client.destroy(uid))}


def get_unknown(ctx):
    return {"get": reason_of(lambda: ctx.client.get("no-such-object-" + RUN))}


def activate_twice(ctx):
    uid = create_aes(ctx)
    ctx.client.activate(uid)
    return {"again": reason_of(lambda: ctx.client.activate(uid))}


CBC = {"block_cipher_mode": enums.BlockCipherMode.CBC, "padding_method": enums.PaddingMethod.PKCS5,
       "cryptographic_algorithm": enums.CryptographicAlgorithm.AES}


def encrypt_decrypt_cbc(ctx):
    uid = register_aes(ctx)
    ctx.client.activate(uid)
    iv = b"\x01" * 16
    ciphertext, returned_iv = ctx.client.encrypt(b"attack at dawn", uid=uid, cryptographic_parameters=CBC, iv_counter_nonce=iv)
    plain = ctx.client.decrypt(ciphertext, uid=uid, cryptographic_parameters=CBC, iv_counter_nonce=iv)
    return {"ciphertext": ciphertext.hex(), "iv_returned": returned_iv is not None, "plain": plain.decode()}


def encrypt_server_iv(ctx):
    uid = register_aes(ctx)
    ctx.client.activate(uid)
    ciphertext, iv = ctx.client.encrypt(b"attack at dawn", uid=uid, cryptographic_parameters=CBC)
    plain = ctx.client.decrypt(ciphertext, uid=uid, cryptographic_parameters=CBC, iv_counter_nonce=iv)
    return {"iv_bytes": len(iv or b""), "plain": plain.decode()}


def encrypt_preactive_refused(ctx):
    uid = register_aes(ctx)
    return {"encrypt": reason_of(lambda: ctx.client.encrypt(b"x" * 16, uid=uid, cryptographic_parameters=CBC, iv_counter_nonce=b"\0" * 16))}


def rsa_pair(ctx, public_masks, private_masks):
    public_uid, private_uid = ctx.client.create_key_pair(enums.CryptographicAlgorithm.RSA, 2048,
                                                         public_usage_mask=public_masks, private_usage_mask=private_masks)
    ctx.client.activate(public_uid)
    ctx.client.activate(private_uid)
    return public_uid, private_uid


def encrypt_decrypt_rsa_oaep(ctx):
    public_uid, private_uid = rsa_pair(ctx, [enums.CryptographicUsageMask.ENCRYPT], [enums.CryptographicUsageMask.DECRYPT])
    params = {"cryptographic_algorithm": enums.CryptographicAlgorithm.RSA, "padding_method": enums.PaddingMethod.OAEP,
              "hashing_algorithm": enums.HashingAlgorithm.SHA_1}
    ciphertext, _ = ctx.client.encrypt(b"wrapped secret", uid=public_uid, cryptographic_parameters=params)
    plain = ctx.client.decrypt(ciphertext, uid=private_uid, cryptographic_parameters=params)
    return {"ciphertext_bytes": len(ciphertext), "plain": plain.decode()}


def sign_verify_rsa_pss(ctx):
    public_uid, private_uid = rsa_pair(ctx, [enums.CryptographicUsageMask.VERIFY], [enums.CryptographicUsageMask.SIGN])
    params = {"cryptographic_algorithm": enums.CryptographicAlgorithm.RSA, "padding_method": enums.PaddingMethod.PSS,
              "hashing_algorithm": enums.HashingAlgorithm.SHA_256}
    signature = ctx.client.sign(b"signed message", uid=private_uid, cryptographic_parameters=params)
    good = ctx.client.signature_verify(b"signed message", signature, uid=public_uid, cryptographic_parameters=params)
    bad = ctx.client.signature_verify(b"another message", signature, uid=public_uid, cryptographic_parameters=params)
    return {"signature_bytes": len(signature), "good": good, "bad": bad}


def sign_verify_rsa_pkcs1(ctx):
    public_uid, private_uid = rsa_pair(ctx, [enums.CryptographicUsageMask.VERIFY], [enums.CryptographicUsageMask.SIGN])
    params = {"digital_signature_algorithm": enums.DigitalSignatureAlgorithm.SHA256_WITH_RSA_ENCRYPTION,
              "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA, "padding_method": enums.PaddingMethod.PKCS1v15}
    signature = ctx.client.sign(b"signed message", uid=private_uid, cryptographic_parameters=params)
    good = ctx.client.signature_verify(b"signed message", signature, uid=public_uid, cryptographic_parameters=params)
    return {"signature_bytes": len(signature), "good": good}


def mac_hmac_sha256(ctx):
    key = objects.SymmetricKey(enums.CryptographicAlgorithm.HMAC_SHA256, 256, HMAC_KEY,
                               masks=[enums.CryptographicUsageMask.MAC_GENERATE])
    uid = ctx.client.register(key)
    ctx.client.activate(uid)
    returned_uid, mac = ctx.client.mac(b"authenticated data", uid=uid, algorithm=enums.CryptographicAlgorithm.HMAC_SHA256)
    return {"uid_echoed": returned_uid == uid, "mac": mac.hex()}


def set_attribute_sensitive(ctx):
    uid = create_aes(ctx)
    ctx.client.set_attribute(uid, attribute_name="Sensitive", attribute_value=True)
    _, attrs = ctx.client.get_attributes(uid, ["Sensitive"])
    return {"sensitive": [value_of(a) for a in attrs]}


def modify_attribute_name(ctx):
    uid = create_aes(ctx, name=unique("old"))
    new_name = unique("new")
    if ctx.v2:
        new = cobjects.NewAttribute(attribute=primitives.TextString(new_name, enums.Tags.NAME))
        ctx.client.modify_attribute(uid, new_attribute=new)
        echoed = None
    else:
        attribute = ATTR.create_attribute(enums.AttributeType.NAME, new_name, index=0)
        _, echoed = ctx.client.modify_attribute(uid, attribute=attribute)
        echoed = [echoed.attribute_name.value, value_of(echoed) == new_name] if echoed is not None else None
    found = ctx.client.locate(attributes=[ATTR.create_attribute(enums.AttributeType.NAME, new_name)])
    return {"echoed": echoed, "located_by_new_name": found == [uid]}


def delete_attribute_name(ctx):
    name = unique("gone")
    uid = create_aes(ctx, name=name)
    if ctx.v2:
        ctx.client.delete_attribute(uid, attribute_reference=cobjects.AttributeReference(
            vendor_identification="", attribute_name="Name"))
        echoed = None
    else:
        _, deleted = ctx.client.delete_attribute(uid, attribute_name="Name", attribute_index=0)
        echoed = [deleted.attribute_name.value, value_of(deleted) == name] if deleted is not None else None
    found = ctx.client.locate(attributes=[ATTR.create_attribute(enums.AttributeType.NAME, name)])
    return {"echoed": echoed, "located_after": len(found)}


def delete_attribute_missing_index(ctx):
    uid = create_aes(ctx, name=unique("one"))
    if ctx.v2:
        return {"skipped": "1.x form only"}
    return {"delete": reason_of(lambda: ctx.client.delete_attribute(uid, attribute_name="Name", attribute_index=3))}


def check(ctx):
    uid = create_aes(ctx)
    ctx.client.activate(uid)
    return {"checked": ctx.client.check(uid, cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT]) == uid}


def rekey(ctx):
    uid = create_aes(ctx)
    ctx.client.activate(uid)
    new_uid = ctx.client.rekey(uid=uid)
    key = ctx.client.get(new_uid)
    return {"new_object": new_uid != uid, "length": key.cryptographic_length}


# ---------------------------------------------------------------- KMIPProxy

def status(result):
    return result.result_status.value.name


def failure(result):
    return {"status": status(result), "reason": result.result_reason.value.name if result.result_reason else None}


def aes_template(ctx, name=None):
    attrs = [ATTR.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm.AES),
             ATTR.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 128),
             ATTR.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK, ENC_DEC)]
    if name:
        attrs.append(ATTR.create_attribute(enums.AttributeType.NAME, name))
    return cobjects.TemplateAttribute(attributes=attrs)


def proxy_query(ctx):
    result = ctx.proxy.query(query_functions=[core_enums.QueryFunction.QUERY_OPERATIONS, core_enums.QueryFunction.QUERY_OBJECTS])
    if status(result) != "SUCCESS":
        return failure(result)
    operations = {o.value.name for o in result.operations}
    objects_ = {o.value.name for o in result.object_types}
    wanted = ["CREATE", "CREATE_KEY_PAIR", "REGISTER", "LOCATE", "GET", "GET_ATTRIBUTES", "ACTIVATE", "REVOKE", "DESTROY", "QUERY"]
    return {"status": "SUCCESS", "operations": {o: o in operations for o in wanted},
            "objects": {o: o in objects_ for o in ["SYMMETRIC_KEY", "PUBLIC_KEY", "PRIVATE_KEY", "CERTIFICATE", "SECRET_DATA"]}}


def proxy_query_server_information(ctx):
    result = ctx.proxy.query(query_functions=[core_enums.QueryFunction.QUERY_SERVER_INFORMATION])
    return {"status": status(result), "vendor_present": bool(result.vendor_identification and result.vendor_identification.value)}


def proxy_discover_versions(ctx):
    from kmip.core.messages.contents import ProtocolVersion
    every = ctx.proxy.discover_versions()
    asked = ProtocolVersion(1, 2)
    one = ctx.proxy.discover_versions(protocol_versions=[asked])
    own = "{}.{}".format(*str(ctx.version.value).split("."))
    listed = ["{}.{}".format(v.major, v.minor) for v in every.protocol_versions or []]
    return {"status": status(every), "own_listed": own in listed, "newest_first": listed == sorted(listed, reverse=True),
            "asked_1_2": ["{}.{}".format(v.major, v.minor) for v in one.protocol_versions or []]}


def proxy_create(ctx):
    result = ctx.proxy.create(enums.ObjectType.SYMMETRIC_KEY, aes_template(ctx, unique("proxy")))
    if status(result) != "SUCCESS":
        return failure(result)
    return {"status": "SUCCESS", "object_type": result.object_type.name if hasattr(result.object_type, "name") else result.object_type.value.name,
            "uid_given": bool(result.uuid)}


def proxy_create_key_pair(ctx):
    common = cobjects.TemplateAttribute(attributes=[
        ATTR.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm.RSA),
        ATTR.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 2048)], tag=enums.Tags.COMMON_TEMPLATE_ATTRIBUTE)
    private = cobjects.TemplateAttribute(attributes=[
        ATTR.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK, [enums.CryptographicUsageMask.SIGN])],
        tag=enums.Tags.PRIVATE_KEY_TEMPLATE_ATTRIBUTE)
    public = cobjects.TemplateAttribute(attributes=[
        ATTR.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK, [enums.CryptographicUsageMask.VERIFY])],
        tag=enums.Tags.PUBLIC_KEY_TEMPLATE_ATTRIBUTE)
    result = ctx.proxy.create_key_pair(common_template_attribute=common, private_key_template_attribute=private,
                                       public_key_template_attribute=public)
    if status(result) != "SUCCESS":
        return failure(result)
    return {"status": "SUCCESS", "both": bool(result.private_key_uuid) and bool(result.public_key_uuid)}


def proxy_register_get(ctx):
    from kmip.core.factories import secrets
    key = secrets.SecretFactory().create(enums.ObjectType.SYMMETRIC_KEY, {
        "cryptographic_algorithm": enums.CryptographicAlgorithm.AES, "cryptographic_length": 128,
        "key_format_type": enums.KeyFormatType.RAW, "key_value": AES_KEY_128})
    result = ctx.proxy.register(enums.ObjectType.SYMMETRIC_KEY, aes_template(ctx), key)
    if status(result) != "SUCCESS":
        return failure(result)
    got = ctx.proxy.get(result.uuid, key_format_type=cobjects.KeyFormatType(enums.KeyFormatType.RAW))
    if status(got) != "SUCCESS":
        return {"register": "SUCCESS", "get": failure(got)}
    block = got.secret.key_block
    return {"status": "SUCCESS", "object_type": got.object_type.name,
            "format": block.key_format_type.value.name, "value_equal": block.key_value.key_material.value == AES_KEY_128}


def proxy_locate(ctx):
    name = unique("proxyloc")
    created = ctx.proxy.create(enums.ObjectType.SYMMETRIC_KEY, aes_template(ctx, name))
    result = ctx.proxy.locate(attributes=[ATTR.create_attribute(enums.AttributeType.NAME, name)])
    if status(result) != "SUCCESS":
        return failure(result)
    return {"status": "SUCCESS", "found": [u == created.uuid for u in result.uuids]}


def proxy_get_attributes(ctx):
    created = ctx.proxy.create(enums.ObjectType.SYMMETRIC_KEY, aes_template(ctx))
    result = ctx.proxy.get_attributes(created.uuid, ["Cryptographic Length", "Object Type"])
    if status(result) != "SUCCESS":
        return failure(result)
    return {"status": "SUCCESS", "attributes": sorted([a.attribute_name.value, value_of(a)] for a in result.attributes)}


def proxy_get_attribute_list(ctx):
    created = ctx.proxy.create(enums.ObjectType.SYMMETRIC_KEY, aes_template(ctx))
    result = ctx.proxy.get_attribute_list(created.uuid)
    if status(result) != "SUCCESS":
        return failure(result)
    return {"status": "SUCCESS", "has_length": "Cryptographic Length" in result.names}


def proxy_lifecycle(ctx):
    created = ctx.proxy.create(enums.ObjectType.SYMMETRIC_KEY, aes_template(ctx))
    uid = created.uuid
    steps = {"activate": status(ctx.proxy.activate(uid))}
    steps["revoke"] = status(ctx.proxy.revoke(enums.RevocationReasonCode.SUPERSEDED, uid))
    steps["destroy"] = status(ctx.proxy.destroy(uid))
    after = ctx.proxy.get(uid)
    steps["get_after"] = failure(after)
    return steps


def proxy_batch(ctx):
    """Two items in one message; PyKMIP's batch mode is query + discover_versions."""
    ctx.proxy.query(batch=True, query_functions=[core_enums.QueryFunction.QUERY_OPERATIONS])
    ctx.proxy.discover_versions(batch=True)
    results = ctx.proxy.batch_items and ctx.proxy._send_and_receive_message(ctx.proxy._build_request_message(None, ctx.proxy.batch_items))
    ctx.proxy.batch_items = []
    items = results.batch_items
    return {"items": len(items), "statuses": [i.result_status.value.name for i in items],
            "operations": [i.operation.value.name for i in items]}


SCENARIOS = [
    ("create", create),
    ("create_key_pair_rsa", create_key_pair_rsa),
    ("register_symmetric", register_symmetric),
    ("derive_key_hmac", derive_key_hmac),
    ("locate_no_filter", locate_no_filter),
    ("locate_by_name", locate_by_name),
    ("locate_by_object_type", locate_by_object_type),
    ("locate_by_state", locate_by_state),
    ("locate_offset_maximum", locate_offset_maximum),
    ("get", get),
    ("get_unknown", get_unknown),
    ("get_attributes_named", get_attributes_named),
    ("get_attributes_all", get_attributes_all),
    ("get_attribute_list", get_attribute_list),
    ("activate", activate),
    ("activate_twice", activate_twice),
    ("revoke", revoke),
    ("revoke_compromised", revoke_compromised),
    ("destroy", destroy),
    ("destroy_active_refused", destroy_active_refused),
    ("encrypt_decrypt_cbc", encrypt_decrypt_cbc),
    ("encrypt_server_iv", encrypt_server_iv),
    ("encrypt_preactive_refused", encrypt_preactive_refused),
    ("encrypt_decrypt_rsa_oaep", encrypt_decrypt_rsa_oaep),
    ("sign_verify_rsa_pss", sign_verify_rsa_pss),
    ("sign_verify_rsa_pkcs1", sign_verify_rsa_pkcs1),
    ("mac_hmac_sha256", mac_hmac_sha256),
    ("set_attribute_sensitive", set_attribute_sensitive),
    ("modify_attribute_name", modify_attribute_name),
    ("delete_attribute_name", delete_attribute_name),
    ("delete_attribute_missing_index", delete_attribute_missing_index),
    ("check", check),
    ("rekey", rekey),
    ("proxy_query", proxy_query),
    ("proxy_query_server_information", proxy_query_server_information),
    ("proxy_discover_versions", proxy_discover_versions),
    ("proxy_create", proxy_create),
    ("proxy_create_key_pair", proxy_create_key_pair),
    ("proxy_register_get", proxy_register_get),
    ("proxy_locate", proxy_locate),
    ("proxy_get_attributes", proxy_get_attributes),
    ("proxy_get_attribute_list", proxy_get_attribute_list),
    ("proxy_lifecycle", proxy_lifecycle),
    ("proxy_batch", proxy_batch),
]
