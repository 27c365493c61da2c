import { FedlabError } from '@fedlab/model';

/**
 * Vectors for secure aggregation live in Z_2^32, one Uint32Array word per entry (DESIGN.md §7.2).
 *
 * With `limbs: 1` a value is its 32-bit two's complement. With `limbs: 2` it takes two words,
 * `[low, high]`: `low` holds the low {@link LOW_LIMB_BITS} bits (unsigned) and `high` the rest
 * (two's complement). Because `low` leaves 8 bits of headroom, word-wise sums of up to
 * {@link MAX_PARTIES} parties never carry out of the low word; the carry is folded into the high part
 * when decoding, so sums up to ±2^55 come out exact.
 */
export interface IntegerEncoding {
  limbs: 1 | 2;
}

/** Bits of each value carried by the low word of the 2-limb encoding. */
export const LOW_LIMB_BITS = 24;
/** Most parties a sum may have: the 2-limb headroom, and the Shamir library's limit of 255 shares. */
export const MAX_PARTIES = 255;

const LOW_MASK = (1n << BigInt(LOW_LIMB_BITS)) - 1n;
const MAX_BY_LIMBS = { 1: 2n ** 31n - 1n, 2: 2n ** BigInt(31 + LOW_LIMB_BITS) - 1n } as const;

function invalid(message: string): FedlabError {
  return new FedlabError('INVALID_ARGUMENT', message);
}

function toBigInt(value: number | bigint, where: string): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) throw invalid(`${where}: not a safe integer`);
  return BigInt(value);
}

function limbsOf(options: IntegerEncoding): 1 | 2 {
  if (options.limbs !== 1 && options.limbs !== 2) throw invalid('limbs must be 1 or 2');
  return options.limbs;
}

/**
 * Encodes signed integers into Z_2^32 words (two's complement; see {@link IntegerEncoding}).
 * Throws INVALID_ARGUMENT for a value that does not fit the chosen number of limbs
 * (±2^31 for one limb, ±2^55 for two). Call {@link checkRange} first to rule out a wrapping sum.
 */
export function encodeIntegers(values: readonly (number | bigint)[], options: IntegerEncoding): Uint32Array {
  const limbs = limbsOf(options);
  const max = MAX_BY_LIMBS[limbs];
  const out = new Uint32Array(values.length * limbs);
  values.forEach((raw, i) => {
    const value = toBigInt(raw, `encodeIntegers: value at index ${i}`);
    if (value > max || value < -max - 1n) throw invalid(`encodeIntegers: value at index ${i} does not fit ${limbs} limb(s)`);
    if (limbs === 1) {
      out[i] = Number(BigInt.asUintN(32, value));
    } else {
      out[2 * i] = Number(value & LOW_MASK);
      out[2 * i + 1] = Number(BigInt.asUintN(32, value >> BigInt(LOW_LIMB_BITS)));
    }
  });
  return out;
}

/** Decodes words made by {@link encodeIntegers} (or sums of them): numbers for 1 limb, bigints for 2. */
export function decodeIntegers(words: Uint32Array, options: { limbs: 1 }): number[];
export function decodeIntegers(words: Uint32Array, options: { limbs: 2 }): bigint[];
export function decodeIntegers(words: Uint32Array, options: IntegerEncoding): number[] | bigint[];
export function decodeIntegers(words: Uint32Array, options: IntegerEncoding): number[] | bigint[] {
  if (limbsOf(options) === 1) return Array.from(words, (word) => word | 0);
  if (words.length % 2 !== 0) throw invalid('decodeIntegers: a 2-limb vector must have an even length');
  const out: bigint[] = [];
  for (let i = 0; i < words.length; i += 2) {
    // The low word may hold up to 8 bits of carry from the sum; adding it (unsigned) folds the carry in.
    out.push(BigInt.asIntN(32, BigInt(words[i + 1])) * (LOW_MASK + 1n) + BigInt(words[i]));
  }
  return out;
}

/** Fixed-point options: `scale` (e.g. 2^16, declared in the query) and a uniform [0, 1) source. */
export interface FixedPointEncoding {
  scale: number;
  random: () => number;
  limbs?: 1 | 2;
}

