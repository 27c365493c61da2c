import { normalCdf, normalQuantile, studentTCdf, studentTQuantile } from '@fedlab/glm';
import { FedlabError } from '@fedlab/model';
import { REOFFENCE_CAP, type EvaluationNoise } from './evaluation-noise';
import { EVALUATION_MEASURES, type EvaluationMeasure, type EvaluationMeasureName, type EvaluationRules, type GroupMeasure } from './evaluation-result';

/**
 * One person's outcome over the one-year follow-up from their index date, as the justice node reads it from
 * its records. Person-level: it never leaves the node.
 */
export interface PersonOutcome {
  /**
   * The person's weight: 1 in the treatment group; in the comparison group the matching weight (matching
   * with replacement, so a comparison person used by several treated people counts several times).
   */
  weight: number;
  /** Proven reoffences within the follow-up (a non-negative integer). */
  reoffences: number;
  /** Days from the index date to the first proven reoffence; null exactly when `reoffences` is 0. */
  daysToFirstReoffence: number | null;
  /** Whether any of those reoffences got a custodial sentence. */
  custodial: boolean;
}

/** What {@link evaluationMeasures} returns: the measures part of an `EvaluationResult`. */
export interface EvaluationMeasures {
  /** The four measures, in the order of `EVALUATION_MEASURES`. */
  measures: EvaluationMeasure[];
  /** Reoffenders in the treatment group; null when fewer than `rules.minPersons`. */
  treatedReoffenders: number | null;
  /** The headline in plain language, led by the reoffending rate (two or three sentences). */
  summary: string;
}

/** z_{0.975}: the normal quantile of every 95 % Wald and Wilson interval here. */
const Z = normalQuantile(0.975);

interface Interval {
  lower: number;
  upper: number;
}

/**
 * A weighted group's estimate of one measure, before scaling to "per 100 people": the weighted mean of
 * the person values and the squared standard error of that mean.
 */
interface GroupEstimate {
  /** Kish effective size n_eff = (Σw)² / Σw²; the number of people for unit weights. */
  effectiveSize: number;
  /** m = Σwx / Σw. */
  mean: number;
  /** Var(m): p(1 − p)/n_eff for a rate, s²/n_eff for a mean; null when undefined (n_eff ≤ 1). */
  variance: number | null;
  /** 95 % interval of m: Wilson (rates) or t (means); null when undefined. */
  ci: Interval | null;
}

interface WeightedMoments {
  effectiveSize: number;
  mean: number;
  /**
   * s² = Σw(x − m)² / (Σw − Σw²/Σw), the weighted variance with "reliability weights" — equivalently the
   * weighted population variance Σw(x − m)²/Σw times n_eff/(n_eff − 1). For unit weights it is the sample
   * variance with n − 1 in the denominator. Null when n_eff ≤ 1.
   */
  variance: number | null;
}

function weightedMoments(values: readonly number[], weights: readonly number[]): WeightedMoments {
  let total = 0;
  let totalSquares = 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    total += weights[i];
    totalSquares += weights[i] * weights[i];
    sum += weights[i] * values[i];
  }
  const mean = sum / total;
  const effectiveSize = (total * total) / totalSquares;
  // Two passes: the centred sum keeps its digits when the variance is small against m².
  let centred = 0;
  for (let i = 0; i < values.length; i++) centred += weights[i] * (values[i] - mean) ** 2;
  const denominator = total - totalSquares / total;
  return { effectiveSize, mean, variance: effectiveSize > 1 && denominator > 0 ? centred / denominator : null };
}

/**
 * The Wilson score interval for a proportion p out of n (n may be an effective size), written as R's
 * `prop.test(correct = FALSE)` writes it: (p + z²/2n ± z·√(p(1 − p)/n + z²/4n²)) / (1 + z²/n).
 */
