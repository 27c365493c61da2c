import { describe, expect, it } from 'vitest';
import { balanceTable, selectExactControls, selectPropensityControls, type ControlSelection, type StudyUnit, type UnitValue } from './comparison-selection';
import { seededRandom } from '@fedlab/synth';
import fixture from './fixtures/study-reference.json';

function unit(id: number, values: Record<string, UnitValue>): StudyUnit {
  return { id, values };
}

/** The matched sets keyed by case id, controls sorted, for comparisons that ignore draw order. */
function setsByCase(selection: ControlSelection): Record<number, number[]> {
  return Object.fromEntries(selection.matches.map((set) => [set.caseId, [...set.controlIds].sort((a, b) => a - b)]));
}

function expectInvalid(run: () => unknown, code: string, message: string): void {
  expect(run).toThrowError(expect.objectContaining({ code, message }));
}

describe('selectExactControls', () => {
  const cases = [
    unit(1, { sex: 'F', region: 'North' }),
    unit(2, { sex: 'F', region: 'North' }),
    unit(3, { sex: 'M', region: 'South' }),
    unit(4, { sex: 'F', region: null }),
    unit(5, { sex: 'M', region: 'North' }),
  ];
  const candidates = [
    unit(101, { sex: 'F', region: 'North' }),
    unit(102, { sex: 'F', region: 'North' }),
    unit(103, { sex: 'F', region: 'North' }),
    unit(104, { sex: 'M', region: 'South' }),
    unit(105, { sex: 'F' }),
    unit(106, { sex: 'F', region: 'null' }),
    unit(107, { sex: 'M', region: 'West' }),
  ];
  const select = (seed: number) =>
    selectExactControls({
      cases,
      candidates,
      strata: ['sex', 'region'],
      controlsPerCase: 2,
      random: seededRandom(seed),
    });

  it('draws controls from the same stratum only, with a missing value a stratum of its own', () => {
    const sets = setsByCase(select(1));
    expect([...sets[1], ...sets[2]].sort()).toEqual([101, 102, 103]);
    expect(sets[3]).toEqual([104]);
    expect(sets[4]).toEqual([105]);
    expect(sets[5]).toEqual([]);
  });

  it('shares a short stratum: each case gets one control before any gets a second', () => {
    const sets = setsByCase(select(1));
    expect([sets[1].length, sets[2].length].sort()).toEqual([1, 2]);
  });

  it('counts cases with all k, some and no controls', () => {
    const selection = select(1);
    expect([selection.casesMatched, selection.casesPartlyMatched, selection.casesUnmatched]).toEqual([1, 3, 1]);
    expect(selection.controls).toHaveLength(5);
  });

  it('lists the matched sets in the order of the cases given', () => {
    expect(select(2).matches.map((set) => set.caseId)).toEqual([1, 2, 3, 4, 5]);
  });

  it('never chooses a candidate twice', () => {
    const random = seededRandom(7);
    const many = Array.from({ length: 60 }, (_, i) => unit(i, { stratum: i % 3 }));
    const pool = Array.from({ length: 100 }, (_, i) => unit(1000 + i, { stratum: i % 4 }));
    const selection = selectExactControls({
      cases: many,
      candidates: pool,
      strata: ['stratum'],
      controlsPerCase: 2,
      random,
    });
    expect(new Set(selection.controls).size).toBe(selection.controls.length);
    for (const set of selection.matches) {
      for (const id of set.controlIds) expect((id - 1000) % 4).toBe(set.caseId % 3);
    }
    // Strata 0, 1 and 2 hold 25 candidates each for 20 cases: 5 cases per stratum get a second control.
    expect([selection.casesMatched, selection.casesPartlyMatched, selection.casesUnmatched]).toEqual([15, 45, 0]);
  });

  it('gives the same selection for the same random sequence, and another for another', () => {
    expect(select(42)).toEqual(select(42));
    const draws = new Set([1, 2, 3, 4, 5, 6].map((seed) => JSON.stringify(select(seed).matches)));
    expect(draws.size).toBeGreaterThan(1);
  });

  it('refuses a unit id used twice, a k that is not a positive integer, and a random source outside [0, 1)', () => {
    const base = { cases, candidates, strata: ['sex'], controlsPerCase: 1, random: seededRandom(1) };
    expectInvalid(
      () => selectExactControls({ ...base, candidates: [...candidates, unit(1, { sex: 'F' })] }),
      'INVALID_ARGUMENT',
      'a unit id appears more than once among the cases and candidates',
    );
    expectInvalid(() => selectExactControls({ ...base, controlsPerCase: 0 }), 'INVALID_ARGUMENT', 'controlsPerCase must be a positive integer');
    expectInvalid(() => selectExactControls({ ...base, random: () => 1 }), 'INVALID_ARGUMENT', 'the random source must return numbers in [0, 1)');
  });
});

