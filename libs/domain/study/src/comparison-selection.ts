import { covariateKinds, propensityLogits, type GlmCoefficient } from '@fedlab/glm';
import { FedlabError } from '@fedlab/model';
import { NearestAvailable } from './nearest-available';

/** One value of a unit's attribute; null is a missing value. */
export type UnitValue = string | number | boolean | null;

/** A person at the cohort node, with the attributes a comparison group may be matched on. */
export interface StudyUnit {
  /** The person's id at the cohort node; unique among cases and candidates together. */
  id: number;
  values: Record<string, UnitValue>;
}

/** A uniform random number source on [0, 1): `Math.random`, or a seeded generator for reproducible studies. */
export type RandomSource = () => number;

/** A case and the controls chosen for it, in the order they were chosen. */
export interface MatchedSet {
  caseId: number;
  controlIds: number[];
}

/** The controls chosen for a cohort, with how well the cases were served. */
export interface ControlSelection {
  /** Candidate ids chosen as controls: the comparison group (each at most once). */
  controls: number[];
  /** One set per case, in the order of the cases given. */
  matches: MatchedSet[];
  /** Cases that got all k controls. */
  casesMatched: number;
  /** Cases that got at least one but fewer than k controls. */
  casesPartlyMatched: number;
  /** Cases that got no control (for propensity matching this includes cases with a missing covariate). */
  casesUnmatched: number;
}

/** What {@link selectExactControls} needs. */
export interface ExactSelectionOptions {
  cases: readonly StudyUnit[];
  candidates: readonly StudyUnit[];
  /** Attribute names a control must agree on exactly (null, or a missing attribute, is a value of its own). */
  strata: readonly string[];
  /** k, the controls wanted per case: a positive integer. */
  controlsPerCase: number;
  random: RandomSource;
}

/** What {@link selectPropensityControls} needs. */
export interface PropensitySelectionOptions {
  cases: readonly StudyUnit[];
  candidates: readonly StudyUnit[];
  /**
   * Attribute names entering the propensity model: numbers and booleans (as 0/1) as numeric covariates,
   * text as a factor with treatment contrasts (levels in code-point order, the first is the reference).
   */
  covariates: readonly string[];
  /** k, the controls wanted per case: a positive integer. */
  controlsPerCase: number;
  /** The caliper in standard deviations of the logit over all complete units; null for none. Default 0.2. */
  caliperSd?: number | null;
  random: RandomSource;
}

/** The defaults of {@link PropensitySelectionOptions}, in one place: Austin's (2011) recommended caliper. */
export const PROPENSITY_SELECTION_DEFAULTS = { caliperSd: 0.2 } as const;

/** A propensity-score selection: the controls, the fitted model and the caliper applied. */
export interface PropensitySelection extends ControlSelection {
  /** The logistic regression of case membership on the covariates, as R's `summary.glm` reports it. */
  coefficients: GlmCoefficient[];
  /** Whether the model fit converged (it may not under complete separation; the logits are then extreme). */
  converged: boolean;
  /** Sample SD of the linear predictor (logit) over all complete cases and candidates. */
  logitSd: number;
  /** The caliper on the logit scale, caliperSd × logitSd; null when no caliper was asked for. */
  caliper: number | null;
  /** Cases left out of the model, and unmatched, because a covariate was missing. */
  casesWithMissingCovariates: number;
  /** Candidates left out of the model because a covariate was missing. */
  candidatesWithMissingCovariates: number;
}

function checkControlsPerCase(controlsPerCase: number): void {
  if (!Number.isInteger(controlsPerCase) || controlsPerCase < 1) {
    throw new FedlabError('INVALID_ARGUMENT', 'controlsPerCase must be a positive integer');
  }
}

function checkColumnNames(names: readonly string[], what: string): void {
  if (new Set(names).size !== names.length) {
    throw new FedlabError('INVALID_ARGUMENT', `the ${what} name a column more than once`);
  }
}

/** Ids must be finite numbers, unique among cases and candidates together (a person is never both). */
function checkUnitIds(cases: readonly StudyUnit[], candidates: readonly StudyUnit[]): void {
  const seen = new Set<number>();
  for (const unit of [...cases, ...candidates]) {
    if (!Number.isFinite(unit.id)) throw new FedlabError('INVALID_ARGUMENT', 'a unit id is not a finite number');
    if (seen.has(unit.id)) {
      throw new FedlabError('INVALID_ARGUMENT', 'a unit id appears more than once among the cases and candidates');
    }
    seen.add(unit.id);
  }
}

