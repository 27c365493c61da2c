import { DEFAULT_SDC_POLICY } from '@fedlab/model';
import { describe, expect, it } from 'vitest';
import { compareBinary, compareMeans, summariseBinary, summariseMean } from './outcome-statistics';
import {
  DENOMINATOR_NOTES,
  releaseStudy,
  strictestMinPersons,
  type OutcomeSums,
  type ReleasedMeasure,
  type ReleasedOutcome,
  type StudySums,
} from './study-disclosure';

const MIN_PERSONS = 10;

const education: OutcomeSums = {
  name: 'education',
  denominator: 'matched',
  matchedPersons: { cohort: 100, comparison: 300 },
  measures: [
    { name: 'graduated', kind: 'binary', events: { cohort: 45, comparison: 60 } },
    { name: 'honours', kind: 'binary', events: { cohort: 5, comparison: 40 } },
    { name: 'enrolled', kind: 'binary', events: { cohort: 95, comparison: 300 } },
    {
      name: 'absences',
      kind: 'mean',
      sums: { cohort: { sum: 820, sumSquares: 9100 }, comparison: { sum: 1900, sumSquares: 16500 } },
    },
    {
      name: 'daysToDropout',
      kind: 'mean',
      sums: {
        cohort: { sum: 400, sumSquares: 30000, persons: 8 },
        comparison: { sum: 2400, sumSquares: 240000, persons: 30 },
      },
    },
    { name: 'academic', kind: 'binary', categoryOf: 'program', events: { cohort: 60, comparison: 200 } },
    { name: 'trades', kind: 'binary', categoryOf: 'program', events: { cohort: 35, comparison: 80 } },
    { name: 'other', kind: 'binary', categoryOf: 'program', events: { cohort: 5, comparison: 20 } },
  ],
};

const justice: OutcomeSums = {
  name: 'justice',
  denominator: 'group',
  matchedPersons: { cohort: 30, comparison: 50 },
  measures: [
    { name: 'anyOffence', kind: 'binary', events: { cohort: 30, comparison: 50 } },
    {
      name: 'offences',
      kind: 'mean',
      sums: { cohort: { sum: 75, sumSquares: 400 }, comparison: { sum: 110, sumSquares: 520 } },
    },
  ],
};

const health: OutcomeSums = {
  name: 'health',
  denominator: 'matched',
  matchedPersons: { cohort: 9, comparison: 340 },
  measures: [{ name: 'hospitalised', kind: 'binary', events: { cohort: 3, comparison: 40 } }],
};

const benefits: OutcomeSums = {
  name: 'benefits',
  denominator: 'group',
  matchedPersons: { cohort: 115, comparison: 200 },
  measures: [{ name: 'incomeSupport', kind: 'binary', events: { cohort: 115, comparison: 200 } }],
};

const study: StudySums = {
  groupPersons: { cohort: 120, comparison: 360 },
  outcomes: [education, justice, health, benefits],
};

const released = releaseStudy(study, MIN_PERSONS);

function outcome(name: string): ReleasedOutcome {
  return released.outcomes.find((o) => o.name === name) as ReleasedOutcome;
}

function measure(outcomeName: string, measureName: string): ReleasedMeasure {
  const found = outcome(outcomeName);
  if (found.suppressed) throw new Error(`outcome ${outcomeName} is suppressed`);
  return found.measures.find((m) => m.name === measureName) as ReleasedMeasure;
}