function wilsonInterval(p: number, n: number): Interval {
  const z22n = (Z * Z) / (2 * n);
  const half = Z * Math.sqrt((p * (1 - p)) / n + z22n / (2 * n));
  const denominator = 1 + 2 * z22n;
  return {
    lower: Math.max(p === 0 ? 0 : (p + z22n - half) / denominator, 0),
    upper: Math.min(p === 1 ? 1 : (p + z22n + half) / denominator, 1),
  };
}

/** A rate: the weighted share of people with the event, Var = p(1 − p)/n_eff, Wilson interval with n_eff. */
function rateEstimate(events: readonly boolean[], weights: readonly number[]): GroupEstimate {
  const { effectiveSize, mean } = weightedMoments(
    events.map((event) => (event ? 1 : 0)),
    weights,
  );
  return {
    effectiveSize,
    mean,
    variance: (mean * (1 - mean)) / effectiveSize,
    ci: wilsonInterval(mean, effectiveSize),
  };
}

/** A mean: Var = s²/n_eff, interval m ± t_{0.975, n_eff − 1}·s/√n_eff (R's `t.test(x)` for unit weights). */
function meanEstimate(values: readonly number[], weights: readonly number[]): GroupEstimate {
  const { effectiveSize, mean, variance } = weightedMoments(values, weights);
  if (variance === null) return { effectiveSize, mean, variance: null, ci: null };
  const standardError = Math.sqrt(variance / effectiveSize);
  const half = studentTQuantile(0.975, effectiveSize - 1) * standardError;
  return {
    effectiveSize,
    mean,
    variance: variance / effectiveSize,
    ci: standardError > 0 ? { lower: mean - half, upper: mean + half } : null,
  };
}

interface DifferenceTest {
  estimate: number;
  ci: Interval | null;
  pValue: number | null;
}

/**
 * Rates: d = p₁ − p₂ with the unpooled SE = √(p₁(1 − p₁)/n₁ + p₂(1 − p₂)/n₂) (n₂ the comparison group's
 * effective size); Wald interval d ± z·SE and the two-sample z test z = d/SE, p = 2Φ(−|z|).
 */
function rateDifference(treatment: GroupEstimate, comparison: GroupEstimate): DifferenceTest {
  const estimate = treatment.mean - comparison.mean;
  const standardError = Math.sqrt((treatment.variance ?? 0) + (comparison.variance ?? 0));
  if (!(standardError > 0)) return { estimate, ci: null, pValue: null };
  return {
    estimate,
    ci: { lower: estimate - Z * standardError, upper: estimate + Z * standardError },
    pValue: 2 * normalCdf(-Math.abs(estimate / standardError)),
  };
}

/**
 * Means: Welch's test with a = s₁²/n₁ and b = s₂²/n₂ (n the effective sizes): d = m₁ − m₂, SE = √(a + b),
 * df = (a + b)² / (a²/(n₁ − 1) + b²/(n₂ − 1)) (Welch–Satterthwaite), interval d ± t_{0.975, df}·SE,
 * t = d/SE and p = 2·P(T_df > |t|) — R's `t.test(x, y)` for unit weights.
 */
function meanDifference(treatment: GroupEstimate, comparison: GroupEstimate): DifferenceTest {
  const estimate = treatment.mean - comparison.mean;
  const a = treatment.variance;
  const b = comparison.variance;
  if (a === null || b === null || !(a + b > 0)) return { estimate, ci: null, pValue: null };
  const standardError = Math.sqrt(a + b);
  const df = (a + b) ** 2 / (a ** 2 / (treatment.effectiveSize - 1) + b ** 2 / (comparison.effectiveSize - 1));
  const half = studentTQuantile(0.975, df) * standardError;
  return {
    estimate,
    ci: { lower: estimate - half, upper: estimate + half },
    pValue: 2 * studentTCdf(-Math.abs(estimate / standardError), df),
  };
}

