import { describe, expect, it } from 'vitest';
import { addMod, addSignedPairInto, checkRange, decodeFixedPoint, decodeIntegers, encodeFixedPoint, encodeIntegers, subMod } from './encoding';

function sumVectors(vectors: Uint32Array[]): Uint32Array {
  return vectors.reduce((total, vector) => addMod(total, vector));
}

describe('integer encoding', () => {
  it("encodes one limb as 32-bit two's complement", () => {
    expect(Array.from(encodeIntegers([0, 1, -1, 2147483647, -2147483648], { limbs: 1 }))).toEqual([0, 1, 0xffffffff, 0x7fffffff, 0x80000000]);
  });

  it('decodes one-limb sums of negative and positive values exactly', () => {
    const sum = sumVectors([encodeIntegers([5, -7, 100], { limbs: 1 }), encodeIntegers([-9, 3, -250], { limbs: 1 })]);
    expect(decodeIntegers(sum, { limbs: 1 })).toEqual([-4, -4, -150]);
  });

  it('accepts bigints', () => {
    expect(decodeIntegers(encodeIntegers([-3n, 4n], { limbs: 1 }), { limbs: 1 })).toEqual([-3, 4]);
  });

  it('refuses a value that does not fit one limb', () => {
    expect(() => encodeIntegers([2147483648], { limbs: 1 })).toThrow('encodeIntegers: value at index 0 does not fit 1 limb(s)');
    expect(() => encodeIntegers([1.5], { limbs: 1 })).toThrow('encodeIntegers: value at index 0: not a safe integer');
  });

  it("splits two limbs into a 24-bit low word and a two's complement high word", () => {
    expect(Array.from(encodeIntegers([0x12345678, -1], { limbs: 2 }))).toEqual([0x345678, 0x12, 0xffffff, 0xffffffff]);
  });

  it('carries the low-limb overflow of a sum into the result when decoding two limbs', () => {
    const values = [16777215, 16777215, 16777215];
    const sum = sumVectors(values.map((value) => encodeIntegers([value], { limbs: 2 })));
    expect(Array.from(sum)).toEqual([50331645, 0]);
    expect(decodeIntegers(sum, { limbs: 2 })).toEqual([50331645n]);
  });

  it('sums two-limb values beyond 32 bits, negative ones included', () => {
    const parties = [
      [3_000_000_000n, -5_000_000_000n],
      [4_000_000_000n, -1n],
      [-1n, 2n ** 40n],
    ];
    const sum = sumVectors(parties.map((values) => encodeIntegers(values, { limbs: 2 })));
    expect(decodeIntegers(sum, { limbs: 2 })).toEqual([6_999_999_999n, 2n ** 40n - 5_000_000_001n]);
  });

  it('refuses to decode an odd-length two-limb vector', () => {
    expect(() => decodeIntegers(new Uint32Array(3), { limbs: 2 })).toThrow('decodeIntegers: a 2-limb vector must have an even length');
  });
});

describe('fixed-point encoding', () => {
  it('rounds up exactly when the random draw is below the fractional part of value × scale', () => {
    expect(decodeIntegers(encodeFixedPoint([1.25, -1.25], { scale: 4, random: () => 0 }), { limbs: 1 })).toEqual([5, -5]);
    // -0.3 = -1 + 0.7: rounds up to 0 with probability 0.7, down to -1 otherwise.
    expect(decodeIntegers(encodeFixedPoint([0.3, -0.3], { scale: 1, random: () => 0.1 }), { limbs: 1 })).toEqual([1, 0]);
    expect(decodeIntegers(encodeFixedPoint([0.3, -0.3], { scale: 1, random: () => 0.5 }), { limbs: 1 })).toEqual([0, 0]);
    expect(decodeIntegers(encodeFixedPoint([0.3, -0.3], { scale: 1, random: () => 0.9 }), { limbs: 1 })).toEqual([0, -1]);
  });

  it('is unbiased: the mean of many roundings approaches the exact value', () => {
    let state = 12345;
    const random = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const draws = Array.from({ length: 20000 }, () => decodeFixedPoint(encodeFixedPoint([0.3], { scale: 1, random }), { scale: 1 })[0]);
    expect(Math.abs(draws.reduce((a, b) => a + b, 0) / draws.length - 0.3)).toBeLessThan(0.02);
  });

  it('decodes a sum at scale 2^16', () => {
    const scale = 2 ** 16;
    const sum = addMod(encodeFixedPoint([1.5, -2.25], { scale, random: () => 0 }), encodeFixedPoint([0.25, -0.5], { scale, random: () => 0 }));
    expect(decodeFixedPoint(sum, { scale })).toEqual([1.75, -2.75]);
  });
});

