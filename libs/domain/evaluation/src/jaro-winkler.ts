/**
 * The Jaro similarity of two strings (Jaro 1989), in [0, 1]: with m the characters that match (equal
 * and no further apart than ⌊max(|a|, |b|) / 2⌋ − 1 positions, each used once) and t half the matched
 * characters that are out of order (not rounded down as `strcmp95` does), (m/|a| + m/|b| + (m − t)/m) / 3,
 * and 0 when m = 0. Identical strings
 * (two empty strings included) score 1. Compares code points, so a character outside the BMP counts once;
 * it does not normalise case or accents (normalise first).
 */
export function jaro(a: string, b: string): number {
  if (a === b) return 1;
  const left = Array.from(a);
  const right = Array.from(b);
  if (left.length === 0 || right.length === 0) return 0;

  const window = Math.max(0, Math.floor(Math.max(left.length, right.length) / 2) - 1);
  const rightMatched = new Uint8Array(right.length);
  const leftMatches: string[] = [];
  for (let i = 0; i < left.length; i += 1) {
    const end = Math.min(right.length, i + window + 1);
    for (let j = Math.max(0, i - window); j < end; j += 1) {
      if (rightMatched[j] === 0 && left[i] === right[j]) {
        rightMatched[j] = 1;
        leftMatches.push(left[i]);
        break;
      }
    }
  }
  const matches = leftMatches.length;
  if (matches === 0) return 0;

  let outOfOrder = 0;
  let k = 0;
  for (let j = 0; j < right.length; j += 1) {
    if (rightMatched[j] === 0) continue;
    if (right[j] !== leftMatches[k]) outOfOrder += 1;
    k += 1;
  }
  const transpositions = outOfOrder / 2;
  return (matches / left.length + matches / right.length + (matches - transpositions) / matches) / 3;
}

/**
 * The Jaro–Winkler similarity (Winkler 1990): the {@link jaro} similarity j raised for a common prefix,
 * j + ℓ·p·(1 − j), where ℓ is the length of the common prefix (at most `maxPrefix`, 4) and p the
 * `prefixScale` (0.1; keep p·maxPrefix ≤ 1 so the result stays in [0, 1]).
 *
 * The boost is applied whatever j is, as in the formula as usually stated (e.g. Wikipedia). Winkler's
 * `strcmp95` and libraries derived from it (jellyfish, rapidfuzz) boost only when j > 0.7 and add further
 * adjustments, so they give lower values for dissimilar strings that share a prefix; above 0.7 the two agree.
 */
export function jaroWinkler(a: string, b: string, prefixScale = 0.1, maxPrefix = 4): number {
  const similarity = jaro(a, b);
  const left = Array.from(a);
  const right = Array.from(b);
  const limit = Math.min(maxPrefix, left.length, right.length);
  let prefix = 0;
  while (prefix < limit && left[prefix] === right[prefix]) prefix += 1;
  return similarity + prefix * prefixScale * (1 - similarity);
}
