/* p11kms.node: a small Node-API addon that tells the CLI which shim it ships with (the
 * call-table digest and version compiled into native/), so `p11kms doctor` can tell a
 * stale prebuild from a matching one. It is also what prebuildify packs. */
#include <node_api.h>

#include "../calls.gen.h"

#define P11KMS_NATIVE_VERSION "0.1.0"

static napi_value set_string(napi_env env, napi_value object, const char *name, const char *value) {
  napi_value text;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &text) == napi_ok)
    napi_set_named_property(env, object, name, text);
  return object;
}

static napi_value info(napi_env env, napi_callback_info callback) {
  (void)callback;
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return NULL;
  set_string(env, result, "version", P11KMS_NATIVE_VERSION);
  set_string(env, result, "schemaDigest", P11F_SCHEMA_DIGEST);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "info", NAPI_AUTO_LENGTH, info, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "info", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
