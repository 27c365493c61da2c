import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import reference from './fixtures/psm-reference.json';
import { matchedBalance, propensityMatch, type PsmResult, type PsmUnit } from './propensity-matching';

const BOOLEAN_COLUMNS = new Set(['male', 'employed', 'income_support']);
const TEXT_COLUMNS = new Set(['region', 'index_offence']);

/** The committed input of scripts/psm-reference.R, typed as the JDL evaluation would hold it. */
function fixtureUnits(): PsmUnit[] {
  const text = readFileSync(path.join(__dirname, 'fixtures', 'psm-input.csv'), 'utf8');
  const [header, ...lines] = text.trimEnd().split('\n');
  const columns = header.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const cell = (name: string) => cells[columns.indexOf(name)];
    const values: PsmUnit['values'] = {};
    for (const name of reference.covariates) {
      if (BOOLEAN_COLUMNS.has(name)) values[name] = cell(name) === '1';
      else if (TEXT_COLUMNS.has(name)) values[name] = cell(name);
      else values[name] = Number(cell(name));
    }
    return { id: Number(cell('id')), treated: cell('treated') === '1', values };
  });
}

function largestDifference(pairs: Array<[number, number]>): number {
  return Math.max(...pairs.map(([actual, expected]) => Math.abs(actual - expected)));
}

function unit(id: number, treated: boolean, x: number, extra: PsmUnit['values'] = {}): PsmUnit {
  return { id, treated, values: { x, ...extra } };
}

/** Controls 101–110 at x = 0 … 9: a spread-out pool, so the caliper (0.2 SD) is about 1.5 to 2 in x. */
const pool = Array.from({ length: 10 }, (_, x) => unit(101 + x, false, x));

function sampleSd(values: number[]): number {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
}

describe('propensityMatch and matchedBalance against R MatchIt (fixtures/psm-reference.json)', () => {
  const units = fixtureUnits();
  const result = propensityMatch({ units, covariates: reference.covariates });

  it('fits MatchIt’s logistic model: names in order, estimates and standard errors within 1e-6 relative', () => {
    expect(result.coefficients.map((c) => c.name)).toEqual(reference.coefficients.map((c) => c.name));
    result.coefficients.forEach((coefficient, j) => {
      const expected = reference.coefficients[j];
      expect(Math.abs(coefficient.estimate - expected.estimate)).toBeLessThanOrEqual(1e-6 * Math.abs(expected.estimate));
      expect(Math.abs(coefficient.standardError - expected.standardError)).toBeLessThanOrEqual(1e-6 * expected.standardError);
    });
  });

  it('gives every unit the logit MatchIt matches on (its distance), within 1e-8', () => {
    expect([...result.logit.keys()]).toEqual(reference.units.map((u) => u.id));
    const logits = reference.units.map((u): [number, number] => [result.logit.get(u.id) as number, u.logit]);
    expect(largestDifference(logits)).toBeLessThanOrEqual(1e-8);
  });

  it('sets the caliper to 0.2 × the sample SD of the logit over all units, within 1e-9', () => {
    expect(Math.abs(result.caliper - reference.caliper)).toBeLessThanOrEqual(1e-9);
  });

  it('pairs each treated unit with MatchIt’s control and leaves out the same treated units', () => {
    const expectedPairs = reference.matches.filter((m) => m.controlId !== null);
    expect(result.pairs.map(({ treatedId, controlId }) => ({ treatedId, controlId }))).toEqual(expectedPairs);
    expect(result.outsideCaliper).toEqual(reference.matches.filter((m) => m.controlId === null).map((m) => m.treatedId));
    expect(result.outsideCaliper).toHaveLength(2);
  });

  it('reports each pair’s distance as |logit(treated) − logit(control)|, within the caliper', () => {
    for (const pair of result.pairs) {
      const logit = (id: number) => result.logit.get(id) as number;
      expect(pair.distance).toBe(Math.abs(logit(pair.treatedId) - logit(pair.controlId)));
      expect(pair.distance).toBeLessThanOrEqual(result.caliper);
    }
  });

  it('weights the matched units as MatchIt does, within 1e-9, and leaves unmatched units out', () => {
    const matched = reference.units.filter((u) => u.weight > 0);
    expect([...result.weights.keys()]).toEqual(matched.map((u) => u.id));
    const weights = matched.map((u): [number, number] => [result.weights.get(u.id) as number, u.weight]);
    expect(largestDifference(weights)).toBeLessThanOrEqual(1e-9);
  });

  it('reports the means and standardised mean differences of summary(m), before and after matching, within 1e-9', () => {
    const rows = matchedBalance({ units, covariates: reference.covariates, result });
    expect(rows.map((row) => row.covariate)).toEqual(reference.balance.map((row) => row.covariate));
    rows.forEach((row, index) => {
      const expected = reference.balance[index];
      expect(
        largestDifference([
          [row.treatedMean, expected.treatedMeanAfter],
          [row.comparisonMeanBefore, expected.comparisonMeanBefore],
          [row.comparisonMeanAfter, expected.comparisonMeanAfter],
          [row.smdBefore, expected.smdBefore],
          [row.smdAfter, expected.smdAfter],
        ]),
      ).toBeLessThanOrEqual(1e-9);
      expect(row.flagged).toBe(Math.abs(expected.smdAfter) > 0.1);
    });
    expect(rows.filter((row) => row.flagged).map((row) => row.covariate)).not.toHaveLength(0);
  });
});

