// Batch ristretto255 operations for the private intersection-sum (DESIGN.md §7.4), and Ed25519 detached
// signatures for every signed message (DESIGN.md §4), run by the system's libsodium (Debian's
// libsodium23, ≥ 1.0.18) instead of its WebAssembly build: the same primitives, faster. Nothing here is
// new cryptography: every group operation and signature is one libsodium call, and the randomness comes
// from the caller (node:crypto).
//
// libsodium is opened with dlopen when the addon loads, so building the addon needs only a C compiler
// and Node's headers; where libsodium is missing, loading fails and fedlab keeps the WebAssembly
// build (see ristretto-backend.js).
//
// Every function is synchronous and works on typed arrays owned by the calling worker thread.
#include "napi-args.h"
#include "noise.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <node_api.h>

#define POINT 32
#define DIGEST 64
#define SMALL_MULTIPLES 65536

typedef int (*scalarmult_fn)(unsigned char *q, const unsigned char *n, const unsigned char *p);
typedef int (*scalarmult_base_fn)(unsigned char *q, const unsigned char *n);
typedef int (*from_hash_fn)(unsigned char *p, const unsigned char *r);
typedef int (*is_valid_fn)(const unsigned char *p);
typedef int (*add_fn)(unsigned char *r, const unsigned char *p, const unsigned char *q);
typedef void (*scalar_reduce_fn)(unsigned char *r, const unsigned char *s);
typedef int (*init_fn)(void);
typedef const char *(*version_fn)(void);
typedef int (*int_fn)(void);
typedef void (*memzero_fn)(void *pnt, size_t len);
typedef int (*sign_detached_fn)(unsigned char *sig, unsigned long long *siglen, const unsigned char *m, unsigned long long mlen,
                                const unsigned char *sk);
typedef int (*verify_detached_fn)(const unsigned char *sig, const unsigned char *m, unsigned long long mlen, const unsigned char *pk);

static struct {
  scalarmult_fn scalarmult;
  scalarmult_base_fn scalarmult_base;
  from_hash_fn from_hash;
  is_valid_fn is_valid_point;
  add_fn add;
  scalar_reduce_fn scalar_reduce;
  memzero_fn memzero;
  sign_detached_fn sign_detached;
  verify_detached_fn verify_detached;
  const char *version;
} sodium;

static const char *load_sodium(void) {
  static const char *names[] = {"libsodium.so.26", "libsodium.so.23", "libsodium.so", "libsodium.dylib"};
  void *lib = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && lib == NULL; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) return "libsodium is not installed (Debian: apt-get install libsodium23)";
  init_fn init = (init_fn)dlsym(lib, "sodium_init");
  version_fn version = (version_fn)dlsym(lib, "sodium_version_string");
  int_fn major = (int_fn)dlsym(lib, "sodium_library_version_major");
  int_fn minor = (int_fn)dlsym(lib, "sodium_library_version_minor");
  sodium.scalarmult = (scalarmult_fn)dlsym(lib, "crypto_scalarmult_ristretto255");
  sodium.scalarmult_base = (scalarmult_base_fn)dlsym(lib, "crypto_scalarmult_ristretto255_base");
  sodium.from_hash = (from_hash_fn)dlsym(lib, "crypto_core_ristretto255_from_hash");
  sodium.is_valid_point = (is_valid_fn)dlsym(lib, "crypto_core_ristretto255_is_valid_point");
  sodium.add = (add_fn)dlsym(lib, "crypto_core_ristretto255_add");
  sodium.scalar_reduce = (scalar_reduce_fn)dlsym(lib, "crypto_core_ristretto255_scalar_reduce");
  sodium.memzero = (memzero_fn)dlsym(lib, "sodium_memzero");
  sodium.sign_detached = (sign_detached_fn)dlsym(lib, "crypto_sign_ed25519_detached");
  sodium.verify_detached = (verify_detached_fn)dlsym(lib, "crypto_sign_ed25519_verify_detached");
  if (!init || !version || !major || !minor || !sodium.scalarmult || !sodium.scalarmult_base || !sodium.from_hash ||
      !sodium.is_valid_point || !sodium.add || !sodium.scalar_reduce || !sodium.memzero || !sodium.sign_detached || !sodium.verify_detached) {
    return "the installed libsodium has no ristretto255 (it needs libsodium 1.0.18 or later)";
  }
  // Library version 10.3 is libsodium 1.0.18, the first with ristretto255.
  if (major() < 10 || (major() == 10 && minor() < 3)) return "the installed libsodium is older than 1.0.18";
  if (init() < 0) return "libsodium failed to initialise";
  sodium.version = version();
  return NULL;
}