function checkScale(scale: number): void {
  if (!Number.isFinite(scale) || scale <= 0) throw invalid('fixed point: scale must be a positive finite number');
}

/**
 * Encodes reals as round(value × scale) with unbiased stochastic rounding: ⌊v·scale⌋ + 1 with
 * probability equal to the fractional part, so the expected encoded value is exactly v·scale.
 */
export function encodeFixedPoint(values: readonly number[], options: FixedPointEncoding): Uint32Array {
  checkScale(options.scale);
  const integers = values.map((value, i) => {
    const scaled = value * options.scale;
    if (!Number.isFinite(scaled)) throw invalid(`encodeFixedPoint: value at index ${i} is not finite`);
    const floor = Math.floor(scaled);
    return floor + (options.random() < scaled - floor ? 1 : 0);
  });
  return encodeIntegers(integers, { limbs: options.limbs ?? 1 });
}

/** Decodes a fixed-point vector (or a sum of them) back to reals. */
export function decodeFixedPoint(words: Uint32Array, options: { scale: number; limbs?: 1 | 2 }): number[] {
  checkScale(options.scale);
  return decodeIntegers(words, { limbs: options.limbs ?? 1 }).map((value: number | bigint) => Number(value) / options.scale);
}

/** Declared range of each party's values: |value| ≤ maxAbs, summed over `parties` parties. */
export interface RangeDeclaration {
  maxAbs: number | bigint;
  parties: number;
  limbs?: 1 | 2;
  /** Fixed-point scale the values will be encoded with (default 1: integers). */
  scale?: number;
}

/**
 * Refuses, before anything is masked, a declared range whose sum over all parties could wrap in
 * Z_2^32 (or the 2-limb range), and any value outside the declared range. Throws INVALID_ARGUMENT;
 * the message names the index, never the value.
 */
export function checkRange(values: readonly (number | bigint)[], declaration: RangeDeclaration): void {
  const { parties, limbs = 1, scale = 1 } = declaration;
  checkScale(scale);
  if (!Number.isInteger(parties) || parties < 1 || parties > MAX_PARTIES) {
    throw invalid(`checkRange: parties must be an integer from 1 to ${MAX_PARTIES}`);
  }
  const maxAbs = Number(declaration.maxAbs);
  if (!(maxAbs >= 0) || !Number.isFinite(maxAbs)) throw invalid('checkRange: maxAbs must be a finite number ≥ 0');
  const perParty = typeof declaration.maxAbs === 'bigint' && scale === 1 ? declaration.maxAbs : BigInt(Math.ceil(maxAbs * scale));
  const limit = MAX_BY_LIMBS[limbsOf({ limbs })];
  if (perParty * BigInt(parties) > limit) {
    throw invalid(
      `checkRange: declared range ±${declaration.maxAbs}${scale === 1 ? '' : ` × scale ${scale}`} × ${parties} parties ` +
        `could exceed ±${limit} and wrap with ${limbs} limb(s); declare a smaller range${limbs === 1 ? ' or use limbs: 2' : ''}`,
    );
  }
  values.forEach((value, i) => {
    const outside =
      typeof value === 'bigint' && typeof declaration.maxAbs === 'bigint'
        ? value > declaration.maxAbs || value < -declaration.maxAbs
        : !(Math.abs(Number(value)) <= maxAbs);
    if (outside) throw invalid(`checkRange: value at index ${i} is outside the declared range ±${declaration.maxAbs}`);
  });
}

function sameLength(a: Uint32Array, b: Uint32Array, what: string): void {
  if (a.length !== b.length) throw invalid(`${what}: vectors have different lengths (${a.length} and ${b.length})`);
}

/** Element-wise a + b mod 2^32 (a new vector). */
export function addMod(a: Uint32Array, b: Uint32Array): Uint32Array {
  return addInto(Uint32Array.from(a), b);
}

/** target += b mod 2^32, element-wise, in place (Uint32Array stores wrap); returns target. */
export function addInto(target: Uint32Array, b: Uint32Array): Uint32Array {
  sameLength(target, b, 'addMod');
  for (let i = 0; i < target.length; i++) target[i] += b[i]!;
  return target;
}

