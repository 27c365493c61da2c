import { FedlabError, silentLogger, type Logger } from '@fedlab/model';
import { blake2b, createRosterSecAggCrypto, secureUniformSource } from '@fedlab/crypto';
import { type Identity, type Roster } from '@fedlab/governance';
import { PrivateGlmFitter } from '@fedlab/glm';
import { createCryptoRandomSource, discreteGaussianNumberSampler, rationalToNumber, type RandomSource, type Rational } from '@fedlab/dp';
import type { NodeMetrics } from '@fedlab/ops';
import * as pb from '@fedlab/proto';
import { SecAggClient, SessionLedger, decodeContribution, encodeContribution, verifyTranscript } from '@fedlab/secagg';
import { roundQueryHash, toWire } from '@fedlab/wire';
import type { PooledPreparation } from './pooled-contribution';

/** Where the participant may stop on purpose, for fault tests with real processes (see docs/configuration.md). */
export type SecAggFailpoint = 'before-masked-input' | 'after-masked-input';

export interface SecAggParticipantOptions {
  identity: Identity;
  /** The roster in force (it may be replaced while the node runs). */
  roster: () => Roster;
  /** The preparation of an authorised pooled query, if this node has one. */
  preparation: (queryId: string) => PooledPreparation | undefined;
  /**
   * Checks again, before each round, that the query is still allowed (policy, project approval,
   * revocation, expiry): a steward's change stops a model fit between rounds. Throws the refusal.
   */
  authorise: (prepared: PooledPreparation) => void;
  /** Drops a finished pooled query's preparation. */
  forget: (queryId: string) => void;
  /**
   * Records an audit entry: every session offered (joined or refused by the session rules, with the
   * session's hash and the reason) and every masked input sent (its digest).
   */
  audit: (queryId: string, decision: string, digest: Uint8Array, reason: string) => void;
  /** Counts sessions refused under the node's rules (docs/operations.md). */
  metrics?: Pick<NodeMetrics, 'sessionRefused'>;
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
      if (s.$case === 'begin') return reply({ $case: 'keys', value: toWire(await this.begin(queryId, roundId, s.value)) });
      const round = this.rounds.get(roundId);
      if (!round || round.queryId !== queryId)
        throw new FedlabError('INVALID_ARGUMENT', 'secagg: no such round at this node (it never began, or was forgotten)');
      const { client } = round;
      switch (s.$case) {
        case 'keyList':
          return reply({ $case: 'shareKeys', value: toWire(await client.shareKeys(s.value.keys)) });
        case 'shares': {
          if (this.fail('before-masked-input')) return undefined;
          const masked = client.maskedInput(s.value.shares);
          this.options.audit(queryId, 'secagg-masked-input', blake2b(masked.masked, 32), '');
          this.logger.info({ queryId, nodeId: client.id }, 'secagg masked input sent');
          return reply({ $case: 'maskedInput', value: toWire(masked) });
        }
        case 'consistency':
          return reply({ $case: 'consistency', value: toWire(client.consistencyCheck(s.value)) });
        case 'unmask': {
          const message = client.unmask(s.value);
          this.rounds.delete(roundId);
          // A table's one sum is done: its noisy vector is destroyed, so no later session could use it.
          const prepared = this.options.preparation(queryId);
          if (prepared?.contribution.kind === 'table') prepared.contribution.values.fill(0).length = 0;
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

  private async begin(queryId: string, roundId: string, begin: pb.SecAggBegin) {
    const prepared = this.options.preparation(queryId);
    const nodeId = this.options.identity.id;
    // Expired preparations are dropped by the agent before they are handed out.
    if (!prepared)
      throw new FedlabError(
        'INVALID_ARGUMENT',
        'secagg: this node holds no authorised contribution for the query (not asked, refused, expired, or restarted since)',
      );
    if (this.rounds.has(roundId)) throw new FedlabError('INVALID_ARGUMENT', 'secagg: replayed round start');
    if (!begin.participants.includes(nodeId)) throw new FedlabError('INVALID_ARGUMENT', 'secagg: this node is not a participant of the round');
    this.options.authorise(prepared);
    const { contribution, spec } = prepared;
    // The node's own terms, from the signed query (DESIGN.md §7.2 "Sessions are the node's decision"):
    // exactly the targets, its own threshold (every target for a model), and no more sessions than needed.
    const sessions = (prepared.sessions ??= new SessionLedger({
      nodeId,
      targets: spec.targetNodes,
      sessions: contribution.kind === 'table' ? 1 : contribution.plan.rounds,
      threshold: contribution.kind === 'table' ? contribution.noise.threshold : spec.targetNodes.length,
    }));
    const excess = sessions.joined >= (contribution.kind === 'table' ? 1 : contribution.plan.rounds);
    const queryHash = roundQueryHash(prepared.queryHash, begin);
    let admitted = false;
    try {
      // Contributions are integers (tables in grid units, models at the plan's own scale): a coordinator-chosen
      // scale would only shrink the range check into a probe of this node's noisy share.
      if (begin.scaleBits !== 0) throw new FedlabError('SESSION_NOT_ALLOWED', 'secagg: a session sums integers; its scale must be 0 bits');
      // One session starts at a time per query: a model's fit state advances only through one verified round.
      if (prepared.starting) throw new FedlabError('SESSION_NOT_ALLOWED', 'secagg: another session of this query is starting at this node');
      if (prepared.fitBroken)
        throw new FedlabError('SESSION_NOT_ALLOWED', 'secagg: an earlier round of this model fit was refused here; the fit cannot continue');
      sessions.admit(begin);
      admitted = true;
      prepared.starting = true;
      let values: number[];
      try {
        values = await this.inputFor(prepared, begin, sessions.joined);
      } finally {
        prepared.starting = false;
      }
      if (values.length * 2 !== begin.vectorLength)
        throw new FedlabError('POOLED_MISMATCH', `secagg: the round expects ${begin.vectorLength} words; this node's contribution has ${values.length * 2}`);
      let input: Uint32Array;
      try {
        input = encodeContribution(values, { scaleBits: 0, parties: begin.participants.length, random: secureUniformSource() });
      } catch {
        // Never say which entry: the coordinator must not learn where this node's noisy vector is large.
        throw new FedlabError('RANGE_EXCEEDED', "secagg: this node's contribution is outside the range the session can sum exactly");
      }
      const crypto = createRosterSecAggCrypto(this.options.identity, this.options.roster());
      const client = new SecAggClient({ id: nodeId, participants: begin.participants, roundId, queryHash, threshold: begin.threshold, input, crypto });
      const server = { participants: begin.participants, roundId, queryHash, threshold: sessions.requiredThreshold, vectorLength: begin.vectorLength, crypto };
      if (prepared.fit) prepared.fit.last = { server, scaleBits: 0 };
      this.options.audit(queryId, 'secagg-session', queryHash, `session ${sessions.joined} of the query`);
      const keys = client.advertiseKeys();
      this.rounds.set(roundId, { queryId, client });
      return keys;
    } catch (error) {
      // A model session that counted but did not start: the fitter may have taken a step it should not keep
      // (a replayed transcript could step it again), so this node follows the fit no further.
      if (admitted && contribution.kind === 'glm') prepared.fitBroken = true;
      const fe = FedlabError.from(error);
      if (fe.code === 'SESSION_NOT_ALLOWED' || fe.code === 'TRANSCRIPT_INVALID') {
        this.options.audit(queryId, 'secagg-session-refused', queryHash, `${fe.code}: ${fe.message}`);
        this.options.metrics?.sessionRefused(fe.code, excess);
        if (excess)
          this.logger.warn(
            { queryId, nodeId, sessions: sessions.joined },
            'the coordinator asked for more secure-aggregation sessions than the query needs; refused',
          );
      }
      throw error;
    }
  }

  /**
   * The vector this node masks in the round: its noisy table, or its noisy sums for the model's round
   * `round` at the coefficients the node derives itself from the previous round's verified sum.
   */
  private async inputFor(prepared: PooledPreparation, begin: pb.SecAggBegin, round: number): Promise<number[]> {
    const { contribution } = prepared;
    const task = begin.task;
    if (contribution.kind === 'table') {
      if (task?.$case !== 'table') throw new FedlabError('INVALID_ARGUMENT', 'secagg: the round asks for a model step of a table query');
      return contribution.values;
    }
    if (task?.$case !== 'glm') throw new FedlabError('INVALID_ARGUMENT', 'secagg: the round asks for a table of a model query');
    const { plan } = contribution;
    const fit = (prepared.fit ??= { fitter: new PrivateGlmFitter({ plan, minPersons: contribution.minPersons }) });
    const { beta, previous } = task.value;
    if (round === 1 && (beta.length > 0 || previous !== undefined))
      throw new FedlabError('SESSION_NOT_ALLOWED', 'secagg: the first round of a model fit starts from no coefficients and no earlier round');
    if (round > 1) {
      const last = fit.last;
      if (!previous || !last) throw new FedlabError('TRANSCRIPT_INVALID', `secagg: round ${round} of the model fit needs the transcript of round ${round - 1}`);
      const sum = await verifyTranscript(last.server, previous);
      // The same post-processing as the coordinator's: the noise of every participant's share of round − 1.
      const share = rationalToNumber(contribution.shares[round - 2]!);
      fit.fitter.accept(
        decodeContribution(sum, last.scaleBits),
        last.server.participants.reduce((total) => total + share, 0),
      );
      const derived = fit.fitter.next()?.beta ?? [];
      if (derived.length !== beta.length || derived.some((b, j) => Math.abs(b - beta[j]!) > 1e-9 * Math.max(1, Math.abs(b)))) {
        throw new FedlabError('SESSION_NOT_ALLOWED', `secagg: round ${round}'s coefficients are not those the verified sum of round ${round - 1} gives`);
      }
    }
    const exact = await contribution.roundVector(round, round === 1 ? null : beta);
    const sample = this.noise(contribution.shares[round - 1]!);
    return exact.map((v) => v + sample());
  }

  /** A draw of N_Z(0, σ²) from node:crypto (0 for σ² = 0). */
  private noise(sigma2: Rational): () => number {
    if (sigma2.num === 0n) return () => 0;
    const sampler = discreteGaussianNumberSampler(sigma2);
    const random = (this.random ??= createCryptoRandomSource());
    return () => sampler(random);
  }
}
