import { randomFillSync } from 'node:crypto';

/**
 * A source of exactly uniform integers, the only randomness the samplers consume. Any
 * implementation must return each value of `[0, n)` with probability exactly `1/n` (given ideal
 * random bits): the samplers' exactness, and so their privacy guarantee, rests on it.
 */
export interface RandomSource {
  /** A uniform integer in `[0, n)`; `n ≥ 1`. */
  uniformBelow(n: bigint): bigint;
  /**
   * The same for a safe integer `1 ≤ n ≤ 2^53 − 1`, as a number (optional: a sampler falls back to
   * {@link uniformBelow}). Lets the samplers run on numbers while every integer fits in 53 bits.
   */
  uniformBelowNumber?(n: number): number;
  /**
   * A uniform integer in `[0, 2^32)`, the same as `uniformBelow(2^32)` as a number (optional: a
   * sampler falls back to {@link uniformBelow}). The table sampler's one word per draw.
   */
  uniformWord32?(): number;
  /**
   * Fills `out` with independent uniform integers in `[0, 2^32)` (optional: a sampler falls back to
   * {@link uniformWord32} or {@link uniformBelow}). For drawing a long vector's noise in one pass.
   */
  fillWords32?(out: Uint32Array): void;
}

const TWO_TO_32 = 2 ** 32;
const TWO_TO_32_N = 1n << 32n;
const TWO_TO_64_N = 1n << 64n;

/**
 * A {@link RandomSource} on `node:crypto` `randomFillSync`, refilling a buffer of `bufferBytes`
 * bytes (a multiple of 8, at least 8; 64 KiB by default) when it runs out.
 *
 * Exactness: a draw below `n` takes fresh random bits and rejects values outside a range that `n`
 * divides, so every residue is equally likely (no modulo bias) and nothing is rounded.
 * - `n < 2^32`: one 32-bit word `w`, accepted when `w < 2^32 − (2^32 mod n)` (a multiple of `n`),
 *   returning `w mod n`. All quantities are integers up to 2^32, which JavaScript numbers hold
 *   exactly, so this is integer arithmetic, not floating point. Acceptance probability > 1/2.
 * - otherwise: ⌈bits(n − 1)/64⌉ 64-bit words concatenated and cut to bits(n − 1) bits (enough for
 *   n − 1, the largest value), accepted when below `n` (probability > 1/2).
 */
export function createCryptoRandomSource(bufferBytes = 65536): RandomSource {
  if (!Number.isSafeInteger(bufferBytes) || bufferBytes < 8 || bufferBytes % 8 !== 0) {
    throw new RangeError(`createCryptoRandomSource: bufferBytes must be a positive multiple of 8, got ${bufferBytes}`);
  }
  const bytes = new Uint8Array(bufferBytes);
  const words = new Uint32Array(bytes.buffer);
  const view = new DataView(bytes.buffer);
  const wordCount = words.length;
  // Index of the next unused 32-bit word; starting at the end forces a fill on first use.
  let next = wordCount;

  const refill = () => {
    randomFillSync(bytes);
    next = 0;
  };
  const word32 = (): number => {
    if (next === wordCount) refill();
    return words[next++]!;
  };
  const word64 = (): bigint => {
    if (next + 2 > wordCount) refill();
    const value = view.getBigUint64(next * 4, true);
    next += 2;
    return value;
  };

  const below32 = (n: number): number => {
    if (n === 1) return 0;
    const limit = TWO_TO_32 - (TWO_TO_32 % n);
    for (;;) {
      const w = word32();
      if (w < limit) return w % n;
    }
  };

  const belowLarge = (n: bigint): bigint => {
    if (n <= TWO_TO_64_N) {
      // bits(n − 1) random bits suffice: the largest value needed is n − 1.
      const drop = BigInt(64 - bitLength64(n - 1n));
      for (;;) {
        const x = word64() >> drop;
        if (x < n) return x;
      }
    }
    let bits = 0;
    let rest = n - 1n;
    while (rest >= TWO_TO_64_N) {
      rest >>= 64n;
      bits += 64;
    }
    bits += bitLength64(rest);
    const chunks = Math.ceil(bits / 64);
    const drop = BigInt(64 * chunks - bits);
    for (;;) {
      let x = 0n;
      for (let i = 0; i < chunks; i += 1) x = (x << 64n) | word64();
      x >>= drop;
      if (x < n) return x;
    }
  };

  const belowSafe = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`uniformBelowNumber: n must be a safe integer of at least 1, got ${n}`);
    if (n <= TWO_TO_32) return below32(n);
    // 33 to 53 bits: a masked high word and a full low word, rejected until below n.
    let bits = 33;
    while (2 ** bits < n) bits += 1;
    const mask = 2 ** (bits - 32) - 1;
    for (;;) {
      const high = word32() & mask;
      const x = high * TWO_TO_32 + word32();
      if (x < n) return x;
    }
  };

  return {
    uniformWord32: word32,
    // Straight from node:crypto, not through the buffer: these words are used once, like the buffer's.
    fillWords32: (out: Uint32Array) => void randomFillSync(out),
    uniformBelowNumber: belowSafe,
    uniformBelow(n: bigint): bigint {
      if (n < TWO_TO_32_N) {
        if (n < 1n) throw new RangeError(`uniformBelow: n must be at least 1, got ${n}`);
        return BigInt(below32(Number(n)));
      }
      return belowLarge(n);
    },
  };
}

/** Bits of `x` for `0 < x < 2^64`, without converting through a string. */
function bitLength64(x: bigint): number {
  const high = Number(x >> 32n);
  return high === 0 ? 32 - Math.clz32(Number(x)) : 64 - Math.clz32(high);
}
