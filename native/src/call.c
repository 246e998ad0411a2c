#include "call.h"
#include "module.h"

#include <stdlib.h>
#include <string.h>

/* Attributes whose value is itself a template (PKCS#11 2.40 section 4.1.2): listed
 * explicitly, because CKF_ARRAY_ATTRIBUTE also marks CKA_ALLOWED_MECHANISMS. */
static int is_template_attribute(CK_ATTRIBUTE_TYPE type) {
  return type == CKA_WRAP_TEMPLATE || type == CKA_UNWRAP_TEMPLATE || type == CKA_DERIVE_TEMPLATE;
}

#define MAX_TEMPLATE_DEPTH 8
#define MAX_TEMPLATE_COUNT 4096

CK_RV p11_call_begin(struct p11_call *call, enum p11f_call function) {
  memset(call, 0, sizeof(*call));
  CK_RV rv = p11_module_enter(&call->transport);
  if (rv != CKR_OK) return rv;
  call->entered = 1;
  p11f_writer_init(&call->request, (uint16_t)function, 0);
  return CKR_OK;
}

void p11_call_begin_direct(struct p11_call *call, enum p11f_call function, struct p11_transport *transport) {
  memset(call, 0, sizeof(*call));
  call->transport = transport;
  p11f_writer_init(&call->request, (uint16_t)function, 0);
}

CK_RV p11_call_run(struct p11_call *call) {
  if (p11f_writer_finish(&call->request) != 0) return CKR_HOST_MEMORY;
  struct p11_transport *transport = call->transport;
  if (transport->call(transport, call->request.data, call->request.length, &call->response,
                      &call->response_length) != 0)
    return CKR_DEVICE_ERROR;
  struct p11f_header header;
  struct p11f_header sent;
  if (call->response_length < P11F_HEADER_SIZE || p11f_header_decode(call->response, &header) != 0 ||
      p11f_header_decode(call->request.data, &sent) != 0)
    return CKR_DEVICE_ERROR;
  if (header.kind != P11F_KIND_RESPONSE || header.function != sent.function ||
      (size_t)header.body_length != call->response_length - P11F_HEADER_SIZE)
    return CKR_DEVICE_ERROR;
  call->sensitive_response = header.flags & P11F_FLAG_SENSITIVE;
  p11f_reader_init(&call->reader, call->response + P11F_HEADER_SIZE, header.body_length);
  CK_RV rv = (CK_RV)p11f_get_u64(&call->reader);
  if (call->reader.failed) return CKR_DEVICE_ERROR;
  return rv;
}

CK_RV p11_call_end(struct p11_call *call, CK_RV rv) {
  int malformed = call->reader.failed;
  if (call->response) {
    p11f_wipe(call->response, call->response_length);
    free(call->response);
  }
  p11f_writer_free(&call->request);
  if (call->entered) p11_module_leave();
  return malformed ? CKR_DEVICE_ERROR : rv;
}

CK_RV p11_call_abort(struct p11_call *call, CK_RV rv) {
  call->reader.failed = 0;
  return p11_call_end(call, rv);
}

void p11_put_ulong(struct p11_call *call, CK_ULONG value) { p11f_put_u64(&call->request, (uint64_t)value); }

void p11_put_byte(struct p11_call *call, CK_BYTE value) { p11f_put_u8(&call->request, value); }

void p11_put_bytes(struct p11_call *call, const void *data, CK_ULONG length) {
  p11f_put_bytes(&call->request, data, data ? length : 0, data != NULL);
}

void p11_put_secret(struct p11_call *call, const void *data, CK_ULONG length) {
  call->request.sensitive = 1;
  p11_put_bytes(call, data, length);
}

void p11_put_fixed(struct p11_call *call, const void *data, size_t width) {
  p11f_put_fixed(&call->request, data, width);
}

