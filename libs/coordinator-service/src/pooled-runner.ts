import { FedlabError, isAggregateAnalysis, silentLogger, type AggregateAnalysis, type GlmAnalysis, type Logger, type QuerySpec, type SdcPolicy } from '@fedlab/model';
import { createRosterSecAggCrypto, deriveRoundingKey, type Identity, type Roster } from '@fedlab/crypto';
import { GlmFitter, contributionLength, type GlmResult } from '@fedlab/glm';
import * as pb from '@fedlab/proto';
import { applyDisclosureControl, cellKeyRandom, pooledCells, POOLED_CELL_FIELDS, STATISTICS_BY_KIND, strictestPolicy, type PooledLayout } from '@fedlab/sdc';
import { decodeContribution, defaultThreshold } from '@fedlab/secagg';
import { resultTableToProto, roundQueryHash } from '@fedlab/wire';
import type { CoordinatorMetrics } from '@fedlab/ops';
import { SecAggRound, type SendStep } from './secagg-round';

/** Fixed-point scale bits of pooled tables (counts are exact; totals keep 2^-16). */
export const TABLE_SCALE_BITS = 16;
/** Fixed-point scale bits of model sums (XᵀWX, XᵀWz, deviance). */
export const MODEL_SCALE_BITS = 24;

/** A node that answered a pooled query with PooledReady. */
export interface ReadyNode {
  nodeId: string;
  ready: pb.PooledReady;
}

export interface PooledRunnerOptions {
  identity: Identity;
  roster: Roster;
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
  /** Secret of the coordinator's cell-key rounding draws, derived from its signing key. */
  private readonly roundingKey: Uint8Array;

  constructor(private readonly options: PooledRunnerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.roundingKey = deriveRoundingKey(options.identity);
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
      return { outcome: refusal('TOO_FEW_NODES', `only ${ready.length} node(s) could contribute to the pooled result; at least 2 must; nothing was released`), contributingNodes: [], rounds: 0 };
    }
    const layouts = new Set(ready.map((r) => r.ready.layout));
    if (layouts.size !== 1) {
      return { outcome: refusal('POOLED_MISMATCH', `the nodes describe dataset "${spec.analysis.dataset}" differently (different categories or model terms); nothing was released`), contributingNodes: [], rounds: 0 };
    }
    const participants = ready.map((r) => r.nodeId).sort();
    const layout = JSON.parse(ready[0]!.ready.layout) as unknown;
    try {
      if (isAggregateAnalysis(spec.analysis)) {
        const policies = ready.map((r) => toPolicy(r.ready.sdc));
        return await this.table(spec, spec.analysis, queryHash, participants, layout as PooledLayout, strictestPolicy(policies));
      }
      if (spec.analysis.kind !== 'glm') throw new FedlabError('INVALID_QUERY', 'a linkage study is not a pooled query');
      return await this.model(spec, spec.analysis, queryHash, participants, (layout as { names: string[] }).names);
    } catch (error) {
      const fe = FedlabError.from(error);
      if (fe.code === 'INTERNAL') this.logger.error({ queryId: spec.queryId, nodeIds: participants, err: error }, 'pooled run failed');
      return { outcome: refusal(fe.code, fe.message), contributingNodes: [], rounds: 0 };
    }
  }

  private async table(spec: QuerySpec, analysis: AggregateAnalysis, queryHash: Uint8Array, participants: string[], layout: PooledLayout, policy: SdcPolicy): Promise<PooledOutcome> {
    const length = layout.keys.length * POOLED_CELL_FIELDS.length;
    const { sum, survivors } = await this.round(spec.queryId, `${spec.queryId}/1`, queryHash, participants, length, TABLE_SCALE_BITS, { $case: 'table', value: true });
    const cells = pooledCells(layout, decodeContribution(sum, TABLE_SCALE_BITS));
    const controlled = applyDisclosureControl({ kind: analysis.kind, dimensions: layout.dimensions, cells, policy, random: cellKeyRandom(this.roundingKey, analysis, layout.dimensions) });
    this.options.metrics?.cellsSuppressed(analysis.kind, controlled.cells.flatMap((c) => (c.suppressed ? [c.suppressed.rule] : [])));
    if (controlled.report.releasedCells === 0) {
      return { outcome: refusal('ALL_CELLS_SUPPRESSED', 'disclosure control released no cells of the pooled table; widen the groups or the filter'), contributingNodes: survivors, rounds: 1 };
    }
    const table = {
      kind: analysis.kind,
      dataset: analysis.dataset,
      dimensions: layout.dimensions,
      statistics: STATISTICS_BY_KIND[analysis.kind],
      cells: controlled.cells,
      report: { ...controlled.report, notes: [...controlled.report.notes, `pooled over ${survivors.length} nodes under the strictest of their disclosure policies`] },
    };
    return { outcome: { $case: 'table', value: resultTableToProto(table) }, contributingNodes: survivors, rounds: 1 };
  }

  private async model(spec: QuerySpec, analysis: GlmAnalysis, queryHash: Uint8Array, participants: string[], names: string[]): Promise<PooledOutcome> {
    const fitter = new GlmFitter({ family: analysis.family, names });
    const length = contributionLength(names.length);
    let rounds = 0;
    for (let request = fitter.next(); request !== null; request = fitter.next()) {
      rounds += 1;
      const task: pb.SecAggBegin['task'] = { $case: 'glm', value: { beta: request.beta ?? [], nullMean: request.nullMean ?? Number.NaN } };
      const { sum, survivors } = await this.round(spec.queryId, `${spec.queryId}/${rounds}`, queryHash, participants, length, MODEL_SCALE_BITS, task);
      if (survivors.length !== participants.length) {
        const lost = participants.filter((id) => !survivors.includes(id));
        return { outcome: refusal('NODE_DISCONNECTED', `${lost.join(', ')} dropped out during the model fit (round ${rounds}); nothing was released; resubmit the query`), contributingNodes: [], rounds };
      }
      fitter.accept(Float64Array.from(decodeContribution(sum, MODEL_SCALE_BITS)));
    }
    return { outcome: { $case: 'glm', value: glmToProto(fitter.result()) }, contributingNodes: participants, rounds };
  }

  private async round(queryId: string, roundId: string, queryHash: Uint8Array, participants: string[], entries: number, scaleBits: number, task: pb.SecAggBegin['task']) {
    const begin: pb.SecAggBegin = { participants, threshold: defaultThreshold(participants.length), vectorLength: entries * 2, scaleBits, task };
    const round = new SecAggRound({
      queryId,
      roundId,
      begin,
      queryHash: roundQueryHash(queryHash, begin),
      crypto: createRosterSecAggCrypto(this.options.identity, this.options.roster),
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
      this.rounds.delete(roundId);
    }
  }
}

function toPolicy(sdc: pb.SdcSettings | undefined): SdcPolicy {
  if (!sdc) throw new FedlabError('INVALID_ARGUMENT', 'a node declared no disclosure policy for a pooled query');
  return { minPersons: sdc.minPersons, dominanceMaxShare: sdc.dominanceMaxShare, rounding: sdc.rounding === 'random5' ? 'random5' : 'none' };
}

/** The wire form of a fitted model. */
export function glmToProto(r: GlmResult): pb.GlmResult {
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
  };
}
