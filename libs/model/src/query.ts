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

/** The analysis kinds of DESIGN.md §7.1 ("table" is a count with group-by). */
export const ANALYSIS_KINDS = ['count', 'sum', 'mean', 'variance', 'proportion', 'histogram'] as const;
export type AnalysisKind = (typeof ANALYSIS_KINDS)[number];

interface AnalysisBase {
  dataset: string;
  filter?: Filter;
  /** Up to three quasi-identifier, attribute or date columns. */
  groupBy: string[];
}

/** One aggregate analysis over one dataset at each target node. */
export type Analysis =
  | (AnalysisBase & { kind: 'count' })
  | (AnalysisBase & { kind: 'sum' | 'mean' | 'variance'; column: string })
  | (AnalysisBase & { kind: 'proportion'; condition: Filter })
  | (AnalysisBase & { kind: 'histogram'; column: string; bins: number[] });

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
  issuedAtMs: number;
  expiresAtMs: number;
  /** 16+ random bytes, never reused: the node's replay store remembers it. */
  nonce: Uint8Array;
}