function checkPerson(person: PersonOutcome, group: 'treatment' | 'comparison', index: number): void {
  const where = `${group} person ${index + 1}`;
  const fail = (what: string): never => {
    throw new FedlabError('INVALID_ARGUMENT', `${where}: ${what}`);
  };
  if (group === 'treatment' && person.weight !== 1) fail('a treated person must have weight 1');
  if (!(Number.isFinite(person.weight) && person.weight > 0)) fail('the weight must be a positive number');
  if (!(Number.isInteger(person.reoffences) && person.reoffences >= 0)) fail('reoffences must be a non-negative integer');
  const days = person.daysToFirstReoffence;
  if (person.reoffences === 0 && days !== null) fail('days to first reoffence must be null without a reoffence');
  if (person.reoffences > 0 && !(days !== null && Number.isFinite(days) && days >= 0)) {
    fail('days to first reoffence must be a non-negative number for a reoffender');
  }
  if (person.custodial && person.reoffences === 0) fail('a custodial sentence needs a proven reoffence');
}

/** What is said about each measure (the statement and summary sentences are built from these). */
interface MeasureText {
  label: string;
  unit: EvaluationMeasure['unit'];
  test: EvaluationMeasure['test'];
  /** The measure as the subject of a sentence. */
  subject: string;
  /** The treatment group's value, as the opening clause. */
  treatment(value: string): string;
  /** The comparison group's value, following the treatment clause. */
  comparison(value: string): string;
  /** "between a and b …" for an interval entirely below 0, above 0, or across 0 (a, b are magnitudes). */
  range(a: string, b: string, side: 'below' | 'above' | 'across'): string;
  /** What the program may have changed: "… cannot tell whether the program changed {effect}". */
  effect: string;
}

function peoplePer100(noun: string): MeasureText['range'] {
  return (a, b, side) =>
    side === 'across' ? `between ${a} fewer and ${b} more ${noun}` : `between ${a} and ${b} ${side === 'below' ? 'fewer' : 'more'} ${noun}`;
}

const TEXT: Record<EvaluationMeasureName, MeasureText> = {
  reoffending_rate: {
    label: 'Proven reoffending rate',
    unit: 'per 100 people',
    test: 'two-sample z test',
    subject: 'the proven reoffending rate',
    treatment: (v) => `For every 100 typical people who took part, ${v} committed a proven reoffence within a year`,
    comparison: (v) => `compared with ${v} for every 100 similar people who did not`,
    range: peoplePer100('people per 100'),
    effect: 'how many people commit a proven reoffence',
  },
  reoffences_per_100: {
    label: 'Proven reoffences per 100 people',
    unit: 'per 100 people',
    test: 'Welch two-sample t test',
    subject: 'the number of proven reoffences per 100 people',
    treatment: (v) => `For every 100 typical people who took part, there were ${v} proven reoffences within a year`,
    comparison: (v) => `compared with ${v} for every 100 similar people who did not`,
    range: peoplePer100('reoffences per 100 people'),
    effect: 'how many proven reoffences people commit',
  },
  days_to_first_reoffence: {
    label: 'Days to first proven reoffence (reoffenders only)',
    unit: 'days',
    test: 'Welch two-sample t test',
    subject: 'the time to the first proven reoffence',
    treatment: (v) => `Among typical people who took part and committed a proven reoffence within a year, the first came after ${v} days on average`,
    comparison: (v) => `compared with ${v} days for similar people who did not take part`,
    range: (a, b, side) =>
      side === 'across' ? `between ${a} days sooner and ${b} days later` : `between ${a} and ${b} days ${side === 'below' ? 'sooner' : 'later'}`,
    effect: 'how soon people reoffend',
  },
  custodial_rate: {
    label: 'Custodial sentence rate',
    unit: 'per 100 people',
    test: 'two-sample z test',
    subject: 'the custodial sentence rate',
    treatment: (v) => `For every 100 typical people who took part, ${v} received a custodial sentence for a proven reoffence within a year`,
    comparison: (v) => `compared with ${v} for every 100 similar people who did not`,
    range: peoplePer100('people per 100'),
    effect: 'how many people receive a custodial sentence',
  },
};

