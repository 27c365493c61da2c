import { FedlabError } from '@fedlab/model';
import { matchTuples } from '@fedlab/linkage';
import type { CohortAggregate, CohortSets, GroupNoise, OutcomeReply } from './psi-messages';
import { POINT_BYTES, type PsiEngine, type PublicKeys } from './psi-engine';
import { checkTupleBytes, permuteRecords, tupleKeys } from './tuple-bytes';

export interface CohortPartyOptions {
  engine: PsiEngine;
  /** Binds every hashed key to this run (see DESIGN.md §7.4: H(domain ‖ session ‖ x)). */
  sessionId: Uint8Array;
  /** The linkage passes, in order (pass 0 is tried first when matching). */
  passNames: readonly string[];
  /** The groups of persons (cohort, comparison), one tuple of keys per person, one key per pass. */
  groups: ReadonlyArray<{ name: string; tuples: ReadonlyArray<ReadonlyArray<string | null>> }>;
  /** The coordinator's per-run ElGamal keys (for re-randomising the sums). */
  publicKeys: PublicKeys;
  /** Largest outcome set this node accepts (its linkage policy). */
  maxPeerSetSize: number;
  /** Draws one group's noise for value entries bounded by `valueBounds` (absent: no noise, exact sums). */
  noise?: (valueBounds: readonly number[], valueSquares: readonly boolean[]) => GroupNoise;
}

/**
 * Party C of the private intersection-sum (DESIGN.md §7.4): sends its groups' blinded tuples,
 * matches them with the outcome party's tuples after both blindings (a person matches if any pass
 * matches; each person counts once), and sums the matched persons' encrypted value vectors. C learns
 * the number of matched persons per group and nothing about the values; it never learns which of its
 * persons matched, because O shuffles C's tuples before returning them.
 */
export class CohortParty {
  private state: 'new' | 'sent' | 'done' = 'new';
  private readonly scalar: Uint8Array;
  private readonly width: number;
  private sentCounts = new Map<string, number>();

  constructor(private readonly options: CohortPartyOptions) {
    this.scalar = options.engine.randomScalar();
    this.width = options.passNames.length;
  }

  /** Step 1: each group's tuples `k_C · H(key)`, shuffled. */
  async start(): Promise<CohortSets> {
    if (this.state !== 'new') throw new FedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: the cohort sets were already sent in this run');
    this.state = 'sent';
    const { engine, sessionId, passNames } = this.options;
    const groups = [];
    for (const group of this.options.groups) {
      const blinded = await engine.hashAndBlind(sessionId, passNames, group.tuples, this.scalar);
      const count = group.tuples.length;
      groups.push({ name: group.name, count, tuples: permuteRecords(blinded, count, engine.permutation(count)) });
      this.sentCounts.set(group.name, count);
    }
    return { width: this.width, groups };
  }

  /** Step 3: match, sum the matched ciphertexts per group, re-randomise. */
  async finish(reply: OutcomeReply): Promise<CohortAggregate> {
    if (this.state === 'new') throw new FedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: the outcome reply arrived before the cohort sets were sent');
    if (this.state === 'done') throw new FedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: the outcome reply was already processed in this run (replayed)');
    this.state = 'done';
    const { engine, publicKeys } = this.options;
    const { width } = this;
    if (reply.width !== width)
      throw new FedlabError('TUPLE_WIDTH_MISMATCH', `psi: the outcome reply has tuples of ${reply.width} elements; this run uses ${width} passes`);
    const outcome = reply.outcome;
    if (outcome.count > this.options.maxPeerSetSize) {
      throw new FedlabError(
        'SET_TOO_LARGE',
        `psi: the outcome set has ${outcome.count} persons; this node's policy accepts at most ${this.options.maxPeerSetSize}`,
      );
    }
    checkTupleBytes('the outcome tuples', outcome.tuples, outcome.count, width);
    if (outcome.valueWidth !== publicKeys.length) {
      throw new FedlabError(
        'TUPLE_WIDTH_MISMATCH',
        `psi: the outcome value vectors have ${outcome.valueWidth} entries; this run encrypts ${publicKeys.length}`,
      );
    }
    if (outcome.ciphertexts.length !== outcome.count * (1 + outcome.valueWidth) * POINT_BYTES) {
      throw new FedlabError(
        'TUPLE_WIDTH_MISMATCH',
        `psi: the outcome ciphertexts have ${outcome.ciphertexts.length} bytes; ${outcome.count} vectors need ${outcome.count * (1 + outcome.valueWidth) * POINT_BYTES}`,
      );
    }
    const names = new Set(reply.groups.map((g) => g.name));
    if (names.size !== reply.groups.length || names.size !== this.sentCounts.size || reply.groups.some((g) => this.sentCounts.get(g.name) !== g.count)) {
      throw new FedlabError('TUPLE_WIDTH_MISMATCH', 'psi: the outcome reply does not return exactly the groups and tuple counts that were sent');
    }
    for (const group of reply.groups) {
      checkTupleBytes(`group "${group.name}"`, group.tuples, group.count, width);
      await engine.validate(group.tuples);
    }
    await engine.validate(outcome.ciphertexts);
    if (
      outcome.valueBounds.length !== outcome.valueWidth ||
      outcome.valueSquares.length !== outcome.valueWidth ||
      !outcome.valueBounds.every((b) => Number.isFinite(b) && b >= 0)
    ) {
      throw new FedlabError('TUPLE_WIDTH_MISMATCH', `psi: the outcome reply must bound each of its ${outcome.valueWidth} value entries`);
    }
    const outcomeKeys = tupleKeys(await engine.blind(outcome.tuples, this.scalar), outcome.count, width);
    const groups = [];
    for (const group of reply.groups) {
      const pairs = matchTuples(tupleKeys(group.tuples, group.count, width), outcomeKeys);
      const matchedOutcome = pairs.map(([, o]) => o);
      const noise = this.options.noise?.(outcome.valueBounds, outcome.valueSquares);
      if (!noise) {
        groups.push({ name: group.name, matched: pairs.length, ciphertext: engine.sumAndRerandomise(outcome.ciphertexts, matchedOutcome, publicKeys) });
        continue;
      }
      // The noise is encrypted under the run's keys and summed with the matched persons' vectors: the
      // coordinator only ever decrypts a noisy sum.
      const noiseVector = await engine.encrypt(Uint32Array.from(noise.shifted), publicKeys);
      const all = new Uint8Array(outcome.ciphertexts.length + noiseVector.length);
      all.set(outcome.ciphertexts);
      all.set(noiseVector, outcome.ciphertexts.length);
      groups.push({
        name: group.name,
        matched: pairs.length + noise.matched,
        ciphertext: engine.sumAndRerandomise(all, [...matchedOutcome, outcome.count], publicKeys),
      });
    }
    return { groups };
  }
}
