import { FedlabError } from '@fedlab/model';
import type { ClientRecord } from './client-list';
import { evaluationMeasures, type PersonOutcome } from './evaluation-measures';
import { EVALUATION_RESULT_SCHEMA, type BalanceRowResult, type EvaluationResult, type EvaluationRules, type FunnelRow } from './evaluation-result';
import { COVARIATE_LABELS, dayNumber, EVALUATION_COVARIATES, indexEventFor, type EvaluationCovariate, type IndexEvent, type OffenderHistory } from './offender-history';
import type { ClientMatch } from './person-matching';
import { matchedBalance, propensityMatch, type PsmUnit } from './propensity-matching';

/** What the justice node hands the evaluation once it has read its data and matched the clients. */
export interface EvaluationInput {
  evaluationId: string;
  organisationId: string;
  programme: string;
  nodeId: string;
  dataset: string;
  /** YYYY-MM-DD. */
  producedOn: string;
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
}

/** The released result and the persons behind it (for the node's cohort table and differencing check). */
export interface EvaluationOutcome {
  result: EvaluationResult;
  treated: string[];
  comparison: Array<{ personId: string; weight: number }>;
}

/** Levels of a categorical covariate with fewer treated people than this are pooled into "other". */
export const MIN_TREATED_PER_LEVEL = 5;

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
 * 2. the comparison pool is every person not matched to a client whose first custody release falls in
 *    the span of the clients' index dates, with a complete follow-up;
 * 3. participation is modelled on {@link EVALUATION_COVARIATES} (levels of a categorical covariate with
 *    fewer than {@link MIN_TREATED_PER_LEVEL} treated people pooled into "other"; covariates without
 *    variation dropped) and each client is matched to the nearest comparison person on the logit,
 *    within 0.2 SD, with replacement (MatchIt's nearest/glm/linear.logit/replace);
 * 4. the four measures are compared under the JDL rules and disclosure control.
 *
 * Throws EVALUATION_TOO_SMALL, naming the match-report counts, when fewer than `rules.minCohort`
 * people reach the final treatment group; INVALID_QUERY when there is no comparison pool or the
 * participation model cannot be fitted.
 */
export function buildEvaluation(input: EvaluationInput): EvaluationOutcome {
  const { rules, followUpDays } = input;
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
    const event = indexEventFor(history, dayNumber(client.interventionStart) - input.indexWindowDays, dayNumber(client.interventionEnd), dataAsOf, followUpDays);
    if (event) treatedEvents.push(event);
  }
  const funnel = (eligible: number, cohort: number): FunnelRow[] =>
    (
      [
        ['submitted', input.submittedRows],
        ['valid', input.clients.length],
        ['matched', matchedIds.size],
        ['eligible', eligible],
        ['cohort', cohort],
      ] as const
    ).map(([stage, count]) => ({ stage, label: FUNNEL_LABELS[stage], count }));
  const tooSmall = (cohort: number) =>
    new FedlabError(
      'EVALUATION_TOO_SMALL',
      `${cohort} people reached the final treatment group (submitted ${input.submittedRows}, matched ${matchedIds.size}, ` +
        `with an eligible release ${treatedEvents.length}); an evaluation needs at least ${rules.minCohort}`,
    );
  if (treatedEvents.length < rules.minCohort) throw tooSmall(treatedEvents.length);

  const indexDays = treatedEvents.map((e) => dayNumber(e.indexDate));
  const from = Math.min(...indexDays);
  const to = Math.max(...indexDays);
  const poolEvents: IndexEvent[] = [];
  for (const [personId, history] of input.histories) {
    if (matchedIds.has(personId)) continue;
    const first = history.offences.find((o) => o.release !== null);
    if (!first) continue;
    const release = dayNumber(first.release!);
    if (release < from || release > to) continue;
    const event = indexEventFor(history, release, release, dataAsOf, followUpDays);
    if (event) poolEvents.push(event);
  }
  if (poolEvents.length === 0) throw new FedlabError('INVALID_QUERY', 'no comparison pool: nobody outside the list was released from custody in the same period');

  const events = [...treatedEvents, ...poolEvents];
  const covariates = modelCovariates(events, treatedEvents.length);
  const units: PsmUnit[] = events.map((e, id) => ({ id, treated: id < treatedEvents.length, values: unitValues(e, covariates.levels) }));
  const psm = propensityMatch({ units, covariates: covariates.names, ...(input.caliperSd === undefined ? {} : { caliperSd: input.caliperSd }) });
  const cohort = psm.pairs.length;
  if (cohort < rules.minCohort) throw tooSmall(cohort);

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
  const measures = evaluationMeasures(treatedOutcomes, comparisonOutcomes, rules);
  const balance: BalanceRowResult[] = matchedBalance({ units, covariates: covariates.names, result: psm }).map((row) => ({ ...row, label: balanceLabel(row.covariate) }));
  const weights = comparison.map((c) => c.weight);
  const sum = weights.reduce((a, b) => a + b, 0);
  const sumSquares = weights.reduce((a, b) => a + b * b, 0);
  const flagged = balance.filter((row) => row.flagged).map((row) => row.label);
  const caveats = [
    ...(psm.outsideCaliper.length > 0
      ? [`${psm.outsideCaliper.length} of the ${treatedEvents.length} eligible people had no similar enough comparison person and are not in the results.`]
      : []),
    ...(flagged.length > 0 ? [`After matching, these characteristics still differ between the groups by more than 10 %: ${flagged.join('; ')}.`] : []),
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
    funnel: funnel(treatedEvents.length, cohort),
    matching: {
      method: 'nearest neighbour on the logit of the propensity score, with replacement',
      covariates: covariates.names,
      caliperSd: input.caliperSd ?? 0.2,
      caliper: psm.caliper,
      comparisonPool: poolEvents.length,
      treatedMatched: cohort,
      treatedOutsideCaliper: psm.outsideCaliper.length,
      comparisonUsed: comparison.length,
      comparisonEffectiveSize: sumSquares > 0 ? (sum * sum) / sumSquares : 0,
    },
    balance,
    measures: measures.measures,
    treatedReoffenders: measures.treatedReoffenders,
    summary: measures.summary,
    caveats,
    retention: input.retention,
  };
  return { result, treated, comparison };
}

