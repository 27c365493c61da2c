/** The blinded tuples of one group of the cohort party (one tuple per person, one element per pass). */
export interface BlindedGroup {
  name: string;
  /** Number of tuples. */
  count: number;
  /** `count × width` encoded elements, tuple by tuple. */
  tuples: Uint8Array;
}

/** Step 1, C → O: each group's tuples `k_C · H(key)`, shuffled. */
export interface CohortSets {
  width: number;
  groups: BlindedGroup[];
}

/**
 * Step 2, O → C: C's tuples re-blinded `k_O · k_C · H(key)` (each group shuffled again), and O's own
 * tuples `k_O · H(key)` with the encrypted value vector of each person, shuffled together.
 */
export interface OutcomeReply {
  width: number;
  groups: BlindedGroup[];
  outcome: {
    count: number;
    tuples: Uint8Array;
    /** Entries per value vector (v); each ciphertext is `1 + v` elements. */
    valueWidth: number;
    ciphertexts: Uint8Array;
    /** The largest per-person value of each entry (v numbers): C sizes its noise from them. */
    valueBounds: number[];
    /** Which entries are sums of squares (v booleans). */
    valueSquares: boolean[];
  };
}

/** Step 3, C → coordinator: per group, the noisy number of matched persons and the re-randomised encrypted noisy sum. */
export interface CohortAggregate {
  groups: Array<{ name: string; matched: number; ciphertext: Uint8Array }>;
}

/**
 * The noise the cohort party adds to one group's figures (docs/privacy.md "Linkage studies"): an
 * integer for the matched count, and for each encrypted entry its noise plus a public offset, so the
 * encrypted addend stays a non-negative integer.
 */
export interface GroupNoise {
  matched: number;
  shifted: number[];
}
