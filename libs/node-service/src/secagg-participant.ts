import { FedlabError, silentLogger, type Logger } from '@fedlab/model';
import { blake2b, createRosterSecAggCrypto, secureUniformSource, type Identity, type Roster } from '@fedlab/crypto';
import { privateRoundVector } from '@fedlab/glm';
import { createCryptoRandomSource, discreteGaussianSampler, type RandomSource, type Rational } from '@fedlab/dp';
import * as pb from '@fedlab/proto';
import { SecAggClient, encodeContribution } from '@fedlab/secagg';
import { roundQueryHash, toWire } from '@fedlab/wire';
import type { PooledPreparation } from './pooled-contribution';

/** Most secure-aggregation rounds a node joins for one query (a model fit's IRLS steps, bounded). */
export const MAX_ROUNDS_PER_QUERY = 30;

/** Where the participant may stop on purpose, for fault tests with real processes (see docs/configuration.md). */
export type SecAggFailpoint = 'before-masked-input' | 'after-masked-input';

export interface SecAggParticipantOptions {
  identity: Identity;
  roster: Roster;
  /** The preparation of an authorised pooled query, if this node has one. */
  preparation: (queryId: string) => PooledPreparation | undefined;
  /**
   * Checks again, before each round, that the query is still allowed (policy, project approval,
   * revocation, expiry): a steward's change stops a model fit between rounds. Throws the refusal.
   */
  authorise: (prepared: PooledPreparation) => void;
  /** Drops a finished pooled query's preparation. */
  forget: (queryId: string) => void;
  /** Records one audit entry (the masked input's digest) per round this node sent an input to. */
  audit: (queryId: string, decision: string, digest: Uint8Array) => void;
  /** Called at each failpoint; returning true halts the participant there (fault tests kill the process next). */
  failpoint?: (point: SecAggFailpoint) => boolean;
  logger?: Logger;
}

/**
 * A node's side of the secure-aggregation rounds of pooled queries, as driven by the coordinator
 * through the node stream: turns each SecAggStep into the SecAggClient call it asks for and
 * returns the reply to send. A step the node cannot or will not take is answered with a refusal
 * (and the round forgotten): never with anything that would reveal its input.
 */
export class SecAggParticipant {
  private readonly rounds = new Map<string, { queryId: string; client: SecAggClient }>();
  private readonly logger: Logger;
  /** Set at a failpoint: the node says nothing more (its process is about to be killed). */
  private halted = false;
  private random: RandomSource | undefined;

