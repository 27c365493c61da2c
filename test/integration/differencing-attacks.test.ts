import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import type { Analysis, Filter, QuerySpec } from '@fedlab/model';
import type { FedlabClient, NodeResultView } from '@fedlab/client';
import { chiSquareCriticalValue, chiSquareSurvival, distributedGaussianShare, rationalToNumber } from '@fedlab/dp';
import { CLINIC_SCHEMA, clinicCsv, clinicRows, policyYaml, runQuery, startTestNetwork, testQuerySpec, type ClinicRow, type TestNetwork } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';
import { useTestNetwork } from './network-fixture';

/**
 * The attacks of issue 14, replayed by a researcher with nothing but ordinary queries on a real
 * network (coordinator and node over loopback gRPC, real SQLite, real keys). The target is one
 * person, alone in their sex × birth year × region stratum.
 */
const TARGET: ClinicRow = {
  patient_id: 'T0001',
  surname: 'Target',
  sex: 'F',
  region: 'north',
  birth_year: 1955,
  visit_date: '2024-03-03',
  diagnosis: 'rare',
  cost: 190,
};
const ROWS = [...clinicRows(), TARGET];
/** Everyone except the target's stratum. */
const NOT_TARGET: Filter = {
  kind: 'or',
  items: [
    { kind: 'cmp', column: 'sex', op: 'ne', values: [TARGET.sex] },
    { kind: 'cmp', column: 'birth_year', op: 'ne', values: [TARGET.birth_year] },
    { kind: 'cmp', column: 'region', op: 'ne', values: [TARGET.region] },
  ],
};
const M = CLINIC_SCHEMA.maxRecordsPerPerson!;

/** The central interval of a chi-square with `df` degrees of freedom holding all but 2e-6 of it, by bisection. */
function chiSquareInterval(df: number): [number, number] {
  let lo = 0;
  let hi = df;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (chiSquareSurvival(df, mid) > 1 - 1e-6) lo = mid;
    else hi = mid;
  }
  return [lo, chiSquareCriticalValue(df, 1e-6)];
}

/**
 * The differences an attacker collected are the target's one row plus noise of the accounted
 * variance: their sample variance is within the central chi-square interval, their mean within 5
 * standard errors of 1, and one difference alone is noisier than one person's rows.
 */
function expectNoiseOfVariance(differences: number[], variance: number): void {
  const pairs = differences.length;
  const mean = differences.reduce((a, b) => a + b, 0) / pairs;
  const sampleVariance = differences.reduce((a, d) => a + (d - mean) ** 2, 0) / (pairs - 1);
  const [lo, hi] = chiSquareInterval(pairs - 1);
  expect((sampleVariance * (pairs - 1)) / variance).toBeGreaterThan(lo);
  expect((sampleVariance * (pairs - 1)) / variance).toBeLessThan(hi);
  expect(Math.abs(mean - 1)).toBeLessThan(5 * Math.sqrt(variance / pairs));
  expect(Math.sqrt(variance)).toBeGreaterThan(M);
}

const count = (filter?: Filter): Analysis => ({ kind: 'count', dataset: 'clinic_visits', groupBy: [], ...(filter ? { filter } : {}) });

/** A network of one clinic node holding the target, its project budget set by `privacy`. */
function attackedNetwork(privacy: Parameters<typeof policyYaml>[0]['privacy']) {
  const state: { net?: TestNetwork; alice?: FedlabClient } = {};
  test.beforeAll(async ({ fileTempDir }) => {
    const dir = mkdtempSync(path.join(fileTempDir, 'network-'));
    const policy = policyYaml({ datasets: { clinic_visits: ['research'] }, privacy });
    state.net = await startTestNetwork({
      dir,
      researchers: ['alice'],
      nodes: [{ id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv(ROWS) }], policy }],
    });
    state.alice = state.net.client(state.net.researchers.alice!);
  });
  afterAll(async () => {
    await state.net?.stop();
  });
  return async (analysis: Analysis, rho: number, overrides: Partial<QuerySpec> = {}): Promise<NodeResultView> => {
    const alice = state.alice!;
    const { queryId } = await alice.submitEnvelope(await alice.sign(testQuerySpec({ analysis, rho, ...overrides })));
    await alice.watch(queryId);
    return (await alice.result(queryId)).answers[0]!;
  };
}

