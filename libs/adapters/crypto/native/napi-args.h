// Argument helpers shared by the addon's sources: exact argument counts and typed arrays of one type,
// each throwing a TypeError with its message otherwise.
#ifndef FEDLAB_NAPI_ARGS_H
#define FEDLAB_NAPI_ARGS_H
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
  void *data;
  size_t length; // in elements
  napi_typedarray_type type;
} typed_t;

// Any typed array; else a TypeError with `what`.
static inline int typed_arg(napi_env env, napi_value value, typed_t *out, const char *what) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  if (!is_typed || napi_get_typedarray_info(env, value, &out->type, &out->length, &out->data, NULL, NULL) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  return 1;
}

// A typed array of type `expected`; else a TypeError with `what`.
static inline int typed_arg_as(napi_env env, napi_value value, napi_typedarray_type expected, typed_t *out, const char *what) {
  if (!typed_arg(env, value, out, what)) return 0;
  if (out->type != expected) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  return 1;
}

// Exactly `expected` arguments into argv; else a TypeError.
static inline int exact_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) {
  size_t argc = expected;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != expected) {
    napi_throw_type_error(env, NULL, "wrong number of arguments");
    return 0;
  }
  return 1;
}

// An integer result.
static inline napi_value int_value(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

#endif
