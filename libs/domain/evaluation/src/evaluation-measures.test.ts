import { describe, expect, it } from 'vitest';
import { evaluationMeasures, type PersonOutcome } from './evaluation-measures';
import { DEFAULT_EVALUATION_RULES, EVALUATION_MEASURES, type EvaluationMeasure, type GroupMeasure } from './evaluation-result';
import fixture from './fixtures/measures-reference.json';

type Pair = [number, number];

/** One evaluation of fixtures/measures-reference.json, written by scripts/evaluation-measures-reference.R. */
interface GroupReference {
  people: number;
  value: number;
  ci: Pair;
}

interface MeasureReference {
  name: string;
  treatment: GroupReference;
  comparison: GroupReference;
  difference: { estimate: number; ci: Pair };
  pValue: number;
  significant: boolean;
}

interface EvaluationReference {
  name: string;
  expected: { treatedReoffenders: number; comparisonPeople: number; comparisonEffectiveSize: number; measures: MeasureReference[] };
  treated: PersonOutcome[];
  comparison: PersonOutcome[];
}

const references = fixture.evaluations as EvaluationReference[];

const RELATIVE_TOLERANCE = 1e-9;

function expectClose(actual: number | null | undefined, expected: number): void {
  expect(actual).toBeTypeOf('number');
  const error = Math.abs((actual as number) - expected) / Math.max(Math.abs(expected), 1e-12);
  expect(error, `${actual} vs ${expected}`).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
}

function expectInterval(actual: { lower: number; upper: number } | null | undefined, expected: Pair): void {
  expect(actual).not.toBeNull();
  expectClose(actual?.lower, expected[0]);
  expectClose(actual?.upper, expected[1]);
}

function expectGroup(actual: GroupMeasure, expected: GroupReference): void {
  expect(actual.suppressed).toBeNull();
  expectClose(actual.people, expected.people);
  expectClose(actual.value, expected.value);
  expectInterval(actual.ci, expected.ci);
}

const NO_REOFFENCE: PersonOutcome = { weight: 1, reoffences: 0, daysToFirstReoffence: null, custodial: false };

/** `count` people without a reoffence. */
function clean(count: number, weight = 1): PersonOutcome[] {
  return Array.from({ length: count }, () => ({ ...NO_REOFFENCE, weight }));
}

/** `count` reoffenders with 1–3 reoffences, first after 20, 31, 42, … days, the first `custodial` of them in custody. */
function reoffenders(count: number, { custodial = 0, weight = 1 }: { custodial?: number; weight?: number } = {}): PersonOutcome[] {
  return Array.from({ length: count }, (_, i) => ({
    weight,
    reoffences: 1 + (i % 3),
    daysToFirstReoffence: 20 + 11 * i,
    custodial: i < custodial,
  }));
}

function measure(measures: EvaluationMeasure[], name: EvaluationMeasure['name']): EvaluationMeasure {
  return measures.find((m) => m.name === name)!;
}

describe('evaluationMeasures agrees with R', () => {
  it.each(references.map((reference) => [reference.name, reference] as const))('%s', (_name, reference) => {
    const result = evaluationMeasures(reference.treated, reference.comparison, DEFAULT_EVALUATION_RULES);
    expect(result.treatedReoffenders).toBe(reference.expected.treatedReoffenders);
    expect(result.measures.map((m) => m.name)).toEqual([...EVALUATION_MEASURES]);
    for (const expected of reference.expected.measures) {
      const actual = measure(result.measures, expected.name as EvaluationMeasure['name']);
      expectGroup(actual.treatment, expected.treatment);
      expectGroup(actual.comparison, expected.comparison);
      expectClose(actual.difference?.estimate, expected.difference.estimate);
      expectInterval(actual.difference?.ci, expected.difference.ci);
      expectClose(actual.pValue, expected.pValue);
      expect(actual.significant).toBe(expected.significant);
    }
  });
});