/** target −= b mod 2^32, element-wise, in place; returns target. */
export function subInto(target: Uint32Array, b: Uint32Array): Uint32Array {
  sameLength(target, b, 'subMod');
  for (let i = 0; i < target.length; i++) target[i] -= b[i]!;
  return target;
}

/**
 * target += signA·a + signB·b mod 2^32, element-wise, in place; returns target. One pass for two
 * vectors, so target is read and written once per pair instead of once per vector: masking a 2^20-word
 * vector with ten masks (§7.2 step 4) spends about half its non-keystream time in these passes.
 */
export function addSignedPairInto(target: Uint32Array, a: Uint32Array, signA: 1 | -1, b: Uint32Array, signB: 1 | -1): Uint32Array {
  sameLength(target, a, 'addSignedPairInto');
  sameLength(target, b, 'addSignedPairInto');
  if (signA === signB) return signA === 1 ? addSumInto(target, a, b) : subSumInto(target, a, b);
  return signA === 1 ? addDifferenceInto(target, a, b) : addDifferenceInto(target, b, a);
}

// The loops below are unrolled by eight: V8 runs them about twice as fast as the plain loop.

/** target += a + b. */
function addSumInto(target: Uint32Array, a: Uint32Array, b: Uint32Array): Uint32Array {
  const n = target.length;
  let i = 0;
  for (; i + 7 < n; i += 8) {
    target[i] += a[i]! + b[i]!;
    target[i + 1] += a[i + 1]! + b[i + 1]!;
    target[i + 2] += a[i + 2]! + b[i + 2]!;
    target[i + 3] += a[i + 3]! + b[i + 3]!;
    target[i + 4] += a[i + 4]! + b[i + 4]!;
    target[i + 5] += a[i + 5]! + b[i + 5]!;
    target[i + 6] += a[i + 6]! + b[i + 6]!;
    target[i + 7] += a[i + 7]! + b[i + 7]!;
  }
  for (; i < n; i++) target[i] += a[i]! + b[i]!;
  return target;
}

/** target −= a + b. */
function subSumInto(target: Uint32Array, a: Uint32Array, b: Uint32Array): Uint32Array {
  const n = target.length;
  let i = 0;
  for (; i + 7 < n; i += 8) {
    target[i] -= a[i]! + b[i]!;
    target[i + 1] -= a[i + 1]! + b[i + 1]!;
    target[i + 2] -= a[i + 2]! + b[i + 2]!;
    target[i + 3] -= a[i + 3]! + b[i + 3]!;
    target[i + 4] -= a[i + 4]! + b[i + 4]!;
    target[i + 5] -= a[i + 5]! + b[i + 5]!;
    target[i + 6] -= a[i + 6]! + b[i + 6]!;
    target[i + 7] -= a[i + 7]! + b[i + 7]!;
  }
  for (; i < n; i++) target[i] -= a[i]! + b[i]!;
  return target;
}

/** target += plus − minus. */
function addDifferenceInto(target: Uint32Array, plus: Uint32Array, minus: Uint32Array): Uint32Array {
  const n = target.length;
  let i = 0;
  for (; i + 7 < n; i += 8) {
    target[i] += plus[i]! - minus[i]!;
    target[i + 1] += plus[i + 1]! - minus[i + 1]!;
    target[i + 2] += plus[i + 2]! - minus[i + 2]!;
    target[i + 3] += plus[i + 3]! - minus[i + 3]!;
    target[i + 4] += plus[i + 4]! - minus[i + 4]!;
    target[i + 5] += plus[i + 5]! - minus[i + 5]!;
    target[i + 6] += plus[i + 6]! - minus[i + 6]!;
    target[i + 7] += plus[i + 7]! - minus[i + 7]!;
  }
  for (; i < n; i++) target[i] += plus[i]! - minus[i]!;
  return target;
}

/** Element-wise a − b mod 2^32 (a new vector). */
export function subMod(a: Uint32Array, b: Uint32Array): Uint32Array {
  return subInto(Uint32Array.from(a), b);
}
