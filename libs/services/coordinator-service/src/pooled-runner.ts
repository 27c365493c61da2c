import {
  FedlabError,
  isAggregateAnalysis,
  silentLogger,
  type AggregateAnalysis,
  type CellKey,
  type Logger,
  type QuerySpec,
  type SdcPolicy,
} from '@fedlab/model';
import { createRosterSecAggCrypto } from '@fedlab/crypto';
import { type Identity, type Roster } from '@fedlab/governance';
import { PrivateGlmFitter, privateRoundLength, type PrivateGlmPlan, type PrivateGlmResult } from '@fedlab/glm';
import { zcdpToApproxDp } from '@fedlab/dp';
import * as pb from '@fedlab/proto';
import { formatRho, PRIVATE_STATISTICS_BY_KIND, releaseNoisyVector, releaseVectorLength, strictestPolicy } from '@fedlab/sdc';
import type { NoiseComponentName, PrivacyPlan } from '@fedlab/query';
import { decodeContribution, defaultThreshold } from '@fedlab/secagg';
import { resultTableToProto, roundQueryHash, toWire } from '@fedlab/wire';
import type { CoordinatorMetrics } from '@fedlab/ops';
import { SecAggRound, type SendStep } from './secagg-round';

/** Fixed-point scale bits of pooled tables: 0, their entries are integers (counts, and sums in grid units). */
export const TABLE_SCALE_BITS = 0;
/** Fixed-point scale bits of a private fit's sums: 0, the nodes send integers at the plan's own scale. */
export const MODEL_SCALE_BITS = 0;

/** A node that answered a pooled query with PooledReady. */
export interface ReadyNode {
  nodeId: string;
  ready: pb.PooledReady;
}

export interface PooledRunnerOptions {
  identity: Identity;
  /** The roster in force (a published roster replaces it while the coordinator runs). */
  roster: () => Roster;
  send: SendStep;
  phaseTimeoutMs: number;
  logger?: Logger;
  /** Records rounds, dropouts and suppressed cells (docs/operations.md). */
  metrics?: CoordinatorMetrics;
}

/** What a pooled run produced: the outcome, who contributed, and how many rounds it took. */
export interface PooledOutcome {
  outcome: NonNullable<pb.PooledResult['outcome']>;
  contributingNodes: string[];
  rounds: number;
}

const refusal = (code: string, message: string): PooledOutcome['outcome'] => ({ $case: 'refusal', value: { code, message } });

/**
 * Computes a pooled query's result from the nodes that prepared a contribution (DESIGN.md §7.2–7.3):
 * one secure-aggregation round for an aggregate, then disclosure control on the sums under the
 * strictest policy of the contributing nodes; one round per IRLS step for a model, then the model
 * disclosure rules. Requires at least two contributing nodes. The coordinator sees only sums.
 */
export class PooledRunner {
  private readonly logger: Logger;
  private readonly rounds = new Map<string, SecAggRound>();

