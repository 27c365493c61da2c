import { normalCdf, normalQuantile, studentTCdf, studentTQuantile } from '@fedlab/glm';
import { FedlabError } from '@fedlab/model';

/** The confidence level of every interval this library reports. */
export const CONFIDENCE_LEVEL = 0.95;

/** z_{0.975}, the normal quantile behind every 95 % Wald, Wilson and log-scale interval. */
const Z = normalQuantile(1 - (1 - CONFIDENCE_LEVEL) / 2);

/** A two-sided 95 % confidence interval, in the units of the estimate it belongs to. */
export interface ConfidenceInterval {
  lower: number;
  upper: number;
}

/** A point estimate with its 95 % interval; `ci` is null when the interval is undefined (zero variance). */
export interface Estimate {
  estimate: number;
  ci: ConfidenceInterval | null;
}

/** A binary measure in one group: of `persons` persons (the denominator), `events` count as events. */
export interface BinaryCounts {
  /** The denominator: matched persons (population register) or the group size (event-only dataset). */
  persons: number;
  /** Persons with at least one matching record, or in the measure's category of a one-hot. */
  events: number;
}

/** What is reported for a binary measure in one group. */
export interface BinarySummary {
  persons: number;
  events: number;
  /** events / persons, a proportion in [0, 1]; null when persons is 0. */
  rate: number | null;
  /** Wilson score interval for the rate (without continuity correction); null when persons is 0. */
  ci: ConfidenceInterval | null;
}

/** Cohort versus comparison group for a binary measure. */
export interface BinaryComparison {
  /**
   * Rate difference cohort − comparison (proportion units) with a Wald interval from the unpooled standard
   * error √(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂); null when a group has no persons, `ci` null when that SE is 0.
   */
  difference: Estimate | null;
  /**
   * Risk ratio p₁ / p₂ with the Katz log interval exp(ln RR ± z·√(1/x₁ − 1/n₁ + 1/x₂ − 1/n₂)); null when
   * either event count is 0 (the ratio or its interval is then 0 or infinite), `ci` null when both groups
   * have only events.
   */
  riskRatio: Estimate | null;
  /**
   * The two-proportion z statistic with the pooled SE √(p̂(1−p̂)(1/n₁ + 1/n₂)), p̂ = (x₁ + x₂)/(n₁ + n₂);
   * z² is the Pearson chi-square of R's `prop.test(correct = FALSE)`. Null when p̂ is 0 or 1.
   */
  zStatistic: number | null;
  /** Two-sided p-value 2Φ(−|z|), equal to the `prop.test(correct = FALSE)` p-value; null with z. */
  pValue: number | null;
}

/** A count or bounded-sum measure in one group: Σx and Σx² over `persons` persons. */
export interface MeanSums {
  /** The persons the sums run over (absent persons of an event-only dataset contribute 0). */
  persons: number;
  /** Σx, in the measure's units. */
  sum: number;
  /** Σx², in squared measure units. */
  sumSquares: number;
}

/** What is reported for a mean measure in one group. */
export interface MeanSummary {
  persons: number;
  /** Σx / n, in the measure's units; null when persons is 0. */
  mean: number | null;
  /** Sample standard deviation √((Σx² − n·mean²)/(n − 1)); null when persons < 2. */
  sd: number | null;
  /** mean ± t_{0.975, n−1}·sd/√n; null when persons < 2 or sd is 0. */
  ci: ConfidenceInterval | null;
}

