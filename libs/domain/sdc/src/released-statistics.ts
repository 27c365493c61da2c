import type { AggregateKind } from '@fedlab/model';

/** Released statistic names per analysis kind, in display order. */
export const STATISTICS_BY_KIND: Record<AggregateKind, string[]> = {
  count: ['count'],
  sum: ['sum', 'count'],
  mean: ['mean', 'count'],
  variance: ['variance', 'sd', 'mean', 'count'],
  proportion: ['proportion', 'ci_lower', 'ci_upper', 'numerator', 'denominator'],
  histogram: ['count'],
};
