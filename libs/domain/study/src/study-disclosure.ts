import { FedlabError, SDC_FLOORS, type SdcPolicy, type SdcRule } from '@fedlab/model';
import {
  compareBinary,
  compareMeans,
  summariseBinary,
  summariseMean,
  type BinaryComparison,
  type BinarySummary,
  type MeanComparison,
  type MeanSums,
  type MeanSummary,
} from './outcome-statistics';

/** The two groups of a study: the cohort and, optionally, a comparison group chosen at the cohort's node. */
export type StudyGroup = 'cohort' | 'comparison';

const STUDY_GROUPS: readonly StudyGroup[] = ['cohort', 'comparison'];

const GROUP_LABELS: Record<StudyGroup, string> = { cohort: 'the cohort', comparison: 'the comparison group' };

/**
 * Which persons an outcome's rates and means are over (DESIGN.md §7.4, "Denominators"):
 * - `matched`: the outcome dataset covers the whole population (an enrolment register), so a person who
 *   is not matched is a linkage miss, not a non-event: rates are over the matched persons, and the matched
 *   share of the group is reported as the linkage rate;
 * - `group`: the outcome dataset holds records only for persons with an event (offences), so absence means
 *   "no event": rates are over the whole group, and linkage misses bias them downwards.
 */
export type Denominator = 'matched' | 'group';

/** The sentence a report prints under an outcome, per denominator. */
export const DENOMINATOR_NOTES: Record<Denominator, string> = {
  matched: 'rates and means are over the persons matched in the outcome dataset; the linkage rate is the matched share of the group',
  group: 'rates and means are over the whole group, a person without a record counting as having no event; linkage misses bias them downwards',
};

/** One value per group; `comparison` is absent when the study has no comparison group. */
export interface ByGroup<T> {
  cohort: T;
  comparison?: T;
}

/** Σx and Σx² of a mean measure in one group. */
export interface MeanMeasureSums {
  sum: number;
  sumSquares: number;
  /**
   * The persons with a value, for a measure defined only for some (days to first reoffence: reoffenders
   * only); absent, the outcome's denominator.
   */
  persons?: number;
}

/** The decrypted sums of one measure of an outcome. */
export type MeasureSums =
  | {
      name: string;
      kind: 'binary';
      /** Persons with an event (at least one matching record, or in this category), per group. */
      events: ByGroup<number>;
      /**
       * For one category of a one-hot encoded column, that column's name. Categories of one column are
       * protected together: they add up to (at most) the denominator, so one suppressed category could be
       * recovered from the others.
       */
      categoryOf?: string;
    }
  | { name: string; kind: 'mean'; sums: ByGroup<MeanMeasureSums> };

/** What the coordinator holds for one outcome (one outcome node's dataset) after decryption. */
export interface OutcomeSums {
  name: string;
  denominator: Denominator;
  /** Persons of each group matched in the outcome dataset (the intersection sizes). */
  matchedPersons: ByGroup<number>;
  measures: MeasureSums[];
}

/** Everything a study's coordinator holds before disclosure control. */
export interface StudySums {
  /** Persons in each group. */
  groupPersons: ByGroup<number>;
  outcomes: OutcomeSums[];
}

/** A figure withheld by disclosure control: the marker and why, never the number. */
export interface Suppressed {
  suppressed: true;
  rule: SdcRule;
  reason: string;
}

/** A figure as released: the figure itself, or the suppression marker. */
export type Released<T> = ({ suppressed: false } & T) | Suppressed;

/** What is released about one group at one outcome. */
export interface OutcomeGroupRelease {
  /** Persons of the group matched in the outcome dataset. */
  matchedPersons: number;
  /** The persons the group's rates and means are over (matched persons, or the group size). */
  denominatorPersons: number;
  /**
   * Matched persons / group size for a `matched` denominator; null for a `group` denominator, where being
   * matched means having an event, so the share is an outcome, not a linkage rate.
   */
  linkageRate: number | null;
}

/** A binary measure as released. */
export interface ReleasedBinaryMeasure {
  name: string;
  kind: 'binary';
  categoryOf: string | null;
  cohort: Released<BinarySummary>;
  comparison: Released<BinarySummary> | null;
  /** Cohort versus comparison group; null without a comparison group. */
  contrast: Released<BinaryComparison> | null;
}

/** A mean measure as released. */
export interface ReleasedMeanMeasure {
  name: string;
  kind: 'mean';
  cohort: Released<MeanSummary>;
  comparison: Released<MeanSummary> | null;
  /** Cohort versus comparison group; null without a comparison group. */
  contrast: Released<MeanComparison> | null;
}

export type ReleasedMeasure = ReleasedBinaryMeasure | ReleasedMeanMeasure;