describe('propensityMatch', () => {
  it('leaves a treated unit out when no control is within the caliper', () => {
    const units = [...pool, unit(1, true, 2.4), unit(2, true, 6.2), unit(3, true, 8.9), unit(4, true, 30)];
    const result = propensityMatch({ units, covariates: ['x'] });
    expect(result.pairs.map(({ treatedId, controlId }) => [treatedId, controlId])).toEqual([
      [1, 103],
      [2, 107],
      [3, 110],
    ]);
    expect(result.outsideCaliper).toEqual([4]);
    expect(result.caliper).toBe(0.2 * sampleSd([...result.logit.values()]));
    expect([...result.weights]).toEqual([
      [103, 1],
      [107, 1],
      [110, 1],
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });

  it('lets every treated unit use the same control, which then weighs 1: 3 uses × 1 control / 3 treated', () => {
    const units = [...pool, unit(111, false, 20), unit(1, true, 19.8), unit(2, true, 20.1), unit(3, true, 20.3)];
    const result = propensityMatch({ units, covariates: ['x'] });
    expect(result.pairs.map((pair) => pair.controlId)).toEqual([111, 111, 111]);
    expect(result.outsideCaliper).toEqual([]);
    expect([...result.weights]).toEqual([
      [111, 1],
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });

  it('weights a control by its uses × the controls used / the treated matched', () => {
    const shared = [unit(111, false, 20), unit(1, true, 19.8), unit(2, true, 20.1), unit(3, true, 20.3)];
    const units = [...pool, ...shared, unit(4, true, 4.9)];
    const result = propensityMatch({ units, covariates: ['x'] });
    expect(result.pairs.map((pair) => pair.controlId)).toEqual([111, 111, 111, 106]);
    expect(result.weights.get(111)).toBe(1.5);
    expect(result.weights.get(106)).toBe(0.5);
  });

  it('breaks a tie in the logit for the control just before the treated unit in (logit, data order)', () => {
    const units = [
      unit(101, false, 0),
      unit(102, false, 1),
      unit(103, false, 2),
      unit(201, false, 5),
      unit(202, false, 5),
      unit(1, true, 5), // controls 201 and 202 tie with it before, 203 after: 202 is the one just before
      unit(203, false, 5),
      unit(2, true, 7), // controls 204 and 205 tie with it, both after: 204 is the one just after
      unit(204, false, 7),
      unit(205, false, 7),
      unit(104, false, 9),
      unit(105, false, 10),
      unit(3, true, 9.4),
      unit(4, true, 2.2),
      unit(106, false, 3),
    ];
    const result = propensityMatch({ units, covariates: ['x'] });
    expect(result.pairs).toEqual([
      { treatedId: 1, controlId: 202, distance: 0 },
      { treatedId: 2, controlId: 204, distance: 0 },
      expect.objectContaining({ treatedId: 3, controlId: 104 }),
      expect.objectContaining({ treatedId: 4, controlId: 103 }),
    ]);
  });

  it('names model columns as R’s model.matrix, a factor’s first level in code-unit order being the reference', () => {
    const treated = [2.4, 6.2, 8.9, 3.3, 4.4, 7.7].map((x, i) => unit(i + 1, true, x));
    const units = [...pool, ...treated].map((u, i) => ({
      ...u,
      values: { ...u.values, region: ['west', 'East', 'north'][i % 3], flag: i % 2 === 0 },
    }));
    const result = propensityMatch({ units, covariates: ['region', 'x', 'flag'] });
    expect(result.coefficients.map((c) => c.name)).toEqual(['(Intercept)', 'regionnorth', 'regionwest', 'x', 'flag']);
  });

  it('refuses a constant covariate as a singular model, naming the column but no value', () => {
    const units = [...pool, unit(1, true, 2.4), unit(2, true, 6.2), unit(3, true, 8.9)].map((u) => ({
      ...u,
      values: { ...u.values, constant: 5 },
    }));
    expect(() => propensityMatch({ units, covariates: ['x', 'constant'] })).toThrowFedlabError(
      'INVALID_QUERY',
      "the propensity model is singular: model column 'constant' is constant or collinear with the columns before it",
    );
  });

  it('refuses a categorical covariate with a single level as a singular model', () => {
    const units = [...pool, unit(1, true, 2.4), unit(2, true, 6.2)].map((u) => ({
      ...u,
      values: { ...u.values, region: 'north' },
    }));
    expect(() => propensityMatch({ units, covariates: ['x', 'region'] })).toThrowFedlabError(
      'INVALID_QUERY',
      "the propensity model is singular: covariate 'region' has a single value among the units",
    );
  });

  it('refuses a model with fewer than 10 residual degrees of freedom', () => {
    const units = [...pool.slice(0, 8), unit(1, true, 2.4), unit(2, true, 6.2)];
    expect(() => propensityMatch({ units, covariates: ['x'] })).toThrowFedlabError(
      'INVALID_QUERY',
      'the propensity model needs at least 10 more units with every covariate than its 2 parameters',
    );
  });

  it('refuses units with no treated unit, or no control', () => {
    const message = 'propensity matching needs at least one treated and one control unit';
    expect(() => propensityMatch({ units: pool, covariates: ['x'] })).toThrowFedlabError('INVALID_ARGUMENT', message);
    const treated = pool.map((u) => ({ ...u, treated: true }));
    expect(() => propensityMatch({ units: treated, covariates: ['x'] })).toThrowFedlabError('INVALID_ARGUMENT', message);
  });

  it('refuses a missing covariate value, naming the covariate only', () => {
    const units = [...pool, unit(1, true, 2.4), { id: 2, treated: true, values: {} }];
    expect(() => propensityMatch({ units, covariates: ['x'] })).toThrowFedlabError(
      'INVALID_ARGUMENT',
      "covariate 'x' is missing or not a finite number for a unit; propensity matching needs complete cases",
    );
  });

  it('refuses repeated unit ids and a caliperSd that is not a positive number', () => {
    const units = [...pool, unit(1, true, 2.4), unit(1, true, 6.2)];
    expect(() => propensityMatch({ units, covariates: ['x'] })).toThrowFedlabError('INVALID_ARGUMENT', 'a unit id appears more than once');
    expect(() => propensityMatch({ units: [...pool, unit(1, true, 2.4)], covariates: ['x'], caliperSd: 0 })).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'caliperSd must be a positive number',
    );
  });

  it('matches 1,000 treated units among 300,000 controls to their nearest control', () => {
    let state = 20250314;
    const random = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 4294967296;
    };
    const units: PsmUnit[] = [];
    for (let id = 1; id <= 301_000; id++) {
      const age = 18 + 50 * random();
      const offences = Math.floor(20 * random() * random());
      const treated = id % 301 === 0;
      const region = ['london', 'midlands', 'north', 'south', 'wales'][Math.floor(5 * random())];
      const male = random() < 0.8;
      units.push({ id, treated, values: { age: treated ? age - 10 * random() : age, offences, region, male } });
    }
    const result = propensityMatch({ units, covariates: ['age', 'offences', 'region', 'male'] });
    expect(result.pairs.length + result.outsideCaliper.length).toBe(1000);
    const controls = units.filter((u) => !u.treated).map((u) => ({ id: u.id, logit: result.logit.get(u.id) as number }));
    for (const pair of result.pairs.slice(0, 25)) {
      const logit = result.logit.get(pair.treatedId) as number;
      let nearest = Infinity;
      for (const control of controls) nearest = Math.min(nearest, Math.abs(control.logit - logit));
      expect(pair.distance).toBe(nearest);
    }
  });
});

describe('matchedBalance', () => {
  const units: PsmUnit[] = [
    unit(1, true, 1, { flag: true, group: 'a' }),
    unit(2, true, 2, { flag: true, group: 'b' }),
    unit(3, true, 3, { flag: true, group: 'a' }),
    unit(4, false, 0, { flag: false, group: 'a' }),
    unit(5, false, 4, { flag: true, group: 'b' }),
    unit(6, false, 8, { flag: false, group: 'b' }),
  ];
  const result: PsmResult = {
    coefficients: [],
    logit: new Map(units.map((u) => [u.id, 0])),
    caliper: 1,
    pairs: [],
    outsideCaliper: [],
    weights: new Map([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 2],
      [5, 1],
    ]),
  };
  const rows = matchedBalance({ units, covariates: ['x', 'flag', 'group'], result });

  it('standardises a numeric covariate by the sample SD of all treated units, before and after matching', () => {
    expect(rows[0]).toMatchObject({ covariate: 'x', treatedMean: 2, comparisonMeanBefore: 4, comparisonMeanAfter: 4 / 3 });
    expect(rows[0].smdBefore).toBeCloseTo(-2, 14);
    expect(rows[0].smdAfter).toBeCloseTo(2 - 4 / 3, 14);
    expect(rows[0].flagged).toBe(true);
  });

  it('falls back to MatchIt’s pooled SD when the treated units do not vary', () => {
    // Treated all 1, controls 0, 1, 0: √((3·(1 − 3/3) + 1·(1 − 1/3)) / 6) = 1/3.
    expect(rows[1].covariate).toBe('flag');
    expect(rows[1].smdBefore).toBeCloseTo((1 - 1 / 3) / (1 / 3), 14);
    expect(rows[1].smdAfter).toBeCloseTo((1 - 1 / 3) / (1 / 3), 14);
  });

  it('gives every level of a categorical covariate a row, standardised by √(p(1 − p)) of the treated', () => {
    const sd = Math.sqrt((2 / 3) * (1 / 3));
    expect(rows.slice(2).map((row) => row.covariate)).toEqual(['group=a', 'group=b']);
    expect(rows[2].smdBefore).toBeCloseTo((2 / 3 - 1 / 3) / sd, 14);
    expect(rows[3].smdBefore).toBeCloseTo((1 / 3 - 2 / 3) / sd, 14);
  });

  it('reports a difference of at most √ε unstandardised, as MatchIt does', () => {
    expect([rows[2].smdAfter, rows[3].smdAfter]).toEqual([0, 0]);
    expect([rows[2].flagged, rows[3].flagged]).toEqual([false, false]);
  });

  it('refuses units that are not those of the result', () => {
    expect(() => matchedBalance({ units: units.slice(1), covariates: ['x'], result })).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'the units are not the units the matching result was computed for',
    );
  });
});