/** A uniform index in [0, n) from the random source. */
function randomIndex(random: RandomSource, n: number): number {
  const value = random();
  if (!(value >= 0 && value < 1)) {
    throw new FedlabError('INVALID_ARGUMENT', 'the random source must return numbers in [0, 1)');
  }
  return Math.floor(value * n);
}

/** Fisher–Yates shuffle in place. */
function shuffle<T>(items: T[], random: RandomSource): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomIndex(random, i + 1);
    const item = items[i];
    items[i] = items[j];
    items[j] = item;
  }
  return items;
}

function isMissing(value: UnitValue | undefined): boolean {
  return value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value));
}

/** The exact-matching key of a unit: its strata values, JSON-encoded so that 1, "1", true and null all differ. */
function stratumKey(unit: StudyUnit, strata: readonly string[]): string {
  return JSON.stringify(strata.map((column) => (isMissing(unit.values[column]) ? null : unit.values[column])));
}

function summarise(cases: readonly StudyUnit[], drawn: number[][], controlsPerCase: number): ControlSelection {
  const matches = cases.map((unit, index) => ({ caseId: unit.id, controlIds: drawn[index] }));
  let casesMatched = 0;
  let casesPartlyMatched = 0;
  for (const { controlIds } of matches) {
    if (controlIds.length === controlsPerCase) casesMatched += 1;
    else if (controlIds.length > 0) casesPartlyMatched += 1;
  }
  return {
    controls: matches.flatMap((set) => set.controlIds),
    matches,
    casesMatched,
    casesPartlyMatched,
    casesUnmatched: cases.length - casesMatched - casesPartlyMatched,
  };
}

/**
 * Chooses up to k controls per case from the candidates of the same stratum (exact equality on every
 * strata column), at random and without replacement. Controls are drawn in k rounds: in each round every
 * case still served in full so far, in one random order of the cases, draws one control from what is left
 * of its stratum. So when a stratum runs short, its cases share the controls (each gets at least one
 * before any gets a second) rather than the first cases taking all. O(cases × k + candidates).
 *
 * Deterministic given the random source. Throws `INVALID_ARGUMENT` for a k that is not a positive integer,
 * repeated strata columns, or ids that are not finite or not unique among cases and candidates together.
 */
export function selectExactControls(options: ExactSelectionOptions): ControlSelection {
  const { cases, candidates, strata, controlsPerCase, random } = options;
  checkControlsPerCase(controlsPerCase);
  checkColumnNames(strata, 'strata');
  checkUnitIds(cases, candidates);
  const pools = new Map<string, number[]>();
  for (const candidate of candidates) {
    const key = stratumKey(candidate, strata);
    const pool = pools.get(key);
    if (pool) pool.push(candidate.id);
    else pools.set(key, [candidate.id]);
  }
  const casePools = cases.map((unit) => pools.get(stratumKey(unit, strata)) ?? []);
  const order = shuffle(
    cases.map((_, index) => index),
    random,
  );
  const drawn: number[][] = cases.map(() => []);
  for (let round = 0; round < controlsPerCase; round++) {
    for (const index of order) {
      const pool = casePools[index];
      if (drawn[index].length < round || pool.length === 0) continue;
      // Swap the drawn candidate to the end and pop it: a uniform draw without replacement in O(1).
      const j = randomIndex(random, pool.length);
      const chosen = pool[j];
      pool[j] = pool[pool.length - 1];
      pool.pop();
      drawn[index].push(chosen);
    }
  }
  return summarise(cases, drawn, controlsPerCase);
}

/**
 * Chooses k controls per case by propensity score: a logistic regression of case membership (case = 1) on
 * the covariates over the units with every covariate, then greedy nearest-neighbour matching on the linear
 * predictor (logit) without replacement. Cases are served in descending propensity (MatchIt's "largest"
 * order) in k rounds, as MatchIt does for ratio matching: in each round every case still served in full
 * takes the nearest available control, or none when that one is further than the caliper (caliperSd × the
 * SD of the logit over all complete units; Austin 2011). Ties (equal logits among cases or candidates,
 * equal distances below and above) are broken with the random source, so the result is deterministic given
 * it. O((cases + candidates) · log candidates) after the model fit.
 *
 * Throws `INVALID_QUERY` when the model is singular (a constant or collinear covariate), has fewer than 10
 * residual degrees of freedom, or cannot be fitted because no case or no candidate has every covariate;
 * `INVALID_ARGUMENT` for a bad k, caliper or covariate list, a covariate mixing text and numbers, or ids
 * that are not unique.
 */
