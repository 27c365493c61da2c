import { FedlabError } from '@fedlab/model';

/** One person's keys, one per linkage pass (null: no key for that pass). */
export type KeyTuple = ReadonlyArray<string | null>;

const AMBIGUOUS = -1;

function tupleWidth(cohort: ReadonlyArray<KeyTuple>, outcome: ReadonlyArray<KeyTuple>): number {
  const width = (cohort[0] ?? outcome[0])?.length ?? 0;
  const uneven = (tuple: KeyTuple): boolean => tuple.length !== width;
  if (cohort.some(uneven) || outcome.some(uneven)) {
    throw new FedlabError('INVALID_ARGUMENT', `tuples: every tuple must have ${width} keys`, { width });
  }
  return width;
}

/**
 * Where each key of one pass occurs: the index of the only tuple that has it, or AMBIGUOUS when more
 * than one tuple has it. Every tuple counts, matched or not.
 */
function keyIndex(tuples: ReadonlyArray<KeyTuple>, pass: number): Map<string, number> {
  const index = new Map<string, number>();
  tuples.forEach((tuple, i) => {
    const key = tuple[pass];
    if (key === null) return;
    index.set(key, index.has(key) ? AMBIGUOUS : i);
  });
  return index;
}

/**
 * Links outcome tuples to cohort tuples, a person matching when any pass's key is equal (DESIGN.md
 * §7.4). Passes are taken in order, pass 0 first. At each pass a key held by more than one cohort tuple
 * or by more than one outcome tuple (all tuples counted, matched or not) is ambiguous and ignored at
 * that pass; every still-unmatched outcome tuple whose key at that pass is held by exactly one cohort
 * tuple, itself still unmatched, is then paired with it. Each tuple is in at most one pair.
 *
 * Returns `[cohortIndex, outcomeIndex]` pairs, by pass and then by outcome index. Runs in time linear in
 * the number of keys (one hash map per side and pass), so it suits blinded point encodings of large sets.
 *
 * @throws FedlabError INVALID_ARGUMENT `tuples: every tuple must have N keys` when the tuples differ in
 * width (N is the width of the first cohort tuple, or of the first outcome tuple when there is no cohort).
 */
export function matchTuples(cohort: ReadonlyArray<KeyTuple>, outcome: ReadonlyArray<KeyTuple>): Array<[number, number]> {
  const width = tupleWidth(cohort, outcome);
  const cohortMatched = new Uint8Array(cohort.length);
  const outcomeMatched = new Uint8Array(outcome.length);
  const pairs: Array<[number, number]> = [];
  for (let pass = 0; pass < width; pass += 1) {
    const cohortIndex = keyIndex(cohort, pass);
    const outcomeIndex = keyIndex(outcome, pass);
    outcome.forEach((tuple, o) => {
      const key = tuple[pass];
      if (outcomeMatched[o] === 1 || key === null || outcomeIndex.get(key) !== o) return;
      const c = cohortIndex.get(key);
      if (c === undefined || c === AMBIGUOUS || cohortMatched[c] === 1) return;
      cohortMatched[c] = 1;
      outcomeMatched[o] = 1;
      pairs.push([c, o]);
    });
  }
  return pairs;
}
