import type { Database } from 'better-sqlite3';
import { FedlabError, IDENTIFIER_NAME, type AggregateAnalysis, type CellKey, type DatasetSchema, type NodePolicy, type QuerySpec, type RawCell, type ResultTable } from '@fedlab/model';
import { authoriseQuery, localDataset } from '@fedlab/governance';
import { compileAnalysis, validateAnalysis, validateCohortSide, validateOutcomeSide } from '@fedlab/query';
import { projectState } from './project-store';
import { applyDisclosureControl, cellKeyRandom, STATISTICS_BY_KIND, type DisclosureOutput } from '@fedlab/sdc';
import { getDatasetSchema, runQuery } from '@fedlab/store';

/**
 * Applies the node's rules to an authenticated query (default deny, DESIGN.md §2.3–2.4, §7.6): the
 * steward's policy (analysis kinds, dataset purposes), the analysis against the dataset schema, then
 * the project: approved here by the node's steward, not revoked or expired, the researcher a member,
 * the purpose the project's, and every dataset, column and analysis within the approval. Throws the
 * refusal.
 */
export function authorise(spec: QuerySpec, policy: NodePolicy | null, db: Database, nodeId: string, nowMs: number): void {
  if (!policy) throw new FedlabError('NO_POLICY', 'this node has no policy and answers nothing');
  if (!policy.analyses.includes(spec.analysis.kind)) {
    throw new FedlabError('ANALYSIS_NOT_ALLOWED', `analysis "${spec.analysis.kind}" is not allowed by this node's policy`);
  }
  const dataset = localDataset(spec.analysis, nodeId);
  if (!IDENTIFIER_NAME.test(dataset)) throw new FedlabError('UNKNOWN_DATASET', 'invalid dataset name');
  if (!getDatasetSchema(db, dataset)) throw new FedlabError('UNKNOWN_DATASET', `dataset "${dataset}" does not exist at this node`);
  const purposes = policy.datasets[dataset]?.purposes ?? [];
  if (!purposes.includes(spec.purpose)) {
    throw new FedlabError('PURPOSE_NOT_PERMITTED', `purpose "${spec.purpose}" is not permitted for dataset "${dataset}"`);
  }
  const schema = getDatasetSchema(db, dataset)!;
  if (spec.analysis.kind !== 'linkage') validateAnalysis(spec.analysis, schema);
  else if (spec.analysis.cohortNode === nodeId) validateCohortSide(spec.analysis, schema);
  else validateOutcomeSide(spec.analysis.outcomes.find((o) => o.node === nodeId)!, schema);
  authoriseQuery({ nodeId, researcherId: spec.researcherId, projectId: spec.projectId, purpose: spec.purpose, analysis: spec.analysis, nowMs, ...projectState(db, spec.projectId) });
}

/** Runs an authorised analysis and applies disclosure control before anything leaves this function. */
export function executeAnalysis(analysis: AggregateAnalysis, policy: NodePolicy, db: Database, roundingKey: Uint8Array): ResultTable {
  const schema = getDatasetSchema(db, analysis.dataset);
  if (!schema) throw new FedlabError('UNKNOWN_DATASET', `dataset "${analysis.dataset}" does not exist at this node`);
  validateAnalysis(analysis, schema);
  const compiled = compileAnalysis(analysis, schema);
  const domains = publishedDomains(analysis, schema);
  const raw = padWithDomains(compiled.decode(runQuery(db, compiled.sql, compiled.params)), domains);
  const dimensions = analysis.kind === 'histogram' ? [...analysis.groupBy, 'bin'] : [...analysis.groupBy];
  const controlled = applyDisclosureControl({
    kind: analysis.kind,
    dimensions,
    cells: raw,
    policy: policy.sdc,
    random: cellKeyRandom(roundingKey, analysis, dimensions),
  });
  const released = withholdUnpublishedKeys(controlled, domains);
  if (released.report.releasedCells === 0) {
    throw new FedlabError('ALL_CELLS_SUPPRESSED', 'disclosure control released no cells; widen the groups or the filter');
  }
  return {
    kind: analysis.kind,
    dataset: analysis.dataset,
    dimensions,
    statistics: STATISTICS_BY_KIND[analysis.kind],
    cells: released.cells,
    report: released.report,
  };
}

type Domain = Array<string | number> | null;

/**
 * The public value set of each dimension: declared categories, booleans and histogram bins. Integer
 * dimensions have none (null): their values are only known from the data.
 */
export function publishedDomains(analysis: AggregateAnalysis, schema: DatasetSchema): Domain[] {
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const domains: Domain[] = analysis.groupBy.map((name) => {
    const column = columns.get(name)!;
    if (column.type === 'boolean') return ['false', 'true'];
    return column.values && column.values.length > 0 ? column.values : null;
  });
  if (analysis.kind === 'histogram') domains.push(analysis.bins.slice(0, -1));
  return domains;
}

const MAX_PADDED_CELLS = 100_000;

/**
 * Adds empty cells for every combination of published values that the data did not produce, so an
 * empty cell and a small cell look the same after suppression (DESIGN.md §5: zeros can be
 * disclosive). Dimensions without a published domain contribute the values seen.
 */
export function padWithDomains(cells: RawCell[], domains: Domain[]): RawCell[] {
  if (domains.length === 0 || domains.every((d) => d === null)) return cells;
  const axes = domains.map((domain, i) => {
    const seen = cells.map((c) => c.key[i] ?? null);
    return [...new Set<string | number | null>([...(domain ?? []), ...seen])];
  });
  if (axes.reduce((n, a) => n * Math.max(1, a.length), 1) > MAX_PADDED_CELLS) return cells;
  const present = new Set(cells.map((c) => JSON.stringify(c.key)));
  const padded = [...cells];
  const walk = (prefix: CellKey, depth: number): void => {
    if (depth === axes.length) {
      if (!present.has(JSON.stringify(prefix))) padded.push({ key: prefix, persons: 0, records: 0, total: 0, totalSquares: 0, valueCount: 0, top1: 0, top2: 0, personsWith: 0, personsWithout: 0 });
      return;
    }
    for (const v of axes[depth]!) walk([...prefix, v], depth + 1);
  };
  walk([], 0);
  return padded;
}

/**
 * Drops suppressed cells whose key holds a value from outside the published domains (e.g. a
 * birth year seen only in a small cell): listing them would publish that the value occurs.
 */
export function withholdUnpublishedKeys(output: DisclosureOutput, domains: Domain[]): DisclosureOutput {
  const published = domains.map((d) => (d ? new Set<string | number | null>([...d, null]) : null));
  const keep = output.cells.filter((c) => c.suppressed === null || c.key.every((v, i) => published[i]?.has(v) === true));
  const withheld = output.cells.length - keep.length;
  if (withheld === 0) return output;
  return {
    cells: keep,
    report: {
      ...output.report,
      notes: [...output.report.notes, `${withheld} suppressed cells are not listed because their keys are not published values`],
    },
  };
}
