import { FedlabError, isFedlabError } from '@fedlab/model';
import { PROPENSITY_SELECTION_DEFAULTS } from '@fedlab/study';
import type { ClientRecord } from './client-list';
import { evaluationMeasures, type PersonOutcome } from './evaluation-measures';
import type { EvaluationNoise } from './evaluation-noise';
import {
  EVALUATION_MEASURES,
  EVALUATION_RESULT_SCHEMA,
  type BalanceRowResult,
  type EvaluationMeasureName,
  type EvaluationResult,
  type EvaluationRules,
  type FunnelRow,
} from './evaluation-result';
import {
  COVARIATE_LABELS,
  dayNumber,
  EVALUATION_COVARIATES,
  indexEventFor,
  type EvaluationCovariate,
  type IndexEvent,
  type OffenderHistory,
} from './offender-history';
import type { ClientMatch } from './person-matching';
import { matchedBalance, propensityMatch, type PsmResult, type PsmStage, type PsmUnit } from './propensity-matching';

/** What the justice node hands the evaluation once it has read its data and matched the clients. */
export interface EvaluationInput extends Pick<EvaluationResult, 'evaluationId' | 'organisationId' | 'programme' | 'nodeId' | 'dataset' | 'producedOn'> {
  clients: ClientRecord[];
  /** Rows in the submitted file (all valid: invalid files are refused before this). */
  submittedRows: number;
  matches: ClientMatch[];
  /** Every person of the dataset, by person id. */
  histories: Map<string, OffenderHistory>;
  /** Latest date in the data (YYYY-MM-DD). */
  dataAsOf: string;
  followUpDays: number;
  /** A release counts as a client's index event from this many days before the intervention start. */
  indexWindowDays: number;
  rules: EvaluationRules;
  caliperSd?: number;
  /** The retention statement for the report. */
  retention: string;
  /**
   * Called once per stage with its wall time in milliseconds (`performance.now()`), for benchmarks, in
   * this order: `index events` (the clients' index events, the comparison pool's, and every unit's
   * covariate values for the model), `propensity model` and `nearest-neighbour matching` (see
   * `PsmOptions.onStage`; a fit refused as singular and retried without a covariate is not reported),
   * `measures` (the groups' outcomes and the four measures), `balance` (the balance table). Assembling
   * the result afterwards is not timed; stages after a refusal are not reported. Changes nothing else.
   */
  onStage?: (stage: EvaluationStage, ms: number) => void;
  /** Differential-privacy noise for every released figure that depends on justice data (docs/privacy.md); absent: exact. */
  noise?: EvaluationNoise;
}

/** The stages {@link EvaluationInput.onStage} reports, in the order they run. */
export type EvaluationStage = 'index events' | PsmStage | 'measures' | 'balance';

/** The released result and the persons behind it (for the node's cohort table and differencing check). */
export interface EvaluationOutcome {
  result: EvaluationResult;
  treated: string[];
  comparison: Array<{ personId: string; weight: number }>;
}

const FUNNEL_LABELS: Record<FunnelRow['stage'], string> = {
  submitted: 'People in the submitted list',
  valid: 'Rows with valid details',
  matched: 'Matched to a person in the justice data',
  eligible: 'With a release from custody during the intervention and a full year of follow-up',
  cohort: 'In the final treatment group (a similar comparison person was found)',
};

/**
 * Runs an impact evaluation over data the node has already read (DESIGN.md §7.5):
 *
 * 1. each matched client's index event is their first custody release from `indexWindowDays` before the
 *    intervention start to its end, with a complete follow-up (see {@link indexEventFor});
 * 2. the minimum-cohort rule on the (noisy) eligible count;
 * 3. the comparison pool is every person not matched to a client with a custody release in the span of
 *    the clients' index dates (the first such release is the index) and a complete follow-up, within the
 *    common support of the participants (see {@link modelCovariates});
 * 4. participation is modelled on {@link EVALUATION_COVARIATES} and each client is matched to the nearest
 *    comparison person on the logit, within 0.2 SD, with replacement (MatchIt's
 *    nearest/glm/linear.logit/replace);
 * 5. the four measures are compared under the JDL rules and disclosure control.
 *
 * Throws EVALUATION_TOO_SMALL, naming the match-report counts, when fewer than `rules.minCohort`
 * people reach the final treatment group; INVALID_QUERY when there is no comparison pool or the
 * participation model cannot be fitted.
 */