describe('evaluationMeasures in words', () => {
  const [fewerReoffenders, noClearDifference] = references;

  it('states a significant measure per 100 typical people with the interval and p-value', () => {
    const { measures } = evaluationMeasures(fewerReoffenders.treated, fewerReoffenders.comparison, DEFAULT_EVALUATION_RULES);
    expect(measure(measures, 'reoffending_rate').statement).toBe(
      'For every 100 typical people who took part, 23 committed a proven reoffence within a year, compared with 41 for every 100 similar people who did not: between 3 and 31 fewer people per 100 (p = 0.016).',
    );
    expect(measure(measures, 'days_to_first_reoffence').statement).toBe(
      'Among typical people who took part and committed a proven reoffence within a year, the first came after 205 days on average, compared with 121 days for similar people who did not take part: between 33 and 134 days later (p = 0.002).',
    );
  });

  it('says plainly that a non-significant difference could be due to chance', () => {
    const { measures } = evaluationMeasures(fewerReoffenders.treated, fewerReoffenders.comparison, DEFAULT_EVALUATION_RULES);
    expect(measure(measures, 'custodial_rate').statement).toBe(
      'For every 100 typical people who took part, 9 received a custodial sentence for a proven reoffence within a year, compared with 9 for every 100 similar people who did not; the difference (between 9 fewer and 8 more people per 100, p = 0.88) could be due to chance, so this evaluation cannot tell whether the program changed how many people receive a custodial sentence.',
    );
  });

  it('leads the summary with the reoffending rate and names the other significant measures', () => {
    const significant = evaluationMeasures(fewerReoffenders.treated, fewerReoffenders.comparison, DEFAULT_EVALUATION_RULES);
    expect(significant.summary).toBe(
      'This evaluation compared 150 people who took part with a matched comparison group of 88 similar people who did not. ' +
        'One year on, 23 in every 100 people who took part had committed a proven reoffence, compared with 41 in every 100 similar people: a statistically significant difference of between 3 and 31 fewer people per 100. ' +
        'There was also a statistically significant difference in the number of proven reoffences per 100 people and the time to the first proven reoffence.',
    );
    const unclear = evaluationMeasures(noClearDifference.treated, noClearDifference.comparison, DEFAULT_EVALUATION_RULES);
    expect(unclear.summary).toBe(
      'This evaluation compared 90 people who took part with a matched comparison group of 162 similar people who did not. ' +
        'One year on, 50 in every 100 people who took part had committed a proven reoffence, compared with 42 in every 100 similar people; the difference could be due to chance, so the evaluation cannot tell whether the program changed reoffending. ' +
        'No other measure showed a statistically significant difference.',
    );
  });
});

describe('the significance rule', () => {
  // 25 of 100 treated people reoffend against 50 of 100 comparison people: p < 0.001, yet only 25 reoffenders.
  const treated = [...reoffenders(25, { custodial: 12 }), ...clean(75)];
  const comparison = [...reoffenders(50, { custodial: 25 }), ...clean(50)];

  it('does not call a difference with p ≤ 0.05 significant when fewer than 30 treated people reoffended, and says why', () => {
    const result = evaluationMeasures(treated, comparison, DEFAULT_EVALUATION_RULES);
    const rate = measure(result.measures, 'reoffending_rate');
    expect(rate.pValue).toBeLessThan(0.001);
    expect(rate.significant).toBe(false);
    expect(result.treatedReoffenders).toBe(25);
    expect(rate.statement).toBe(
      'For every 100 typical people who took part, 25 committed a proven reoffence within a year, compared with 50 for every 100 similar people who did not: between 12 and 38 fewer people per 100 (p < 0.001), but only 25 people who took part reoffended, fewer than the 30 needed to call a difference significant, so this evaluation cannot tell whether the program changed how many people commit a proven reoffence.',
    );
    expect(result.measures.map((m) => m.significant)).toEqual([false, false, false, false]);
    expect(result.summary).toBe(
      'This evaluation compared 100 people who took part with a matched comparison group of 100 similar people who did not. ' +
        'One year on, 25 in every 100 people who took part had committed a proven reoffence, compared with 50 in every 100 similar people: a difference of between 12 and 38 fewer people per 100, but only 25 people who took part reoffended, fewer than the 30 needed to call a difference significant, so the evaluation cannot tell whether the program changed reoffending. ' +
        'No other measure showed a statistically significant difference.',
    );
  });

  it('calls the same difference significant once 30 treated people reoffended', () => {
    const more = [...reoffenders(30, { custodial: 12 }), ...clean(90)];
    const rate = measure(evaluationMeasures(more, comparison, DEFAULT_EVALUATION_RULES).measures, 'reoffending_rate');
    expect(rate.pValue).toBeLessThan(0.001);
    expect(rate.significant).toBe(true);
  });

  it("compares p with the rules' significance level", () => {
    const rules = { ...DEFAULT_EVALUATION_RULES, significanceLevel: 0.00005 };
    const more = [...reoffenders(30, { custodial: 12 }), ...clean(90)];
    const rate = measure(evaluationMeasures(more, comparison, rules).measures, 'reoffending_rate');
    expect(rate.pValue).toBeGreaterThan(0.00005);
    expect(rate.significant).toBe(false);
  });
});

