/** A literal compared against a column. Dates are ISO `YYYY-MM-DD` strings. */
export type Scalar = string | number | boolean;

/** Comparison operators of the filter language (DESIGN.md §7.1). */
export const COMPARISON_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'between', 'is_null', 'not_null'] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

/** A filter tree: comparisons combined with and/or. */
export type Filter = { kind: 'and'; items: Filter[] } | { kind: 'or'; items: Filter[] } | { kind: 'cmp'; column: string; op: ComparisonOp; values: Scalar[] };

/** The aggregate analysis kinds of DESIGN.md §7.1 ("table" is a count with group-by). */
export const AGGREGATE_KINDS = ['count', 'sum', 'mean', 'variance', 'proportion', 'histogram'] as const;
export type AggregateKind = (typeof AGGREGATE_KINDS)[number];
/**
 * Every analysis kind: the aggregates, pooled generalised linear models (DESIGN.md §7.3), and
 * cohort–outcome studies linked across nodes by private intersection-sum (DESIGN.md §7.4).
 */
export const ANALYSIS_KINDS = [...AGGREGATE_KINDS, 'glm', 'linkage', 'evaluation'] as const;
export type AnalysisKind = (typeof ANALYSIS_KINDS)[number];
/** GLM families with their canonical links: identity, logit, log. */
export const GLM_FAMILIES = ['gaussian', 'binomial', 'poisson'] as const;
export type GlmFamilyName = (typeof GLM_FAMILIES)[number];

interface AnalysisBase {
  dataset: string;
  filter?: Filter;
  /** Up to three quasi-identifier, attribute or date columns. */
  groupBy: string[];
}

/** One aggregate analysis over one dataset at each target node (or pooled over them). */
export type AggregateAnalysis =
  | (AnalysisBase & { kind: 'count' })
  | (AnalysisBase & { kind: 'sum' | 'mean' | 'variance'; column: string })
  | (AnalysisBase & { kind: 'proportion'; condition: Filter })
  | (AnalysisBase & { kind: 'histogram'; column: string; bins: number[] });

/**
 * A generalised linear model of `response` on `covariates` (numeric columns, booleans, and
 * categorical columns as treatment contrasts), fitted over the rows of every target node pooled
 * (DESIGN.md §7.3). `groupBy` is always empty.
 */
export type GlmAnalysis = AnalysisBase & { kind: 'glm'; family: GlmFamilyName; response: string; covariates: string[] };

/**
 * What an outcome node computes per person before linkage (DESIGN.md §7.4 "value vectors"):
 * `any` — 1 if the person has a record matching the filter (a rate); `count` — the number of such
 * records, capped at `max` (a mean); `sum` — the sum of an integer column over such records, each
 * person's total clipped to [0, max] (a mean); `category` — one indicator per declared value of a
 * categorical column (a rate per category; the person's first matching record decides).
 */
export const OUTCOME_MEASURE_KINDS = ['any', 'count', 'sum', 'category'] as const;
export type OutcomeMeasureKind = (typeof OUTCOME_MEASURE_KINDS)[number];

export interface OutcomeMeasure {
  name: string;
  kind: OutcomeMeasureKind;
  filter?: Filter;
  /** `sum` and `category` only. */
  column?: string;
  /** `count` and `sum` only: the per-person cap (1..10,000). */
  max?: number;
}

/**
 * Whether an outcome dataset covers the whole population (rates over matched persons; the unmatched
 * share is a linkage rate) or holds records only for people who had an event (rates over the group
 * size: absence means no event, and linkage misses bias the rate down).
 */
export const OUTCOME_COVERAGES = ['population', 'events'] as const;
export type OutcomeCoverage = (typeof OUTCOME_COVERAGES)[number];

/** The outcome measures of one node and dataset: one private intersection-sum run per group. */
export interface OutcomeSource {
  node: string;
  dataset: string;
  coverage: OutcomeCoverage;
  measures: OutcomeMeasure[];
}

/** How the cohort node picks a comparison group among its other persons. */
export const COMPARISON_METHODS = ['exact', 'propensity'] as const;
export type ComparisonMethod = (typeof COMPARISON_METHODS)[number];

export interface ComparisonSpec {
  method: ComparisonMethod;
  /** Strata columns (exact) or covariates (propensity), of the cohort dataset. */
  columns: string[];
  /** Controls per cohort person, 1..10. */
  controlsPerCase: number;
  /** Which persons may be controls (default: everyone in the dataset outside the cohort). */
  pool?: Filter;
}

/**
 * A cohort–outcome study: the cohort is every person with a row of `dataset` at `cohortNode`
 * matching `filter`; an optional comparison group is chosen there; each outcome source is linked
 * to both groups by private intersection-sum over the key recipes named in `keys`, in order.
 */
export type LinkageAnalysis = AnalysisBase & {
  kind: 'linkage';
  cohortNode: string;
  keys: string[];
  comparison?: ComparisonSpec;
  outcomes: OutcomeSource[];
};