export function buildEvaluation(input: EvaluationInput): EvaluationOutcome {
  const { rules, followUpDays, onStage } = input;
  let stageStart = performance.now();
  const endStage = (stage: EvaluationStage): void => {
    const now = performance.now();
    onStage?.(stage, now - stageStart);
    stageStart = now;
  };
  const dataAsOf = dayNumber(input.dataAsOf);
  const clientByLine = new Map(input.clients.map((c) => [c.line, c]));
  const matchedIds = new Set<string>();
  const treatedEvents: IndexEvent[] = [];
  for (const match of input.matches) {
    if (match.personId === null) continue;
    matchedIds.add(match.personId);
    const client = clientByLine.get(match.line);
    const history = input.histories.get(match.personId);
    if (!client || !history) continue;
    const event = indexEventFor(
      history,
      dayNumber(client.interventionStart) - input.indexWindowDays,
      dayNumber(client.interventionEnd),
      dataAsOf,
      followUpDays,
    );
    if (event) treatedEvents.push(event);
  }
  // Counts that depend on justice data are released with noise when there is noise; the organisation's own
  // list sizes (submitted, valid) are its own figures and stay exact.
  const shown = (count: number) => (input.noise ? Math.max(0, count + input.noise.count()) : count);
  // Post-processing keeps the noisy funnel a funnel: each stage at most the one before (the list's own size first).
  const matchedShown = Math.min(input.clients.length, shown(matchedIds.size));
  const eligibleShown = Math.min(matchedShown, shown(treatedEvents.length));
  const funnel = (cohort: number): FunnelRow[] =>
    (
      [
        ['submitted', input.submittedRows],
        ['valid', input.clients.length],
        ['matched', matchedShown],
        ['eligible', eligibleShown],
        ['cohort', cohort],
      ] as const
    ).map(([stage, count]) => ({ stage, label: FUNNEL_LABELS[stage], count }));
  // With noise, the minimum-cohort rule is decided on the noisy counts (post-processing), so a refusal
  // says nothing exact about the justice data either.
  const tooSmall = (reached: number) =>
    new FedlabError(
      'EVALUATION_TOO_SMALL',
      `${input.noise ? 'about ' : ''}${reached} people reached the final treatment group (submitted ${input.submittedRows}, matched ${matchedShown}, ` +
        `with an eligible release ${eligibleShown}); an evaluation needs at least ${rules.minCohort}`,
    );
  if (eligibleShown < rules.minCohort || treatedEvents.length === 0) throw tooSmall(eligibleShown);

  const indexDays = treatedEvents.map((e) => dayNumber(e.indexDate));
  const from = Math.min(...indexDays);
  const to = Math.max(...indexDays);
  const candidates: IndexEvent[] = [];
  for (const [personId, history] of input.histories) {
    if (matchedIds.has(personId)) continue;
    const event = indexEventFor(history, from, to, dataAsOf, followUpDays);
    if (event) candidates.push(event);
  }
  const covariates = modelCovariates(treatedEvents, candidates, rules.minPersons);
  const poolEvents = candidates.filter(covariates.supported);
  if (poolEvents.length === 0)
    throw new FedlabError('INVALID_QUERY', 'no comparison pool: nobody outside the list was released from custody in the same period');

  const events = [...treatedEvents, ...poolEvents];
  const units: PsmUnit[] = events.map((e, id) => ({ id, treated: id < treatedEvents.length, values: unitValues(e, covariates.levels) }));
  endStage('index events');
  const psm = fitWithoutCollinear(covariates.names, (names) =>
    propensityMatch({ units, covariates: names, onStage, ...(input.caliperSd === undefined ? {} : { caliperSd: input.caliperSd }) }),
  );
  stageStart = performance.now();
  const cohort = psm.pairs.length;
  const cohortShown = Math.min(eligibleShown, shown(cohort));
  if (cohortShown < rules.minCohort || cohort === 0) throw tooSmall(cohortShown);

  const treatedOutcomes: PersonOutcome[] = [];
  const comparisonOutcomes: PersonOutcome[] = [];
  const treated: string[] = [];
  const comparison: EvaluationOutcome['comparison'] = [];
  for (const [id, weight] of psm.weights) {
    const event = events[id]!;
    if (id < treatedEvents.length) {
      treatedOutcomes.push(event.outcome);
      treated.push(event.personId);
    } else {
      comparisonOutcomes.push({ ...event.outcome, weight });
      comparison.push({ personId: event.personId, weight });
    }
  }
  const measures = evaluationMeasures(treatedOutcomes, comparisonOutcomes, rules, input.noise);
  endStage('measures');
  const balance: BalanceRowResult[] = matchedBalance({ units, covariates: psm.covariates, result: psm }).map((row) => ({
    ...row,
    label: balanceLabel(row.covariate),
  }));
  endStage('balance');
  const weights = comparison.map((c) => c.weight);
  const sum = weights.reduce((a, b) => a + b, 0);
  const sumSquares = weights.reduce((a, b) => a + b * b, 0);
  const flagged = balance.filter((row) => row.flagged).map((row) => row.label);
  const outsideShown = shown(psm.outsideCaliper.length);
  const caveats = [
    ...(psm.outsideCaliper.length > 0
      ? [
          `${input.noise ? 'About ' : ''}${outsideShown} of the ${eligibleShown} eligible people had no similar enough comparison person and are not in the results.`,
        ]
      : []),
    ...(flagged.length > 0 ? [`After matching, these characteristics still differ between the groups by more than 10 %: ${flagged.join('; ')}.`] : []),
    ...(input.noise
      ? [
          'To protect the privacy of the people in the justice data, every number in this report that comes from that data has a small amount of random noise added on purpose ' +
            '(the numbers of people matched, eligible and in each group, and every rate, mean and difference). The ranges shown already allow for it. ' +
            'Only the numbers of people you submitted are exact.',
        ]
      : []),
  ];
  const result: EvaluationResult = {
    schema: EVALUATION_RESULT_SCHEMA,
    evaluationId: input.evaluationId,
    organisationId: input.organisationId,
    programme: input.programme,
    nodeId: input.nodeId,
    dataset: input.dataset,
    producedOn: input.producedOn,
    dataAsOf: input.dataAsOf,
    followUpDays,
    rules,
    funnel: funnel(cohortShown),
    matching: {
      method: 'nearest neighbour on the logit of the propensity score, with replacement',
      covariates: psm.covariates,
      caliperSd: input.caliperSd ?? PROPENSITY_SELECTION_DEFAULTS.caliperSd,
      caliper: psm.caliper,
      comparisonPool: shown(poolEvents.length),
      treatedMatched: cohortShown,
      treatedOutsideCaliper: outsideShown,
      comparisonUsed: shown(comparison.length),
      comparisonEffectiveSize: input.noise ? shown(Math.round(sumSquares > 0 ? (sum * sum) / sumSquares : 0)) : sumSquares > 0 ? (sum * sum) / sumSquares : 0,
    },
    balance,
    measures: measures.measures,
    treatedReoffenders: measures.treatedReoffenders,
    summary: measures.summary,
    caveats,
    retention: input.retention,
    ...(input.noise ? { privacy: privacyOf(input.noise) } : {}),
  };
  return { result, treated, comparison };
}