describe('selectPropensityControls', () => {
  // One numeric covariate: the logit is b0 + b1·x, so nearest on the logit is nearest on x, and the caliper
  // 0.2·SD(logit) is 0.2·SD(x) in x units (about 1.3 here) whatever the fitted coefficients.
  const caseX = [10, 11, 20, 30];
  const candidateX = [9.9, 10.4, 11.2, 12, 19.5, 21, 22, 5, 6, 7, 8, 13, 14, 15, 16];
  const cases = caseX.map((x, i) => unit(i + 1, { x }));
  const candidates = candidateX.map((x, i) => unit(101 + i, { x }));
  const select = (seed = 1) => selectPropensityControls({ cases, candidates, covariates: ['x'], controlsPerCase: 1, random: seededRandom(seed) });

  function sampleSd(values: number[]): number {
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  }

  it('takes the nearest candidate on the logit for each case', () => {
    const sets = setsByCase(select());
    expect(sets[1]).toEqual([101]);
    expect(sets[2]).toEqual([103]);
    expect(sets[3]).toEqual([105]);
  });

  it('leaves a case unmatched when its nearest candidate is outside the caliper', () => {
    const selection = select();
    expect(setsByCase(selection)[4]).toEqual([]);
    expect([selection.casesMatched, selection.casesPartlyMatched, selection.casesUnmatched]).toEqual([3, 0, 1]);
    const slope = Math.abs(selection.coefficients[1].estimate);
    const sdX = sampleSd([...caseX, ...candidateX]);
    expect(selection.logitSd).toBeCloseTo(slope * sdX, 12);
    expect(selection.caliper).toBeCloseTo(0.2 * slope * sdX, 12);
  });

  it('matches the far case when there is no caliper', () => {
    const selection = selectPropensityControls({
      cases,
      candidates,
      covariates: ['x'],
      controlsPerCase: 1,
      caliperSd: null,
      random: seededRandom(1),
    });
    expect(selection.caliper).toBeNull();
    expect(setsByCase(selection)[4]).toEqual([107]);
  });

  it('gives the same selection for the same random sequence', () => {
    const tied = [...candidates, ...[9.9, 9.9, 11.2].map((x, i) => unit(201 + i, { x }))];
    const run = (seed: number) =>
      selectPropensityControls({
        cases,
        candidates: tied,
        covariates: ['x'],
        controlsPerCase: 2,
        random: seededRandom(seed),
      });
    expect(run(5)).toEqual(run(5));
    const draws = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => JSON.stringify(run(seed).matches)));
    expect(draws.size).toBeGreaterThan(1);
  });

  it('leaves units with a missing covariate out of the model and counts them', () => {
    const selection = selectPropensityControls({
      cases: [...cases, unit(9, { x: null })],
      candidates: [...candidates, unit(199, {})],
      covariates: ['x'],
      controlsPerCase: 1,
      random: seededRandom(1),
    });
    expect(selection.casesWithMissingCovariates).toBe(1);
    expect(selection.candidatesWithMissingCovariates).toBe(1);
    expect(setsByCase(selection)[9]).toEqual([]);
    expect(selection.casesUnmatched).toBe(2);
  });

  it('refuses a constant covariate as a singular model', () => {
    const constant = (units: StudyUnit[]) => units.map((u) => unit(u.id, { ...u.values, z: 3 }));
    expectInvalid(
      () =>
        selectPropensityControls({
          cases: constant(cases),
          candidates: constant(candidates),
          covariates: ['x', 'z'],
          controlsPerCase: 1,
          random: seededRandom(1),
        }),
      'INVALID_QUERY',
      "the propensity model is singular: model column 'z' is constant or collinear with the columns before it",
    );
  });

  it('refuses collinear covariates as a singular model', () => {
    const doubled = (units: StudyUnit[]) => units.map((u) => unit(u.id, { ...u.values, twice: 2 * (u.values.x as number) }));
    expectInvalid(
      () =>
        selectPropensityControls({
          cases: doubled(cases),
          candidates: doubled(candidates),
          covariates: ['x', 'twice'],
          controlsPerCase: 1,
          random: seededRandom(1),
        }),
      'INVALID_QUERY',
      "the propensity model is singular: model column 'twice' is constant or collinear with the columns before it",
    );
  });

  it('refuses a text covariate with a single value as a singular model', () => {
    const oneRegion = (units: StudyUnit[]) => units.map((u) => unit(u.id, { ...u.values, region: 'North' }));
    expectInvalid(
      () =>
        selectPropensityControls({
          cases: oneRegion(cases),
          candidates: oneRegion(candidates),
          covariates: ['x', 'region'],
          controlsPerCase: 1,
          random: seededRandom(1),
        }),
      'INVALID_QUERY',
      "the propensity model is singular: covariate 'region' has a single value among the units with every covariate",
    );
  });

  it('refuses a model with fewer than 10 residual degrees of freedom', () => {
    expectInvalid(
      () =>
        selectPropensityControls({
          cases: cases.slice(0, 2),
          candidates: candidates.slice(0, 8),
          covariates: ['x'],
          controlsPerCase: 1,
          random: seededRandom(1),
        }),
      'INVALID_QUERY',
      'the propensity model needs at least 10 more units with every covariate than its 2 parameters',
    );
  });

  it('refuses a covariate that mixes text and numbers', () => {
    expectInvalid(
      () =>
        selectPropensityControls({
          cases: [...cases, unit(9, { x: 'ten' })],
          candidates,
          covariates: ['x'],
          controlsPerCase: 1,
          random: seededRandom(1),
        }),
      'INVALID_ARGUMENT',
      "covariate 'x' mixes text with numbers or booleans",
    );
  });
});

