// The common case of fedlab's exact discrete Gaussian samplers over a block of random words
// (libs/domain/dp: discrete-gaussian-table.ts `tableBlock`, discrete-gaussian-scaled.ts `fastBlock`),
// step for step the same arithmetic as the TypeScript loops: integers and correctly rounded doubles
// (IEEE 754 binary64, SSE2, no contraction into fused multiply-adds: -ffp-contract=off), so a word gives
// the same draw here as there (noise-kernel.test.ts in the crypto adapter checks it draw for draw). Every
// case that needs more bits than the block holds goes back to TypeScript, which reads them from its source.
// The argument checks cover the buffers' types and sizes; the tables' contents (guide entries below the
// number of thresholds, lower's +∞ sentinel) are the TypeScript samplers' own and trusted.
#include <math.h>
#include <node_api.h>
#include <stdint.h>

#include "napi-args.h"
#include "noise.h"

// No fused multiply-adds, whatever the build flags (clang honours this; GCC gets -ffp-contract=off).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

// tableBlock(words, from, guide, lower, upper, shift, offset, noise): noise[j] for j = from, … until a
// word the 32-bit thresholds cannot decide (the caller refines it); returns that j, or words.length.
static napi_value table_block(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  typed_t words, guide, lower, upper, noise;
  double from_d, shift_d, offset_d;
  if (!exact_args(env, info, 8, argv) || !typed_arg_as(env, argv[0], napi_uint32_array, &words, "words must be a Uint32Array") ||
      napi_get_value_double(env, argv[1], &from_d) != napi_ok || !typed_arg_as(env, argv[2], napi_int16_array, &guide, "guide must be an Int16Array") ||
      !typed_arg_as(env, argv[3], napi_float64_array, &lower, "lower must be a Float64Array") ||
      !typed_arg_as(env, argv[4], napi_float64_array, &upper, "upper must be a Float64Array") || napi_get_value_double(env, argv[5], &shift_d) != napi_ok ||
      napi_get_value_double(env, argv[6], &offset_d) != napi_ok || !typed_arg_as(env, argv[7], napi_int32_array, &noise, "noise must be an Int32Array")) {
    return NULL;
  }
  const uint32_t *w = words.data;
  const int16_t *g_table = guide.data;
  const double *lo = lower.data, *hi = upper.data;
  int32_t *out = noise.data;
  const size_t n = words.length, entries = upper.length, buckets = guide.length;
  const unsigned shift = (unsigned)shift_d;
  const int32_t offset = (int32_t)offset_d;
  if (noise.length < n || lower.length != entries + 1 || shift > 31 || (((size_t)UINT32_MAX) >> shift) >= buckets || !(from_d >= 0)) {
    napi_throw_range_error(env, NULL, "tableBlock: inconsistent tables");
    return NULL;
  }
  size_t j = (size_t)from_d;
  for (; j < n; j += 1) {
    const uint32_t u = w[j];
    const int32_t g = g_table[u >> shift];
    if (g >= 0) {
      out[j] = g - offset;
      continue;
    }
    size_t e = (size_t)(-1 - g);
    while (lo[e] <= (double)u) e += 1; // lo[entries] = +∞
    if (e < entries && e >= 1 && hi[e - 1] <= (double)u) {
      out[j] = (int32_t)e - offset;
      continue;
    }
    break;
  }
  return int_value(env, (int64_t)j);
}

// The constants of a scaled sampler (discrete-gaussian-scaled.ts BlockState), in this order.
enum { P_SHIFT, P_GUIDE_OFFSET, P_SPARE_IN_FIRST, P_SPARE_MASK, P_BITS, P_MASK, P_BLOCK_SIZE, P_M_DECIDED, P_UNIT_DECIDED, P_M_WORD, P_UNIT_WORD, P_SCALE, P_SCALE_HIGH, P_COUNT };

static const double TWO_32 = 4294967296.0;
static const double INV_TWO_32 = 1.0 / 4294967296.0;
static const double WIDER = 1.0 / 1099511627776.0; // 2^−40

// rejects of discrete-gaussian-scaled.ts: every U′ ≥ 1 − rest is at least exp(−γ) (rest is exact).
static inline int rejects(double gamma, double gamma_high, double rest) {
  return gamma_high <= 1 && gamma * (1 - WIDER) * (1 - gamma_high / 2) * (1 - WIDER) >= rest;
}

