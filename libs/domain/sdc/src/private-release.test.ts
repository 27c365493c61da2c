import { describe, expect, it } from 'vitest';
import { DEFAULT_SDC_POLICY, type ColumnSchema } from '@fedlab/model';
import { rationalToNumber, type Rational } from '@fedlab/dp';
import { privacyPlan, valueGrid, type PrivateCell } from '@fedlab/query';
import { addComponentNoise, cryptoNoise, releaseWithPrivacy, type NoiseSource } from './private-release';

const cost: ColumnSchema = { name: 'cost', type: 'real', role: 'attribute', nullable: false, bounds: [0, 200] };

/** A noise source that records the σ² it is asked for and returns a fixed draw (0 unless told). */
function fixedNoise(draw = 0n): NoiseSource & { sigma2: number[] } {
  const sigma2: number[] = [];
  return Object.assign(
    (s: Rational) => {
      sigma2.push(rationalToNumber(s));
      return draw;
    },
    { sigma2 },
  );
}

const cell = (key: PrivateCell['key'], fields: Partial<Omit<PrivateCell, 'key'>>): PrivateCell => ({
  key,
  records: 0,
  valueCount: 0,
  total: 0,
  centredTotal: 0,
  centredSquares: 0,
  meeting: 0,
  ...fields,
});

describe('releaseWithPrivacy', () => {
  it('noises every cell of the public layout, so an absent key is released or suppressed like any other', () => {
    const noise = fixedNoise();
    const out = releaseWithPrivacy({
      kind: 'count',
      dimensions: ['region'],
      domains: [['east', 'north', 'south']],
      cells: [cell(['north'], { records: 40 }), cell(['south'], { records: 30 }), cell(['elsewhere'], { records: 99 })],
      plan: privacyPlan('count', 2, null, 0.5),
      policy: DEFAULT_SDC_POLICY,
      reportDelta: 1e-6,
      noise,
    });
    // One draw per cell of the layout; the key outside the published values is not counted at all.
    expect(noise.sigma2).toHaveLength(3);
    // σ² = m² / (2ρ) with m = 2, ρ = 0.5 (less one part in 10^12 of ρ).
    expect(noise.sigma2[0]).toBeCloseTo(4, 9);
    expect(out.cells.map((c) => [c.key[0], c.stats?.count ?? null, c.suppressed?.rule ?? null])).toEqual([
      ['east', null, 'threshold'],
      ['north', 40, null],
      ['south', null, 'secondary'],
    ]);
    const sd = Math.sqrt(noise.sigma2[0]!);
    expect(out.cells[1]!.stats).toEqual({ count: 40, ci_lower: 40 - 1.959963984540054 * sd, ci_upper: 40 + 1.959963984540054 * sd });
    expect(out.privacy).toMatchObject({ rho: 0.5, delta: 1e-6, maxRecordsPerPerson: 2, noise: [{ statistic: 'count', sd }] });
  });

  it('applies the threshold rule to the noisy count, not the exact one', () => {
    const release = (draw: bigint) =>
      releaseWithPrivacy({
        kind: 'count',
        dimensions: [],
        domains: [],
        cells: [cell([], { records: 12 })],
        plan: privacyPlan('count', 1, null, 1),
        policy: DEFAULT_SDC_POLICY,
        reportDelta: 1e-6,
        noise: fixedNoise(draw),
      });
    expect(release(-3n).cells[0]!.suppressed).toEqual({ rule: 'threshold', reason: 'fewer than 10 persons' });
    expect(release(-2n).cells[0]!.stats!.count).toBe(10);
    // Noise never makes a count negative.
    expect(
      releaseWithPrivacy({
        kind: 'count',
        dimensions: [],
        domains: [],
        cells: [cell([], { records: 1 })],
        plan: privacyPlan('count', 1, null, 1),
        policy: { ...DEFAULT_SDC_POLICY, minPersons: 3 },
        reportDelta: 1e-6,
        noise: fixedNoise(-5n),
      }).cells[0]!.suppressed?.rule,
    ).toBe('threshold');
  });

  it('releases a mean as centre + noisy centred sum ÷ noisy count, on the grid, within the bounds', () => {
    const grid = valueGrid(cost, 'visits');
    // Two values 50 and 150 on the grid (step 2^-9): centred at 100.
    const centred = (v: number) => v / grid.step - grid.centre;
    const exact = cell([], { records: 20, valueCount: 20, centredTotal: 10 * centred(50) + 10 * centred(150) });
    const plan = privacyPlan('mean', 1, grid, 1);
    const out = releaseWithPrivacy({
      kind: 'mean',
      dimensions: [],
      domains: [],
      cells: [exact],
      plan,
      policy: DEFAULT_SDC_POLICY,
      reportDelta: 1e-6,
      noise: fixedNoise(),
    });
    expect(out.cells[0]!.stats!.mean).toBe(100);
    expect(out.cells[0]!.stats!.count).toBe(20);
    // Noise of the sum: m·halfRange/√(2·ρ/2) grid steps, i.e. 100/√1 value units (less a hair for the split safety).
    expect(out.privacy.noise.find((n) => n.statistic === 'centred_sum')!.sd).toBeCloseTo((grid.halfRange * grid.step) / Math.sqrt(1), 3);
    expect(out.cells[0]!.stats!.ci_lower).toBeLessThan(100);
    expect(out.cells[0]!.stats!.ci_upper).toBeGreaterThan(100);
  });

  it('releases a proportion from its noisy numerator and complement, with an interval in [0, 1]', () => {
    const out = releaseWithPrivacy({
      kind: 'proportion',
      dimensions: [],
      domains: [],
      cells: [cell([], { records: 100, meeting: 30 })],
      plan: privacyPlan('proportion', 1, null, 1),
      policy: DEFAULT_SDC_POLICY,
      reportDelta: 1e-6,
      noise: fixedNoise(),
    });
    expect(out.cells[0]!.stats).toMatchObject({ proportion: 0.3, numerator: 30, denominator: 100 });
    expect(out.cells[0]!.stats!.ci_lower).toBeGreaterThanOrEqual(0);
    expect(out.cells[0]!.stats!.ci_upper).toBeLessThanOrEqual(1);
  });

  it('spends no more ρ in its components than the query states', () => {
    for (const kind of ['count', 'sum', 'mean', 'variance', 'proportion', 'histogram'] as const) {
      const plan = privacyPlan(kind, 3, valueGrid(cost, 'visits'), 0.3);
      expect(plan.components.reduce((sum, c) => sum + c.rho, 0)).toBeLessThanOrEqual(0.3);
    }
  });
});