static int is_identity(const unsigned char *p) {
  unsigned char acc = 0;
  for (int i = 0; i < POINT; i++) acc |= p[i];
  return acc == 0;
}

static int is_valid(const unsigned char *p) { return !is_identity(p) && sodium.is_valid_point(p) == 1; }

static int is_zero_scalar(const unsigned char *s) { return is_identity(s); }

// value · G for a non-zero 32-bit value.
static void multiple_of_base(unsigned char *out, uint32_t value) {
  unsigned char scalar[POINT] = {0};
  for (int b = 0; b < 4; b++) scalar[b] = (unsigned char)(value >> (8 * b));
  sodium.scalarmult_base(out, scalar);
}

// --- argument helpers -------------------------------------------------------------------------

typedef struct {
  uint8_t *data;
  size_t length;
} bytes_t;

static int get_array(napi_env env, napi_value value, napi_typedarray_type expected, bytes_t *out, const char *what) {
  typed_t typed;
  if (!typed_arg_as(env, value, expected, &typed, what)) return 0;
  out->data = typed.data;
  out->length = expected == napi_uint32_array ? typed.length * 4 : typed.length;
  return 1;
}

static int get_bytes(napi_env env, napi_value value, bytes_t *out, const char *what) { return get_array(env, value, napi_uint8_array, out, what); }

static int get_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv) { return exact_args(env, info, expected, argv); }

// --- operations ---------------------------------------------------------------------------------
// Each returns -1 when every item succeeded, or the index of the first item that failed (an invalid
// or identity element received, a zero scalar drawn); the caller maps that to its own error.

// hashBlind(digests: n×64 bytes, scalar: 32, out: n×32) → scalar · from_hash(digest) per digest.
static napi_value hash_blind(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  bytes_t digests, scalar, out;
  if (!get_args(env, info, 3, argv) || !get_bytes(env, argv[0], &digests, "digests must be a Uint8Array") ||
      !get_bytes(env, argv[1], &scalar, "scalar must be a Uint8Array") || !get_bytes(env, argv[2], &out, "out must be a Uint8Array")) {
    return NULL;
  }
  size_t n = digests.length / DIGEST;
  if (digests.length % DIGEST != 0 || scalar.length != POINT || out.length != n * POINT) {
    napi_throw_range_error(env, NULL, "hashBlind: wrong buffer sizes");
    return NULL;
  }
  unsigned char point[POINT];
  for (size_t i = 0; i < n; i++) {
    sodium.from_hash(point, digests.data + i * DIGEST);
    if (sodium.scalarmult(out.data + i * POINT, scalar.data, point) != 0) return int_value(env, (int64_t)i);
  }
  return int_value(env, -1);
}

// blind(points: n×32, scalar: 32, out: n×32) → scalar · P per received element P, each validated.
static napi_value blind(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  bytes_t points, scalar, out;
  if (!get_args(env, info, 3, argv) || !get_bytes(env, argv[0], &points, "points must be a Uint8Array") ||
      !get_bytes(env, argv[1], &scalar, "scalar must be a Uint8Array") || !get_bytes(env, argv[2], &out, "out must be a Uint8Array")) {
    return NULL;
  }
  size_t n = points.length / POINT;
  if (points.length % POINT != 0 || scalar.length != POINT || out.length != points.length) {
    napi_throw_range_error(env, NULL, "blind: wrong buffer sizes");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    const unsigned char *p = points.data + i * POINT;
    if (!is_valid(p) || sodium.scalarmult(out.data + i * POINT, scalar.data, p) != 0) return int_value(env, (int64_t)i);
  }
  return int_value(env, -1);
}