interface PropensityReference {
  covariates: string[];
  controlsPerCase: number;
  caliperSd: number;
  coefficients: { name: string; estimate: number }[];
  logitSd: number;
  caliper: number;
  matches: { caseId: number; controlIds: number[] }[];
  casesMatched: number;
  casesPartlyMatched: number;
  casesUnmatched: number;
  units: { id: number; treat: number; age: number | null; sex: string; region: string | null; flag: boolean }[];
}

describe('selectPropensityControls agrees with R', () => {
  const reference = fixture.propensity as PropensityReference;
  const toUnit = ({ id, age, sex, region, flag }: PropensityReference['units'][number]) => unit(id, { age, sex, region, flag });
  const selection = selectPropensityControls({
    cases: reference.units.filter((u) => u.treat === 1).map(toUnit),
    candidates: reference.units.filter((u) => u.treat === 0).map(toUnit),
    covariates: reference.covariates,
    controlsPerCase: reference.controlsPerCase,
    caliperSd: reference.caliperSd,
    random: seededRandom(3),
  });

  function expectRelative(actual: number | null, expected: number): void {
    expect(Math.abs((actual as number) - expected) / Math.abs(expected)).toBeLessThan(1e-6);
  }

  it("fits R's glm coefficients, logit SD and caliper", () => {
    expect(selection.coefficients.map((c) => c.name)).toEqual(reference.coefficients.map((c) => c.name));
    selection.coefficients.forEach((c, j) => expectRelative(c.estimate, reference.coefficients[j].estimate));
    expect(selection.converged).toBe(true);
    expectRelative(selection.logitSd, reference.logitSd);
    expectRelative(selection.caliper, reference.caliper);
  });

  it('chooses the same controls as a direct greedy matching in R', () => {
    const expected = Object.fromEntries(reference.matches.map((set) => [set.caseId, set.controlIds]));
    for (const set of selection.matches) expect(set.controlIds).toEqual(expected[set.caseId] ?? []);
    expect([selection.casesMatched, selection.casesPartlyMatched, selection.casesUnmatched]).toEqual([
      reference.casesMatched,
      reference.casesPartlyMatched,
      reference.casesUnmatched,
    ]);
    expect(selection.casesWithMissingCovariates).toBe(1);
  });
});