describe('differencing attacks under differential privacy, measured over many repetitions', () => {
  // A generous budget, so the test can repeat the attack often enough to measure its noise.
  const ask = attackedNetwork(undefined);

  it('turns "everyone minus everyone but one stratum" into noise of the accounted spread, centred on the truth', async () => {
    const pairs = 40;
    const rho = 0.5;
    const differences: number[] = [];
    let sd = 0;
    for (let i = 0; i < pairs; i++) {
      const everyone = await ask(count(), rho);
      const others = await ask(count(NOT_TARGET), rho);
      differences.push(everyone.table!.cells[0]!.stats!.count! - others.table!.cells[0]!.stats!.count!);
      sd = everyone.table!.privacy!.noise[0]!.sd;
    }
    // σ² = m² / (2ρ) per count; the difference of two independent counts has twice that variance.
    expect(sd).toBeCloseTo(M / Math.sqrt(2 * rho), 9);
    expectNoiseOfVariance(differences, 2 * sd * sd);
  }, 120_000);

  it("gives the sum over a complement noise the size of the whole public range, not the target's cost", async () => {
    const sum = (filter?: Filter): Analysis => ({ kind: 'sum', dataset: 'clinic_visits', column: 'cost', groupBy: [], ...(filter ? { filter } : {}) });
    const everyone = await ask(sum(), 1);
    const others = await ask(sum(NOT_TARGET), 1);
    const difference = everyone.table!.cells[0]!.stats!.sum! - others.table!.cells[0]!.stats!.sum!;
    const sumSd = everyone.table!.privacy!.noise.find((n) => n.statistic === 'sum')!.sd;
    // Δ = m · 200 (cost bounds [0, 200]) spent at ρ/2: σ = m·200 / √ρ, far above the target's 190.
    expect(sumSd).toBeGreaterThan((M * 200) / Math.sqrt(1) - 1);
    expect(Math.abs(difference - TARGET.cost)).toBeLessThan(5 * Math.SQRT2 * sumSd);
  });
});

describe('a differencing attacker with an ordinary project budget', () => {
  // The node approves the attacker's project like any other, with the policy's default budget of ρ = 2.
  const ask = attackedNetwork({ default_project_rho: 2, max_project_rho: 5, max_query_rho: 1 });

  it('runs out of budget before the averaged difference is accurate to one person', async () => {
    const rho = 0.25;
    const spent: number[] = [];
    let refusal: NodeResultView['refusal'];
    for (let i = 0; i < 100 && !refusal; i++) {
      for (const analysis of [count(), count(NOT_TARGET)]) {
        const answer = await ask(analysis, rho);
        if (answer.refusal) {
          refusal = answer.refusal;
          break;
        }
        spent.push(rho);
      }
    }
    expect(refusal?.code).toBe('BUDGET_EXHAUSTED');
    expect(spent.reduce((a, b) => a + b, 0)).toBe(2);
    // With k pairs at ρ each, the average of the differences has variance 2σ²/k, σ² = m²/(2ρ): at
    // the whole budget of 2 that is m² — one person's contribution, never below it.
    const pairs = spent.length / 2;
    const averagedSd = Math.sqrt((2 * (M * M)) / (2 * rho) / pairs);
    expect(averagedSd).toBeGreaterThanOrEqual(M);
  }, 120_000);
});

describe('two queries sent together that the budget cannot both afford', () => {
  const ask = attackedNetwork({ default_project_rho: 1, max_project_rho: 1, max_query_rho: 1 });

  it('answers exactly one of them and refuses the other for exhausted budget', async () => {
    const answers = await Promise.all([ask(count(), 0.6), ask(count(NOT_TARGET), 0.6)]);
    expect(answers.filter((a) => a.table).length).toBe(1);
    const refused = answers.find((a) => a.refusal)!;
    expect(refused.refusal).toEqual({
      code: 'BUDGET_EXHAUSTED',
      message: 'project "proj-test" has rho 0.4 left of 1 for dataset "clinic_visits" at this node; the query asks for 0.6',
    });
    expect(refused.budget).toMatchObject({ rhoSpent: 0, total: 1, spent: 0.6 });
  });
});