/** A figure for a sentence: fixed decimals, thousands separated by commas, never "-0". */
function figure(value: number, decimals = 0): string {
  const fixed = Math.abs(value).toFixed(decimals);
  const [whole, fraction] = fixed.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const negative = value < 0 && Number(fixed) !== 0;
  return `${negative ? '-' : ''}${grouped}${fraction === undefined ? '' : `.${fraction}`}`;
}

/**
 * The p-value as written in a sentence: "p < 0.001", else 3 decimals (2 from 0.1 up), with more decimals
 * when rounding would put it on the other side of the significance level (0.0496 → "0.0496", not "0.050").
 */
function pText(pValue: number, significanceLevel: number): string {
  if (pValue < 0.001) return 'p < 0.001';
  let decimals = pValue >= 0.1 ? 2 : 3;
  while (decimals < 6 && Number(pValue.toFixed(decimals)) <= significanceLevel !== pValue <= significanceLevel) decimals++;
  return `p = ${pValue.toFixed(decimals)}`;
}

/** "between a and b …" for a difference interval, whole numbers unless that would show 0 or a = b. */
function rangeText(text: MeasureText, ci: Interval): string {
  const rounded = (decimals: number) => [Number(ci.lower.toFixed(decimals)), Number(ci.upper.toFixed(decimals))];
  const [low, high] = rounded(0);
  const decimals = low === 0 || high === 0 || low === high ? 1 : 0;
  const side = ci.upper < 0 ? 'below' : ci.lower > 0 ? 'above' : 'across';
  const a = side === 'below' ? -ci.upper : Math.abs(ci.lower);
  const b = side === 'below' ? -ci.lower : ci.upper;
  return text.range(figure(a, decimals), figure(b, decimals), side);
}

interface Verdict {
  significant: boolean;
  /** p ≤ the significance level, but too few reoffenders in the treatment group to call it significant. */
  tooFewReoffenders: boolean;
}

function tooFewReoffendersClause(treatedReoffenders: number | null, rules: EvaluationRules): string {
  const who =
    treatedReoffenders === null
      ? `fewer than ${figure(rules.minPersons)} people who took part reoffended`
      : `only ${figure(treatedReoffenders)} people who took part reoffended`;
  return `${who}, fewer than the ${figure(rules.minTreatedReoffenders)} needed to call a difference significant`;
}