static CK_RV put_template_at(struct p11_call *call, const CK_ATTRIBUTE *attributes, CK_ULONG count, int depth) {
  if (depth > MAX_TEMPLATE_DEPTH || count > MAX_TEMPLATE_COUNT) return CKR_TEMPLATE_INCONSISTENT;
  if (count && !attributes) return CKR_ARGUMENTS_BAD;
  p11f_write_u8(&call->request, P11F_TAG_TEMPLATE);
  p11f_write_u32(&call->request, (uint32_t)count);
  for (CK_ULONG i = 0; i < count; i++) {
    const CK_ATTRIBUTE *a = &attributes[i];
    if (!a->pValue && a->ulValueLen) return CKR_ATTRIBUTE_VALUE_INVALID;
    p11f_write_u64(&call->request, a->type);
    if (is_template_attribute(a->type) && a->pValue) {
      if (a->ulValueLen % sizeof(CK_ATTRIBUTE) != 0) return CKR_ATTRIBUTE_VALUE_INVALID;
      CK_RV rv = put_template_at(call, a->pValue, a->ulValueLen / sizeof(CK_ATTRIBUTE), depth + 1);
      if (rv != CKR_OK) return rv;
    } else {
      /* Values travel as raw host bytes; the runtime reads them by attribute type. */
      p11f_put_bytes(&call->request, a->pValue, a->ulValueLen, a->pValue != NULL);
    }
  }
  return CKR_OK;
}

CK_RV p11_put_template(struct p11_call *call, const CK_ATTRIBUTE *attributes, CK_ULONG count) {
  /* Templates may carry CKA_VALUE of secret keys. */
  call->request.sensitive = 1;
  return put_template_at(call, attributes, count, 0);
}

CK_RV p11_put_query(struct p11_call *call, const CK_ATTRIBUTE *attributes, CK_ULONG count) {
  if (count > MAX_TEMPLATE_COUNT) return CKR_TEMPLATE_INCONSISTENT;
  if (count && !attributes) return CKR_ARGUMENTS_BAD;
  p11f_write_u8(&call->request, P11F_TAG_TQUERY);
  p11f_write_u32(&call->request, (uint32_t)count);
  for (CK_ULONG i = 0; i < count; i++) {
    p11f_write_u64(&call->request, attributes[i].type);
    p11f_write_u8(&call->request, attributes[i].pValue != NULL);
    p11f_write_u64(&call->request, attributes[i].pValue ? attributes[i].ulValueLen : 0);
  }
  return CKR_OK;
}

/* Which parameter structure a mechanism takes, decided by its type and the length the
 * caller gave. Unknown mechanisms travel as raw bytes and the runtime decides. */
static enum p11f_param_kind parameter_kind(const CK_MECHANISM *m) {
  switch (m->mechanism) {
  case CKM_AES_GCM:
    return P11F_PARAM_GCM;
  case CKM_RSA_PKCS_OAEP:
    return P11F_PARAM_OAEP;
  case CKM_RSA_PKCS_PSS:
  case CKM_SHA1_RSA_PKCS_PSS:
  case CKM_SHA224_RSA_PKCS_PSS:
  case CKM_SHA256_RSA_PKCS_PSS:
  case CKM_SHA384_RSA_PKCS_PSS:
  case CKM_SHA512_RSA_PKCS_PSS:
    return P11F_PARAM_PSS;
  case CKM_ECDH1_DERIVE:
  case CKM_ECDH1_COFACTOR_DERIVE:
    return P11F_PARAM_ECDH1;
  case CKM_AES_CTR:
    return P11F_PARAM_CTR;
  case CKM_HKDF_DERIVE:
  case CKM_HKDF_DATA:
    return P11F_PARAM_HKDF;
  case CKM_EDDSA:
    return P11F_PARAM_EDDSA;
  default:
    return P11F_PARAM_RAW;
  }
}

static int pointer_pair_ok(const void *pointer, CK_ULONG length) { return pointer != NULL || length == 0; }

