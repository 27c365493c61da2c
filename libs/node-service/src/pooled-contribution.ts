import type { Database } from 'better-sqlite3';
import { FedlabError, type AggregateAnalysis, type DatasetSchema, type GlmAnalysis, type QuerySpec } from '@fedlab/model';
import { buildDesign, checkNodeRows, checkResponse, designRow, type Covariate, type GlmFamily, type LocalRows } from '@fedlab/glm';
import { compileAnalysis, compileModelRows, validatePooledAnalysis } from '@fedlab/query';
import { pooledLayout, pooledVector, type PooledLayout } from '@fedlab/sdc';
import { getDatasetSchema, runQuery } from '@fedlab/store';
import { padWithDomains, publishedDomains } from './query-executor';

/**
 * What a node keeps in memory between authorising a pooled query and the secure-aggregation rounds
 * that sum it (DESIGN.md §7.2–7.3): never sent anywhere except masked.
 */
export type PreparedContribution =
  | { kind: 'table'; layout: PooledLayout; values: number[] }
  | { kind: 'glm'; family: GlmFamily; names: string[]; rows: LocalRows };

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
 * Computes a node's local contribution to a pooled query that was already authorised: the padded
 * raw cells of an aggregate, laid out on the published domains, or the rows of a model.
 *
 * @throws FedlabError INVALID_QUERY for a group-by without declared values; MODEL_NOT_RELEASABLE when
 *   this node has fewer than 10 rows per model parameter; INVALID_ARGUMENT for a response the family
 *   cannot model.
 */
export function preparePooled(spec: QuerySpec, db: Database): PreparedContribution {
  const schema = getDatasetSchema(db, spec.analysis.dataset);
  if (!schema) throw new FedlabError('UNKNOWN_DATASET', `dataset "${spec.analysis.dataset}" does not exist at this node`);
  if (spec.analysis.kind === 'glm') return prepareModel(spec.analysis, schema, db);
  if (spec.analysis.kind === 'evaluation') throw new FedlabError('INVALID_QUERY', 'an evaluation is not a pooled query; do not set pooled');
  if (spec.analysis.kind === 'linkage') throw new FedlabError('INVALID_QUERY', 'a linkage study is not a pooled query; do not set pooled');
  return prepareTable(spec.analysis, schema, db);
}

/** The public part of a preparation, as JSON: the same at every node that describes the dataset the same way. */
export function describePreparation(contribution: PreparedContribution): string {
  return contribution.kind === 'table'
    ? JSON.stringify({ kind: contribution.layout.kind, dimensions: contribution.layout.dimensions, keys: contribution.layout.keys })
    : JSON.stringify({ kind: 'glm', family: contribution.family, names: contribution.names });
}

function prepareTable(analysis: AggregateAnalysis, schema: DatasetSchema, db: Database): PreparedContribution {
  validatePooledAnalysis(analysis, schema);
  const compiled = compileAnalysis(analysis, schema);
  const domains = publishedDomains(analysis, schema);
  const nullable = new Map(schema.columns.map((c) => [c.name, c.nullable]));
  const groupDomains = analysis.groupBy.map((name, i) => [...(domains[i] ?? []), ...(nullable.get(name) ? [null] : [])]);
  const dimensions = analysis.kind === 'histogram' ? [...analysis.groupBy, 'bin'] : [...analysis.groupBy];
  const layout = pooledLayout(analysis.kind, dimensions, groupDomains, analysis.kind === 'histogram' ? analysis.bins.slice(0, -1) : []);
  const raw = padWithDomains(compiled.decode(runQuery(db, compiled.sql, compiled.params)), domains);
  return { kind: 'table', layout, values: pooledVector(layout, raw).values };
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
