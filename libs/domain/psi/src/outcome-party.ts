import { FedlabError } from '@fedlab/model';
import type { CohortSets, OutcomeReply } from './psi-messages';
import { POINT_BYTES, type PsiEngine, type PublicKeys } from './psi-engine';
import { checkTupleBytes, permuteRecords } from './tuple-bytes';

export interface OutcomePartyOptions {
  engine: PsiEngine;
  sessionId: Uint8Array;
  passNames: readonly string[];
  /** One tuple of keys per person of the outcome dataset. */
  tuples: ReadonlyArray<ReadonlyArray<string | null>>;
  /** Each person's value vector (row-major, `publicKeys.length` entries per person), aggregated per person first. */
  values: Uint32Array;
  publicKeys: PublicKeys;
  /** The largest per-person value of each entry, sent to C (sealed) so it can size its noise. */
  valueBounds: readonly number[];
  /** Which entries are sums of squares. */
  valueSquares: readonly boolean[];
  /** Largest cohort set (all groups together) this node accepts (its linkage policy). */
  maxPeerSetSize: number;
  /** The groups of the signed study: the cohort sets must hold exactly these, each within its rule. */
  groups: readonly GroupRule[];
}

/**
 * One group the signed study asks the cohort node for: at least `minPersons` persons (the outcome
 * node's own minimum), and, for a comparison group, at most `perCase.most` per person of group
 * `perCase.of` (the study's controls per case).
 */
export interface GroupRule {
  name: string;
  minPersons: number;
  perCase?: { of: string; most: number };
}

/**
 * Party O of the private intersection-sum (DESIGN.md §7.4): re-blinds C's tuples and returns them
 * shuffled, and sends its own persons' blinded tuples with their encrypted value vectors, shuffled.
 * O learns the size of each of C's groups and nothing else. Its own half of the work starts as soon
 * as the party is created, so it overlaps with C's first step.
 */
export class OutcomeParty {
  private state: 'new' | 'done' = 'new';
  private readonly scalar: Uint8Array;
  private readonly own: Promise<OutcomeReply['outcome']>;

  constructor(private readonly options: OutcomePartyOptions) {
    const width = options.publicKeys.length;
    if (options.values.length !== options.tuples.length * width) {
      throw new FedlabError('TUPLE_WIDTH_MISMATCH', `psi: ${options.values.length} values for ${options.tuples.length} persons of ${width} entries`);
    }
    this.scalar = options.engine.randomScalar();
    this.own = this.blindOwn();
    // Failures surface in respond(); never as an unhandled rejection.
    this.own.catch(() => undefined);
  }

  /** Step 2. */
  async respond(sets: CohortSets): Promise<OutcomeReply> {
    if (this.state === 'done') throw new FedlabError('PROTOCOL_OUT_OF_ORDER', 'psi: the cohort sets were already answered in this run (replayed)');
    this.state = 'done';
    const { engine, passNames, maxPeerSetSize } = this.options;
    const width = passNames.length;
    if (sets.width !== width)
      throw new FedlabError('TUPLE_WIDTH_MISMATCH', `psi: the cohort sets have tuples of ${sets.width} elements; this run uses ${width} passes`);
    const total = sets.groups.reduce((n, g) => n + g.count, 0);
    if (total > maxPeerSetSize)
      throw new FedlabError('SET_TOO_LARGE', `psi: the cohort sets hold ${total} persons; this node's policy accepts at most ${maxPeerSetSize}`);
    if (new Set(sets.groups.map((g) => g.name)).size !== sets.groups.length)
      throw new FedlabError('INVALID_ARGUMENT', 'psi: the cohort sets name a group twice');
    checkGroups(sets, this.options.groups);
    for (const group of sets.groups) checkTupleBytes(`group "${group.name}"`, group.tuples, group.count, width);
    // A person counted twice would let a group of min_persons copies stand for one person.
    for (const group of sets.groups) {
      const seen = new Set<string>();
      const record = width * POINT_BYTES;
      for (let i = 0; i < group.count; i++) seen.add(Buffer.from(group.tuples.subarray(i * record, (i + 1) * record)).toString('base64'));
      if (seen.size !== group.count) throw new FedlabError('INVALID_ARGUMENT', `psi: group "${group.name}" lists the same person (key tuple) more than once`);
    }
    const groups = [];
    for (const group of sets.groups) {
      const reblinded = await engine.blind(group.tuples, this.scalar);
      groups.push({ name: group.name, count: group.count, tuples: permuteRecords(reblinded, group.count, engine.permutation(group.count)) });
    }
    return { width, groups, outcome: await this.own };
  }

  private async blindOwn(): Promise<OutcomeReply['outcome']> {
    const { engine, sessionId, passNames, tuples, values, publicKeys } = this.options;
    const count = tuples.length;
    const [blinded, ciphertexts] = await Promise.all([engine.hashAndBlind(sessionId, passNames, tuples, this.scalar), engine.encrypt(values, publicKeys)]);
    checkTupleBytes('own tuples', blinded, count, passNames.length);
    if (ciphertexts.length !== count * (1 + publicKeys.length) * POINT_BYTES)
      throw new FedlabError('INTERNAL', 'psi: the engine returned ciphertexts of the wrong size');
    // One permutation for tuples and ciphertexts, so each person's vector stays with its tuple.
    const perm = engine.permutation(count);
    return {
      count,
      tuples: permuteRecords(blinded, count, perm),
      valueWidth: publicKeys.length,
      ciphertexts: permuteRecords(ciphertexts, count, perm),
      valueBounds: [...this.options.valueBounds],
      valueSquares: [...this.options.valueSquares],
    };
  }
}

/** The cohort sets hold exactly the study's groups, each within its size rule (sizes are not echoed in refusals). */
function checkGroups(sets: CohortSets, rules: readonly GroupRule[]): void {
  const names = rules.map((r) => r.name);
  if (sets.groups.length !== rules.length || !sets.groups.every((g) => names.includes(g.name))) {
    throw new FedlabError('INVALID_ARGUMENT', `psi: the cohort sets must hold exactly the groups of the signed study (${names.join(', ')})`);
  }
  const size = new Map(sets.groups.map((g) => [g.name, g.count]));
  for (const rule of rules) {
    const count = size.get(rule.name)!;
    if (count < rule.minPersons)
      throw new FedlabError('COHORT_TOO_SMALL', `psi: group "${rule.name}" holds fewer persons than this node's minimum of ${rule.minPersons}`);
    if (rule.perCase && count > rule.perCase.most * size.get(rule.perCase.of)!) {
      throw new FedlabError(
        'INVALID_ARGUMENT',
        `psi: group "${rule.name}" holds more persons than the signed study allows (${rule.perCase.most} per person of group "${rule.perCase.of}")`,
      );
    }
  }
}