/** Cohort versus comparison group for a mean measure (Welch's unequal-variance t test). */
export interface MeanComparison {
  /**
   * Mean difference cohort − comparison (measure units) with the Welch interval
   * d ± t_{0.975, df}·√(s₁²/n₁ + s₂²/n₂); null when a group has no persons, `ci` null when the Welch
   * test is undefined (a group with fewer than 2 persons, or both variances 0).
   */
  difference: Estimate | null;
  /**
   * Ratio of means m₁ / m₂ with a delta-method interval on the log scale,
   * exp(ln R ± z·√(s₁²/(n₁m₁²) + s₂²/(n₂m₂²))); null when a mean is ≤ 0 or a group has fewer than 2
   * persons, `ci` null when both variances are 0.
   */
  ratio: Estimate | null;
  /** Welch's t = d / √(s₁²/n₁ + s₂²/n₂); null when undefined. */
  tStatistic: number | null;
  /** Welch–Satterthwaite degrees of freedom; null with t. */
  df: number | null;
  /** Two-sided p-value 2·P(T_df > |t|), as R's `t.test(var.equal = FALSE)`; null with t. */
  pValue: number | null;
}

function checkPersons(persons: number, what: string): void {
  if (!Number.isInteger(persons) || persons < 0) {
    throw new FedlabError('INVALID_ARGUMENT', `the ${what} persons must be a non-negative integer`);
  }
}

function checkBinaryCounts(counts: BinaryCounts): void {
  checkPersons(counts.persons, 'binary measure');
  const { events, persons } = counts;
  if (!Number.isInteger(events) || events < 0 || events > persons) {
    throw new FedlabError('INVALID_ARGUMENT', 'a binary measure needs an integer event count between 0 and its persons');
  }
}

/** The Wilson score interval, written as R's `prop.test` writes it so the two agree to rounding. */
function wilsonInterval(events: number, persons: number): ConfidenceInterval {
  const p = events / persons;
  const z22n = (Z * Z) / (2 * persons);
  const half = Z * Math.sqrt((p * (1 - p)) / persons + z22n / (2 * persons));
  const denominator = 1 + 2 * z22n;
  const lower = events === 0 ? 0 : (p + z22n - half) / denominator;
  const upper = events === persons ? 1 : (p + z22n + half) / denominator;
  return { lower: Math.max(lower, 0), upper: Math.min(upper, 1) };
}

/** The rate and its Wilson score 95 % interval. Throws `INVALID_ARGUMENT` for impossible counts. */
export function summariseBinary(counts: BinaryCounts): BinarySummary {
  checkBinaryCounts(counts);
  const { persons, events } = counts;
  if (persons === 0) return { persons, events, rate: null, ci: null };
  return { persons, events, rate: events / persons, ci: wilsonInterval(events, persons) };
}

/** An interval exp(log ± z·se) around a ratio, null when se is 0. */
function logScaleEstimate(ratio: number, logStandardError: number): Estimate {
  if (!(logStandardError > 0)) return { estimate: ratio, ci: null };
  const log = Math.log(ratio);
  return {
    estimate: ratio,
    ci: { lower: Math.exp(log - Z * logStandardError), upper: Math.exp(log + Z * logStandardError) },
  };
}

/**
 * Difference, risk ratio and two-proportion z test of the cohort against the comparison group (formulas on
 * {@link BinaryComparison}). Throws `INVALID_ARGUMENT` for impossible counts.
 */
export function compareBinary(cohort: BinaryCounts, comparison: BinaryCounts): BinaryComparison {
  checkBinaryCounts(cohort);
  checkBinaryCounts(comparison);
  const { persons: n1, events: x1 } = cohort;
  const { persons: n2, events: x2 } = comparison;
  if (n1 === 0 || n2 === 0) return { difference: null, riskRatio: null, zStatistic: null, pValue: null };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const difference = p1 - p2;
  const unpooledSe = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const riskRatio = x1 === 0 || x2 === 0 ? null : logScaleEstimate(p1 / p2, Math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2));
  const pooled = (x1 + x2) / (n1 + n2);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const zStatistic = pooledSe > 0 ? difference / pooledSe : null;
  return {
    difference: {
      estimate: difference,
      ci: unpooledSe > 0 ? { lower: difference - Z * unpooledSe, upper: difference + Z * unpooledSe } : null,
    },
    riskRatio,
    zStatistic,
    pValue: zStatistic === null ? null : 2 * normalCdf(-Math.abs(zStatistic)),
  };
}