export function selectPropensityControls(options: PropensitySelectionOptions): PropensitySelection {
  const { cases, candidates, covariates, controlsPerCase, random } = options;
  const caliperSd = options.caliperSd === undefined ? PROPENSITY_SELECTION_DEFAULTS.caliperSd : options.caliperSd;
  checkControlsPerCase(controlsPerCase);
  if (caliperSd !== null && !(caliperSd > 0 && Number.isFinite(caliperSd))) {
    throw new FedlabError('INVALID_ARGUMENT', 'caliperSd must be a positive number, or null for no caliper');
  }
  if (covariates.length === 0) throw new FedlabError('INVALID_ARGUMENT', 'the propensity model needs at least one covariate');
  checkColumnNames(covariates, 'covariates');
  checkUnitIds(cases, candidates);

  const isComplete = (unit: StudyUnit) => covariates.every((column) => !isMissing(unit.values[column]));
  const completeCases = cases.filter(isComplete);
  const completeCandidates = candidates.filter(isComplete);
  if (completeCases.length === 0 || completeCandidates.length === 0) {
    throw new FedlabError('INVALID_QUERY', 'the propensity model needs at least one case and one candidate with every covariate');
  }
  const units = [...completeCases, ...completeCandidates];
  const kinds = covariateKinds(covariates, units);
  const { coefficients, logits, logitSd, converged } = propensityLogits(kinds, covariates, units, (index) => index < completeCases.length);
  const caliper = caliperSd === null ? null : caliperSd * logitSd;

  // Candidates sorted by logit; shuffled first so that the stable sort leaves equal logits in random order.
  const candidateRows = shuffle(
    completeCandidates.map((_, index) => completeCases.length + index),
    random,
  ).sort((a, b) => logits[a] - logits[b]);
  const index = new NearestAvailable(Float64Array.from(candidateRows, (row) => logits[row]));
  const caseRows = shuffle(
    completeCases.map((_, row) => row),
    random,
  ).sort((a, b) => logits[b] - logits[a]);

  const drawnByRow: number[][] = completeCases.map(() => []);
  const preferLower = () => randomIndex(random, 2) === 0;
  for (let round = 0; round < controlsPerCase; round++) {
    for (const row of caseRows) {
      if (drawnByRow[row].length < round) continue;
      const position = index.nearest(logits[row], preferLower);
      if (position < 0) break;
      if (caliper !== null && Math.abs(index.valueAt(position) - logits[row]) > caliper) continue;
      index.remove(position);
      drawnByRow[row].push(units[candidateRows[position]].id);
    }
  }

  const drawnById = new Map(completeCases.map((unit, row) => [unit.id, drawnByRow[row]]));
  const drawn = cases.map((unit) => drawnById.get(unit.id) ?? []);
  return {
    ...summarise(cases, drawn, controlsPerCase),
    coefficients,
    converged,
    logitSd,
    caliper,
    casesWithMissingCovariates: cases.length - completeCases.length,
    candidatesWithMissingCovariates: candidates.length - completeCandidates.length,
  };
}

/** The flag threshold for an absolute standardised mean difference (DESIGN.md §7.5: flag > 10 %). */
export const SMD_FLAG_THRESHOLD = 0.1;

/** What {@link balanceTable} compares. */
export interface BalanceOptions {
  /** The cohort: the treated group whose SD standardises every difference. */
  cases: readonly StudyUnit[];
  /** Every candidate, for the balance before selection. */
  candidates: readonly StudyUnit[];
  /** The chosen controls (candidate ids), for the balance after selection. */
  controlIds: readonly number[];
  /** Attributes to report: numbers and booleans as one row each, text as one row per level. */
  columns: readonly string[];
}

/** The cases against one set of controls on one row of the balance table. */
export interface BalanceComparison {
  /** Mean of the cases (a proportion for a boolean, 0/1 or level row); null when no case has a value. */
  casesMean: number | null;
  /** Mean of the controls; null when no control has a value. */
  controlsMean: number | null;
  /**
   * (casesMean − controlsMean) / SD of the cases (all cases, before selection): the sample SD for a numeric
   * column, √(p(1 − p)) for a binary one, as MatchIt's ATT default. Null when that SD is 0 or undefined.
   */
  standardisedMeanDifference: number | null;
  /** |SMD| > 0.1; when the SMD is null, whether the two means differ at all. */
  imbalanced: boolean;
}

/** One row of the balance table: a numeric or boolean column, or one level of a text column. */
export interface BalanceRow {
  column: string;
  /** The level of a text column this row is the indicator of; null for a numeric or boolean column. */
  level: string | null;
  /** The cases against every candidate. */
  before: BalanceComparison;
  /** The cases against the chosen controls. */
  after: BalanceComparison;
}