describe('releaseStudy', () => {
  it('releases the rates, their intervals and the comparison of a binary measure that passes every rule', () => {
    const cohort = { persons: 100, events: 45 };
    const comparison = { persons: 300, events: 60 };
    expect(measure('education', 'graduated')).toEqual({
      name: 'graduated',
      kind: 'binary',
      categoryOf: null,
      cohort: { suppressed: false, ...summariseBinary(cohort) },
      comparison: { suppressed: false, ...summariseBinary(comparison) },
      contrast: { suppressed: false, ...compareBinary(cohort, comparison) },
    });
  });

  it('releases means over the matched persons of a population register', () => {
    const cohort = { persons: 100, sum: 820, sumSquares: 9100 };
    const comparison = { persons: 300, sum: 1900, sumSquares: 16500 };
    expect(measure('education', 'absences')).toEqual({
      name: 'absences',
      kind: 'mean',
      cohort: { suppressed: false, ...summariseMean(cohort) },
      comparison: { suppressed: false, ...summariseMean(comparison) },
      contrast: { suppressed: false, ...compareMeans(cohort, comparison) },
    });
  });

  it('reports the matched persons, the denominator and the linkage rate of a population register', () => {
    const released = outcome('education');
    expect(released.suppressed === false && released.groups).toEqual({
      cohort: { matchedPersons: 100, denominatorPersons: 100, linkageRate: 100 / 120 },
      comparison: { matchedPersons: 300, denominatorPersons: 300, linkageRate: 300 / 360 },
    });
    expect(released.note).toBe(DENOMINATOR_NOTES.matched);
  });

  it('takes the group size as the denominator of an event-only dataset and reports no linkage rate', () => {
    const released = outcome('justice');
    expect(released.suppressed === false && released.groups).toEqual({
      cohort: { matchedPersons: 30, denominatorPersons: 120, linkageRate: null },
      comparison: { matchedPersons: 50, denominatorPersons: 360, linkageRate: null },
    });
    expect(released.note).toBe(DENOMINATOR_NOTES.group);
    const anyOffence = measure('justice', 'anyOffence');
    expect(anyOffence.cohort).toEqual({ suppressed: false, ...summariseBinary({ persons: 120, events: 30 }) });
    expect(measure('justice', 'offences').cohort).toEqual({
      suppressed: false,
      ...summariseMean({ persons: 120, sum: 75, sumSquares: 400 }),
    });
  });

  it('suppresses a rate with fewer than minPersons events, and its comparison', () => {
    const honours = measure('education', 'honours');
    expect(honours.cohort).toEqual({
      suppressed: true,
      rule: 'group_disclosure',
      reason: 'fewer than 10 persons of the cohort meet, or do not meet, the condition',
    });
    expect(honours.comparison).toEqual({ suppressed: false, ...summariseBinary({ persons: 300, events: 40 }) });
    expect(honours.contrast).toEqual({
      suppressed: true,
      rule: 'secondary',
      reason: 'suppressed because the figure of the cohort is suppressed',
    });
  });

  it('suppresses a rate with fewer than minPersons non-events but releases a rate of exactly 100 %', () => {
    const enrolled = measure('education', 'enrolled');
    expect(enrolled.cohort).toEqual({
      suppressed: true,
      rule: 'group_disclosure',
      reason: 'fewer than 10 persons of the cohort meet, or do not meet, the condition',
    });
    expect(enrolled.comparison).toEqual({ suppressed: false, ...summariseBinary({ persons: 300, events: 300 }) });
  });

  it('suppresses a mean from fewer than minPersons persons, and its comparison', () => {
    const days = measure('education', 'daysToDropout');
    expect(days.cohort).toEqual({
      suppressed: true,
      rule: 'threshold',
      reason: 'fewer than 10 persons of the cohort have a value',
    });
    expect(days.comparison).toEqual({
      suppressed: false,
      ...summariseMean({ persons: 30, sum: 2400, sumSquares: 240000 }),
    });
    expect(days.contrast).toEqual({
      suppressed: true,
      rule: 'secondary',
      reason: 'suppressed because the figure of the cohort is suppressed',
    });
  });

  it('suppresses the smallest other category of a one-hot column when one category is suppressed', () => {
    expect(measure('education', 'other').cohort).toMatchObject({ suppressed: true, rule: 'group_disclosure' });
    expect(measure('education', 'trades').cohort).toEqual({
      suppressed: true,
      rule: 'secondary',
      reason: "suppressed so that a suppressed category of 'program' cannot be recovered from the others",
    });
    expect(measure('education', 'academic').cohort).toMatchObject({ suppressed: false, events: 60 });
    expect(measure('education', 'trades').comparison).toMatchObject({ suppressed: false, events: 80 });
  });

  it('suppresses a whole outcome when fewer than minPersons persons of a group were matched', () => {
    expect(outcome('health')).toEqual({
      name: 'health',
      denominator: 'matched',
      note: DENOMINATOR_NOTES.matched,
      suppressed: true,
      rule: 'threshold',
      reason: 'fewer than 10 persons of the cohort were matched in the outcome dataset',
    });
  });

  it('suppresses a whole event-only outcome when fewer than minPersons persons of a group have no record', () => {
    expect(outcome('benefits')).toEqual({
      name: 'benefits',
      denominator: 'group',
      note: DENOMINATOR_NOTES.group,
      suppressed: true,
      rule: 'group_disclosure',
      reason: 'fewer than 10 persons of the cohort have, or do not have, a record in the outcome dataset',
    });
  });

  it('releases the group sizes and the threshold applied', () => {
    expect(released.groupPersons).toEqual({ cohort: 120, comparison: 360 });
    expect(released.minPersons).toBe(10);
  });

  it('releases a cohort without a comparison group', () => {
    const alone = releaseStudy(
      {
        groupPersons: { cohort: 50 },
        outcomes: [
          {
            name: 'justice',
            denominator: 'group',
            matchedPersons: { cohort: 20 },
            measures: [{ name: 'anyOffence', kind: 'binary', events: { cohort: 20 } }],
          },
        ],
      },
      MIN_PERSONS,
    );
    expect(alone.groupPersons).toEqual({ cohort: 50, comparison: null });
    const anyOffence = alone.outcomes[0].suppressed === false ? alone.outcomes[0].measures[0] : null;
    expect(anyOffence).toEqual({
      name: 'anyOffence',
      kind: 'binary',
      categoryOf: null,
      cohort: { suppressed: false, ...summariseBinary({ persons: 50, events: 20 }) },
      comparison: null,
      contrast: null,
    });
  });

  it('refuses the whole study when the cohort is smaller than minPersons', () => {
    expect(() => releaseStudy({ groupPersons: { cohort: 9, comparison: 360 }, outcomes: [] }, MIN_PERSONS)).toThrowError(
      expect.objectContaining({
        code: 'COHORT_TOO_SMALL',
        message: 'the cohort has fewer than 10 persons, the minimum for a study; nothing was released',
      }),
    );
  });

  it('refuses the whole study when the comparison group is smaller than minPersons', () => {
    const tiny: StudySums = { groupPersons: { cohort: 120, comparison: 8 }, outcomes: [] };
    expect(() => releaseStudy(tiny, MIN_PERSONS)).toThrowError(
      expect.objectContaining({
        code: 'COHORT_TOO_SMALL',
        message: 'the comparison group has fewer than 10 persons, the minimum for a study; nothing was released',
      }),
    );
  });

  it('refuses a threshold below the floor of 3', () => {
    expect(() => releaseStudy(study, 2)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'minPersons must be an integer of at least 3' }),
    );
  });

  it('refuses more events than the denominator', () => {
    const broken: StudySums = {
      groupPersons: { cohort: 120, comparison: 360 },
      outcomes: [
        {
          ...health,
          matchedPersons: { cohort: 20, comparison: 30 },
          measures: [{ name: 'hospitalised', kind: 'binary', events: { cohort: 21, comparison: 3 } }],
        },
      ],
    };
    expect(() => releaseStudy(broken, MIN_PERSONS)).toThrowError(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: "measure 'hospitalised' of outcome 'health' for the cohort has an event count that is not between 0 and the denominator",
      }),
    );
  });

  it('refuses more matched persons than the group has', () => {
    const broken: StudySums = {
      groupPersons: { cohort: 120, comparison: 360 },
      outcomes: [{ ...health, matchedPersons: { cohort: 121, comparison: 30 } }],
    };
    expect(() => releaseStudy(broken, MIN_PERSONS)).toThrowError(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: "outcome 'health' has a matched count for the cohort that is not between 0 and the group size",
      }),
    );
  });

  it('refuses comparison-group sums in a study without a comparison group', () => {
    expect(() => releaseStudy({ groupPersons: { cohort: 120 }, outcomes: [health] }, MIN_PERSONS)).toThrowError(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: "outcome 'health' matchedPersons must give a value for the cohort only",
      }),
    );
  });
});

describe('strictestMinPersons', () => {
  it('takes the largest minPersons of the nodes involved', () => {
    expect(strictestMinPersons([DEFAULT_SDC_POLICY, { ...DEFAULT_SDC_POLICY, minPersons: 20 }, { ...DEFAULT_SDC_POLICY, minPersons: 5 }])).toBe(20);
  });
});