  constructor(private readonly options: PooledRunnerOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Routes a node's secure-aggregation reply to its round. */
  receive(nodeId: string, reply: pb.SecAggReply): void {
    const round = this.rounds.get(reply.roundId);
    if (round) round.receive(nodeId, reply);
    else this.logger.warn({ nodeId, queryId: reply.queryId }, 'secagg reply for no active round ignored');
  }

  /** A node's stream closed: every round stops waiting for it. */
  nodeLost(nodeId: string): void {
    for (const round of this.rounds.values()) round.nodeLost(nodeId);
  }

  async run(spec: QuerySpec, queryHash: Uint8Array, ready: ReadyNode[]): Promise<PooledOutcome> {
    if (ready.length < 2) {
      return {
        outcome: refusal('TOO_FEW_NODES', `only ${ready.length} node(s) could contribute to the pooled result; at least 2 must; nothing was released`),
        contributingNodes: [],
        rounds: 0,
      };
    }
    const layouts = new Set(ready.map((r) => r.ready.layout));
    if (layouts.size !== 1) {
      return {
        outcome: refusal(
          'POOLED_MISMATCH',
          `the nodes describe dataset "${spec.analysis.dataset}" differently (different categories or model terms); nothing was released`,
        ),
        contributingNodes: [],
        rounds: 0,
      };
    }
    // Every session names exactly the signed query's targets (nodes refuse anything else); a target that
    // did not prepare a contribution simply never joins it.
    const participants = [...spec.targetNodes].sort();
    const contributors = ready.map((r) => r.nodeId).sort();
    const layout = JSON.parse(ready[0]!.ready.layout) as unknown;
    try {
      const noise = new Map(ready.map((r) => [r.nodeId, parseNoise(r.ready.noise)]));
      const policy = strictestPolicy(ready.map((r) => toPolicy(r.ready.sdc)));
      // Each node's guarantee counts on the other honest nodes adding as much noise as it does.
      if (new Set([...noise.values()].map((n) => `${n.honest}/${n.threshold}`)).size !== 1) {
        const message =
          "the nodes sized their shares of the noise for different numbers of colluding nodes (their stewards' privacy.colluding_nodes differ); nothing was released";
        return { outcome: refusal('POOLED_MISMATCH', message), contributingNodes: [], rounds: 0 };
      }
      if (isAggregateAnalysis(spec.analysis))
        return await this.table(spec, spec.analysis, queryHash, participants, contributors.length, layout as PooledTableLayout, policy, noise);
      if (spec.analysis.kind !== 'glm') throw new FedlabError('INVALID_QUERY', 'a linkage study is not a pooled query');
      if (contributors.length < participants.length) {
        const missing = participants.filter((id) => !contributors.includes(id));
        const message = `the model was asked of ${spec.targetNodes.length} nodes but ${missing.join(', ')} did not agree to contribute (see their answers); a model over fewer nodes than asked is not released`;
        return { outcome: refusal('TOO_FEW_NODES', message), contributingNodes: [], rounds: 0 };
      }
      return await this.model(spec, queryHash, participants, (layout as { plan: PrivateGlmPlan }).plan, policy, noise);
    } catch (error) {
      const fe = FedlabError.from(error);
      if (fe.code === 'INTERNAL') this.logger.error({ queryId: spec.queryId, nodeIds: contributors, err: error }, 'pooled run failed');
      return { outcome: refusal(fe.code, fe.message), contributingNodes: [], rounds: 0 };
    }
  }

  /**
   * One secure-aggregation round over the nodes' noisy shares, then post-processing of the noisy sum:
   * the coordinator never holds a figure without the survivors' noise in it (DESIGN.md §5 "Pooled").
   */
  private async table(
    spec: QuerySpec,
    analysis: AggregateAnalysis,
    queryHash: Uint8Array,
    participants: string[],
    contributors: number,
    layout: PooledTableLayout,
    policy: SdcPolicy,
    noise: Map<string, NodeNoise>,
  ): Promise<PooledOutcome> {
    const length = releaseVectorLength(layout.plan, layout.keys.length);
    // Each node sized its noise for a release with at least its threshold of survivors: never fewer.
    const threshold = Math.max(defaultThreshold(participants.length), ...[...noise.values()].map((n) => n.threshold));
    if (threshold > contributors) {
      const message = `the nodes sized their shares of the noise for at least ${threshold} of them taking part; only ${contributors} could contribute; nothing was released`;
      return { outcome: refusal('THRESHOLD_NOT_MET', message), contributingNodes: [], rounds: 0 };
    }
    const { sum, survivors } = await this.round(
      spec.queryId,
      `${spec.queryId}/1`,
      queryHash,
      participants,
      length,
      TABLE_SCALE_BITS,
      { $case: 'table', value: true },
      threshold,
    );
    // The noise in each entry is the sum of the survivors' independent shares.
    const variance = new Map<NoiseComponentName, number>();
    for (const id of survivors)
      for (const [name, v] of Object.entries(noise.get(id)!.variances))
        variance.set(name as NoiseComponentName, (variance.get(name as NoiseComponentName) ?? 0) + v);
    const honest = Math.min(...survivors.map((id) => noise.get(id)!.honest));
    const released = releaseNoisyVector({
      kind: analysis.kind,
      dimensions: layout.dimensions,
      keys: layout.keys,
      vector: decodeContribution(sum, TABLE_SCALE_BITS),
      plan: layout.plan,
      policy,
      reportDelta: Math.min(...survivors.map((id) => noise.get(id)!.reportDelta)),
      noiseVariance: variance,
      notes: [
        `pooled over ${survivors.length} nodes under the strictest of their disclosure policies; each node added its own share of the noise before masking, ` +
          `sized so that the shares of any ${honest} honest node${honest === 1 ? '' : 's'} alone give ρ = ${formatRho(layout.plan.rho)} even if the others collude with the coordinator`,
      ],
    });
    this.options.metrics?.cellsSuppressed(
      analysis.kind,
      released.cells.flatMap((c) => (c.suppressed ? [c.suppressed.rule] : [])),
    );
    if (released.report.releasedCells === 0) {
      return {
        outcome: refusal('ALL_CELLS_SUPPRESSED', 'disclosure control released no cells of the pooled table; widen the groups or the filter'),
        contributingNodes: survivors,
        rounds: 1,
      };
    }
    const table = {
      kind: analysis.kind,
      dataset: analysis.dataset,
      dimensions: layout.dimensions,
      statistics: PRIVATE_STATISTICS_BY_KIND[analysis.kind],
      cells: released.cells,
      report: released.report,
      privacy: released.privacy,
    };
    return { outcome: { $case: 'table', value: resultTableToProto(table) }, contributingNodes: survivors, rounds: 1 };
  }

  /**
   * A private fit (DESIGN.md §7.3 under §5): the plan's fixed number of rounds, each the nodes' noisy
   * sums at the coefficients the previous round's sums gave. Every asked node must take part in
   * every round: a node that refuses or drops out mid-fit refuses the fit, with its reason.
   */
  private async model(
    spec: QuerySpec,
    queryHash: Uint8Array,
    participants: string[],
    plan: PrivateGlmPlan,
    policy: SdcPolicy,
    noise: Map<string, NodeNoise>,
  ): Promise<PooledOutcome> {
    const fitter = new PrivateGlmFitter({ plan, minPersons: policy.minPersons });
    const threshold = participants.length;
    const described = participants.every((id) =>
      Array.from({ length: plan.rounds }, (_, i) => noise.get(id)!.variances[`round ${i + 1}`]).every((v) => v !== undefined),
    );
    if (!described)
      return {
        outcome: refusal('POOLED_MISMATCH', 'a node did not describe the noise of every round of the model fit; nothing was released'),
        contributingNodes: [],
        rounds: 0,
      };
    // The noise in each entry of round r's sum: the participants' shares for that round, added.
    const variance = (round: number) => participants.reduce((sum, id) => sum + noise.get(id)!.variances[`round ${round}`]!, 0);
    let rounds = 0;
    // Each round after the first carries the previous one's transcript: the nodes verify it and derive the
    // coefficients themselves (DESIGN.md §7.2), so these must be exactly the ones the fitter derives here.
    let previous: pb.SecAggTranscript | undefined;
    for (let request = fitter.next(); request !== null; request = fitter.next()) {
      rounds += 1;
      const task: pb.SecAggBegin['task'] = { $case: 'glm', value: { beta: request.beta ?? [], nullMean: Number.NaN, previous } };
      const length = privateRoundLength(plan, request.round);
      const refusals = new Map<string, { code: string; message: string }>();
      const outcome = await this.round(
        spec.queryId,
        `${spec.queryId}/${rounds}`,
        queryHash,
        participants,
        length,
        MODEL_SCALE_BITS,
        task,
        threshold,
        refusals,
      ).catch((error: unknown) => error as Error);
      const refused = [...refusals].sort(([a], [b]) => a.localeCompare(b));
      if (outcome instanceof Error || outcome.survivors.length !== participants.length) {
        const [first] = refused;
        if (first) {
          const [nodeId, reason] = first;
          return {
            outcome: refusal(reason.code, `${nodeId} refused round ${rounds} of the model fit: ${reason.message}; nothing was released`),
            contributingNodes: [],
            rounds,
          };
        }
        const lost = outcome instanceof Error ? participants : participants.filter((id) => !outcome.survivors.includes(id));
        return {
          outcome: refusal(
            'NODE_DISCONNECTED',
            `${lost.join(', ')} did not complete round ${rounds} of the model fit; a model over fewer nodes than asked is not released`,
          ),
          contributingNodes: [],
          rounds,
        };
      }
      previous = toWire(outcome.transcript);
      try {
        fitter.accept(decodeContribution(outcome.sum, MODEL_SCALE_BITS), variance(request.round));
      } catch (error) {
        // A disclosure rule on the noisy sums (or a singular model): refused after the rounds it took.
        const fe = FedlabError.from(error);
        return { outcome: refusal(fe.code, fe.message), contributingNodes: [], rounds };
      }
    }
    const result = fitter.result();
    const reportDelta = Math.min(...participants.map((id) => noise.get(id)!.reportDelta));
    const privacy: pb.ReleasePrivacy = {
      rho: plan.rho,
      epsilon: zcdpToApproxDp(plan.rho, reportDelta),
      delta: reportDelta,
      maxRecordsPerPerson: plan.maxRecordsPerPerson,
      // The noise per entry of the last round's sums (each averaged round has as much); the row count comes from the first round's.
      noise: [
        { statistic: 'model_sums', sd: Math.sqrt(variance(plan.rounds)) / 2 ** plan.scaleBits },
        { statistic: 'row_count', sd: Math.sqrt(variance(1)) / 2 ** plan.scaleBits },
      ],
    };
    return { outcome: { $case: 'glm', value: glmToProto(result, privacy) }, contributingNodes: participants, rounds };
  }

  private async round(
    queryId: string,
    roundId: string,
    queryHash: Uint8Array,
    participants: string[],
    entries: number,
    scaleBits: number,
    task: pb.SecAggBegin['task'],
    threshold = defaultThreshold(participants.length),
    refusals?: Map<string, { code: string; message: string }>,
  ) {
    const begin: pb.SecAggBegin = { participants, threshold, vectorLength: entries * 2, scaleBits, task };
    const round = new SecAggRound({
      queryId,
      roundId,
      begin,
      queryHash: roundQueryHash(queryHash, begin),
      crypto: createRosterSecAggCrypto(this.options.identity, this.options.roster()),
      send: this.options.send,
      phaseTimeoutMs: this.options.phaseTimeoutMs,
      logger: this.logger,
    });
    this.rounds.set(roundId, round);
    try {
      const result = await round.run();
      this.options.metrics?.protocolRunEnded('secagg', undefined, participants.length - result.survivors.length);
      this.logger.info({ queryId, nodeIds: result.survivors, nodes: result.survivors.length }, 'secagg round complete');
      return result;
    } catch (error) {
      this.options.metrics?.protocolRunEnded('secagg', FedlabError.from(error).code, 0);
      round.abort(FedlabError.from(error).code, 'the round failed');
      throw error;
    } finally {
      for (const [nodeId, reason] of round.refusals) refusals?.set(nodeId, reason);
      this.rounds.delete(roundId);
    }
  }
}

/** The public shape of a pooled table a node prepared (PooledReady.layout; pooled-contribution.ts at the node). */
interface PooledTableLayout {
  kind: AggregateAnalysis['kind'];
  dimensions: string[];
  keys: CellKey[];
  plan: PrivacyPlan;
}

/** The noise a node added to its share (PooledReady.noise). */
interface NodeNoise {
  variances: Record<string, number>;
  threshold: number;
  honest: number;
  reportDelta: number;
}

function parseNoise(json: string): NodeNoise {
  const noise = (json ? JSON.parse(json) : null) as Partial<NodeNoise> | null;
  const valid =
    noise !== null &&
    typeof noise.variances === 'object' &&
    Object.values(noise.variances ?? {}).every((v) => typeof v === 'number' && v >= 0 && Number.isFinite(v)) &&
    Number.isInteger(noise.honest) &&
    Number.isInteger(noise.threshold) &&
    typeof noise.reportDelta === 'number';
  if (!valid) throw new FedlabError('POOLED_MISMATCH', 'a node did not describe the noise it adds to its share of a pooled table; nothing was released');
  return noise as NodeNoise;
}

function toPolicy(sdc: pb.SdcSettings | undefined): SdcPolicy {
  if (!sdc) throw new FedlabError('INVALID_ARGUMENT', 'a node declared no disclosure policy for a pooled query');
  return { minPersons: sdc.minPersons, dominanceMaxShare: sdc.dominanceMaxShare, rounding: sdc.rounding === 'random5' ? 'random5' : 'none' };
}

/** The wire form of a fitted model. */
export function glmToProto(r: PrivateGlmResult, privacy: pb.ReleasePrivacy): pb.GlmResult {
  return {
    family: r.family,
    link: r.link,
    statisticName: r.statisticName,
    coefficients: r.coefficients,
    deviance: r.deviance,
    nullDeviance: r.nullDeviance,
    dfResidual: BigInt(r.dfResidual),
    dfNull: BigInt(r.dfNull),
    dispersion: r.dispersion,
    aic: r.aic,
    iterations: r.iterations,
    converged: r.converged,
    rows: BigInt(r.rows),
    privacy,
    notes: r.notes,
  };
}