CK_RV p11_put_mechanism(struct p11_call *call, const CK_MECHANISM *m) {
  struct p11f_writer *w = &call->request;
  p11f_write_u8(w, P11F_TAG_MECH);
  p11f_write_u8(w, m != NULL);
  if (!m) return CKR_OK;
  p11f_write_u64(w, m->mechanism);
  if (!m->pParameter && m->ulParameterLen) return CKR_MECHANISM_PARAM_INVALID;
  if (!m->pParameter || !m->ulParameterLen) {
    p11f_write_u16(w, P11F_PARAM_NONE);
    return CKR_OK;
  }
  enum p11f_param_kind kind = parameter_kind(m);
  p11f_write_u16(w, (uint16_t)kind);
  switch (kind) {
  case P11F_PARAM_GCM: {
    if (m->ulParameterLen == sizeof(CK_GCM_PARAMS)) {
      const CK_GCM_PARAMS *p = m->pParameter;
      if (!pointer_pair_ok(p->iv_ptr, p->iv_len) || !pointer_pair_ok(p->aad_ptr, p->aad_len))
        return CKR_MECHANISM_PARAM_INVALID;
      p11f_put_bytes(w, p->iv_ptr, p->iv_len, 1);
      p11f_put_u64(w, p->iv_bits);
      p11f_put_bytes(w, p->aad_ptr, p->aad_len, 1);
      p11f_put_u64(w, p->tag_bits);
      p11f_put_u8(w, 1);
    } else if (m->ulParameterLen == sizeof(CK_GCM_PARAMS_NO_IVBITS)) {
      const CK_GCM_PARAMS_NO_IVBITS *p = m->pParameter;
      if (!pointer_pair_ok(p->pIv, p->ulIvLen) || !pointer_pair_ok(p->pAAD, p->ulAADLen))
        return CKR_MECHANISM_PARAM_INVALID;
      p11f_put_bytes(w, p->pIv, p->ulIvLen, 1);
      p11f_put_u64(w, (uint64_t)p->ulIvLen * 8);
      p11f_put_bytes(w, p->pAAD, p->ulAADLen, 1);
      p11f_put_u64(w, p->ulTagBits);
      p11f_put_u8(w, 0);
    } else {
      return CKR_MECHANISM_PARAM_INVALID;
    }
    return CKR_OK;
  }
  case P11F_PARAM_OAEP: {
    if (m->ulParameterLen != sizeof(CK_RSA_PKCS_OAEP_PARAMS)) return CKR_MECHANISM_PARAM_INVALID;
    const CK_RSA_PKCS_OAEP_PARAMS *p = m->pParameter;
    if (!pointer_pair_ok(p->source_data, p->source_data_len)) return CKR_MECHANISM_PARAM_INVALID;
    p11f_put_u64(w, p->hash_alg);
    p11f_put_u64(w, p->mgf);
    p11f_put_u64(w, p->source);
    p11f_put_bytes(w, p->source_data, p->source_data_len, p->source_data != NULL);
    return CKR_OK;
  }
  case P11F_PARAM_PSS: {
    if (m->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS)) return CKR_MECHANISM_PARAM_INVALID;
    const CK_RSA_PKCS_PSS_PARAMS *p = m->pParameter;
    p11f_put_u64(w, p->hash_alg);
    p11f_put_u64(w, p->mgf);
    p11f_put_u64(w, p->s_len);
    return CKR_OK;
  }
  case P11F_PARAM_ECDH1: {
    if (m->ulParameterLen != sizeof(CK_ECDH1_DERIVE_PARAMS)) return CKR_MECHANISM_PARAM_INVALID;
    const CK_ECDH1_DERIVE_PARAMS *p = m->pParameter;
    if (!pointer_pair_ok(p->shared_data, p->shared_data_len) || !pointer_pair_ok(p->public_data, p->public_data_len))
      return CKR_MECHANISM_PARAM_INVALID;
    p11f_put_u64(w, p->kdf);
    p11f_put_bytes(w, p->shared_data, p->shared_data_len, p->shared_data != NULL);
    p11f_put_bytes(w, p->public_data, p->public_data_len, 1);
    return CKR_OK;
  }
  case P11F_PARAM_CTR: {
    if (m->ulParameterLen != sizeof(CK_AES_CTR_PARAMS)) return CKR_MECHANISM_PARAM_INVALID;
    const CK_AES_CTR_PARAMS *p = m->pParameter;
    p11f_put_u64(w, p->counter_bits);
    p11f_put_fixed(w, p->cb, sizeof(p->cb));
    return CKR_OK;
  }
  case P11F_PARAM_HKDF: {
    if (m->ulParameterLen != sizeof(CK_HKDF_PARAMS)) return CKR_MECHANISM_PARAM_INVALID;
    const CK_HKDF_PARAMS *p = m->pParameter;
    if (!pointer_pair_ok(p->pSalt, p->ulSaltLen) || !pointer_pair_ok(p->pInfo, p->ulInfoLen))
      return CKR_MECHANISM_PARAM_INVALID;
    p11f_put_u8(w, p->bExtract);
    p11f_put_u8(w, p->bExpand);
    p11f_put_u64(w, p->prfHashMechanism);
    p11f_put_u64(w, p->ulSaltType);
    p11f_put_bytes(w, p->pSalt, p->ulSaltLen, p->pSalt != NULL);
    p11f_put_u64(w, p->hSaltKey);
    p11f_put_bytes(w, p->pInfo, p->ulInfoLen, p->pInfo != NULL);
    return CKR_OK;
  }
  case P11F_PARAM_EDDSA: {
    if (m->ulParameterLen != sizeof(CK_EDDSA_PARAMS)) return CKR_MECHANISM_PARAM_INVALID;
    const CK_EDDSA_PARAMS *p = m->pParameter;
    if (!pointer_pair_ok(p->pContextData, p->ulContextDataLen)) return CKR_MECHANISM_PARAM_INVALID;
    p11f_put_u8(w, p->phFlag);
    p11f_put_bytes(w, p->pContextData, p->ulContextDataLen, p->pContextData != NULL);
    return CKR_OK;
  }
  default:
    p11f_put_bytes(w, m->pParameter, m->ulParameterLen, 1);
    return CKR_OK;
  }
}