// validate(points: n×32) → the first invalid or identity element.
static napi_value validate(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bytes_t points;
  if (!get_args(env, info, 1, argv) || !get_bytes(env, argv[0], &points, "points must be a Uint8Array")) return NULL;
  if (points.length % POINT != 0) {
    napi_throw_range_error(env, NULL, "validate: wrong buffer size");
    return NULL;
  }
  size_t n = points.length / POINT;
  for (size_t i = 0; i < n; i++) {
    if (!is_valid(points.data + i * POINT)) return int_value(env, (int64_t)i);
  }
  return int_value(env, -1);
}

// encrypt(values: Uint32Array n×v, publicKeys: v×32, randomness: n×64, out: n×(1+v)×32) →
// per vector, r = reduce(randomness) and (r·G, m₁·G + r·pk₁, …, m_v·G + r·pk_v); m = 0 has no m·G
// (libsodium refuses the zero scalar), so its entry is r·pk alone. Small multiples m·G are computed
// once per call.
static napi_value encrypt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  bytes_t values, keys, randomness, out;
  if (!get_args(env, info, 4, argv) || !get_array(env, argv[0], napi_uint32_array, &values, "values must be a Uint32Array") ||
      !get_bytes(env, argv[1], &keys, "publicKeys must be a Uint8Array") || !get_bytes(env, argv[2], &randomness, "randomness must be a Uint8Array") ||
      !get_bytes(env, argv[3], &out, "out must be a Uint8Array")) {
    return NULL;
  }
  size_t width = keys.length / POINT;
  size_t n = width == 0 ? 0 : values.length / 4 / width;
  if (width == 0 || keys.length % POINT != 0 || values.length != n * width * 4 || randomness.length != n * DIGEST ||
      out.length != n * (1 + width) * POINT) {
    napi_throw_range_error(env, NULL, "encrypt: wrong buffer sizes");
    return NULL;
  }
  for (size_t e = 0; e < width; e++) {
    if (!is_valid(keys.data + e * POINT)) {
      napi_throw_range_error(env, NULL, "encrypt: a public key is not a valid ristretto255 element");
      return NULL;
    }
  }
  const uint32_t *m = (const uint32_t *)values.data;
  // m·G for the small values, computed on first use within this call. The tables tell which values
  // occur, so they are wiped with r and the masks before they are freed.
  unsigned char *multiples = NULL;
  unsigned char *known = NULL;
  unsigned char r[POINT], mask[POINT], large[POINT];
  int64_t failed = -1;
  int out_of_memory = 0;
  for (size_t i = 0; i < n && failed < 0; i++) {
    unsigned char *c = out.data + i * (1 + width) * POINT;
    sodium.scalar_reduce(r, randomness.data + i * DIGEST);
    if (is_zero_scalar(r) || sodium.scalarmult_base(c, r) != 0) {
      failed = (int64_t)i;
      break;
    }
    for (size_t e = 0; e < width && failed < 0; e++) {
      uint32_t value = m[i * width + e];
      unsigned char *entry = c + (1 + e) * POINT;
      if (sodium.scalarmult(value == 0 ? entry : mask, r, keys.data + e * POINT) != 0) {
        failed = (int64_t)i;
        break;
      }
      if (value == 0) continue;
      const unsigned char *mg = large;
      if (value < SMALL_MULTIPLES) {
        if (multiples == NULL) {
          multiples = calloc(SMALL_MULTIPLES, POINT);
          known = calloc(SMALL_MULTIPLES, 1);
          if (multiples == NULL || known == NULL) {
            out_of_memory = 1;
            goto done;
          }
        }
        mg = multiples + (size_t)value * POINT;
        if (!known[value]) {
          multiple_of_base(multiples + (size_t)value * POINT, value);
          known[value] = 1;
        }
      } else {
        multiple_of_base(large, value);
      }
      sodium.add(entry, mask, mg);
    }
  }
