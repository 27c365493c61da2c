/** A literal compared against a column. Dates are ISO `YYYY-MM-DD` strings. */
export type Scalar = string | number | boolean;

/** Comparison operators of the filter language (DESIGN.md §7.1). */
export const COMPARISON_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'between', 'is_null', 'not_null'] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

/** A filter tree: comparisons combined with and/or. */
export type Filter =
  | { kind: 'and'; items: Filter[] }
  | { kind: 'or'; items: Filter[] }
  | { kind: 'cmp'; column: string; op: ComparisonOp; values: Scalar[] };

/** The aggregate analysis kinds of DESIGN.md §7.1 ("table" is a count with group-by). */
export const AGGREGATE_KINDS = ['count', 'sum', 'mean', 'variance', 'proportion', 'histogram'] as const;
export type AggregateKind = (typeof AGGREGATE_KINDS)[number];
/** Every analysis kind: the aggregates, and pooled generalised linear models (DESIGN.md §7.3). */
export const ANALYSIS_KINDS = [...AGGREGATE_KINDS, 'glm'] as const;
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

/** Any analysis. */
export type Analysis = AggregateAnalysis | GlmAnalysis;

/** True for the aggregate kinds, whose answer is a table of cells. */
export function isAggregateAnalysis(analysis: Analysis): analysis is AggregateAnalysis {
  return analysis.kind !== 'glm';
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
export const ENFORCEMENT_PURPOSES: readonly Purpose[] = [
  'enforcement',
  'immigration_control',
  'individual_investigation',
  'fraud_targeting',
];

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
}
