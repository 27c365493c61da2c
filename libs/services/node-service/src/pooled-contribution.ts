import {
  FedlabError,
  maxRecordsPerPerson,
  type AggregateAnalysis,
  type AggregateKind,
  type CellKey,
  type DatasetSchema,
  type GlmAnalysis,
  type NodePolicy,
  type QuerySpec,
} from '@fedlab/model';
import {
  buildDesign,
  checkPrivateRange,
  privateGlmPlan,
  privateRoundLength,
  privateRoundRho,
  privateRoundSensitivitySquared,
  type Covariate,
  type PrivateCovariate,
  type PrivateGlmFitter,
  type PrivateGlmPlan,
} from '@fedlab/glm';
import type { SecAggServerOptions, SessionLedger } from '@fedlab/secagg';
import { distributedGaussianShare, type Rational } from '@fedlab/dp';
import { compilePrivateRoundSums, compilePrivateAnalysis, privacyPlan, publicDomains, validatePooledAnalysis, type PrivacyPlan } from '@fedlab/query';
import { compileOptions } from './compile-options';
import { addComponentNoise, cryptoNoise, exactReleaseVector, MAX_POOLED_CELLS, releaseKeys, type NoiseSource } from '@fedlab/sdc';
import type { NodeStore } from '@fedlab/store';
import { describeNoise, noiseShares, noiseSharing, type PooledNoiseDescription } from './pooled-noise';

/**
 * What a node keeps in memory between authorising a pooled query and the secure-aggregation rounds
 * that sum it (DESIGN.md §7.2–7.3): never sent anywhere except masked.
 */
export type PreparedContribution =
  | { kind: 'table'; layout: PooledTableLayout; values: number[]; noise: PooledNoiseDescription }
  | {
      kind: 'glm';
      plan: PrivateGlmPlan;
      /**
       * The node's exact integer vector of round `round` (1-based) at `beta` (null in round 1), computed by the
       * dataset engine (compilePrivateRoundSums): no row of the model is held in the node's memory.
       */
      roundVector(round: number, beta: readonly number[] | null): Promise<number[]>;
      noise: PooledNoiseDescription;
      shares: Rational[];
      minPersons: number;
    };

/**
 * The public shape of a pooled table (the same at every node that describes the dataset the same
 * way): its cells — the cross product of the published value sets — and the privacy plan whose
 * components make up the vector (see exactReleaseVector in @fedlab/sdc).
 */
export interface PooledTableLayout {
  kind: AggregateKind;
  dimensions: string[];
  keys: CellKey[];
  plan: PrivacyPlan;
}

/** What preparing a pooled contribution needs besides the query: the ρ it spends and the steward's policy. */
export interface PooledContext {
  rho: number;
  policy: NodePolicy;
  /** Default: the exact sampler on node:crypto. */
  noise?: NoiseSource;
}

/** A prepared contribution and the query it answers. */
export interface PooledPreparation {
  /** The authorised query: checked again against the policy and the project before every round. */
  spec: QuerySpec;
  /** BLAKE2b of the researcher-signed query bytes, bound into every round's session. */
  queryHash: Uint8Array;
  expiresAtMs: number;
  contribution: PreparedContribution;
  /** The sessions this node joined for the query, under its own rules (set at the first session). */
  sessions?: SessionLedger;
  /**
   * A model's fit as this node follows it: the fitter it feeds with each round's verified sum (so it
   * derives the next coefficients itself) and its own view of the last round it joined.
   */
  fit?: { fitter: PrivateGlmFitter; last?: { server: SecAggServerOptions; scaleBits: number } };
  /** A session of this query is being started (its transcript verified, its input computed). */
  starting?: boolean;
  /** A model round was refused after its session counted: the node follows this fit no further. */
  fitBroken?: boolean;
}

