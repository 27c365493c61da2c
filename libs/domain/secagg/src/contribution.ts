import { FedlabError } from '@fedlab/model';
import { checkRange, decodeFixedPoint, encodeFixedPoint } from './encoding';

/** Largest |sum| the two-limb encoding carries exactly (see {@link encodeFixedPoint}). */
const TWO_LIMB_BITS = 55;

/** Fixed-point scale bits a round may declare: 0 (integers) to 40. */
export const MAX_SCALE_BITS = 40;

function scaleOf(scaleBits: number): number {
  if (!Number.isInteger(scaleBits) || scaleBits < 0 || scaleBits > MAX_SCALE_BITS) {
    throw new FedlabError('INVALID_ARGUMENT', `secagg: scale bits must be an integer from 0 to ${MAX_SCALE_BITS}`);
  }
  return 2 ** scaleBits;
}

/**
 * The per-party bound on |value| for a round: the two-limb range ±2^55 divided among `parties` and
 * the fixed-point scale, so the pooled sum can never wrap (DESIGN.md §7.2).
 */
export function contributionBound(scaleBits: number, parties: number): number {
  // 2^55 − 1 is the largest sum two limbs hold (with parties × scale a power of two, 2^55 itself was a
  // bound one past it, and every value was refused). Integer division in bigint, then rounded down to
  // a value a double holds exactly, so the bound never exceeds the range.
  const bound = ((1n << BigInt(TWO_LIMB_BITS)) - 1n) / (BigInt(parties) * BigInt(scaleOf(scaleBits)));
  const drop = BigInt(Math.max(0, bound.toString(2).length - 53));
  return Number((bound >> drop) << drop);
}

/**
 * Encodes one party's real-valued contribution for secure aggregation: two 32-bit limbs per entry,
 * fixed point with scale 2^scaleBits and unbiased stochastic rounding. Refuses, before anything is
 * masked, any value outside ±{@link contributionBound} (INVALID_ARGUMENT naming the index only).
 */
export function encodeContribution(values: readonly number[], options: { scaleBits: number; parties: number; random: () => number }): Uint32Array {
  const scale = scaleOf(options.scaleBits);
  checkRange(values, { maxAbs: contributionBound(options.scaleBits, options.parties), parties: options.parties, limbs: 2, scale });
  return encodeFixedPoint(values, { scale, random: options.random, limbs: 2 });
}

/** Decodes a summed contribution made by {@link encodeContribution}. */
export function decodeContribution(words: Uint32Array, scaleBits: number): number[] {
  return decodeFixedPoint(words, { scale: scaleOf(scaleBits), limbs: 2 });
}