describe('disclosure control', () => {
  const treated = [...reoffenders(40, { custodial: 15 }), ...clean(60)];

  it('suppresses every comparison value that rests on fewer than minPersons reoffenders, and hides that count', () => {
    // 7 reoffenders, 3 of them in custody, among 90 distinct comparison people.
    const comparison = [...reoffenders(7, { custodial: 3, weight: 2 }), ...clean(83, 1)];
    const result = evaluationMeasures(treated, comparison, DEFAULT_EVALUATION_RULES);
    const few = 'fewer than 10 people with a proven reoffence';
    expect(measure(result.measures, 'days_to_first_reoffence')).toEqual(
      expect.objectContaining({
        comparison: { people: 0, value: null, ci: null, suppressed: few },
        difference: null,
        pValue: null,
        significant: false,
        statement:
          'Among typical people who took part and committed a proven reoffence within a year, the first came after 235 days on average; the figure for similar people who did not take part cannot be shown (fewer than 10 people with a proven reoffence), so the two groups cannot be compared on it.',
      }),
    );
    for (const name of ['reoffending_rate', 'reoffences_per_100', 'custodial_rate'] as const) {
      const { comparison: group, difference, pValue, significant } = measure(result.measures, name);
      expect(group.value).toBeNull();
      expect(group.ci).toBeNull();
      expect([difference, pValue, significant]).toEqual([null, null, false]);
    }
    expect(measure(result.measures, 'reoffending_rate').comparison.suppressed).toBe(few);
    expect(measure(result.measures, 'custodial_rate').comparison.suppressed).toBe('fewer than 10 people with a custodial sentence');
    expect(result.summary).toBe(
      'This evaluation compared 100 people who took part with a matched comparison group of 90 similar people who did not. ' +
        'The proven reoffending rate cannot be shown (fewer than 10 people with a proven reoffence). ' +
        'No other measure showed a statistically significant difference.',
    );
    const words = [result.summary, ...result.measures.flatMap((m) => [m.statement, m.comparison.suppressed ?? ''])].join(' ');
    expect(words).not.toMatch(/\b[37]\b/);
  });

  it('withholds the count of treated reoffenders when fewer than minPersons did not reoffend (the complement of a suppressed rate)', () => {
    const mostlyReoffenders = [...reoffenders(60), ...clean(5)];
    const comparison = [...reoffenders(30, { custodial: 12 }), ...clean(70)];
    const result = evaluationMeasures(mostlyReoffenders, comparison, DEFAULT_EVALUATION_RULES);
    expect(measure(result.measures, 'reoffending_rate').treatment.value).toBeNull();
    expect(result.treatedReoffenders).toBeNull();
  });

  it('withholds the count of treated reoffenders below minPersons', () => {
    const fewTreated = [...reoffenders(6), ...clean(94)];
    const comparison = [...reoffenders(30, { custodial: 12 }), ...clean(70)];
    const result = evaluationMeasures(fewTreated, comparison, DEFAULT_EVALUATION_RULES);
    expect(result.treatedReoffenders).toBeNull();
    expect(measure(result.measures, 'days_to_first_reoffence').treatment).toEqual({
      people: 0,
      value: null,
      ci: null,
      suppressed: 'fewer than 10 people with a proven reoffence',
    });
    expect(measure(result.measures, 'reoffending_rate').statement).toBe(
      'The proven reoffending rate cannot be shown for the people who took part (fewer than 10 people with a proven reoffence), so the two groups cannot be compared on it.',
    );
  });

  it('suppresses a rate when fewer than minPersons people have the event, and releases the other measures', () => {
    const comparison = [...reoffenders(45, { custodial: 20, weight: 1.5 }), ...clean(75, 0.5)];
    const fewInCustody = [...reoffenders(40, { custodial: 9 }), ...clean(60)];
    const result = evaluationMeasures(fewInCustody, comparison, DEFAULT_EVALUATION_RULES);
    expect(measure(result.measures, 'custodial_rate').treatment).toEqual({
      people: 100,
      value: null,
      ci: null,
      suppressed: 'fewer than 10 people with a custodial sentence',
    });
    for (const name of ['reoffending_rate', 'reoffences_per_100', 'days_to_first_reoffence'] as const) {
      expect(measure(result.measures, name).treatment.suppressed).toBeNull();
      expect(measure(result.measures, name).pValue).toBeTypeOf('number');
    }
  });

  it('suppresses a rate when fewer than minPersons people are without the event', () => {
    const almostAll = [...reoffenders(95, { custodial: 40 }), ...clean(5)];
    const comparison = [...reoffenders(60, { custodial: 20 }), ...clean(40)];
    const rate = measure(evaluationMeasures(almostAll, comparison, DEFAULT_EVALUATION_RULES).measures, 'reoffending_rate');
    expect(rate.treatment.suppressed).toBe('fewer than 10 people without a proven reoffence');
    expect(rate.treatment.people).toBe(100);
  });
});