describe('selection at scale', () => {
  const random = seededRandom(11);
  const regions = ['North', 'South', 'East', 'West'];
  const person = (id: number, caseBias: number) =>
    unit(id, {
      age: Math.floor(random() * 18) + caseBias,
      sex: random() < 0.5 ? 'F' : 'M',
      region: regions[Math.floor(random() * regions.length)],
      flag: random() < 0.2 + 0.1 * caseBias,
    });
  const cases = Array.from({ length: 1_000 }, (_, i) => person(i, 1));
  const candidates = Array.from({ length: 100_000 }, (_, i) => person(10_000 + i, 0));

  it('matches 1,000 cases against 100,000 candidates on exact strata within a second or two', () => {
    const started = performance.now();
    const selection = selectExactControls({
      cases,
      candidates,
      strata: ['sex', 'region', 'age'],
      controlsPerCase: 3,
      random,
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(new Set(selection.controls).size).toBe(selection.controls.length);
    expect(selection.casesMatched + selection.casesPartlyMatched + selection.casesUnmatched).toBe(1_000);
  });

  it('matches 1,000 cases against 100,000 candidates by propensity within a few seconds', () => {
    const started = performance.now();
    const selection = selectPropensityControls({
      cases,
      candidates,
      covariates: ['age', 'sex', 'region', 'flag'],
      controlsPerCase: 2,
      random,
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(new Set(selection.controls).size).toBe(selection.controls.length);
    expect(selection.casesMatched).toBe(1_000);
  });
});

describe('balanceTable', () => {
  const cases = [unit(1, { age: 10, sex: 'F', siblings: 1 }), unit(2, { age: 20, sex: 'F', siblings: 1 }), unit(3, { age: 30, sex: 'M', siblings: 1 })];
  const candidates = [
    unit(11, { age: 10, sex: 'F', siblings: 1 }),
    unit(12, { age: 10, sex: 'M', siblings: 2 }),
    unit(13, { age: 40, sex: 'M', siblings: 0 }),
    unit(14, { age: 40, sex: 'M', siblings: 3 }),
    unit(15, { age: null, sex: 'M', siblings: 1 }),
  ];
  const rows = balanceTable({ cases, candidates, controlIds: [11, 12], columns: ['age', 'sex', 'siblings'] });
  const row = (column: string, level: string | null) => rows.find((r) => r.column === column && r.level === level);
  const sdF = Math.sqrt((2 / 3) * (1 / 3));

  it('has one row per numeric column and per level of a text column', () => {
    expect(rows.map((r) => [r.column, r.level])).toEqual([
      ['age', null],
      ['sex', 'F'],
      ['sex', 'M'],
      ['siblings', null],
    ]);
  });

  it('standardises a numeric difference by the SD of the cases, leaving missing values out', () => {
    const age = row('age', null);
    expect(age?.before).toEqual({
      casesMean: 20,
      controlsMean: 25,
      standardisedMeanDifference: -0.5,
      imbalanced: true,
    });
    expect(age?.after).toEqual({ casesMean: 20, controlsMean: 10, standardisedMeanDifference: 1, imbalanced: true });
  });

  it('standardises a level by √(p(1 − p)) of the cases', () => {
    const female = row('sex', 'F');
    expect(female?.before.standardisedMeanDifference).toBeCloseTo((2 / 3 - 1 / 5) / sdF, 12);
    expect(female?.after.standardisedMeanDifference).toBeCloseTo((2 / 3 - 1 / 2) / sdF, 12);
    expect(row('sex', 'M')?.after.standardisedMeanDifference).toBeCloseTo((1 / 3 - 1 / 2) / sdF, 12);
  });

  it('has no SMD when the cases do not vary, and flags any difference then', () => {
    const siblings = row('siblings', null);
    expect(siblings?.before).toEqual({
      casesMean: 1,
      controlsMean: 7 / 5,
      standardisedMeanDifference: null,
      imbalanced: true,
    });
    expect(siblings?.after).toEqual({
      casesMean: 1,
      controlsMean: 1.5,
      standardisedMeanDifference: null,
      imbalanced: true,
    });
  });

  it('does not flag an SMD of 0.1 or less', () => {
    const close = balanceTable({
      cases: [unit(1, { score: 0 }), unit(2, { score: 10 })],
      candidates: [unit(3, { score: 5.5 }), unit(4, { score: 1 })],
      controlIds: [3],
      columns: ['score'],
    });
    expect(close[0].after.imbalanced).toBe(false);
    expect(close[0].before.imbalanced).toBe(true);
  });

  it('refuses a control that is not a candidate', () => {
    expectInvalid(
      () => balanceTable({ cases, candidates, controlIds: [99], columns: ['age'] }),
      'INVALID_ARGUMENT',
      'a control id is not one of the candidates',
    );
  });
});