/** The public description of an evaluation's noise (SDs of the counts, and of each group's total of a measure). */
function privacyOf(noise: EvaluationNoise): NonNullable<EvaluationResult['privacy']> {
  const sd = (v: number) => Number(v.toPrecision(4));
  return {
    rho: noise.rho,
    countSd: sd(Math.sqrt(noise.countVariance)),
    totalSds: Object.fromEntries(EVALUATION_MEASURES.map((name) => [name, sd(Math.sqrt(noise.measureVariance(name)))])) as Record<
      EvaluationMeasureName,
      number
    >,
  };
}

/**
 * Fits the model, leaving out a covariate whose model column is constant or collinear with the ones
 * before it (as R's `glm` gives it no coefficient), until the model is of full rank.
 */
function fitWithoutCollinear(
  names: EvaluationCovariate[],
  fit: (names: EvaluationCovariate[]) => PsmResult,
): PsmResult & { covariates: EvaluationCovariate[] } {
  let current = [...names];
  for (;;) {
    try {
      return { ...fit(current), covariates: current };
    } catch (error) {
      const column = isFedlabError(error, 'INVALID_QUERY') ? error.details.column : undefined;
      const culprit = typeof column === 'string' ? current.filter((name) => column.startsWith(name)).sort((a, b) => b.length - a.length)[0] : undefined;
      if (culprit === undefined || current.length === 1) throw error;
      current = current.filter((name) => name !== culprit);
    }
  }
}