/** An outcome as released: its figures, or one suppression marker for the whole outcome. */
export type ReleasedOutcome = { name: string; denominator: Denominator; note: string } & (
  | Suppressed
  | {
      suppressed: false;
      groups: { cohort: OutcomeGroupRelease; comparison: OutcomeGroupRelease | null };
      measures: ReleasedMeasure[];
    }
);

/** A study as released. */
export interface ReleasedStudy {
  /** The persons threshold applied (the strictest of the nodes involved). */
  minPersons: number;
  groupPersons: { cohort: number; comparison: number | null };
  outcomes: ReleasedOutcome[];
}

/** The strictest `minPersons` of the nodes a study involves (the cohort node and every outcome node). */
export function strictestMinPersons(policies: readonly SdcPolicy[]): number {
  if (policies.length === 0) throw new FedlabError('INVALID_ARGUMENT', 'a study needs the policy of at least one node');
  return Math.max(...policies.map((policy) => policy.minPersons));
}

function invalid(message: string): FedlabError {
  return new FedlabError('INVALID_ARGUMENT', message);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** The groups the study has, checking that `values` has exactly those groups. */
function checkGroups<T>(values: ByGroup<T>, groups: readonly StudyGroup[], what: string): void {
  const present = STUDY_GROUPS.filter((group) => values[group] !== undefined);
  if (present.length !== groups.length || present.some((group, index) => group !== groups[index])) {
    throw invalid(`${what} must give a value for ${groups.map((group) => GROUP_LABELS[group]).join(' and ')} only`);
  }
}

function checkStudySums(study: StudySums, groups: readonly StudyGroup[]): void {
  const outcomeNames = new Set<string>();
  for (const outcome of study.outcomes) {
    if (outcomeNames.has(outcome.name)) throw invalid(`outcome '${outcome.name}' appears more than once`);
    outcomeNames.add(outcome.name);
    if (outcome.denominator !== 'matched' && outcome.denominator !== 'group') {
      throw invalid(`outcome '${outcome.name}' has a denominator that is neither 'matched' nor 'group'`);
    }
    checkGroups(outcome.matchedPersons, groups, `outcome '${outcome.name}' matchedPersons`);
    for (const group of groups) {
      const matched = outcome.matchedPersons[group];
      if (!isCount(matched) || matched > (study.groupPersons[group] as number)) {
        throw invalid(`outcome '${outcome.name}' has a matched count for ${GROUP_LABELS[group]} that is not between 0 and the group size`);
      }
    }
    const measureNames = new Set<string>();
    for (const measure of outcome.measures) {
      if (measureNames.has(measure.name)) throw invalid(`measure '${measure.name}' of outcome '${outcome.name}' appears more than once`);
      measureNames.add(measure.name);
      const what = `measure '${measure.name}' of outcome '${outcome.name}'`;
      if (measure.kind === 'binary') checkGroups(measure.events, groups, `${what} events`);
      else if (measure.kind === 'mean') checkGroups(measure.sums, groups, `${what} sums`);
      else throw invalid(`${what} is neither binary nor mean`);
    }
  }
}

/** The persons behind one group's figures of one measure, and checks the measure's counts against them. */
function measurePersons(measure: MeasureSums, group: StudyGroup, denominatorPersons: number, outcome: string): number {
  const what = `measure '${measure.name}' of outcome '${outcome}' for ${GROUP_LABELS[group]}`;
  if (measure.kind === 'binary') {
    const events = measure.events[group] as number;
    if (!isCount(events) || events > denominatorPersons) {
      throw invalid(`${what} has an event count that is not between 0 and the denominator`);
    }
    return denominatorPersons;
  }
  const persons = (measure.sums[group] as MeanMeasureSums).persons ?? denominatorPersons;
  if (!isCount(persons) || persons > denominatorPersons) {
    throw invalid(`${what} has a persons count that is not between 0 and the denominator`);
  }
  return persons;
}

/** The suppression of a whole outcome, or null: matched persons (and, for a `group` denominator, the rest). */
function outcomeSuppression(outcome: OutcomeSums, groups: readonly StudyGroup[], study: StudySums, minPersons: number): Suppressed | null {
  for (const group of groups) {
    const matched = outcome.matchedPersons[group] as number;
    if (outcome.denominator === 'matched' && matched < minPersons) {
      return {
        suppressed: true,
        rule: 'threshold',
        reason: `fewer than ${minPersons} persons of ${GROUP_LABELS[group]} were matched in the outcome dataset`,
      };
    }
    // For an event-only dataset, being matched is itself an event: protect both sides, as for a binary measure.
    const unmatched = (study.groupPersons[group] as number) - matched;
    if (outcome.denominator === 'group' && (matched < minPersons || (unmatched > 0 && unmatched < minPersons))) {
      return {
        suppressed: true,
        rule: 'group_disclosure',
        reason: `fewer than ${minPersons} persons of ${GROUP_LABELS[group]} have, or do not have, a record in the outcome dataset`,
      };
    }
  }
  return null;
}

/** The primary suppression of one group's figure of one measure, or null. */
function measureSuppression(measure: MeasureSums, group: StudyGroup, persons: number, minPersons: number): Suppressed | null {
  if (measure.kind === 'binary') {
    const events = measure.events[group] as number;
    const nonEvents = persons - events;
    if ((events > 0 && events < minPersons) || (nonEvents > 0 && nonEvents < minPersons)) {
      return {
        suppressed: true,
        rule: 'group_disclosure',
        reason: `fewer than ${minPersons} persons of ${GROUP_LABELS[group]} meet, or do not meet, the condition`,
      };
    }
    return null;
  }
  if (persons < minPersons) {
    return {
      suppressed: true,
      rule: 'threshold',
      reason: `fewer than ${minPersons} persons of ${GROUP_LABELS[group]} have a value`,
    };
  }
  return null;
}

/** One group's figure of one measure, before the contrast is decided. */
interface GroupFigure {
  persons: number;
  suppression: Suppressed | null;
}

/**
 * Secondary suppression among the categories of one one-hot column, per group: when exactly one category
 * is suppressed, the released category with the fewest events is suppressed too, so that the suppressed
 * one cannot be recovered by subtracting the others from the denominator.
 */
function protectCategories(outcome: OutcomeSums, figures: Map<MeasureSums, ByGroup<GroupFigure>>, groups: readonly StudyGroup[]): void {
  const columns = new Map<string, Extract<MeasureSums, { kind: 'binary' }>[]>();
  for (const measure of outcome.measures) {
    if (measure.kind !== 'binary' || measure.categoryOf === undefined) continue;
    const categories = columns.get(measure.categoryOf) ?? [];
    categories.push(measure);
    columns.set(measure.categoryOf, categories);
  }
  for (const [column, categories] of columns) {
    for (const group of groups) {
      const figureOf = (measure: MeasureSums) => (figures.get(measure) as ByGroup<GroupFigure>)[group] as GroupFigure;
      const released = categories.filter((measure) => figureOf(measure).suppression === null);
      if (categories.length - released.length !== 1 || released.length === 0) continue;
      const smallest = released.reduce((a, b) => ((b.events[group] as number) < (a.events[group] as number) ? b : a));
      figureOf(smallest).suppression = {
        suppressed: true,
        rule: 'secondary',
        reason: `suppressed so that a suppressed category of '${column}' cannot be recovered from the others`,
      };
    }
  }
}

function releaseFigure<T extends object>(suppression: Suppressed | null, compute: () => T): Released<T> {
  return suppression ?? { suppressed: false, ...compute() };
}

/** The contrast is withheld when either group's figure is: it would give the withheld figure away. */
function contrastSuppression(cohort: GroupFigure, comparison: GroupFigure): Suppressed | null {
  const withheld = cohort.suppression ? 'cohort' : comparison.suppression ? 'comparison' : null;
  if (withheld === null) return null;
  return {
    suppressed: true,
    rule: 'secondary',
    reason: `suppressed because the figure of ${GROUP_LABELS[withheld]} is suppressed`,
  };
}

function releaseMeasure(measure: MeasureSums, figures: ByGroup<GroupFigure>, hasComparison: boolean): ReleasedMeasure {
  const cohort = figures.cohort;
  const comparison = hasComparison ? (figures.comparison as GroupFigure) : null;
  const contrast = comparison === null ? null : contrastSuppression(cohort, comparison);
  if (measure.kind === 'binary') {
    const counts = (group: StudyGroup, figure: GroupFigure) => ({
      persons: figure.persons,
      events: measure.events[group] as number,
    });
    return {
      name: measure.name,
      kind: 'binary',
      categoryOf: measure.categoryOf ?? null,
      cohort: releaseFigure(cohort.suppression, () => summariseBinary(counts('cohort', cohort))),
      comparison: comparison && releaseFigure(comparison.suppression, () => summariseBinary(counts('comparison', comparison))),
      contrast: comparison && releaseFigure(contrast, () => compareBinary(counts('cohort', cohort), counts('comparison', comparison))),
    };
  }
  const sums = (group: StudyGroup, figure: GroupFigure): MeanSums => {
    const { sum, sumSquares } = measure.sums[group] as MeanMeasureSums;
    return { persons: figure.persons, sum, sumSquares };
  };
  return {
    name: measure.name,
    kind: 'mean',
    cohort: releaseFigure(cohort.suppression, () => summariseMean(sums('cohort', cohort))),
    comparison: comparison && releaseFigure(comparison.suppression, () => summariseMean(sums('comparison', comparison))),
    contrast: comparison && releaseFigure(contrast, () => compareMeans(sums('cohort', cohort), sums('comparison', comparison))),
  };
}

function releaseOutcome(outcome: OutcomeSums, study: StudySums, groups: readonly StudyGroup[], minPersons: number): ReleasedOutcome {
  const header = { name: outcome.name, denominator: outcome.denominator, note: DENOMINATOR_NOTES[outcome.denominator] };
  const denominatorOf = (group: StudyGroup) =>
    outcome.denominator === 'matched' ? (outcome.matchedPersons[group] as number) : (study.groupPersons[group] as number);
  const figures = new Map<MeasureSums, ByGroup<GroupFigure>>();
  for (const measure of outcome.measures) {
    const byGroup = {} as ByGroup<GroupFigure>;
    for (const group of groups) {
      const persons = measurePersons(measure, group, denominatorOf(group), outcome.name);
      byGroup[group] = { persons, suppression: measureSuppression(measure, group, persons, minPersons) };
    }
    figures.set(measure, byGroup);
  }
  const suppression = outcomeSuppression(outcome, groups, study, minPersons);
  if (suppression) return { ...header, ...suppression };
  protectCategories(outcome, figures, groups);
  const groupRelease = (group: StudyGroup): OutcomeGroupRelease => {
    const matchedPersons = outcome.matchedPersons[group] as number;
    return {
      matchedPersons,
      denominatorPersons: denominatorOf(group),
      linkageRate: outcome.denominator === 'matched' ? matchedPersons / (study.groupPersons[group] as number) : null,
    };
  };
  const hasComparison = groups.includes('comparison');
  return {
    ...header,
    suppressed: false,
    groups: { cohort: groupRelease('cohort'), comparison: hasComparison ? groupRelease('comparison') : null },
    measures: outcome.measures.map((measure) => releaseMeasure(measure, figures.get(measure) as ByGroup<GroupFigure>, hasComparison)),
  };
}

/**
 * Applies disclosure control to a study's sums and computes what may be released, given the strictest
 * `minPersons` of the nodes involved ({@link strictestMinPersons}). Rules, in order (README.md):
 *
 * 1. A group (cohort or comparison) with fewer than minPersons persons: the whole study is refused.
 * 2. An outcome where fewer than minPersons persons of a group were matched (`threshold`) — and, for a
 *    `group` denominator, where fewer than minPersons persons of a group are not matched
 *    (`group_disclosure`, as being matched there is an event) — is suppressed as a whole.
 * 3. A binary figure with 0 < events < minPersons or 0 < persons − events < minPersons (`group_disclosure`),
 *    and a mean over fewer than minPersons persons (`threshold`), are suppressed.
 * 4. Categories of one one-hot column: when exactly one is suppressed in a group, the released category
 *    with the fewest events is suppressed too (`secondary`).
 * 5. A contrast (difference, ratio, test) is suppressed when either group's figure is (`secondary`).
 *
 * Suppressed figures carry `suppressed: true`, the rule and a reason naming only the threshold, never a
 * count. Throws `COHORT_TOO_SMALL` for rule 1 (the message names the group and the threshold), and
 * `INVALID_ARGUMENT` for a minPersons below the floor of 3 or sums that cannot be (more matched or events
 * than persons, groups missing or extra, repeated names).
 */
export function releaseStudy(study: StudySums, minPersons: number): ReleasedStudy {
  if (!Number.isInteger(minPersons) || minPersons < SDC_FLOORS.minPersons) {
    throw invalid(`minPersons must be an integer of at least ${SDC_FLOORS.minPersons}`);
  }
  const groups: StudyGroup[] = study.groupPersons.comparison === undefined ? ['cohort'] : ['cohort', 'comparison'];
  for (const group of groups) {
    if (!isCount(study.groupPersons[group])) throw invalid(`the size of ${GROUP_LABELS[group]} must be a non-negative integer`);
  }
  checkStudySums(study, groups);
  for (const group of groups) {
    if ((study.groupPersons[group] as number) < minPersons) {
      throw new FedlabError('COHORT_TOO_SMALL', `${GROUP_LABELS[group]} has fewer than ${minPersons} persons, the minimum for a study; nothing was released`, {
        group,
        minPersons,
      });
    }
  }
  return {
    minPersons,
    groupPersons: { cohort: study.groupPersons.cohort, comparison: study.groupPersons.comparison ?? null },
    outcomes: study.outcomes.map((outcome) => releaseOutcome(outcome, study, groups, minPersons)),
  };
}