done:
  if (multiples != NULL) sodium.memzero(multiples, (size_t)SMALL_MULTIPLES * POINT);
  if (known != NULL) sodium.memzero(known, SMALL_MULTIPLES);
  free(multiples);
  free(known);
  sodium.memzero(r, POINT);
  sodium.memzero(mask, POINT);
  sodium.memzero(large, POINT);
  if (out_of_memory) {
    napi_throw_error(env, NULL, "encrypt: out of memory");
    return NULL;
  }
  return int_value(env, failed);
}

// --- Ed25519 detached signatures ------------------------------------------------------------------
#define SIGNATURE 64
#define SIGN_SECRET_KEY 64
#define SIGN_PUBLIC_KEY 32

// signDetached(message, secretKey: 64) → a new 64-byte Uint8Array: crypto_sign_ed25519_detached.
static napi_value sign_detached(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  bytes_t message, secret_key;
  if (!get_args(env, info, 2, argv) || !get_bytes(env, argv[0], &message, "message must be a Uint8Array") ||
      !get_bytes(env, argv[1], &secret_key, "secretKey must be a Uint8Array")) {
    return NULL;
  }
  if (secret_key.length != SIGN_SECRET_KEY) {
    napi_throw_range_error(env, NULL, "signDetached: the secret key must be 64 bytes");
    return NULL;
  }
  void *data;
  napi_value buffer, out;
  if (napi_create_arraybuffer(env, SIGNATURE, &data, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, SIGNATURE, buffer, 0, &out) != napi_ok) {
    return NULL;
  }
  if (sodium.sign_detached(data, NULL, message.data, message.length, secret_key.data) != 0) {
    napi_throw_error(env, NULL, "signDetached: libsodium failed to sign");
    return NULL;
  }
  return out;
}

// verifyDetached(signature, message, publicKey) → whether crypto_sign_ed25519_verify_detached accepts it;
// a signature or key of the wrong length is refused (false), as libsodium refuses malformed ones.
static napi_value verify_detached(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  bytes_t signature, message, public_key;
  if (!get_args(env, info, 3, argv) || !get_bytes(env, argv[0], &signature, "signature must be a Uint8Array") ||
      !get_bytes(env, argv[1], &message, "message must be a Uint8Array") || !get_bytes(env, argv[2], &public_key, "publicKey must be a Uint8Array")) {
    return NULL;
  }
  bool ok = signature.length == SIGNATURE && public_key.length == SIGN_PUBLIC_KEY &&
            sodium.verify_detached(signature.data, message.data, message.length, public_key.data) == 0;
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, sodium.version, NAPI_AUTO_LENGTH, &out);
  return out;
}

// libsodium is opened once per process, whichever worker thread loads the addon first.
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const char *load_error = NULL;
static void load_once_fn(void) { load_error = load_sodium(); }

NAPI_MODULE_INIT() {
  pthread_once(&load_once, load_once_fn);
  if (load_error != NULL) {
    napi_throw_error(env, "NATIVE_LIBSODIUM_UNAVAILABLE", load_error);
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"hashBlind", NULL, hash_blind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"blind", NULL, blind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"validate", NULL, validate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"encrypt", NULL, encrypt, NULL, NULL, NULL, napi_enumerable, NULL},
      {"signDetached", NULL, sign_detached, NULL, NULL, NULL, napi_enumerable, NULL},
      {"verifyDetached", NULL, verify_detached, NULL, NULL, NULL, napi_enumerable, NULL},
      {"version", NULL, version, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_property_descriptor noise[NOISE_PROPERTIES];
  noise_properties(noise);
  napi_define_properties(env, exports, NOISE_PROPERTIES, noise);
  return exports;
}