/**
 * Computes a node's local contribution to a pooled query that was already authorised: for an
 * aggregate, its contribution-bounded figures laid out on the published domains with this node's
 * share of the noise already added (DESIGN.md §5 "Pooled"); for a model, its bounded rows, the plan
 * and one noise share per round (added round by round by the SecAggParticipant).
 *
 * @throws FedlabError INVALID_QUERY for a group-by without declared values or a binomial response that
 *   is not 0/1 by schema; BOUNDS_MISSING for a measure, covariate or response without declared bounds;
 *   NOISE_UNREACHABLE when the honest nodes' noise cannot be relied on at the query's node count;
 *   RANGE_EXCEEDED when a model's declared bounds could overflow the encoding. `schema` is the dataset's,
 *   as `authorise` returned it.
 */
export async function preparePooled(
  spec: QuerySpec,
  schema: DatasetSchema,
  store: Pick<NodeStore, 'datasets'>,
  context: PooledContext,
): Promise<PreparedContribution> {
  if (spec.analysis.kind === 'glm') return prepareModel(spec.analysis, schema, store, spec.targetNodes.length, context);
  if (spec.analysis.kind === 'evaluation') throw new FedlabError('INVALID_QUERY', 'an evaluation is not a pooled query; do not set pooled');
  if (spec.analysis.kind === 'linkage') throw new FedlabError('INVALID_QUERY', 'a linkage study is not a pooled query; do not set pooled');
  return prepareTable(spec.analysis, schema, store, spec.targetNodes.length, context);
}

/** The public part of a preparation, as JSON: the same at every node that describes the dataset the same way. */
export function describePreparation(contribution: PreparedContribution): string {
  return contribution.kind === 'table' ? JSON.stringify(contribution.layout) : JSON.stringify({ kind: 'glm', plan: contribution.plan });
}

/** The public description of the noise this node adds to its share, as JSON. */
export function describePreparationNoise(contribution: PreparedContribution): string {
  return JSON.stringify(contribution.noise);
}

async function prepareTable(
  analysis: AggregateAnalysis,
  schema: DatasetSchema,
  store: Pick<NodeStore, 'datasets'>,
  nodes: number,
  context: PooledContext,
): Promise<PreparedContribution> {
  validatePooledAnalysis(analysis, schema);
  const sharing = noiseSharing(nodes, context.policy.privacy);
  const compiled = compilePrivateAnalysis(analysis, schema, compileOptions(store.datasets, analysis.dataset));
  const keys = releaseKeys(publicDomains(analysis, schema));
  if (keys.length > MAX_POOLED_CELLS)
    throw new FedlabError('INVALID_QUERY', `a pooled table may have at most ${MAX_POOLED_CELLS} cells; this one would have ${keys.length}`);
  const plan = privacyPlan(analysis.kind, compiled.maxRecordsPerPerson, compiled.grid, context.rho);
  const entries = (name: string) => (name === 'split' ? 2 : 1) * keys.length;
  const shares = noiseShares(
    plan.components.map((c) => ({ ...c, entries: entries(c.name) })),
    sharing,
  );
  await store.datasets.check(analysis.dataset);
  const exact = exactReleaseVector(analysis.kind, plan, keys, compiled.decode(await store.datasets.query(compiled)));
  const dimensions = analysis.kind === 'histogram' ? [...analysis.groupBy, 'bin'] : [...analysis.groupBy];
  return {
    kind: 'table',
    layout: { kind: analysis.kind, dimensions, keys, plan },
    values: addComponentNoise(exact, plan, keys.length, shares, context.noise ?? cryptoNoise),
    noise: describeNoise(shares, sharing, context.policy.privacy.reportDelta),
  };
}

/**
 * A model's plan and the way to compute each round's sums in the engine (DESIGN.md §7.3 under §5's privacy model; @fedlab/glm private-glm.ts): every
 * covariate and a gaussian or poisson response need declared bounds, a binomial response is 0/1 by
 * schema, at most max_records_per_person rows per person are used, and nothing about the rows decides
 * whether the node takes part — only the schema and the public row count do.
 */