/**
 * An impact evaluation (DESIGN.md §7.5, the Justice Data Lab workflow): an organisation's client
 * list, sealed to the one target node and sent with the query, is matched to `dataset` there and
 * compared with a propensity-matched group of non-participants. The signed query carries only the
 * program's name and the BLAKE2b-256 digest of the sealed list, so the public log never holds the list.
 */
export type EvaluationAnalysis = AnalysisBase & {
  kind: 'evaluation';
  /** The organisation's name for its program (shown in the report). */
  programme: string;
  /** BLAKE2b-256 of the sealed client list that travels with the query. */
  attachmentDigest: Uint8Array;
};

/**
 * Largest sealed client list an evaluation may carry (about 30,000 clients), so that the work item
 * stays within the default 4 MiB gRPC message limit of both daemons.
 */
export const MAX_EVALUATION_ATTACHMENT_BYTES = 3 * 1_048_576;

/**
 * The largest work item (query, countersignature, log proof and attachment) a node accepts by default,
 * and the coordinator's default limit when it admits a query: 4 MiB, the gRPC default message size.
 */
export const DEFAULT_MAX_WORK_BYTES = 4 * 1_048_576;

/** Any analysis. */
export type Analysis = AggregateAnalysis | GlmAnalysis | LinkageAnalysis | EvaluationAnalysis;

/** True for the aggregate kinds, whose answer is a table of cells. */
export function isAggregateAnalysis(analysis: Analysis): analysis is AggregateAnalysis {
  return analysis.kind !== 'glm' && analysis.kind !== 'linkage' && analysis.kind !== 'evaluation';
}

/** True for a cross-node cohort–outcome study. */
export function isLinkageAnalysis(analysis: Analysis): analysis is LinkageAnalysis {
  return analysis.kind === 'linkage';
}

/** Purposes a query may declare. The enforcement kinds are refused unless a steward lists them explicitly. */
export const PURPOSES = [
  'research',
  'statistics',
  'program_evaluation',
  'policy_planning',
  'enforcement',
  'immigration_control',
  'individual_investigation',
  'fraud_targeting',
] as const;
export type Purpose = (typeof PURPOSES)[number];
export const ENFORCEMENT_PURPOSES: readonly Purpose[] = ['enforcement', 'immigration_control', 'individual_investigation', 'fraud_targeting'];

/** The researcher-signed description of a query (DESIGN.md §4). */
export interface QuerySpec {
  queryId: string;
  projectId: string;
  purpose: Purpose;
  researcherId: string;
  targetNodes: string[];
  analysis: Analysis;
  /**
   * Pooled over the target nodes (DESIGN.md §7.2): the coordinator learns only the sums, through
   * secure aggregation, and applies disclosure control to them. Otherwise each node answers alone.
   */
  pooled: boolean;
  issuedAtMs: number;
  expiresAtMs: number;
  /** 16+ random bytes, never reused: the node's replay store remembers it. */
  nonce: Uint8Array;
  /**
   * The privacy budget (ρ, zero-concentrated DP) this query spends at each target node, from the
   * project's budget for the dataset there (DESIGN.md §5 "Privacy model"). Required for the
   * aggregate kinds; undefined when the researcher stated none (the node then refuses them).
   */
  rho?: number;
}

/**
 * Every dataset and column an analysis names, as `dataset.column`, in order and without repeats: the
 * public description of a query in the transparency log (never a value: filters contribute their column
 * names only). Covers the measure, group-by, filter and condition columns, a model's response and
 * covariates, and a study's cohort, comparison and outcome columns at every node.
 */
export function namedColumns(analysis: Analysis): { datasets: string[]; columns: string[] } {
  const datasets: string[] = [];
  const columns: string[] = [];
  const name = (dataset: string, column: string) => columns.push(`${dataset}.${column}`);
  const walk = (dataset: string, filter: Filter | undefined) => {
    // An explicit stack: the tree arrives before query validation bounds its depth.
    const pending = filter ? [filter] : [];
    for (let f = pending.shift(); f !== undefined; f = pending.shift()) {
      if (f.kind === 'cmp') name(dataset, f.column);
      else pending.unshift(...f.items);
    }
  };
  const { dataset } = analysis;
  if (dataset !== '') datasets.push(dataset);
  if ('column' in analysis) name(dataset, analysis.column);
  for (const column of analysis.groupBy) name(dataset, column);
  if (analysis.kind === 'glm') for (const column of [analysis.response, ...analysis.covariates]) name(dataset, column);
  walk(dataset, analysis.filter);
  if (analysis.kind === 'proportion') walk(dataset, analysis.condition);
  if (analysis.kind === 'linkage') {
    for (const column of analysis.comparison?.columns ?? []) name(dataset, column);
    walk(dataset, analysis.comparison?.pool);
    for (const outcome of analysis.outcomes) {
      datasets.push(outcome.dataset);
      for (const m of outcome.measures) {
        if (m.column !== undefined) name(outcome.dataset, m.column);
        walk(outcome.dataset, m.filter);
      }
    }
  }
  return { datasets: [...new Set(datasets)], columns: [...new Set(columns)] };
}