  constructor(private readonly options: SecAggParticipantOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Forgets every round (the stream to the coordinator was lost: those rounds cannot finish). */
  reset(): void {
    this.rounds.clear();
  }

  /** Handles one step; resolves to the reply, or undefined when there is nothing to say (an abort). */
  async handle(step: pb.SecAggStep): Promise<pb.SecAggReply | undefined> {
    const { queryId, roundId } = step;
    const reply = (value: NonNullable<pb.SecAggReply['step']>): pb.SecAggReply => ({ queryId, roundId, step: value });
    const s = step.step;
    if (this.halted) return undefined;
    if (!s) return reply({ $case: 'refused', value: { code: 'INVALID_ARGUMENT', message: 'secagg: empty step' } });
    if (s.$case === 'abort') {
      this.rounds.delete(roundId);
      if (s.value.code === 'QUERY_FINISHED') this.options.forget(queryId);
      return undefined;
    }
    try {
      if (s.$case === 'begin') return reply({ $case: 'keys', value: toWire(this.begin(queryId, roundId, s.value)) });
      const round = this.rounds.get(roundId);
      if (!round || round.queryId !== queryId) throw new FedlabError('INVALID_ARGUMENT', 'secagg: no such round at this node (it never began, or was forgotten)');
      const { client } = round;
      switch (s.$case) {
        case 'keyList':
          return reply({ $case: 'shareKeys', value: toWire(await client.shareKeys(s.value.keys)) });
        case 'shares': {
          if (this.fail('before-masked-input')) return undefined;
          const masked = client.maskedInput(s.value.shares);
          this.options.audit(queryId, 'secagg-masked-input', blake2b(masked.masked, 32));
          this.logger.info({ queryId, nodeId: client.id }, 'secagg masked input sent');
          return reply({ $case: 'maskedInput', value: toWire(masked) });
        }
        case 'consistency':
          return reply({ $case: 'consistency', value: toWire(client.consistencyCheck(s.value)) });
        case 'unmask': {
          const message = client.unmask(s.value);
          this.rounds.delete(roundId);
          return reply({ $case: 'unmask', value: toWire(message) });
        }
      }
    } catch (error) {
      this.rounds.delete(roundId);
      const fe = FedlabError.from(error);
      const nodeId = this.options.identity.id;
      if (fe.code === 'INTERNAL') this.logger.error({ queryId, nodeId, err: error }, 'secagg step failed');
      else this.logger.warn({ queryId, nodeId, code: fe.code, step: s.$case }, `secagg step refused: ${fe.message}`);
      return reply({ $case: 'refused', value: { code: fe.code, message: fe.message } });
    }
  }

  /** After the masked input left (the reply was written): where the "after" failpoint fires. */
  sent(reply: pb.SecAggReply): void {
    if (reply.step?.$case === 'maskedInput') this.fail('after-masked-input');
  }

  /** Fires a failpoint if one is set: from then on this participant answers nothing. */
  private fail(point: SecAggFailpoint): boolean {
    if (this.options.failpoint?.(point)) this.halted = true;
    return this.halted;
  }

  private begin(queryId: string, roundId: string, begin: pb.SecAggBegin) {
    const prepared = this.options.preparation(queryId);
    const nodeId = this.options.identity.id;
    // Expired preparations are dropped by the agent before they are handed out.
    if (!prepared) throw new FedlabError('INVALID_ARGUMENT', 'secagg: this node holds no authorised contribution for the query (not asked, refused, expired, or restarted since)');
    if (this.rounds.has(roundId)) throw new FedlabError('INVALID_ARGUMENT', 'secagg: replayed round start');
    if (!begin.participants.includes(nodeId)) throw new FedlabError('INVALID_ARGUMENT', 'secagg: this node is not a participant of the round');
    // Only nodes the researcher's signed query names may take part: an extra participant could be one the
    // coordinator controls, standing in for an honest survivor the noise share counts on.
    if (!begin.participants.every((id) => prepared.spec.targetNodes.includes(id)) || new Set(begin.participants).size !== begin.participants.length) {
      throw new FedlabError('INVALID_ARGUMENT', 'secagg: the round names a participant the query does not target, or one twice');
    }
    this.options.authorise(prepared);
    if (prepared.rounds >= MAX_ROUNDS_PER_QUERY) throw new FedlabError('INVALID_ARGUMENT', `secagg: at most ${MAX_ROUNDS_PER_QUERY} rounds per query`);
    const { contribution } = prepared;
    // A table's noisy vector is summed once: two sums over different participants would differ by one
    // node's vector with only its own share of the noise. A model's rounds keep the participants of its first.
    if (contribution.kind === 'table' && prepared.rounds >= 1) throw new FedlabError('INVALID_ARGUMENT', 'secagg: a table query is summed in one round only');
    const participants = [...begin.participants].sort().join(',');
    if (prepared.participants !== undefined && prepared.participants !== participants) {
      throw new FedlabError('INVALID_ARGUMENT', "secagg: a model's rounds must keep the participants of its first round");
    }
    if (begin.threshold < contribution.noise.threshold) {
      // Fewer survivors than the noise share was sized for could leave less honest noise than the target needs.
      throw new FedlabError('THRESHOLD_NOT_MET', `secagg: the round would release with ${begin.threshold} survivors; this node's share of the noise needs at least ${contribution.noise.threshold}`);
    }
    const values = this.inputFor(prepared, begin);
    if (values.length * 2 !== begin.vectorLength) throw new FedlabError('POOLED_MISMATCH', `secagg: the round expects ${begin.vectorLength} words; this node's contribution has ${values.length * 2}`);
    const input = encodeContribution(values, { scaleBits: begin.scaleBits, parties: begin.participants.length, random: secureUniformSource() });
    const client = new SecAggClient({
      id: nodeId,
      participants: begin.participants,
      roundId,
      queryHash: roundQueryHash(prepared.queryHash, begin),
      threshold: begin.threshold,
      input,
      crypto: createRosterSecAggCrypto(this.options.identity, this.options.roster),
    });
    prepared.rounds += 1;
    prepared.participants = participants;
    const keys = client.advertiseKeys();
    this.rounds.set(roundId, { queryId, client });
    return keys;
  }

  /** The vector this node masks in the round: its noisy table, or its noisy sums for the model's next round. */
  private inputFor(prepared: PooledPreparation, begin: pb.SecAggBegin): number[] {
    const { contribution } = prepared;
    const task = begin.task;
    if (contribution.kind === 'table') {
      if (task?.$case !== 'table') throw new FedlabError('INVALID_ARGUMENT', 'secagg: the round asks for a model step of a table query');
      return contribution.values;
    }
    if (task?.$case !== 'glm') throw new FedlabError('INVALID_ARGUMENT', 'secagg: the round asks for a table of a model query');
    const { plan } = contribution;
    const round = prepared.rounds + 1;
    if (round > plan.rounds) throw new FedlabError('INVALID_ARGUMENT', `secagg: a private ${plan.family} fit has ${plan.rounds} round${plan.rounds === 1 ? '' : 's'}; its budget is spent`);
    const { beta } = task.value;
    const expected = round === 1 ? 0 : plan.names.length;
    if (beta.length !== expected) throw new FedlabError('INVALID_ARGUMENT', `secagg: round ${round} of the model needs ${expected} coefficients, not ${beta.length}`);
    if (!beta.every(Number.isFinite)) throw new FedlabError('INVALID_ARGUMENT', 'secagg: beta must be finite');
    const exact = privateRoundVector(plan, contribution.rows, round, round === 1 ? null : beta);
    const sample = this.noise(contribution.shares[round - 1]!);
    return exact.map((v) => v + sample());
  }

  /** A draw of N_Z(0, σ²) from node:crypto (0 for σ² = 0). */
  private noise(sigma2: Rational): () => number {
    if (sigma2.num === 0n) return () => 0;
    const sampler = discreteGaussianSampler(sigma2);
    const random = (this.random ??= createCryptoRandomSource());
    return () => Number(sampler(random));
  }
}