async function prepareModel(
  analysis: GlmAnalysis,
  schema: DatasetSchema,
  store: Pick<NodeStore, 'datasets'>,
  nodes: number,
  context: PooledContext,
): Promise<PreparedContribution> {
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const covariates: Covariate[] = [];
  const privateCovariates: PrivateCovariate[] = analysis.covariates.map((name) => {
    const column = columns.get(name)!;
    covariates.push(column.type === 'text' ? { name, kind: 'factor', levels: column.values ?? [] } : { name, kind: 'numeric' });
    if (column.type === 'text') return { name, kind: 'factor', levels: column.values ?? [] };
    if (column.type === 'boolean') return { name, kind: 'numeric', bounds: [0, 1], binary: true, binaryLabels: ['false', 'true'] };
    if (!column.bounds) throw new FedlabError('BOUNDS_MISSING', `covariate '${name}' needs public bounds to enter a model, declared in the dataset schema`);
    return { name, kind: 'numeric', bounds: column.bounds, binary: column.type === 'integer' && column.bounds[0] === 0 && column.bounds[1] === 1 };
  });
  const response = columns.get(analysis.response)!;
  if (analysis.family === 'binomial' && !(response.type === 'boolean' || (response.bounds?.[0] === 0 && response.bounds[1] === 1))) {
    throw new FedlabError('INVALID_QUERY', `a binomial model needs a 0/1 response: '${analysis.response}' must be boolean, or declare bounds [0, 1]`);
  }
  const plan = privateGlmPlan({
    family: analysis.family,
    response: analysis.response,
    responseBounds: response.bounds,
    covariates: privateCovariates,
    rho: context.rho,
    maxRecordsPerPerson: maxRecordsPerPerson(schema),
  });
  const sharing = noiseSharing(nodes, context.policy.privacy);
  // The public row count (the catalog's, rounded to 100), not this query's rows, sizes the range check.
  const publicRows = (store.datasets.catalog().find((d) => d.dataset === schema.dataset)?.approxRows ?? 0) + 100;
  checkPrivateRange(plan, publicRows, nodes, analysis.response);
  if (buildDesign(covariates).names.length !== plan.names.length) throw new FedlabError('INTERNAL', 'the model design and its plan differ');
  const options = compileOptions(store.datasets, analysis.dataset);
  // Every round must read the rows the first one read: an import between rounds would fit a model to two datasets.
  const generation = store.datasets.generation(analysis.dataset);
  // Each round's sums are computed by the engine over the bounded rows (DESIGN.md §7.3): the node never holds the rows.
  const unchanged = (round: number) => {
    if (store.datasets.generation(analysis.dataset) === generation) return;
    throw new FedlabError(
      'DATASET_CHANGED',
      `dataset "${analysis.dataset}" was imported again after round 1 of the model; this node refuses round ${round} and the rest of the fit (resubmit the model)`,
    );
  };
  const roundVector = async (round: number, beta: readonly number[] | null): Promise<number[]> => {
    unchanged(round);
    const compiled = compilePrivateRoundSums(analysis, schema, plan, round, beta, options);
    const results = [];
    for (const statement of compiled.statements) {
      await store.datasets.check(analysis.dataset);
      results.push(await store.datasets.query(statement));
    }
    // Again after the round's statements: an import that committed while they ran may have served some of them.
    unchanged(round);
    return compiled.decode(results);
  };
  // One noise share per round (its own sensitivity and ρ), described to the coordinator as "round N".
  const shares = Array.from({ length: plan.rounds }, (_, i) =>
    distributedGaussianShare(privateRoundSensitivitySquared(plan, i + 1), privateRoundRho(plan, i + 1), sharing.honest, privateRoundLength(plan, i + 1)),
  );
  return {
    kind: 'glm',
    plan,
    roundVector,
    noise: describeNoise(new Map(shares.map((share, i) => [`round ${i + 1}`, share])), sharing, context.policy.privacy.reportDelta),
    shares,
    minPersons: context.policy.sdc.minPersons,
  };
}