void p11_put_outbuf(struct p11_call *call, const CK_BYTE *out, const CK_ULONG *length) {
  p11f_put_outbuf(&call->request, out != NULL, out ? p11_load_ulong(length) : 0);
}

void p11_put_ulong_list(struct p11_call *call, const CK_ULONG *list, const CK_ULONG *count) {
  p11f_write_u8(&call->request, P11F_TAG_ULOUT);
  p11f_write_u8(&call->request, list != NULL);
  p11f_write_u64(&call->request, list ? p11_load_ulong(count) : 0);
}

CK_ULONG p11_get_ulong(struct p11_call *call) {
  uint64_t value = p11f_get_u64(&call->reader);
  if ((CK_ULONG)value != value) call->reader.failed = 1;
  return (CK_ULONG)value;
}

CK_RV p11_get_ulong_output(struct p11_call *call, CK_RV rv, CK_ULONG *out) {
  if (rv == CKR_OK) {
    CK_ULONG value = p11_get_ulong(call);
    if (!call->reader.failed) p11_store_ulong(out, value);
  }
  return rv;
}

CK_BYTE p11_get_byte(struct p11_call *call) { return p11f_get_u8(&call->reader); }

void p11_get_fixed(struct p11_call *call, void *out, size_t width) { p11f_get_fixed(&call->reader, out, width); }

