/**
 * An exact rational number `num / den` with `den > 0`. Values built by {@link rational} and
 * {@link rationalFromNumber} are reduced (gcd(num, den) = 1); the arithmetic helpers below do not
 * reduce their results, so the sampler's inner loops pay for no gcd they do not need. Call
 * {@link reduceRational} where a canonical form matters (display, equality by fields).
 */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

const abs = (x: bigint): bigint => (x < 0n ? -x : x);

/** Greatest common divisor of `|a|` and `|b|` (Euclid); `gcd(0, 0) = 0`. */
export function gcd(a: bigint, b: bigint): bigint {
  let x = abs(a);
  let y = abs(b);
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/**
 * The reduced rational `num / den`, sign carried by the numerator. Throws a `RangeError` when
 * `den` is 0.
 */
export function rational(num: bigint, den: bigint): Rational {
  if (den === 0n) throw new RangeError('rational: the denominator must not be 0');
  const g = gcd(num, den);
  const sign = den < 0n ? -1n : 1n;
  return { num: (sign * num) / g, den: (sign * den) / g };
}

/** `r` in lowest terms (see {@link rational}). */
export function reduceRational(r: Rational): Rational {
  return rational(r.num, r.den);
}

/**
 * The exact value of a finite double as a reduced rational. Every finite double is a dyadic
 * rational m·2^e (IEEE 754 binary64: 52 stored mantissa bits, 11 exponent bits), so nothing is
 * rounded: `rationalFromNumber(0.1)` is 3602879701896397/36028797018963968, not 1/10. `-0` is 0.
 * Throws a `RangeError` for NaN and ±Infinity.
 */
export function rationalFromNumber(x: number): Rational {
  if (!Number.isFinite(x)) throw new RangeError(`rationalFromNumber: expected a finite number, got ${x}`);
  if (x === 0) return { num: 0n, den: 1n };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  // Subnormals (biased exponent 0) have no implicit leading 1 and the exponent of the smallest normal.
  let mantissa = biasedExponent === 0 ? fraction : fraction | (1n << 52n);
  let exponent = (biasedExponent === 0 ? 1 : biasedExponent) - 1075;
  while (exponent < 0 && (mantissa & 1n) === 0n) {
    mantissa >>= 1n;
    exponent += 1;
  }
  const num = exponent > 0 ? mantissa << BigInt(exponent) : mantissa;
  const den = exponent < 0 ? 1n << BigInt(-exponent) : 1n;
  return { num: negative ? -num : num, den };
}

/**
 * Throws a `RangeError` "`caller`: `name` must be a positive rational with a positive denominator,
 * got num/den" unless `r > 0` with `den > 0`. For the samplers' and splitters' input checks.
 */
export function checkPositiveRational(caller: string, name: string, r: Rational): void {
  if (r.den <= 0n || r.num <= 0n) throw new RangeError(`${caller}: ${name} must be a positive rational with a positive denominator, got ${r.num}/${r.den}`);
}

/** Number of bits of `x ≥ 0` (0 for 0). */
export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/**
 * `r` rounded to the nearest double (ties to even), like the parser rounds a decimal literal:
 * exact for every rational that is a double, ±Infinity beyond the largest finite double, and
 * correctly rounded subnormals.
 */
export function rationalToNumber(r: Rational): number {
  if (r.num === 0n) return 0;
  const a = abs(r.num);
  const b = r.den;
  // e = ⌊log2(a/b)⌋ from the bit lengths, corrected by one comparison.
  let e = bitLength(a) - bitLength(b);
  const scaledA = e < 0 ? a << BigInt(-e) : a;
  const scaledB = e > 0 ? b << BigInt(e) : b;
  if (scaledA < scaledB) e -= 1;
  if (e > 1023) return r.num < 0n ? -Infinity : Infinity;
  // The value's last mantissa bit has weight 2^ulp: 53 significant bits, fewer for subnormals.
  const ulp = Math.max(e - 52, -1074);
  const numerator = ulp < 0 ? a << BigInt(-ulp) : a;
  const denominator = ulp > 0 ? b << BigInt(ulp) : b;
  let q = numerator / denominator;
  const twiceRemainder = 2n * (numerator - q * denominator);
  if (twiceRemainder > denominator || (twiceRemainder === denominator && (q & 1n) === 1n)) q += 1n;
  const value = Number(q) * 2 ** ulp;
  return r.num < 0n ? -value : value;
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b`. */
export function compareRational(a: Rational, b: Rational): -1 | 0 | 1 {
  const d = a.num * b.den - b.num * a.den;
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** `a + b`, not reduced. */
export function addRational(a: Rational, b: Rational): Rational {
  return { num: a.num * b.den + b.num * a.den, den: a.den * b.den };
}

/** `a · b`, not reduced. */
export function mulRational(a: Rational, b: Rational): Rational {
  return { num: a.num * b.num, den: a.den * b.den };
}

/** `a / b`, not reduced. Throws a `RangeError` when `b` is 0. */
export function divRational(a: Rational, b: Rational): Rational {
  if (b.num === 0n) throw new RangeError('divRational: division by 0');
  const sign = b.num < 0n ? -1n : 1n;
  return { num: sign * a.num * b.den, den: sign * a.den * b.num };
}

/** `⌊√n⌋` for an integer `n ≥ 0` (Newton's method on integers, no floating point). */
export function integerSquareRoot(n: bigint): bigint {
  if (n < 0n) throw new RangeError(`integerSquareRoot: expected a non-negative integer, got ${n}`);
  if (n < 2n) return n;
  // Start above the root (2^⌈bits/2⌉ > √n); the iterates then decrease monotonically to ⌊√n⌋.
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const next = (x + n / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}