/** Sums that do not fit the Cauchy–Schwarz bound n·Σx² ≥ (Σx)² by more than rounding are refused. */
const VARIANCE_ROUNDING_TOLERANCE = 1e-9;

interface Moments {
  persons: number;
  mean: number | null;
  /** Sample variance (n − 1 denominator); null for fewer than 2 persons. */
  variance: number | null;
}

function moments(sums: MeanSums): Moments {
  checkPersons(sums.persons, 'mean measure');
  const { persons, sum, sumSquares } = sums;
  if (!Number.isFinite(sum) || !Number.isFinite(sumSquares) || sumSquares < 0) {
    throw new FedlabError('INVALID_ARGUMENT', 'a mean measure needs a finite Σx and a finite, non-negative Σx²');
  }
  if (persons === 0) {
    if (sum !== 0 || sumSquares !== 0) throw new FedlabError('INVALID_ARGUMENT', 'a mean measure over 0 persons must have zero sums');
    return { persons, mean: null, variance: null };
  }
  const mean = sum / persons;
  if (persons < 2) return { persons, mean, variance: null };
  // Σx² − Σx·mean loses digits only when the variance is tiny against mean²; clamp rounding noise at 0.
  const centred = sumSquares - sum * mean;
  if (centred < -VARIANCE_ROUNDING_TOLERANCE * sumSquares) {
    throw new FedlabError('INVALID_ARGUMENT', 'the sums of a mean measure are inconsistent (Σx² is below (Σx)²/n)');
  }
  return { persons, mean, variance: Math.max(centred, 0) / (persons - 1) };
}

/** Mean, SD and the t-based 95 % interval of one group. Throws `INVALID_ARGUMENT` for impossible sums. */
export function summariseMean(sums: MeanSums): MeanSummary {
  const { persons, mean, variance } = moments(sums);
  if (mean === null || variance === null) return { persons, mean, sd: null, ci: null };
  const sd = Math.sqrt(variance);
  if (sd === 0) return { persons, mean, sd, ci: null };
  const half = (studentTQuantile(1 - (1 - CONFIDENCE_LEVEL) / 2, persons - 1) * sd) / Math.sqrt(persons);
  return { persons, mean, sd, ci: { lower: mean - half, upper: mean + half } };
}

/**
 * Welch's t test, difference and ratio of means of the cohort against the comparison group (formulas on
 * {@link MeanComparison}). Throws `INVALID_ARGUMENT` for impossible sums.
 */
export function compareMeans(cohort: MeanSums, comparison: MeanSums): MeanComparison {
  const first = moments(cohort);
  const second = moments(comparison);
  const none: MeanComparison = { difference: null, ratio: null, tStatistic: null, df: null, pValue: null };
  if (first.mean === null || second.mean === null) return none;
  const difference = first.mean - second.mean;
  if (first.variance === null || second.variance === null) return { ...none, difference: { estimate: difference, ci: null } };
  const a = first.variance / first.persons;
  const b = second.variance / second.persons;
  const standardError = Math.sqrt(a + b);
  const ratio = first.mean > 0 && second.mean > 0 ? logScaleEstimate(first.mean / second.mean, Math.sqrt(a / first.mean ** 2 + b / second.mean ** 2)) : null;
  if (!(standardError > 0)) return { ...none, difference: { estimate: difference, ci: null }, ratio };
  const df = (a + b) ** 2 / (a ** 2 / (first.persons - 1) + b ** 2 / (second.persons - 1));
  const tStatistic = difference / standardError;
  const half = studentTQuantile(1 - (1 - CONFIDENCE_LEVEL) / 2, df) * standardError;
  return {
    difference: { estimate: difference, ci: { lower: difference - half, upper: difference + half } },
    ratio,
    tStatistic,
    df,
    pValue: 2 * studentTCdf(-Math.abs(tStatistic), df),
  };
}
