/**
 * The released result of an impact evaluation (DESIGN.md §7.5, the Justice Data Lab workflow): what
 * the justice node signs and the organisation reads. Aggregate only: every figure here has passed the
 * node's disclosure rules. Serialised as JSON with `schema: "fedlab.evaluation.v1"`.
 */
export const EVALUATION_RESULT_SCHEMA = 'fedlab.evaluation.v1';

/** The JDL reporting rules, with their defaults (policy `evaluation:` may raise, never lower, them). */
export interface EvaluationRules {
  /** At least this many people in the final treatment group, or the evaluation is refused (JDL: 60). */
  minCohort: number;
  /** A difference is called significant only when p ≤ this (0.05) … */
  significanceLevel: number;
  /** … and the treatment group has at least this many reoffenders (JDL: 30). */
  minTreatedReoffenders: number;
  /** Minimum persons behind a released count, rate or mean (the node's `sdc.min_persons`). */
  minPersons: number;
}

export const DEFAULT_EVALUATION_RULES: EvaluationRules = {
  minCohort: 60,
  significanceLevel: 0.05,
  minTreatedReoffenders: 30,
  minPersons: 10,
};

/** The stages of the match report, in order (as in published JDL reports). */
export const FUNNEL_STAGES = ['submitted', 'valid', 'matched', 'eligible', 'cohort'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

export interface FunnelRow {
  stage: FunnelStage;
  /** Plain-language description of the stage. */
  label: string;
  count: number;
}

/** One covariate (or one level of a categorical covariate) of the balance table. */
export interface BalanceRowResult {
  /** Machine name, e.g. `age_at_index` or `index_offence=theft`. */
  covariate: string;
  /** Plain-language label, e.g. "Age at release" or "Index offence: theft". */
  label: string;
  treatedMean: number;
  /** Mean among all eligible non-participants (before matching). */
  comparisonMeanBefore: number;
  /** Weighted mean among the matched comparison group. */
  comparisonMeanAfter: number;
  /** Standardised mean difference (treated − comparison) / SD of the treated, before and after matching. */
  smdBefore: number;
  smdAfter: number;
  /** |smdAfter| > 0.1. */
  flagged: boolean;
}

/** How the comparison group was built. */
export interface MatchingSummary {
  method: 'nearest neighbour on the logit of the propensity score, with replacement';
  /** Covariates of the logistic participation model (machine names). */
  covariates: string[];
  caliperSd: number;
  /** The caliper in logit units (caliperSd × SD of the logit). */
  caliper: number;
  /** Eligible non-participants the comparison group was drawn from. */
  comparisonPool: number;
  /** Treated people with a comparison person within the caliper (the final treatment group). */
  treatedMatched: number;
  /** Treated people dropped because no comparison person was within the caliper. */
  treatedOutsideCaliper: number;
  /** Distinct comparison people used (each may serve several treated people: with replacement). */
  comparisonUsed: number;
  /** Kish effective size of the weighted comparison group, (Σw)² / Σw². */
  comparisonEffectiveSize: number;
}

/** A group's value of one measure. `value` is null when suppressed (see `suppressed`). */
export interface GroupMeasure {
  /** People behind the value (reoffenders only for days to first reoffence); weighted groups: effective size. */
  people: number;
  value: number | null;
  ci: { lower: number; upper: number } | null;
  suppressed: string | null;
}

export const EVALUATION_MEASURES = ['reoffending_rate', 'reoffences_per_100', 'days_to_first_reoffence', 'custodial_rate'] as const;
export type EvaluationMeasureName = (typeof EVALUATION_MEASURES)[number];

/** One headline measure for both groups. Rates and frequencies are per 100 people; days are days. */
export interface EvaluationMeasure {
  name: EvaluationMeasureName;
  label: string;
  unit: 'per 100 people' | 'days';
  treatment: GroupMeasure;
  comparison: GroupMeasure;
  /** Treatment − comparison, with its 95 % CI; null when either group is suppressed. */
  difference: { estimate: number; ci: { lower: number; upper: number } | null } | null;
  test: 'two-sample z test' | 'Welch two-sample t test';
  pValue: number | null;
  /** p ≤ significanceLevel and enough reoffenders in the treatment group. */
  significant: boolean;
  /** One plain-language sentence, per 100 typical people. */
  statement: string;
}

export interface EvaluationResult {
  schema: typeof EVALUATION_RESULT_SCHEMA;
  evaluationId: string;
  organisationId: string;
  /** The organisation's name for its program, as submitted. */
  programme: string;
  nodeId: string;
  dataset: string;
  /** Date (YYYY-MM-DD) the node produced the result. */
  producedOn: string;
  /** Latest date of the justice data used (follow-up must end on or before it). */
  dataAsOf: string;
  followUpDays: number;
  rules: EvaluationRules;
  funnel: FunnelRow[];
  matching: MatchingSummary;
  balance: BalanceRowResult[];
  measures: EvaluationMeasure[];
  /** Reoffenders in the treatment group (for the significance rule); null when fewer than minPersons. */
  treatedReoffenders: number | null;
  /** The headline in plain language (two or three sentences). */
  summary: string;
  caveats: string[];
  /** What happened to the uploaded list and matched cohort at the node. */
  retention: string;
  /**
   * The differential-privacy noise in the figures (docs/privacy.md "Impact evaluations"): ρ spent, the
   * SD of the noise in each count that depends on justice data, and in each group's total of a measure
   * (events, reoffences or days; a value's noise SD is about that over the group's people, ×100 for rates).
   */
  privacy?: { rho: number; countSd: number; totalSds: Record<EvaluationMeasureName, number> };
}