CK_RV p11_get_outbuf(struct p11_call *call, CK_RV rv, CK_BYTE *out, CK_ULONG *length, CK_ULONG capacity) {
  struct p11f_reader *r = &call->reader;
  if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) return rv;
  if (!p11f_expect_tag(r, P11F_TAG_OUTRES)) return rv;
  uint64_t needed = p11f_read_u64(r);
  uint8_t status = p11f_read_u8(r);
  if (r->failed || (CK_ULONG)needed != needed) {
    r->failed = 1;
    return rv;
  }
  if (status == P11F_DATA) {
    /* The runtime must never hand back more than the caller has room for. */
    if (rv != CKR_OK || !out || needed > capacity) {
      r->failed = 1;
      return rv;
    }
    const uint8_t *data = p11f_read_raw(r, (size_t)needed);
    if (!data) return rv;
    memcpy(out, data, (size_t)needed);
  } else if (status != P11F_LENGTH_ONLY || (rv == CKR_OK && out != NULL)) {
    r->failed = 1;
    return rv;
  }
  p11_store_ulong(length, (CK_ULONG)needed);
  return rv;
}

CK_RV p11_get_ulong_list(struct p11_call *call, CK_RV rv, CK_ULONG *list, CK_ULONG *count, CK_ULONG capacity) {
  struct p11f_reader *r = &call->reader;
  if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) return rv;
  if (!p11f_expect_tag(r, P11F_TAG_ULRES)) return rv;
  uint64_t items = p11f_read_u64(r);
  uint8_t status = p11f_read_u8(r);
  if (r->failed || (CK_ULONG)items != items) {
    r->failed = 1;
    return rv;
  }
  if (status == P11F_DATA) {
    if (rv != CKR_OK || !list || items > capacity) {
      r->failed = 1;
      return rv;
    }
    /* Read everything before writing anything, so a short frame leaves the list alone. */
    if (items > (r->length - r->offset) / 8) {
      r->failed = 1;
      return rv;
    }
    for (uint64_t i = 0; i < items; i++) {
      uint64_t value = p11f_read_u64(r);
      if ((CK_ULONG)value != value) {
        r->failed = 1;
        return rv;
      }
      p11_store_ulong(&list[i], (CK_ULONG)value);
    }
  } else if (status != P11F_LENGTH_ONLY || (rv == CKR_OK && list != NULL)) {
    r->failed = 1;
    return rv;
  }
  p11_store_ulong(count, (CK_ULONG)items);
  return rv;
}

CK_RV p11_get_query_result(struct p11_call *call, CK_ATTRIBUTE *attributes, CK_ULONG count,
                           const CK_ULONG *capacities) {
  struct p11f_reader *r = &call->reader;
  if (!p11f_expect_tag(r, P11F_TAG_TRESULT)) return CKR_DEVICE_ERROR;
  if (p11f_read_u32(r) != count) {
    r->failed = 1;
    return CKR_DEVICE_ERROR;
  }
  for (CK_ULONG i = 0; i < count && !r->failed; i++) {
    CK_ATTRIBUTE *a = &attributes[i];
    uint64_t type = p11f_read_u64(r);
    uint8_t status = p11f_read_u8(r);
    uint64_t length = p11f_read_u64(r);
    if (r->failed || type != a->type || (CK_ULONG)length != length) {
      r->failed = 1;
      break;
    }
    if (status == P11F_DATA) {
      if (!a->pValue || length > capacities[i] || is_template_attribute(a->type)) {
        r->failed = 1;
        break;
      }
      const uint8_t *value = p11f_read_raw(r, (size_t)length);
      if (!value) break;
      memcpy(a->pValue, value, (size_t)length);
      a->ulValueLen = (CK_ULONG)length;
    } else if (status == P11F_LENGTH_ONLY) {
      a->ulValueLen = (CK_ULONG)length;
    } else if (status == P11F_UNAVAILABLE) {
      a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
    } else {
      r->failed = 1;
    }
  }
  return r->failed ? CKR_DEVICE_ERROR : CKR_OK;
}

void p11_store_ulong(CK_ULONG *target, CK_ULONG value) { memcpy(target, &value, sizeof(value)); }

CK_ULONG p11_load_ulong(const CK_ULONG *source) {
  CK_ULONG value;
  memcpy(&value, source, sizeof(value));
  return value;
}
