import type { AggregateKind } from './query';

/** Disclosure-control rules, as named in disclosure reports. */
export const SDC_RULES = ['threshold', 'dominance', 'secondary', 'zero_margin', 'group_disclosure', 'rounding'] as const;
export type SdcRule = (typeof SDC_RULES)[number];

/** A cell key: one value per group-by column (and the bin index last for histograms). */
export type CellKey = Array<string | number | null>;

/**
 * A cell as computed from the node's data, before disclosure control. Never leaves the node.
 * `persons` is the number of distinct persons behind the cell; `records` the number of rows.
 */
export interface RawCell {
  key: CellKey;
  persons: number;
  records: number;
  /** sum/mean: Σ value; variance: Σ value; proportion: rows meeting the condition. */
  total?: number;
  /** sum/mean/variance: Σ value². */
  totalSquares?: number;
  /** sum/mean/variance: rows with a non-null value. */
  valueCount?: number;
  /** sum/mean/variance: the two largest person-level contributions in absolute value (dominance rule). */
  top1?: number;
  top2?: number;
  /** proportion: distinct persons meeting / not meeting the condition. */
  personsWith?: number;
  personsWithout?: number;
}

/**
 * Statistics released for one cell, by analysis kind:
 * count → count; sum → sum, count; mean → mean, count; variance → variance, sd, mean, count;
 * proportion → proportion, ci_lower, ci_upper, numerator, denominator (95 % Wilson interval);
 * histogram → count (key ends with the bin's lower edge).
 */
export interface ReleasedCell {
  key: CellKey;
  /** null when suppressed. */
  stats: Record<string, number> | null;
  suppressed: null | { rule: SdcRule; reason: string };
}

export interface DisclosureReport {
  /** Rules applied to this release with their parameters. */
  rules: Array<{ rule: SdcRule; parameters: Record<string, number> }>;
  suppressedCells: number;
  releasedCells: number;
  notes: string[];
}

/** A node's disclosure-controlled answer to one analysis. */
export interface ResultTable {
  kind: AggregateKind;
  dataset: string;
  /** Group-by column names, plus "bin" for histograms. */
  dimensions: string[];
  /** Names of the released statistics, in display order. */
  statistics: string[];
  cells: ReleasedCell[];
  report: DisclosureReport;
  /** The differential-privacy guarantee of this release; absent only on releases made without noise (pooled results). */
  privacy?: ReleasePrivacy;
}

/** A project's privacy budget for one dataset at one node, in ρ (zero-concentrated DP). */
export interface BudgetState {
  total: number;
  spent: number;
  remaining: number;
}

/**
 * What a differentially private release spent and how noisy it is (DESIGN.md §5 "Privacy model").
 * `noise` gives the standard deviation of the noise in each noised statistic (in that statistic's
 * units; for a mean or variance, an approximation at the released values); every cell's `ci_lower` /
 * `ci_upper` is a 95 % interval for its first statistic that includes the noise.
 */
export interface ReleasePrivacy {
  rho: number;
  /** The same guarantee as (ε, δ)-differential privacy, at the node's reporting δ. */
  epsilon: number;
  delta: number;
  /** The contribution bound the noise was calibrated to. */
  maxRecordsPerPerson: number;
  noise: Array<{ statistic: string; sd: number }>;
  /** The project's budget for the dataset at the node, after this release. */
  budget?: BudgetState;
}
