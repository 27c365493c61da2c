/**
 * The differencing rule (DESIGN.md §5, second layer under differential privacy): a group of persons may
 * be released about only if it is identical to each earlier group of the same scope or differs from it
 * by at least `min` members — otherwise results for the two could be subtracted to learn about the few
 * in the difference. Members are opaque keys (the node stores keyed hashes, never ids).
 *
 * @returns the number of members by which `current` differs from the first earlier group that is too
 *   close (1 ≤ difference < min), or undefined when none is.
 */
export function tooCloseToEarlierGroup(current: ReadonlySet<string>, earlier: Iterable<ReadonlySet<string>>, min: number): number | undefined {
  for (const group of earlier) {
    let difference = 0;
    for (const member of current) if (!group.has(member)) difference += 1;
    for (const member of group) if (!current.has(member)) difference += 1;
    if (difference > 0 && difference < min) return difference;
  }
  return undefined;
}
