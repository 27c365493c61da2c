import type { AggregateKind } from '@fedlab/model';
import type { ValueGrid } from './private-analysis';

/**
 * What one vector of noise is added to, per cell:
 * - `count`: rows (count, histogram) or non-null values (sum, mean, variance);
 * - `sum`: Σ value on the grid (sum);
 * - `centred_sum`: Σ (value − centre) on the grid (mean, variance);
 * - `centred_squares`: Σ (value − centre)² on the grid (variance);
 * - `split`: rows meeting and rows not meeting the condition, as one 2-vector per cell (proportion).
 */
export type NoiseComponentName = 'count' | 'sum' | 'centred_sum' | 'centred_squares' | 'split';

/** One Gaussian mechanism of a release: its L2 sensitivity (squared) over the whole table and its share of ρ. */
export interface NoiseComponent {
  name: NoiseComponentName;
  /** Squared L2 sensitivity, in grid units, over every cell of the table together. */
  sensitivitySquared: number;
  rho: number;
}

/** How a release spends ρ: one Gaussian mechanism per component. */
export interface PrivacyPlan {
  rho: number;
  maxRecordsPerPerson: number;
  grid: ValueGrid | null;
  components: NoiseComponent[];
}

/**
 * ρ is split evenly over the components and each share shrunk by one part in 10^12, so the ρ the
 * components spend, each computed exactly from its noise scale, never adds up to more than the ρ
 * debited, whatever the floating-point rounding of the split.
 */
const SPLIT_SAFETY = 1 - 1e-12;

/**
 * The sensitivities of each analysis kind (DESIGN.md §5 "Privacy model", docs/privacy.md): a person
 * contributes at most m = max_records_per_person rows, so over all the cells of a table together the
 * L2 norm of their contribution is at most m rows, m·maxAbs to a sum, m·halfRange to a centred sum,
 * m·halfRange² to a sum of centred squares, and m to the (meeting, not meeting) pair of a proportion
 * (their rows split between the two: a² + b² ≤ (a + b)² ≤ m²). Sums are in grid units.
 */
function componentSensitivities(kind: AggregateKind, m: number, grid: ValueGrid | null): Array<[NoiseComponentName, number]> {
  const g = grid ?? { maxAbs: 0, halfRange: 0 };
  switch (kind) {
    case 'count':
    case 'histogram':
      return [['count', m]];
    case 'proportion':
      return [['split', m]];
    case 'sum':
      return [
        ['sum', m * g.maxAbs],
        ['count', m],
      ];
    case 'mean':
      return [
        ['centred_sum', m * g.halfRange],
        ['count', m],
      ];
    case 'variance':
      return [
        ['centred_sum', m * g.halfRange],
        ['centred_squares', m * g.halfRange * g.halfRange],
        ['count', m],
      ];
  }
}

/** The plan of a release of `kind` spending `rho`. The first component is the one `standard_error` refers to. */
export function privacyPlan(kind: AggregateKind, maxRecordsPerPerson: number, grid: ValueGrid | null, rho: number): PrivacyPlan {
  const parts = componentSensitivities(kind, maxRecordsPerPerson, grid);
  return {
    rho,
    maxRecordsPerPerson,
    grid,
    components: parts.map(([name, sensitivity]) => ({ name, sensitivitySquared: sensitivity * sensitivity, rho: (rho / parts.length) * SPLIT_SAFETY })),
  };
}

/**
 * The ρ a query must spend for the noise on its first statistic to have standard deviation
 * `standardError`: on each count (count, histogram, proportion) or on each sum in the column's units
 * (sum, mean, variance; a mean's noise is then about standardError ÷ count). Inverse of
 * {@link privacyPlan}: ρ = parts × Δ² / (2 σ²), with Δ and σ of the first component in grid units.
 */
export function rhoForStandardError(kind: AggregateKind, maxRecordsPerPerson: number, grid: ValueGrid | null, standardError: number): number {
  const parts = componentSensitivities(kind, maxRecordsPerPerson, grid);
  const [, sensitivity] = parts[0]!;
  const sigma = kind === 'sum' || kind === 'mean' || kind === 'variance' ? standardError / grid!.step : standardError;
  return (parts.length * sensitivity * sensitivity) / (2 * sigma * sigma * SPLIT_SAFETY);
}