/** The model's covariates, how categorical values map to model levels, and which candidates are comparable. */
interface ModelCovariates {
  names: EvaluationCovariate[];
  /** Per categorical covariate: each value's model level. */
  levels: Map<EvaluationCovariate, Map<string, string>>;
  /** Whether a candidate is within the common support (has values some participant has). */
  supported: (event: IndexEvent) => boolean;
}

/**
 * Chooses the participation model's covariates so that no released figure rests on fewer than
 * `minPersons` participants and the model cannot separate the groups completely:
 *
 * - a category value no participant has is outside the common support: those candidates leave the
 *   pool; a value with at least `minPersons` participants (and some candidate) is its own level; the
 *   others form "other", merged into the level with most participants when "other" has fewer than
 *   `minPersons` participants;
 * - a yes/no characteristic or a number that every participant shares restricts the pool to candidates
 *   who share it and leaves the model; one shared by fewer than `minPersons` participants (or their complement), or
 *   by no candidate (or every candidate), leaves the model;
 * - a category without variation leaves the model.
 */
function modelCovariates(treated: IndexEvent[], candidates: IndexEvent[], minPersons: number): ModelCovariates {
  const names: EvaluationCovariate[] = [];
  const levels = new Map<EvaluationCovariate, Map<string, string>>();
  const restrictions: Array<(event: IndexEvent) => boolean> = [];
  const supported = (event: IndexEvent) => restrictions.every((keep) => keep(event));
  for (const name of EVALUATION_COVARIATES) {
    const pool = candidates.filter(supported);
    const first = treated[0]!.covariates[name];
    if (typeof first === 'string') {
      const count = (events: IndexEvent[]) => {
        const counts = new Map<string, number>();
        for (const e of events) counts.set(String(e.covariates[name]), (counts.get(String(e.covariates[name])) ?? 0) + 1);
        return counts;
      };
      const treatedCounts = count(treated);
      const poolCounts = count(pool);
      const kept = [...treatedCounts].filter(([value, n]) => n >= minPersons && (poolCounts.get(value) ?? 0) > 0).sort((a, b) => b[1] - a[1]);
      const otherTreated = treated.length - kept.reduce((n, [, k]) => n + k, 0);
      const keptValues = new Set(kept.map(([value]) => value));
      // A value no participant has is outside the common support: those candidates leave the pool.
      restrictions.push((e) => treatedCounts.has(String(e.covariates[name])));
      const mapping = new Map<string, string>([...treatedCounts.keys()].map((value) => [value, keptValues.has(value) ? value : 'other']));
      if (otherTreated > 0 && otherTreated < minPersons && kept.length > 0)
        for (const [value, level] of mapping) if (level === 'other') mapping.set(value, kept[0]![0]);
      levels.set(name, mapping);
      if (new Set([...treated, ...pool.filter(supported)].map((e) => mapping.get(String(e.covariates[name])))).size >= 2) names.push(name);
      continue;
    }
    if (typeof first === 'boolean') {
      const yes = treated.filter((e) => e.covariates[name] === true).length;
      const poolYes = pool.filter((e) => e.covariates[name] === true).length;
      if (yes === 0 || yes === treated.length) {
        restrictions.push((e) => e.covariates[name] === first);
        continue;
      }
      if (Math.min(yes, treated.length - yes) >= minPersons && poolYes > 0 && poolYes < pool.length) names.push(name);
      continue;
    }
    if (new Set(treated.map((e) => e.covariates[name])).size === 1) {
      // Every participant has the same value (say, no previous custody): only candidates who share it compare.
      restrictions.push((e) => e.covariates[name] === first);
      continue;
    }
    names.push(name);
  }
  return { names, levels, supported };
}

function unitValues(event: IndexEvent, levels: Map<EvaluationCovariate, Map<string, string>>): PsmUnit['values'] {
  const values: PsmUnit['values'] = {};
  for (const [name, value] of Object.entries(event.covariates) as Array<[EvaluationCovariate, number | string | boolean]>) {
    const mapping = levels.get(name);
    values[name] = mapping === undefined ? value : (mapping.get(String(value)) ?? 'other');
  }
  return values;
}

function balanceLabel(covariate: string): string {
  const [name, level] = covariate.split('=') as [EvaluationCovariate, string | undefined];
  const label = COVARIATE_LABELS[name] ?? name;
  return level === undefined ? label : `${label}: ${level.replace(/_/g, ' ')}`;
}