describe('addComponentNoise', () => {
  const plan = privacyPlan('mean', 1, valueGrid(cost, 'visits'), 1);
  const sigma2 = new Map([
    ['centred_sum', { num: 3n, den: 1n }],
    ['count', { num: 2n, den: 1n }],
  ] as const);

  it("adds each component's noise through the source's addTo when it has one, never a call per draw", () => {
    const asked: Array<[number, number, number]> = [];
    const noise: NoiseSource = Object.assign(
      (): bigint => {
        throw new Error('a draw per entry was asked for');
      },
      {
        addTo: (s: Rational, values: number[], start: number, end: number) => {
          asked.push([rationalToNumber(s), start, end]);
          for (let i = start; i < end; i++) values[i]! += rationalToNumber(s) * 10;
        },
      },
    );
    expect(addComponentNoise([1, 2, 3, 4, 5, 6], plan, 3, sigma2, noise)).toEqual([31, 32, 33, 24, 25, 26]);
    expect(asked).toEqual([
      [3, 0, 3],
      [2, 3, 6],
    ]);
  });

  it('falls back to one call per draw, and noises the vector in place (the exact figures are not kept)', () => {
    const noise = fixedNoise(-2n);
    const input = [1, 2, 3, 4, 5, 6];
    expect(addComponentNoise(input, plan, 3, sigma2, noise)).toBe(input);
    expect(input).toEqual([-1, 0, 1, 2, 3, 4]);
    expect(noise.sigma2).toEqual([3, 3, 3, 2, 2, 2]);
  });

  it('adds integer noise of the right spread with cryptoNoise (10^4 draws at σ² = 2: mean square within 5 standard errors of 2)', () => {
    const count = privacyPlan('count', 1, null, 1);
    const draws = addComponentNoise(new Array<number>(10_000).fill(0), count, 10_000, new Map([['count', { num: 2n, den: 1n }]]), cryptoNoise);
    expect(draws.every(Number.isInteger)).toBe(true);
    const meanSquare = draws.reduce((sum, x) => sum + x * x, 0) / draws.length;
    // Var N_Z(0, 2) = 2 to 8 digits; E[X⁴] ≈ 3σ⁴ = 12, so the standard error is √((12 − 4)/10^4) ≈ 0.028.
    expect(Math.abs(meanSquare - 2) / Math.sqrt(8 / 10_000)).toBeLessThan(5);
  });
});
