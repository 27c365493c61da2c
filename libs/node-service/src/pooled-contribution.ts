import type { Database } from 'better-sqlite3';
import { FedlabError, type AggregateAnalysis, type AggregateKind, type CellKey, type DatasetSchema, type GlmAnalysis, type NodePolicy, type QuerySpec } from '@fedlab/model';
import { buildDesign, checkNodeRows, checkResponse, designRow, type Covariate, type GlmFamily, type LocalRows } from '@fedlab/glm';
import { compileModelRows, compilePrivateAnalysis, privacyPlan, publicDomains, validatePooledAnalysis, type PrivacyPlan } from '@fedlab/query';
import { addComponentNoise, cryptoNoise, exactReleaseVector, MAX_POOLED_CELLS, releaseKeys, type NoiseSource } from '@fedlab/sdc';
import { getDatasetSchema, hasPersonColumns, runQuery } from '@fedlab/store';
import { describeNoise, noiseShares, noiseSharing, type PooledNoiseDescription } from './pooled-noise';

/**
 * What a node keeps in memory between authorising a pooled query and the secure-aggregation rounds
 * that sum it (DESIGN.md §7.2–7.3): never sent anywhere except masked.
 */
export type PreparedContribution =
  | { kind: 'table'; layout: PooledTableLayout; values: number[]; noise: PooledNoiseDescription }
  | { kind: 'glm'; family: GlmFamily; names: string[]; rows: LocalRows };

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
  /** BLAKE2b of the researcher-signed query bytes, bound into every round's session. */
  queryHash: Uint8Array;
  expiresAtMs: number;
  contribution: PreparedContribution;
  /** Rounds this node has taken part in for the query (bounded: see MAX_ROUNDS_PER_QUERY). */
  rounds: number;
}

/**
 * Computes a node's local contribution to a pooled query that was already authorised: for an
 * aggregate, its contribution-bounded figures laid out on the published domains with this node's
 * share of the noise already added (DESIGN.md §5 "Pooled"); for a model, its rows.
 *
 * @throws FedlabError INVALID_QUERY for a group-by without declared values; NOISE_UNREACHABLE when the
 *   honest nodes' noise cannot be relied on at the query's node count; MODEL_NOT_RELEASABLE when this
 *   node has fewer than 10 rows per model parameter; INVALID_ARGUMENT for a response the family cannot model.
 */
export function preparePooled(spec: QuerySpec, db: Database, context: PooledContext): PreparedContribution {
  const schema = getDatasetSchema(db, spec.analysis.dataset);
  if (!schema) throw new FedlabError('UNKNOWN_DATASET', `dataset "${spec.analysis.dataset}" does not exist at this node`);
  if (spec.analysis.kind === 'glm') return prepareModel(spec.analysis, schema, db);
  if (spec.analysis.kind === 'evaluation') throw new FedlabError('INVALID_QUERY', 'an evaluation is not a pooled query; do not set pooled');
  if (spec.analysis.kind === 'linkage') throw new FedlabError('INVALID_QUERY', 'a linkage study is not a pooled query; do not set pooled');
  return prepareTable(spec.analysis, schema, db, spec.targetNodes.length, context);
}

/** The public part of a preparation, as JSON: the same at every node that describes the dataset the same way. */
export function describePreparation(contribution: PreparedContribution): string {
  return contribution.kind === 'table'
    ? JSON.stringify(contribution.layout)
    : JSON.stringify({ kind: 'glm', family: contribution.family, names: contribution.names });
}

/** The public description of the noise in a table contribution, as JSON ('' for a model). */
export function describePreparationNoise(contribution: PreparedContribution): string {
  return contribution.kind === 'table' ? JSON.stringify(contribution.noise) : '';
}

function prepareTable(analysis: AggregateAnalysis, schema: DatasetSchema, db: Database, nodes: number, context: PooledContext): PreparedContribution {
  validatePooledAnalysis(analysis, schema);
  const sharing = noiseSharing(nodes, context.policy.privacy);
  const compiled = compilePrivateAnalysis(analysis, schema, { personColumns: hasPersonColumns(db, analysis.dataset) });
  const keys = releaseKeys(publicDomains(analysis, schema));
  if (keys.length > MAX_POOLED_CELLS) throw new FedlabError('INVALID_QUERY', `a pooled table may have at most ${MAX_POOLED_CELLS} cells; this one would have ${keys.length}`);
  const plan = privacyPlan(analysis.kind, compiled.maxRecordsPerPerson, compiled.grid, context.rho);
  const entries = (name: string) => (name === 'split' ? 2 : 1) * keys.length;
  const shares = noiseShares(plan.components.map((c) => ({ ...c, entries: entries(c.name) })), sharing);
  const exact = exactReleaseVector(analysis.kind, plan, keys, compiled.decode(runQuery(db, compiled.sql, compiled.params)));
  const dimensions = analysis.kind === 'histogram' ? [...analysis.groupBy, 'bin'] : [...analysis.groupBy];
  return {
    kind: 'table',
    layout: { kind: analysis.kind, dimensions, keys, plan },
    values: addComponentNoise(exact, plan, keys.length, shares, context.noise ?? cryptoNoise),
    noise: describeNoise(shares, sharing, context.policy.privacy.reportDelta),
  };
}

function prepareModel(analysis: GlmAnalysis, schema: DatasetSchema, db: Database): PreparedContribution {
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const covariates: Covariate[] = analysis.covariates.map((name) => {
    const column = columns.get(name)!;
    return column.type === 'text' ? { name, kind: 'factor', levels: column.values ?? [] } : { name, kind: 'numeric' };
  });
  const design = buildDesign(covariates);
  const compiled = compileModelRows(analysis, schema);
  const p = design.names.length;
  const y: number[] = [];
  const x: number[] = [];
  for (const [response, ...values] of compiled.decode(runQuery(db, compiled.sql, compiled.params))) {
    const row = designRow(covariates, values);
    if (row === null || response === null || typeof response !== 'number') continue;
    y.push(response);
    x.push(...row);
  }
  checkNodeRows(y.length, p);
  const rows: LocalRows = { y: Float64Array.from(y), x: Float64Array.from(x), p };
  checkResponse(analysis.family, rows.y);
  return { kind: 'glm', family: analysis.family, names: design.names, rows };
}