describe('pooled minus subset, over three nodes and then two of them', () => {
  // Nodes a and b hold the clinic fixture split in two; node c holds the target and three people elsewhere.
  const others = clinicRows();
  const parts: Record<string, ClinicRow[]> = {
    'board-a': others.filter((_, i) => i % 2 === 0),
    'board-b': others.filter((_, i) => i % 2 === 1),
    'board-c': [
      TARGET,
      ...others
        .filter((r) => r.region === 'south')
        .slice(0, 3)
        .map((r, i) => ({ ...r, patient_id: `C${i}` })),
    ],
  };
  const north: Filter = { kind: 'cmp', column: 'region', op: 'eq', values: ['north'] };
  const policy = policyYaml({ datasets: { clinic_visits: ['research'] } });
  const fixture = useTestNetwork(Object.entries(parts).map(([id, rows]) => ({ id, datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv(rows) }], policy })));
  const pooledNorth = async (targetNodes: string[], rho: number) =>
    (await runQuery(fixture.alice(), testQuerySpec({ analysis: count(north), rho, pooled: true, targetNodes }))).pooled!.table!;

  it("leaves board c's one person in the north under noise of the accounted spread: each subset carries its own honest nodes' noise", async () => {
    const pairs = 30;
    const rho = 0.5;
    const differences: number[] = [];
    const sds: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const all = await pooledNorth(['board-a', 'board-b', 'board-c'], rho);
      const subset = await pooledNorth(['board-a', 'board-b'], rho);
      differences.push(all.cells[0]!.stats!.count! - subset.cells[0]!.stats!.count!);
      sds.splice(0, 2, all.privacy!.noise[0]!.sd, subset.privacy!.noise[0]!.sd);
    }
    // Three nodes: 2 honest shares must give ρ, so each adds σ² = m²/(2ρ·2), three of them in the sum;
    // two nodes: one may collude, so each adds the whole m²/(2ρ), two of them in the sum.
    const split = rho * (1 - 1e-12);
    expect(sds[0]).toBeCloseTo(Math.sqrt(3 * rationalToNumber(distributedGaussianShare(M * M, split, 2, 1))), 9);
    expect(sds[1]).toBeCloseTo(Math.sqrt(2 * rationalToNumber(distributedGaussianShare(M * M, split, 1, 1))), 9);
    expectNoiseOfVariance(differences, sds[0]! ** 2 + sds[1]! ** 2);
  }, 180_000);
  it("turns two gaussian fits that differ by one person into coefficient differences of the stated noise, not the person's (x, y)", async () => {
    const fits = 20;
    const rho = 1;
    const model = (filter?: Filter): Analysis => ({
      kind: 'glm',
      dataset: 'clinic_visits',
      family: 'gaussian',
      response: 'cost',
      covariates: ['birth_year'],
      groupBy: [],
      ...(filter ? { filter } : {}),
    });
    const boards = Object.keys(parts);
    const differences: number[][] = [];
    const variances: number[][] = [];
    for (let i = 0; i < fits; i++) {
      const [all, without] = await Promise.all(
        [model(), model(NOT_TARGET)].map(
          async (analysis) => (await runQuery(fixture.alice(), testQuerySpec({ analysis, rho, pooled: true, targetNodes: boards }))).pooled!.model!,
        ),
      );
      differences.push(all!.coefficients.map((c, j) => c.estimate - without!.coefficients[j]!.estimate));
      variances.push(all!.coefficients.map((c, j) => c.noiseSd ** 2 + without!.coefficients[j]!.noiseSd ** 2));
    }
    // Per coefficient, the 20 differences scatter as the two fits' stated noise says (the person's own effect is
    // the same in every pair): the sample variance is within the central chi-square interval of the stated one.
    const [lo, hi] = chiSquareInterval(fits - 1);
    for (const j of [0, 1]) {
      const column = differences.map((d) => d[j]!);
      const mean = column.reduce((a, b) => a + b, 0) / fits;
      const sampleVariance = column.reduce((a, d) => a + (d - mean) ** 2, 0) / (fits - 1);
      const stated = variances.reduce((a, v) => a + v[j]!, 0) / fits;
      expect((sampleVariance * (fits - 1)) / stated, `coefficient ${j}`).toBeGreaterThan(lo);
      expect((sampleVariance * (fits - 1)) / stated, `coefficient ${j}`).toBeLessThan(hi);
    }
  }, 180_000);
});