describe('messages', () => {
  const cases = references.map((reference) => [reference.name, reference.treated, reference.comparison] as const);
  cases.push(['a suppressed comparison group', [...reoffenders(40, { custodial: 15 }), ...clean(60)], [...reoffenders(7, { custodial: 3 }), ...clean(83)]]);

  it.each(cases)('contain only rounded figures, never raw values or placeholders: %s', (_name, treated, comparison) => {
    const result = evaluationMeasures(treated, comparison, DEFAULT_EVALUATION_RULES);
    const messages = [result.summary, ...result.measures.flatMap((m) => [m.statement, m.treatment.suppressed, m.comparison.suppressed])].filter(
      (message): message is string => message !== null,
    );
    for (const message of messages) {
      expect(message).not.toMatch(/NaN|undefined|null|Infinity|\[object/);
      // Whole numbers (with thousands commas), one decimal for a narrow interval, p-values to 2–6 decimals.
      const figures = message.replace(/p [=<] 0\.\d{2,6}/g, '').match(/-?[\d.,]*\d/g) ?? [];
      for (const figure of figures) expect(figure, message).toMatch(/^(\d{1,3}(,\d{3})*)(\.\d)?$/);
    }
  });
});

describe('input checks', () => {
  const comparison = [...reoffenders(30), ...clean(70)];

  it('refuses a treatment group below minCohort', () => {
    expect(() => evaluationMeasures([...reoffenders(30), ...clean(29)], comparison, DEFAULT_EVALUATION_RULES)).toThrowError(
      expect.objectContaining({ code: 'EVALUATION_TOO_SMALL', message: '59 people are in the treatment group; an evaluation needs at least 60' }),
    );
  });

  it('refuses a treated person with a weight other than 1', () => {
    const treated = [...reoffenders(30), ...clean(29), { ...NO_REOFFENCE, weight: 2 }];
    expect(() => evaluationMeasures(treated, comparison, DEFAULT_EVALUATION_RULES)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'treatment person 60: a treated person must have weight 1' }),
    );
  });

  it('refuses impossible outcomes and weights in the comparison group', () => {
    const treated = [...reoffenders(30), ...clean(30)];
    for (const [person, message] of [
      [{ ...NO_REOFFENCE, weight: 0 }, 'the weight must be a positive number'],
      [{ ...NO_REOFFENCE, daysToFirstReoffence: 5 }, 'days to first reoffence must be null without a reoffence'],
      [{ ...NO_REOFFENCE, reoffences: 2 }, 'days to first reoffence must be a non-negative number for a reoffender'],
      [{ ...NO_REOFFENCE, reoffences: 1.5, daysToFirstReoffence: 3 }, 'reoffences must be a non-negative integer'],
      [{ ...NO_REOFFENCE, custodial: true }, 'a custodial sentence needs a proven reoffence'],
    ] as const) {
      expect(() => evaluationMeasures(treated, [person], DEFAULT_EVALUATION_RULES)).toThrowError(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: `comparison person 1: ${message}` }),
      );
    }
    expect(() => evaluationMeasures(treated, [], DEFAULT_EVALUATION_RULES)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'the comparison group is empty' }),
    );
  });
});
