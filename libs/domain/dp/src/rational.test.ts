import { describe, expect, it } from 'vitest';
import {
  addRational,
  compareRational,
  divRational,
  integerSquareRoot,
  mulRational,
  rational,
  rationalFromNumber,
  rationalToNumber,
  reduceRational,
} from './rational';

describe('rational', () => {
  it('reduces by the gcd and moves the sign to the numerator', () => {
    expect(rational(6n, -4n)).toEqual({ num: -3n, den: 2n });
    expect(rational(-6n, -4n)).toEqual({ num: 3n, den: 2n });
    expect(rational(0n, -7n)).toEqual({ num: 0n, den: 1n });
  });

  it('refuses a zero denominator', () => {
    expect(() => rational(1n, 0n)).toThrow(new RangeError('rational: the denominator must not be 0'));
  });
});

describe('rationalFromNumber', () => {
  it('gives the exact dyadic value of 0.1, not 1/10', () => {
    expect(rationalFromNumber(0.1)).toEqual({ num: 3602879701896397n, den: 36028797018963968n });
  });

  it('keeps the sign of negative numbers in the numerator', () => {
    expect(rationalFromNumber(-0.1)).toEqual({ num: -3602879701896397n, den: 36028797018963968n });
    expect(rationalFromNumber(-2.5)).toEqual({ num: -5n, den: 2n });
  });

  it('gives integers a denominator of 1, beyond 2^53 too', () => {
    expect(rationalFromNumber(-3)).toEqual({ num: -3n, den: 1n });
    expect(rationalFromNumber(2 ** 60)).toEqual({ num: 1152921504606846976n, den: 1n });
    expect(rationalFromNumber(1.7976931348623157e308)).toEqual({ num: (2n ** 53n - 1n) * 2n ** 971n, den: 1n });
  });

  it('maps 0 and -0 to 0/1', () => {
    expect(rationalFromNumber(0)).toEqual({ num: 0n, den: 1n });
    expect(rationalFromNumber(-0)).toEqual({ num: 0n, den: 1n });
  });

  it('gives subnormals exactly: multiples of 2^-1074', () => {
    expect(rationalFromNumber(Number.MIN_VALUE)).toEqual({ num: 1n, den: 2n ** 1074n });
    expect(rationalFromNumber(3 * Number.MIN_VALUE)).toEqual({ num: 3n, den: 2n ** 1074n });
    expect(rationalFromNumber(2 ** -1022 - 2 ** -1074)).toEqual({ num: 2n ** 52n - 1n, den: 2n ** 1074n });
  });

  it('gives the smallest normal as 1/2^1022', () => {
    expect(rationalFromNumber(2 ** -1022)).toEqual({ num: 1n, den: 2n ** 1022n });
  });

  it('refuses NaN and the infinities', () => {
    expect(() => rationalFromNumber(Number.NaN)).toThrow(new RangeError('rationalFromNumber: expected a finite number, got NaN'));
    expect(() => rationalFromNumber(Infinity)).toThrow(new RangeError('rationalFromNumber: expected a finite number, got Infinity'));
    expect(() => rationalFromNumber(-Infinity)).toThrow(new RangeError('rationalFromNumber: expected a finite number, got -Infinity'));
  });
});

describe('rationalToNumber', () => {
  it('returns every double it is given back unchanged', () => {
    const doubles = [0.1, -1 / 3, Math.PI, 1e300, -1e-300, Number.MIN_VALUE, 2 ** -1022, 2 ** -1022 - 2 ** -1074, Number.MAX_VALUE, 2 ** 53 + 2];
    expect(doubles.map((x) => rationalToNumber(rationalFromNumber(x)))).toEqual(doubles);
  });

  it('rounds to the nearest double like the parser', () => {
    expect(rationalToNumber(rational(1n, 3n))).toBe(1 / 3);
    expect(rationalToNumber(rational(1n, 10n))).toBe(0.1);
    expect(rationalToNumber(rational(-2n, 3n))).toBe(-2 / 3);
  });

  it('breaks ties to the even mantissa', () => {
    expect(rationalToNumber(rational(2n ** 53n + 1n, 1n))).toBe(2 ** 53);
    expect(rationalToNumber(rational(2n ** 53n + 3n, 1n))).toBe(2 ** 53 + 4);
    expect(rationalToNumber(rational(1n, 2n ** 1075n))).toBe(0);
    expect(rationalToNumber(rational(3n, 2n ** 1075n))).toBe(2 * Number.MIN_VALUE);
  });

  it('overflows to ±Infinity and underflows to 0', () => {
    expect(rationalToNumber(rational(10n ** 400n, 1n))).toBe(Infinity);
    expect(rationalToNumber(rational(-(10n ** 400n), 1n))).toBe(-Infinity);
    expect(rationalToNumber(rational(1n, 10n ** 400n))).toBe(0);
  });
});

describe('compareRational', () => {
  it('orders by value whatever the representation', () => {
    expect(compareRational({ num: 1n, den: 3n }, { num: 2n, den: 6n })).toBe(0);
    expect(compareRational({ num: -1n, den: 2n }, { num: 1n, den: 3n })).toBe(-1);
    expect(compareRational(rationalFromNumber(0.1), rational(1n, 10n))).toBe(1);
  });
});

describe('arithmetic helpers', () => {
  it('add, multiply and divide without reducing', () => {
    expect(addRational({ num: 1n, den: 6n }, { num: 1n, den: 3n })).toEqual({ num: 9n, den: 18n });
    expect(mulRational({ num: 2n, den: 3n }, { num: 3n, den: 4n })).toEqual({ num: 6n, den: 12n });
    expect(divRational({ num: 1n, den: 2n }, { num: -3n, den: 4n })).toEqual({ num: -4n, den: 6n });
    expect(reduceRational({ num: -4n, den: 6n })).toEqual({ num: -2n, den: 3n });
  });

  it('refuses to divide by 0', () => {
    expect(() => divRational({ num: 1n, den: 2n }, { num: 0n, den: 5n })).toThrow(new RangeError('divRational: division by 0'));
  });
});

describe('integerSquareRoot', () => {
  it('gives ⌊√n⌋ around perfect squares', () => {
    expect([0n, 1n, 2n, 3n, 4n, 8n, 9n, 10n].map(integerSquareRoot)).toEqual([0n, 1n, 1n, 1n, 2n, 2n, 3n, 3n]);
    expect(integerSquareRoot(10n ** 40n)).toBe(10n ** 20n);
    expect(integerSquareRoot(10n ** 40n - 1n)).toBe(10n ** 20n - 1n);
    expect(integerSquareRoot((2n ** 64n + 1n) ** 2n - 1n)).toBe(2n ** 64n);
  });

  it('refuses a negative argument', () => {
    expect(() => integerSquareRoot(-1n)).toThrow(new RangeError('integerSquareRoot: expected a non-negative integer, got -1'));
  });
});