function statement(
  name: EvaluationMeasureName,
  measure: Pick<EvaluationMeasure, 'treatment' | 'comparison' | 'difference' | 'pValue'>,
  verdict: Verdict,
  treatedReoffenders: number | null,
  rules: EvaluationRules,
): string {
  const text = TEXT[name];
  const { treatment, comparison, difference, pValue } = measure;
  if (treatment.value === null && comparison.value === null) {
    return (
      `${capitalise(text.subject)} cannot be shown: for the people who took part, ${treatment.suppressed}; ` +
      `for the comparison group, ${comparison.suppressed}.`
    );
  }
  if (treatment.value === null) {
    return (
      `${capitalise(text.subject)} cannot be shown for the people who took part (${treatment.suppressed}), ` + 'so the two groups cannot be compared on it.'
    );
  }
  const opening = text.treatment(figure(treatment.value));
  if (comparison.value === null) {
    return (
      `${opening}; the figure for similar people who did not take part cannot be shown (${comparison.suppressed}), ` +
      'so the two groups cannot be compared on it.'
    );
  }
  const values = `${opening}, ${text.comparison(figure(comparison.value))}`;
  const cannotTell = `this evaluation cannot tell whether the program changed ${text.effect}`;
  if (difference === null || difference.ci === null || pValue === null) {
    return `${values}; the difference could not be tested, so ${cannotTell}.`;
  }
  const range = rangeText(text, difference.ci);
  const p = pText(pValue, rules.significanceLevel);
  if (verdict.significant) return `${values}: ${range} (${p}).`;
  if (verdict.tooFewReoffenders) {
    return `${values}: ${range} (${p}), but ${tooFewReoffendersClause(treatedReoffenders, rules)}, so ${cannotTell}.`;
  }
  return `${values}; the difference (${range}, ${p}) could be due to chance, so ${cannotTell}.`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function joinList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function summaryText(
  measures: readonly EvaluationMeasure[],
  verdicts: readonly Verdict[],
  treatedCount: number,
  comparisonCount: number,
  treatedReoffenders: number | null,
  rules: EvaluationRules,
): string {
  const sentences = [
    `This evaluation compared ${figure(treatedCount)} people who took part with a matched comparison group of ` +
      `${figure(comparisonCount)} similar people who did not.`,
  ];
  const [rate, ...others] = measures;
  const verdict = verdicts[0];
  const text = TEXT.reoffending_rate;
  if (rate.treatment.value === null || rate.comparison.value === null) {
    const reason = rate.treatment.suppressed ?? rate.comparison.suppressed;
    sentences.push(`${capitalise(text.subject)} cannot be shown (${reason}).`);
  } else {
    const values =
      `One year on, ${figure(rate.treatment.value)} in every 100 people who took part had committed a proven reoffence, ` +
      `compared with ${figure(rate.comparison.value)} in every 100 similar people`;
    const cannotTell = 'so the evaluation cannot tell whether the program changed reoffending';
    const ci = rate.difference?.ci ?? null;
    if (verdict.significant && ci !== null) {
      sentences.push(`${values}: a statistically significant difference of ${rangeText(text, ci)}.`);
    } else if (verdict.tooFewReoffenders && ci !== null) {
      const tooFew = tooFewReoffendersClause(treatedReoffenders, rules);
      sentences.push(`${values}: a difference of ${rangeText(text, ci)}, but ${tooFew}, ${cannotTell}.`);
    } else {
      sentences.push(`${values}; the difference could be due to chance, ${cannotTell}.`);
    }
  }
  const significantOthers = others.filter((_, i) => verdicts[i + 1].significant).map((m) => TEXT[m.name].subject);
  if (significantOthers.length === 0) {
    sentences.push('No other measure showed a statistically significant difference.');
  } else {
    const also = verdict.significant ? 'also ' : '';
    sentences.push(`There was ${also}a statistically significant difference in ${joinList(significantOthers)}.`);
  }
  return sentences.join(' ');
}

/** Why a group value is withheld, or null when it may be released. */
type Suppression = { reason: string; hidePeople: boolean } | null;

function suppression(counts: { people: number; events?: number; eventNoun?: string }, minPersons: number): Suppression {
  const fewer = `fewer than ${figure(minPersons)} people`;
  if (counts.people < minPersons) return { reason: fewer, hidePeople: true };
  if (counts.events !== undefined && counts.eventNoun !== undefined) {
    if (counts.events < minPersons) return { reason: `${fewer} with ${counts.eventNoun}`, hidePeople: false };
    if (counts.people - counts.events < minPersons) return { reason: `${fewer} without ${counts.eventNoun}`, hidePeople: false };
  }
  return null;
}

function groupMeasure(estimate: GroupEstimate, scale: number, suppressed: Suppression): GroupMeasure {
  if (suppressed !== null) {
    return { people: suppressed.hidePeople ? 0 : estimate.effectiveSize, value: null, ci: null, suppressed: suppressed.reason };
  }
  return {
    people: estimate.effectiveSize,
    value: scale * estimate.mean,
    ci: estimate.ci === null ? null : { lower: scale * estimate.ci.lower, upper: scale * estimate.ci.upper },
    suppressed: null,
  };
}

interface GroupData {
  people: readonly PersonOutcome[];
  weights: number[];
  reoffenders: PersonOutcome[];
}

function groupData(people: readonly PersonOutcome[]): GroupData {
  return { people, weights: people.map((p) => p.weight), reoffenders: people.filter((p) => p.reoffences > 0) };
}

function fewReoffendersReason(minPersons: number): string {
  return `fewer than ${figure(minPersons)} people with a proven reoffence`;
}

/**
 * A group's estimate with differential-privacy noise, built from noisy figures only (post-processing of
 * three noisy releases: the group's count n, total S and, for a mean, total of squares T): the value is
 * m = (S + z_S)/(n + z_n) kept within its range; the sampling variance comes from the noisy figures too
 * — p(1 − p)/n for a rate, s²/n with s² = (T + z_T − nm²)/(n − 1) for a mean — so nothing exact shows
 * through the interval; the noise's delta-method variance (σ_S² + m²σ_n²)/n² is added to it and to the
 * interval (Wilson for a rate, t for a mean, then widened).
 */
function noisyEstimate(
  name: EvaluationMeasureName,
  estimate: GroupEstimate,
  noise: { total: { draw: number; variance: number }; squares: { draw: number; variance: number } | null; count: { draw: number; variance: number } },
): GroupEstimate {
  const rate = name === 'reoffending_rate' || name === 'custodial_rate';
  const exactN = estimate.effectiveSize;
  const n = Math.max(2, Math.round(exactN) + noise.count.draw);
  const mean = Math.min(rate ? 1 : Infinity, Math.max(0, (estimate.mean * exactN + noise.total.draw) / n));
  const noiseVariance = (noise.total.variance + mean * mean * noise.count.variance) / (n * n);
  const widen = (interval: Interval, centre: number): Interval => ({
    lower: Math.max(0, centre - Math.sqrt((centre - interval.lower) ** 2 + Z * Z * noiseVariance)),
    upper: Math.min(rate ? 1 : Infinity, centre + Math.sqrt((interval.upper - centre) ** 2 + Z * Z * noiseVariance)),
  });
  if (rate) return { effectiveSize: n, mean, variance: (mean * (1 - mean)) / n + noiseVariance, ci: widen(wilsonInterval(mean, n), mean) };
  // Σx² of the group: from the exact (unbiased) variance and mean, then noised.
  const exactSquares =
    estimate.variance === null ? estimate.mean * estimate.mean * exactN : estimate.variance * exactN * (exactN - 1) + exactN * estimate.mean * estimate.mean;
  const squares = exactSquares + (noise.squares?.draw ?? 0);
  const s2 = Math.max(0, (squares - n * mean * mean) / (n - 1));
  const standardError = Math.sqrt(s2 / n);
  const half = studentTQuantile(0.975, n - 1) * standardError;
  return { effectiveSize: n, mean, variance: s2 / n + noiseVariance, ci: widen({ lower: mean - half, upper: mean + half }, mean) };
}

/** Whether a group's noisy value may be released, decided on its noisy counts (as {@link estimateGroup} does on exact ones). */
function noisySuppression(name: EvaluationMeasureName, estimate: GroupEstimate, reoffenders: number, minPersons: number): Suppression {
  const people = estimate.effectiveSize;
  switch (name) {
    case 'reoffending_rate':
      return suppression({ people, events: Math.round(estimate.mean * people), eventNoun: 'a proven reoffence' }, minPersons);
    case 'custodial_rate':
      return suppression({ people, events: Math.round(estimate.mean * people), eventNoun: 'a custodial sentence' }, minPersons);
    case 'reoffences_per_100':
      return suppression({ people }, minPersons) ?? (reoffenders < minPersons ? { reason: fewReoffendersReason(minPersons), hidePeople: false } : null);
    case 'days_to_first_reoffence':
      return people < minPersons ? { reason: fewReoffendersReason(minPersons), hidePeople: true } : null;
  }
}

/** The estimate of one measure in one group and whether it may be released. */
function estimateGroup(name: EvaluationMeasureName, group: GroupData, minPersons: number, reoffenceCap: number): [GroupEstimate, Suppression] {
  const people = group.people.length;
  const reoffenders = group.reoffenders.length;
  switch (name) {
    case 'reoffending_rate':
      return [
        rateEstimate(
          group.people.map((p) => p.reoffences > 0),
          group.weights,
        ),
        suppression({ people, events: reoffenders, eventNoun: 'a proven reoffence' }, minPersons),
      ];
    case 'custodial_rate': {
      const events = group.people.map((p) => p.custodial);
      return [
        rateEstimate(events, group.weights),
        suppression({ people, events: events.filter(Boolean).length, eventNoun: 'a custodial sentence' }, minPersons),
      ];
    }
    case 'reoffences_per_100': {
      // The total is carried by the reoffenders alone, so they too must be at least minPersons.
      const few = suppression({ people }, minPersons);
      const fewReoffenders = reoffenders < minPersons ? { reason: fewReoffendersReason(minPersons), hidePeople: false } : null;
      return [
        meanEstimate(
          group.people.map((p) => Math.min(reoffenceCap, p.reoffences)),
          group.weights,
        ),
        few ?? fewReoffenders,
      ];
    }
    case 'days_to_first_reoffence': {
      const estimate = meanEstimate(
        group.reoffenders.map((p) => p.daysToFirstReoffence as number),
        group.reoffenders.map((p) => p.weight),
      );
      // The people behind the value are the reoffenders: too few of them, and their number is withheld too.
      const few = reoffenders < minPersons ? { reason: fewReoffendersReason(minPersons), hidePeople: true } : null;
      return [estimate, few];
    }
  }
}

const SCALE: Record<EvaluationMeasureName, number> = {
  reoffending_rate: 100,
  reoffences_per_100: 100,
  days_to_first_reoffence: 1,
  custodial_rate: 100,
};

/**
 * The four Justice Data Lab measures for a treatment group and its propensity-matched comparison group,
 * with the JDL reporting rules applied (`rules`).
 *
 * Each group's value is a weighted mean over its people, m = Σwx / Σw (treated weights are 1, comparison
 * weights are matching weights), with the Kish effective size n_eff = (Σw)² / Σw² in place of n:
 * - rates (reoffending, custodial; per 100 people): p = m of the 0/1 indicator, Var(p) = p(1 − p)/n_eff,
 *   Wilson 95 % interval with n_eff; difference d = p₁ − p₂ with the Wald interval d ± z·SE and the
 *   two-sample z test z = d/SE, p = 2Φ(−|z|), both with the unpooled SE = √(Var(p₁) + Var(p₂));
 * - means (reoffences per 100 people; days to first reoffence among reoffenders only): the weighted variance
 *   s² = Σw(x − m)² / (Σw − Σw²/Σw), Var(m) = s²/n_eff, interval m ± t_{0.975, n_eff − 1}·√Var(m); the
 *   difference by Welch's t test and interval with a = Var(m₁), b = Var(m₂) and the Welch–Satterthwaite
 *   df = (a + b)² / (a²/(n₁ − 1) + b²/(n₂ − 1)).
 * For unit weights these are R's `prop.test(correct = FALSE)` interval, `t.test(x)` and `t.test(x, y)`.
 *
 * Disclosure: a group value is suppressed when fewer than `rules.minPersons` distinct people are behind it
 * (the group; for days to first reoffence, and for reoffences per 100, its reoffenders), and a rate also
 * when fewer than that many distinct people have the event or do not have it. A suppressed value has
 * `people` 0 when the people behind it are themselves too few (their number would disclose what the
 * suppression hides); otherwise `people` is the group's effective size. The difference and p-value are null
 * when either group is suppressed. A measure is significant when p ≤ `rules.significanceLevel`
 * and the treatment group has at least `rules.minTreatedReoffenders` reoffenders.
 *
 * Throws `EVALUATION_TOO_SMALL` when the treatment group has fewer than `rules.minCohort` people, and
 * `INVALID_ARGUMENT` for an empty comparison group or an impossible person outcome.
 */
export function evaluationMeasures(
  treated: readonly PersonOutcome[],
  comparison: readonly PersonOutcome[],
  rules: EvaluationRules,
  noise?: EvaluationNoise,
): EvaluationMeasures {
  treated.forEach((person, i) => checkPerson(person, 'treatment', i));
  comparison.forEach((person, i) => checkPerson(person, 'comparison', i));
  // With noise the caller decided the minimum on its noisy count; an empty group still cannot be evaluated.
  if (noise ? treated.length === 0 : treated.length < rules.minCohort) {
    throw new FedlabError('EVALUATION_TOO_SMALL', `${treated.length} people are in the treatment group; an evaluation needs at least ${rules.minCohort}`);
  }
  if (comparison.length === 0) throw new FedlabError('INVALID_ARGUMENT', 'the comparison group is empty');

  const groups = { treatment: groupData(treated), comparison: groupData(comparison) };
  // With noise, the counts behind the significance and suppression rules are noisy too (post-processing).
  const reoffenderCount = groups.treatment.reoffenders.length + (noise?.count() ?? 0);
  const comparisonReoffenders = groups.comparison.reoffenders.length + (noise?.count() ?? 0);
  const treatedShown = noise ? Math.max(0, treated.length + noise.count()) : treated.length;
  // Released only when the non-reoffenders are as many as the minimum too: with the group size, the
  // count would otherwise give away the suppressed small complement.
  const treatedReoffenders = reoffenderCount < rules.minPersons || treatedShown - reoffenderCount < rules.minPersons ? null : reoffenderCount;
  const verdicts: Verdict[] = [];
  const shown = (count: number) => (noise ? Math.max(0, count + noise.count()) : count);
  const measures = EVALUATION_MEASURES.map((name): EvaluationMeasure => {
    const cap = noise ? REOFFENCE_CAP : Infinity;
    const [exactTreatment, exactTreatmentSuppression] = estimateGroup(name, groups.treatment, rules.minPersons, cap);
    const [exactComparison, exactComparisonSuppression] = estimateGroup(name, groups.comparison, rules.minPersons, cap);
    const noisy = (group: 'treatment' | 'comparison', exact: GroupEstimate): GroupEstimate =>
      noisyEstimate(name, exact, {
        total: noise!.measure(name, group),
        squares: noise!.squares(name, group),
        count: { draw: noise!.count(), variance: noise!.countVariance },
      });
    const treatmentEstimate = noise ? noisy('treatment', exactTreatment) : exactTreatment;
    const comparisonEstimate = noise ? noisy('comparison', exactComparison) : exactComparison;
    // With noise, what is suppressed is decided on the noisy counts too (the reoffenders: the noisy count).
    const treatmentSuppression = noise ? noisySuppression(name, treatmentEstimate, reoffenderCount, rules.minPersons) : exactTreatmentSuppression;
    const comparisonSuppression = noise ? noisySuppression(name, comparisonEstimate, comparisonReoffenders, rules.minPersons) : exactComparisonSuppression;
    const scale = SCALE[name];
    const treatment = groupMeasure(treatmentEstimate, scale, treatmentSuppression);
    const comparisonMeasure = groupMeasure(comparisonEstimate, scale, comparisonSuppression);
    const released = treatmentSuppression === null && comparisonSuppression === null;
    const test = TEXT[name].test === 'two-sample z test' ? rateDifference : meanDifference;
    const tested = released ? test(treatmentEstimate, comparisonEstimate) : null;
    const difference =
      tested === null
        ? null
        : {
            estimate: scale * tested.estimate,
            ci: tested.ci === null ? null : { lower: scale * tested.ci.lower, upper: scale * tested.ci.upper },
          };
    const pValue = tested?.pValue ?? null;
    const smallP = pValue !== null && pValue <= rules.significanceLevel;
    const enoughReoffenders = reoffenderCount >= rules.minTreatedReoffenders;
    const verdict = { significant: smallP && enoughReoffenders, tooFewReoffenders: smallP && !enoughReoffenders };
    verdicts.push(verdict);
    const parts = { treatment, comparison: comparisonMeasure, difference, pValue };
    return {
      name,
      label: TEXT[name].label,
      unit: TEXT[name].unit,
      ...parts,
      test: TEXT[name].test,
      significant: verdict.significant,
      statement: statement(name, parts, verdict, treatedReoffenders, rules),
    };
  });
  return {
    measures,
    treatedReoffenders,
    summary: summaryText(measures, verdicts, treatedShown, shown(comparison.length), treatedReoffenders, rules),
  };
}