// scaledBlock(params, guide, lower, upper, passing, words, from, end, noise, kept, progress): the
// attempts of entries from, … while at least three words are left, as fastBlock; progress = [next entry,
// records kept]. noise is an Int32Array (every draw small) or a Float64Array.
static napi_value scaled_block(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  typed_t params, guide, lower, upper, passing, words, noise, kept, progress;
  double from_d, end_d;
  if (!exact_args(env, info, 11, argv) || !typed_arg_as(env, argv[0], napi_float64_array, &params, "params must be a Float64Array") ||
      !typed_arg_as(env, argv[1], napi_int16_array, &guide, "guide must be an Int16Array") ||
      !typed_arg_as(env, argv[2], napi_float64_array, &lower, "lower must be a Float64Array") ||
      !typed_arg_as(env, argv[3], napi_float64_array, &upper, "upper must be a Float64Array") ||
      !typed_arg_as(env, argv[4], napi_int32_array, &passing, "passing must be an Int32Array") ||
      !typed_arg_as(env, argv[5], napi_uint32_array, &words, "words must be a Uint32Array") || napi_get_value_double(env, argv[6], &from_d) != napi_ok ||
      napi_get_value_double(env, argv[7], &end_d) != napi_ok || !typed_arg(env, argv[8], &noise, "noise must be an Int32Array or a Float64Array") ||
      !typed_arg_as(env, argv[9], napi_float64_array, &kept, "kept must be a Float64Array") ||
      !typed_arg_as(env, argv[10], napi_float64_array, &progress, "progress must be a Float64Array")) {
    return NULL;
  }
  const double *p = params.data;
  const size_t entries = upper.length, buckets = guide.length;
  const unsigned shift = (unsigned)p[P_SHIFT], bits = (unsigned)p[P_BITS];
  const int small = noise.type == napi_int32_array;
  // At most one entry per word: the buffers need room for min(end − from, words) entries.
  const double most = fmin(end_d - from_d, (double)words.length);
  if (params.length != P_COUNT || lower.length != entries + 1 || passing.length != entries || shift > 31 || bits > 31 ||
      (((size_t)UINT32_MAX) >> shift) >= buckets || progress.length < 2 || !(from_d >= 0) || !(end_d >= from_d) || most > (double)noise.length ||
      5 * most > (double)kept.length || (!small && noise.type != napi_float64_array)) {
    napi_throw_range_error(env, NULL, "scaledBlock: inconsistent tables");
    return NULL;
  }
  const int16_t *g_table = guide.data;
  const double *lo = lower.data, *hi = upper.data;
  const int32_t *pass = passing.data;
  const uint32_t *w = words.data;
  int32_t *out32 = noise.data;
  double *out64 = noise.data;
  double *keep = kept.data;
  const double guide_offset = p[P_GUIDE_OFFSET], block_size = p[P_BLOCK_SIZE], unit_decided = p[P_UNIT_DECIDED], unit_word = p[P_UNIT_WORD];
  const double scale = p[P_SCALE], scale_high = p[P_SCALE_HIGH];
  const int64_t guide_offset_i = (int64_t)guide_offset, block_size_i = (int64_t)block_size;
  const int spare_in_first = p[P_SPARE_IN_FIRST] != 0;
  const uint32_t spare_mask = (uint32_t)p[P_SPARE_MASK], mask = (uint32_t)p[P_MASK];
  const unsigned m_decided = (unsigned)p[P_M_DECIDED], m_word = (unsigned)p[P_M_WORD];
  const unsigned prefix_shift = (1 + bits) & 31; // as JavaScript's >>> (a shift by 32 is by 0)
  const size_t from = (size_t)from_d, end = (size_t)end_d;
  const size_t last = words.length >= 3 ? words.length - 3 : 0;
  size_t n = 0, at = 0, i = from;
  const int fast_small = spare_in_first && small;
  while (i < end && at <= last && words.length >= 3) {
    if (fast_small) {
      // The most common case on its own, with nothing else in the loop: a decided first word whose
      // spare bits accept at once. Any other word goes through the general steps below.
      while (i < end && at <= last) {
        const uint32_t first = w[at];
        const int32_t g = g_table[first >> shift];
        const uint32_t spare = first & spare_mask;
        if (g < 0 || (spare >> prefix_shift) >= (uint32_t)pass[g]) break;
        at += 1;
        const int64_t base = ((int64_t)g - guide_offset_i) * block_size_i;
        out32[i - from] = (int32_t)((int64_t)((spare >> 1) & mask) + base - (int64_t)(spare & 1) * (2 * base + block_size_i));
        i += 1;
      }
      if (i >= end || at > last) break;
    } else if (!spare_in_first && !small) {
      // The same for a sampler whose sign and offset take a word of their own (σ² beyond about 2^46).
      while (i < end && at <= last) {
        const uint32_t first = w[at];
        const int32_t g = g_table[first >> shift];
        if (g < 0) break;
        const uint32_t spare = w[at + 1];
        if ((spare >> prefix_shift) >= (uint32_t)pass[g]) break;
        at += 2;
        const int64_t base = ((int64_t)g - guide_offset_i) * block_size_i;
        out64[i - from] = (double)((int64_t)((spare >> 1) & mask) + base - (int64_t)(spare & 1) * (2 * base + block_size_i));
        i += 1;
      }
      if (i >= end || at > last) break;
    }
    const uint32_t first = w[at++];
    int32_t g = g_table[first >> shift];
    uint32_t spare;
    unsigned m;
    double unit;
    if (g >= 0) {
      spare = spare_in_first ? (first & spare_mask) : w[at++];
      if ((spare >> prefix_shift) < (uint32_t)pass[g]) {
        // k = r + dB for sign 0, r − (d + 1)B for sign 1: integers below 2^53 in magnitude, the same
        // value as the TypeScript computes in doubles.
        const int64_t base = ((int64_t)g - guide_offset_i) * block_size_i;
        const int64_t k = (int64_t)((spare >> 1) & mask) + base - (int64_t)(spare & 1) * (2 * base + block_size_i);
        if (small) out32[i - from] = (int32_t)k;
        else out64[i - from] = (double)k;
        i += 1;
        continue;
      }
      m = m_decided;
      unit = unit_decided;
    } else {
      size_t e = (size_t)(-1 - g);
      while (lo[e] <= (double)first) e += 1;
      if (e >= entries || e < 1 || hi[e - 1] > (double)first) {
        keep[5 * n] = (double)i;
        keep[5 * n + 1] = 0;
        keep[5 * n + 2] = (double)first;
        n += 1;
        i += 1;
        continue;
      }
      g = (int32_t)e;
      spare = w[at++];
      m = m_word;
      unit = unit_word;
    }
    const double prefix = m == 0 ? 0 : (double)(spare >> prefix_shift);
    const double sign = (double)(spare & 1);
    const double offset = (double)((spare >> 1) & mask);
    const double delta = offset + sign * block_size - 2 * sign * offset;
    const double base = ((double)g - guide_offset) * block_size;
    const double magnitude = base + delta;
    const double twice = magnitude + base;
    const double gamma_high = delta * twice * scale_high;
    if (gamma_high > 1 - (prefix + 1) * unit) {
      const double gamma = delta * twice * scale;
      if (rejects(gamma, gamma_high, 1 - prefix * unit)) continue; // rejected: this entry again
      const uint32_t next = w[at++];
      const uint32_t u = m == 0 ? next : (((uint32_t)prefix << (32 - m)) | (next >> m));
      if (gamma_high > (TWO_32 - (double)u - 1) * INV_TWO_32) {
        if (rejects(gamma, gamma_high, (TWO_32 - (double)u) * INV_TWO_32)) continue;
        keep[5 * n] = (double)i;
        keep[5 * n + 1] = delta;
        keep[5 * n + 2] = twice;
        keep[5 * n + 3] = (double)u;
        keep[5 * n + 4] = (1 - 2 * sign) * magnitude;
        n += 1;
        i += 1;
        continue;
      }
    }
    const double k = (1 - 2 * sign) * magnitude;
    if (small) out32[i - from] = (int32_t)k;
    else out64[i - from] = k;
    i += 1;
  }
  double *progress_out = progress.data;
  progress_out[0] = (double)i;
  progress_out[1] = (double)n;
  return NULL;
}

void noise_properties(napi_property_descriptor *out) {
  out[0] = (napi_property_descriptor){"tableBlock", NULL, table_block, NULL, NULL, NULL, napi_enumerable, NULL};
  out[1] = (napi_property_descriptor){"scaledBlock", NULL, scaled_block, NULL, NULL, NULL, napi_enumerable, NULL};
}