/** A row of the balance table: a column, or one level of a text column, as a number per unit (null when missing). */
interface BalanceVariable {
  column: string;
  level: string | null;
  value: (unit: StudyUnit) => number | null;
}

function balanceVariables(columns: readonly string[], units: readonly StudyUnit[]): BalanceVariable[] {
  return columns.flatMap((column): BalanceVariable[] => {
    const levels = new Set<string>();
    let numbers = 0;
    for (const unit of units) {
      const value = unit.values[column];
      if (isMissing(value)) continue;
      if (typeof value === 'string') levels.add(value);
      else numbers += 1;
    }
    if (levels.size > 0 && numbers > 0) {
      throw new FedlabError('INVALID_ARGUMENT', `column '${column}' mixes text with numbers or booleans`, { column });
    }
    if (levels.size === 0) {
      return [
        {
          column,
          level: null,
          value: (unit) => {
            const value = unit.values[column];
            return isMissing(value) ? null : Number(value);
          },
        },
      ];
    }
    return [...levels].sort().map((level) => ({
      column,
      level,
      value: (unit: StudyUnit) => (isMissing(unit.values[column]) ? null : unit.values[column] === level ? 1 : 0),
    }));
  });
}

interface GroupMoments {
  mean: number | null;
  /** MatchIt's standardisation: √(p(1 − p)) for a 0/1 variable, the sample SD otherwise; null if undefined. */
  sd: number | null;
}

function groupMoments(values: number[], binary: boolean): GroupMoments {
  const n = values.length;
  if (n === 0) return { mean: null, sd: null };
  const mean = values.reduce((sum, value) => sum + value, 0) / n;
  if (binary) return { mean, sd: Math.sqrt(mean * (1 - mean)) };
  if (n < 2) return { mean, sd: null };
  const squares = values.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(squares / (n - 1)) };
}

function compareGroups(casesMean: number | null, controlsMean: number | null, sd: number | null): BalanceComparison {
  if (casesMean === null || controlsMean === null) {
    return { casesMean, controlsMean, standardisedMeanDifference: null, imbalanced: false };
  }
  const difference = casesMean - controlsMean;
  if (sd === null || !(sd > 0)) {
    return { casesMean, controlsMean, standardisedMeanDifference: null, imbalanced: difference !== 0 };
  }
  const smd = difference / sd;
  return { casesMean, controlsMean, standardisedMeanDifference: smd, imbalanced: Math.abs(smd) > SMD_FLAG_THRESHOLD };
}

/**
 * The balance table of a control selection: for each numeric or boolean column, and each level of a text
 * column, the standardised mean difference of the cases against all candidates (before) and against the
 * chosen controls (after). Missing values are left out of each mean. The SMD follows MatchIt's default for
 * the ATT: (mean of cases − mean of controls) / SD of the cases, the same SD before and after.
 *
 * Unlike MatchIt's matched-sample balance, "after" is unweighted and keeps every case: the study compares
 * the whole cohort with the whole comparison group by their sums, so that is the balance that matters.
 *
 * Throws `INVALID_ARGUMENT` when a control id is not a candidate, a column is repeated, or a column mixes
 * text with numbers.
 */
export function balanceTable(options: BalanceOptions): BalanceRow[] {
  const { cases, candidates, controlIds, columns } = options;
  checkColumnNames(columns, 'balance columns');
  const candidatesById = new Map(candidates.map((unit) => [unit.id, unit]));
  const controls = controlIds.map((id) => {
    const unit = candidatesById.get(id);
    if (!unit) throw new FedlabError('INVALID_ARGUMENT', 'a control id is not one of the candidates');
    return unit;
  });
  const valuesOf = (units: readonly StudyUnit[], variable: BalanceVariable): number[] =>
    units.map(variable.value).filter((value): value is number => value !== null);

  return balanceVariables(columns, [...cases, ...candidates]).map((variable): BalanceRow => {
    const caseValues = valuesOf(cases, variable);
    const candidateValues = valuesOf(candidates, variable);
    const binary = [...caseValues, ...candidateValues].every((value) => value === 0 || value === 1);
    const caseMoments = groupMoments(caseValues, binary);
    return {
      column: variable.column,
      level: variable.level,
      before: compareGroups(caseMoments.mean, groupMoments(candidateValues, binary).mean, caseMoments.sd),
      after: compareGroups(caseMoments.mean, groupMoments(valuesOf(controls, variable), binary).mean, caseMoments.sd),
    };
  });
}