/** The covariates with variation, and for categorical ones the levels kept (others pooled into "other"). */
function modelCovariates(events: IndexEvent[], treatedCount: number): { names: EvaluationCovariate[]; levels: Map<EvaluationCovariate, Set<string>> } {
  const names: EvaluationCovariate[] = [];
  const levels = new Map<EvaluationCovariate, Set<string>>();
  for (const name of EVALUATION_COVARIATES) {
    const values = events.map((e) => e.covariates[name]);
    if (typeof values[0] === 'string') {
      const treatedPerLevel = new Map<string, number>();
      for (let i = 0; i < treatedCount; i += 1) treatedPerLevel.set(String(values[i]), (treatedPerLevel.get(String(values[i])) ?? 0) + 1);
      const kept = new Set([...treatedPerLevel].filter(([, n]) => n >= MIN_TREATED_PER_LEVEL).map(([level]) => level));
      const seen = new Set(values.map((v) => (kept.has(String(v)) ? String(v) : 'other')));
      if (seen.size < 2) continue;
      levels.set(name, kept);
    } else if (new Set(values).size < 2) {
      continue;
    }
    names.push(name);
  }
  return { names, levels };
}

function unitValues(event: IndexEvent, levels: Map<EvaluationCovariate, Set<string>>): PsmUnit['values'] {
  const values: PsmUnit['values'] = {};
  for (const [name, value] of Object.entries(event.covariates) as Array<[EvaluationCovariate, number | string | boolean]>) {
    const kept = levels.get(name);
    values[name] = kept === undefined ? value : kept.has(String(value)) ? String(value) : 'other';
  }
  return values;
}

function balanceLabel(covariate: string): string {
  const [name, level] = covariate.split('=') as [EvaluationCovariate, string | undefined];
  const label = COVARIATE_LABELS[name] ?? name;
  return level === undefined ? label : `${label}: ${level.replace(/_/g, ' ')}`;
}