describe('checkRange', () => {
  it('accepts values inside a range that cannot wrap', () => {
    expect(() => checkRange([-1000, 0, 1000], { maxAbs: 1000, parties: 5 })).not.toThrow();
  });

  it('refuses a declared range whose sum over the parties could wrap one limb', () => {
    expect(() => checkRange([1], { maxAbs: 2 ** 30, parties: 2 })).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'checkRange: declared range ±1073741824 × 2 parties could exceed ±2147483647 and wrap with 1 limb(s); declare a smaller range or use limbs: 2',
    );
  });

  it('accepts with two limbs the range it refused with one', () => {
    expect(() => checkRange([1], { maxAbs: 2 ** 30, parties: 2, limbs: 2 })).not.toThrow();
  });

  it('counts the fixed-point scale in the range', () => {
    expect(() => checkRange([1.5], { maxAbs: 2 ** 15, parties: 2, scale: 2 ** 16 })).toThrow(
      'checkRange: declared range ±32768 × scale 65536 × 2 parties could exceed',
    );
  });

  it('refuses a value outside the declared range without printing it', () => {
    expect(() => checkRange([10, -1001], { maxAbs: 1000, parties: 5 })).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'checkRange: value at index 1 is outside the declared range ±1000',
    );
  });

  it('refuses a non-finite value', () => {
    expect(() => checkRange([Number.NaN], { maxAbs: 1000, parties: 5 })).toThrow('checkRange: value at index 0 is outside the declared range ±1000');
  });
});

describe('modular arithmetic', () => {
  it('adds and subtracts element-wise mod 2^32', () => {
    const a = Uint32Array.of(0xffffffff, 5);
    const b = Uint32Array.of(2, 7);
    expect(Array.from(addMod(a, b))).toEqual([1, 12]);
    expect(Array.from(subMod(b, a))).toEqual([3, 2]);
  });

  it('refuses vectors of different lengths', () => {
    expect(() => addMod(new Uint32Array(2), new Uint32Array(3))).toThrow('addMod: vectors have different lengths (2 and 3)');
  });

  it('adds two signed vectors in one pass mod 2^32, for every pair of signs, past the unrolled part', () => {
    // Length 11: one unrolled block of eight and a tail of three; values chosen to wrap both ways.
    const target = Uint32Array.of(0, 1, 0xffffffff, 0x80000000, 5, 0, 0xfffffffe, 7, 0, 0xffffffff, 9);
    const a = Uint32Array.of(1, 0xffffffff, 1, 0x80000000, 10, 0xffffffff, 3, 0, 0x12345678, 1, 0xffffffff);
    const b = Uint32Array.of(2, 2, 0xffffffff, 1, 20, 0xffffffff, 4, 8, 0x12345678, 0xffffffff, 10);
    const expected = (signA: number, signB: number) =>
      Array.from(target, (t, i) => Number(BigInt.asUintN(32, BigInt(t) + BigInt(signA * a[i]) + BigInt(signB * b[i]))));
    for (const [signA, signB] of [
      [1, 1],
      [1, -1],
      [-1, 1],
      [-1, -1],
    ] as const) {
      expect(Array.from(addSignedPairInto(target.slice(), a, signA, b, signB)), `signs ${signA}, ${signB}`).toEqual(expected(signA, signB));
    }
    expect(Array.from(addSignedPairInto(target.slice(), a, 1, b, -1))).toEqual([
      0xffffffff, 0xfffffffe, 1, 0xffffffff, 0xfffffffb, 0, 0xfffffffd, 0xffffffff, 0, 1, 0xfffffffe,
    ]);
  });

  it('refuses a signed pair whose vectors differ in length from the target', () => {
    expect(() => addSignedPairInto(new Uint32Array(4), new Uint32Array(4), 1, new Uint32Array(5), -1)).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'addSignedPairInto: vectors have different lengths (4 and 5)',
    );
  });
});
