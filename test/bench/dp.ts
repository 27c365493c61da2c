import { randomFillSync } from 'node:crypto';
import type { AggregateAnalysis, NodePolicy } from '@fedlab/model';
import {
  auditDiscreteGaussian,
  cks20DiscreteGaussianSampler,
  createCryptoRandomSource,
  discreteGaussianSampler,
  discreteGaussianScaledSampler,
  discreteGaussianTableSampler,
  discreteGaussianThresholds,
  gaussianSigma2,
  rationalToNumber,
  SCALED_MAX_SIGMA2,
  TABLE_MAX_SIGMA2,
  type Rational,
} from '@fedlab/dp';
import { compileAnalysis, compilePrivateAnalysis, parseQueryDocument, privacyPlan, publicDomains, type QueryDocument } from '@fedlab/query';
import { applyDisclosureControl, padWithDomains, publishedDomains, releaseWithPrivacy } from '@fedlab/sdc';
import { executePrivateAnalysis, loadNodePolicy } from '@fedlab/node-service';
import type { NodeStore } from '@fedlab/store';
import { createTempDir, policyYaml, startTestNetwork } from '@fedlab/testing';
import { integerOption } from './options';
import { VISITS_SCHEMA } from './visits';
import { seededRandom } from '@fedlab/synth';

/** The σ² the sections measure: from t = ⌊σ⌋ + 1 = 1 (σ² = 1/4) to σ = 10^4. */
const SIGMA2S: readonly Rational[] = [
  { num: 1n, den: 4n },
  { num: 10n, den: 1n },
  { num: 10_000n, den: 1n },
  { num: 100_000_000n, den: 1n },
];

const label = (s: Rational) =>
  s.den === 1n ? s.num.toLocaleString('en-CA') : s.den < 1000n ? `${s.num}/${s.den}` : `${s.num}/${s.den} (≈ ${rationalToNumber(s)})`;
const count = (n: number) => Math.round(n).toLocaleString('en-CA');

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => `  ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`;
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

/**
 * Continuous N(0, σ²) in floating point, for comparison only: Box–Muller on uniform doubles made
 * from 53 random bits of `node:crypto` (two 32-bit words from a refilled buffer), both outputs of
 * each pair used. This is the fast, unsafe baseline (Mironov 2012), not something to release.
 */
function createBoxMuller(sigma: number): () => number {
  const words = new Uint32Array(16_384);
  let next = words.length;
  const uniform = () => {
    if (next + 2 > words.length) {
      randomFillSync(words);
      next = 0;
    }
    const high = words[next++]! >>> 5;
    const low = words[next++]! >>> 6;
    return (high * 67_108_864 + low + 1) / 9_007_199_254_740_992; // (0, 1]: never 0 for the log
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const radius = sigma * Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/** Draws per second of `draw` over `draws` calls. The checksum keeps the calls from being optimised away. */
function rate(draws: number, draw: () => number): { perSecond: number; checksum: number } {
  let checksum = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < draws; i += 1) checksum += draw();
  return { perSecond: draws / (Number(process.hrtime.bigint() - t) / 1e9), checksum };
}

/** The σ² of section (a): the exactness tests', a count's noise share (2), the table's largest (2^16), and 10^8 and ≈ 2^31 (the scaled table). */
const SPEED_SIGMA2S: readonly Rational[] = [
  { num: 1n, den: 4n },
  { num: 2n, den: 1n },
  { num: 10n, den: 1n },
  { num: 10_000n, den: 1n },
  { num: 65_536n, den: 1n },
  { num: 100_000_000n, den: 1n },
  { num: 2n ** 41n + 1n, den: 1024n },
];

/**
 * (a) Draws per second of the exact discrete Gaussian samplers (`node:crypto` source, constants set
 * up once): the inversion table (σ² ≤ 2^16), the scaled table (to 2^78) and CKS20 rejection, against continuous Box–Muller at the
 * same σ, alternating in `--rounds` rounds of `--rate-draws` draws each and keeping each one's best
 * round; and the table's one-off construction (its 32-bit level, a fresh sampler) and its 64- and
 * 128-bit levels (built when a draw first needs them), each the median of 5.
 */
export async function dpSamplerSpeed(args: string[]): Promise<void> {
  const draws = integerOption(args, 'rate-draws', 200_000);
  const rounds = integerOption(args, 'rounds', 3);
  const rng = createCryptoRandomSource();
  console.log(`\n(a) sampler speed: ${count(draws)} draws per round, best of ${rounds} rounds, table, CKS20 and float alternating`);
  const buildMs = (build: () => unknown) => median([1, 2, 3, 4, 5].map(() => timeMsSync(build)));
  const rows = SPEED_SIGMA2S.map((sigma2) => {
    const inTable = sigma2.num <= BigInt(TABLE_MAX_SIGMA2) * sigma2.den;
    const scaled = !inTable && sigma2.num <= SCALED_MAX_SIGMA2 * sigma2.den;
    const inversion = inTable ? discreteGaussianTableSampler(sigma2) : scaled ? discreteGaussianScaledSampler(sigma2) : undefined;
    const cks20 = cks20DiscreteGaussianSampler(sigma2);
    const float = createBoxMuller(Math.sqrt(rationalToNumber(sigma2)));
    const tableDraw = () => inversion!(rng);
    const cks20Draw = () => Number(cks20(rng));
    if (inversion) rate(Math.min(draws, 20_000), tableDraw);
    rate(Math.min(draws, 20_000), cks20Draw);
    rate(Math.min(draws, 20_000), float);
    let bestTable = 0;
    let bestCks20 = 0;
    let bestFloat = 0;
    for (let round = 0; round < rounds; round += 1) {
      if (inversion) bestTable = Math.max(bestTable, rate(draws, tableDraw).perSecond);
      bestCks20 = Math.max(bestCks20, rate(draws, cks20Draw).perSecond);
      bestFloat = Math.max(bestFloat, rate(draws, float).perSecond);
    }
    const construction = scaled
      ? [buildMs(() => discreteGaussianScaledSampler(sigma2)), Number.NaN, Number.NaN]
      : inTable
        ? [
            buildMs(() => discreteGaussianTableSampler(sigma2)),
            buildMs(() => discreteGaussianThresholds(sigma2, 64)),
            buildMs(() => discreteGaussianThresholds(sigma2, 128)),
          ]
        : [];
    return [
      label(sigma2),
      inversion ? count(bestTable) : '—',
      count(bestCks20),
      inversion ? (bestTable / bestCks20).toFixed(1) : '—',
      count(bestFloat),
      (bestFloat / (inversion ? bestTable : bestCks20)).toFixed(1),
      inTable ? `${discreteGaussianThresholds(sigma2, 32).lo.length - 1}` : scaled ? 'scaled' : '—',
      ...(inversion ? construction.map((ms) => (Number.isNaN(ms) ? '—' : ms.toFixed(2))) : ['—', '—', '—']),
    ];
  });
  table(
    ['σ²', 'table/scaled draws/s', 'CKS20 draws/s', 'table/CKS20', 'Box–Muller draws/s', 'float/exact', 'thresholds', 'build ms', '64-bit ms', '128-bit ms'],
    rows,
  );
}

/** Milliseconds `work` takes, synchronously. */
function timeMsSync(work: () => unknown): number {
  const t = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/**
 * (b) The exactness checks of the tests at `--draws` draws per σ² (10^6 by default): chi-square
 * against its critical value at α = 1e-6, total variation against its bound, and the mean square
 * against the exact variance of N_Z(0, σ²) in standard errors. σ² = 2^54/3602879701896397 is what
 * `gaussianSigma2(1, 0.1)` returns.
 */
export async function dpExactness(args: string[]): Promise<void> {
  const draws = integerOption(args, 'draws', 1_000_000);
  const rng = createCryptoRandomSource();
  console.log(`\n(b) exactness: ${count(draws)} draws per σ² from node:crypto, α = 1e-6 per check`);
  const rows = [...SIGMA2S, gaussianSigma2(1, 0.1)].map((sigma2) => {
    const sample = discreteGaussianSampler(sigma2);
    const t = process.hrtime.bigint();
    const values = Array.from({ length: draws }, () => sample(rng));
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const a = auditDiscreteGaussian(rationalToNumber(sigma2), values);
    const verdict = a.passed.chiSquare && a.passed.totalVariation && a.passed.variance ? 'pass' : 'FAIL';
    return [
      label(sigma2),
      `${a.binning} ×${a.bins}`,
      a.chiSquare.toFixed(1),
      a.criticalValue.toFixed(1),
      a.pValue.toFixed(3),
      a.totalVariation.toFixed(5),
      a.totalVariationBound.toFixed(5),
      a.meanSquare.toPrecision(7),
      a.exactVariance.toPrecision(7),
      a.varianceZ.toFixed(2),
      seconds.toFixed(2),
      verdict,
    ];
  });
  table(['σ²', 'bins', 'χ²', 'critical', 'p', 'TV', 'TV bound', 'mean x²', 'Var N_Z', 'z', 'draw s', 'verdict'], rows);
}

/** The ρ each query of section (c) spends at the node. */
const QUERY_RHO = 0.5;

/** The queries of section (c), as a researcher writes them. */
const DP_QUERIES: ReadonlyArray<{ label: string; analysis: Record<string, unknown> }> = [
  { label: 'count by diagnosis (8 cells)', analysis: { kind: 'count', dataset: 'visits', group_by: ['diagnosis'] } },
  { label: 'mean cost by region (5 cells)', analysis: { kind: 'mean', dataset: 'visits', column: 'cost', group_by: ['region'] } },
  {
    label: 'proportion I10 by sex (2 cells)',
    analysis: { kind: 'proportion', dataset: 'visits', condition: { column: 'diagnosis', op: 'eq', value: 'I10' }, group_by: ['sex'] },
  },
  { label: 'count by region × birth_year (450 cells)', analysis: { kind: 'count', dataset: 'visits', group_by: ['region', 'birth_year'] } },
  // With a filter the node must rank the filtered rows of the persons above the bound.
  {
    label: 'mean cost by sex, diagnosis I10 (2 cells)',
    analysis: { kind: 'mean', dataset: 'visits', column: 'cost', group_by: ['sex'], filter: { column: 'diagnosis', op: 'eq', value: 'I10' } },
  },
];

/**
 * `rows` visit rows as CSV text, deterministic: persons with 1 to 8 visits each (so the bound of 4
 * drops some rows), sex, region and birth year per person, diagnosis and cost per visit; cost is
 * exponential with mean 250, so about 2 % of the values lie above the bound of 1000 and are clamped.
 */
function visitsCsv(rows: number): { csv: string; persons: number } {
  const next = seededRandom(0x5eed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  const columns = VISITS_SCHEMA.columns;
  const lines = [columns.map((c) => c.name).join(',')];
  let persons = 0;
  while (lines.length <= rows) {
    const person = `P${persons++}`;
    const demographics = `${pick(columns[1]!.values!)},${pick(columns[2]!.values!)},${1930 + Math.floor(next() * 90)}`;
    const visits = 1 + Math.floor(next() * 8);
    for (let v = 0; v < visits && lines.length <= rows; v += 1) {
      lines.push(`${person},${demographics},${pick(columns[4]!.values!)},${(-250 * Math.log(1 - next())).toFixed(2)}`);
    }
  }
  return { csv: `${lines.join('\n')}\n`, persons };
}

/** Milliseconds `work` takes. */
async function timeMs(work: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * The node's work for one query, both ways, split into the SQL and the release so each part can be
 * timed alone: the DP release as the node runs it, and the exact release the node ran before DP
 * (`compileAnalysis`, the cells padded with the published domains, disclosure control on exact counts).
 */
function nodePaths(store: NodeStore, policy: NodePolicy, analysis: AggregateAnalysis) {
  const dimensions = analysis.kind === 'histogram' ? [...analysis.groupBy, 'bin'] : [...analysis.groupBy];
  const exactSql = async () => {
    const schema = store.datasets.schema(analysis.dataset)!;
    const compiled = compileAnalysis(analysis, schema);
    return { schema, cells: compiled.decode(await store.datasets.query(compiled)) };
  };
  const exactRelease = ({ schema, cells }: Awaited<ReturnType<typeof exactSql>>) =>
    applyDisclosureControl({ kind: analysis.kind, dimensions, cells: padWithDomains(cells, publishedDomains(analysis, schema)), policy: policy.sdc });
  const boundedSql = async () => {
    const schema = store.datasets.schema(analysis.dataset)!;
    const compiled = compilePrivateAnalysis(analysis, schema, { personColumns: store.datasets.hasPersonColumns(analysis.dataset) });
    return { schema, compiled, cells: compiled.decode(await store.datasets.query(compiled)) };
  };
  const dpRelease = ({ schema, compiled, cells }: Awaited<ReturnType<typeof boundedSql>>) =>
    releaseWithPrivacy({
      kind: analysis.kind,
      dimensions,
      domains: publicDomains(analysis, schema),
      cells,
      plan: privacyPlan(analysis.kind, compiled.maxRecordsPerPerson, compiled.grid, QUERY_RHO),
      policy: policy.sdc,
      reportDelta: policy.privacy.reportDelta,
    });
  return {
    exact: async () => exactRelease(await exactSql()),
    dp: () => executePrivateAnalysis(analysis, store.datasets.schema(analysis.dataset)!, policy, store, QUERY_RHO),
    exactSql,
    boundedSql,
    exactRelease,
    dpRelease,
  };
}

/** What section (c) times in each round. */
const MEASURES = ['federated', 'exact', 'dp', 'exactSql', 'boundedSql', 'exactRelease', 'dpRelease'] as const;
type Measure = (typeof MEASURES)[number];

/**
 * (c) The cost of DP on the federated query path. A coordinator and one node (`startTestNetwork`:
 * real keys, a real SQLite file, loopback gRPC, all in this process) hold `--rows` visit rows; each
 * query of {@link DP_QUERIES} spends ρ = 0.5 of the test budget. In each of `--query-rounds` rounds
 * (after 2 warm-ups) a query runs end to end through the researcher client (sign, submit, watch,
 * fetch and verify the node's table), then at the node, in-process on the same database, the DP
 * release (`executePrivateAnalysis`) and the exact pre-DP release, in alternating order, then each
 * one's SQL and release parts alone (the release parts on cells computed once). The node has no DP
 * switch, so the federated time is with DP on; DP adds (DP − exact node time) to it, which is set
 * against the federated time without it (federated − that difference) and the 5 % target.
 */
export async function dpFederatedCost(args: string[]): Promise<void> {
  const rowCount = integerOption(args, 'rows', 200_000);
  const rounds = integerOption(args, 'query-rounds', 15);
  const { csv, persons } = visitsCsv(rowCount);
  console.log(
    `\n(c) cost of DP on the federated query path: 1 node × ${count(rowCount)} rows (${count(persons)} persons, at most ${VISITS_SCHEMA.maxRecordsPerPerson} rows ` +
      `per person counted), ρ = ${QUERY_RHO} per query, median of ${rounds} rounds after 2 warm-ups, DP and exact alternating`,
  );
  const tmp = createTempDir('fedlab-bench-dp-');
  try {
    const net = await startTestNetwork({
      dir: tmp.path,
      nodes: [{ id: 'node', datasets: [{ schema: VISITS_SCHEMA, csv }], policy: policyYaml({ datasets: { visits: ['research'] } }) }],
      researchers: ['alice'],
    });
    try {
      const node = net.nodes.node!;
      const policy = loadNodePolicy(node.policyFile)!;
      const client = net.client(net.researchers.alice!);
      const federatedOnce = async (doc: QueryDocument) => {
        const t = process.hrtime.bigint();
        const { queryId } = await client.submit(doc);
        await client.watch(queryId);
        const result = await client.result(queryId);
        const answer = result.answers[0];
        if (result.answers.length !== 1 || !answer?.table || !answer.verified)
          throw new Error(`the node did not answer: ${answer?.refusal?.message ?? 'no answer'}`);
        return Number(process.hrtime.bigint() - t) / 1e6;
      };
      const results: Array<Record<Measure, number> & { label: string; added: number }> = [];
      for (const query of DP_QUERIES) {
        const doc = parseQueryDocument({ project: 'proj-test', purpose: 'research', nodes: ['node'], privacy: { rho: QUERY_RHO }, analysis: query.analysis });
        const paths = nodePaths(node.store, policy, doc.analysis as AggregateAnalysis);
        const exactCells = await paths.exactSql();
        const boundedCells = await paths.boundedSql();
        const times = Object.fromEntries(MEASURES.map((k) => [k, [] as number[]])) as Record<Measure, number[]>;
        for (let round = -2; round < rounds; round += 1) {
          const sample: Partial<Record<Measure, number>> = { federated: await federatedOnce(doc) };
          if (round % 2 === 0) {
            sample.exact = await timeMs(paths.exact);
            sample.dp = await timeMs(paths.dp);
          } else {
            sample.dp = await timeMs(paths.dp);
            sample.exact = await timeMs(paths.exact);
          }
          sample.exactSql = await timeMs(paths.exactSql);
          sample.boundedSql = await timeMs(paths.boundedSql);
          sample.exactRelease = await timeMs(() => paths.exactRelease(exactCells));
          sample.dpRelease = await timeMs(() => paths.dpRelease(boundedCells));
          if (round >= 0) for (const k of MEASURES) times[k].push(sample[k]!);
        }
        const m = Object.fromEntries(MEASURES.map((k) => [k, median(times[k])])) as Record<Measure, number>;
        results.push({ label: query.label, ...m, added: m.dp - m.exact });
      }
      const ms = (x: number) => x.toFixed(1);
      const percent = (x: number) => `${(100 * x).toFixed(1)} %`;
      table(
        ['query', 'federated ms (DP)', 'node exact ms', 'node DP ms', 'DP adds ms', 'of federated', 'of federated w/o DP'],
        results.map((r) => [
          r.label,
          ms(r.federated),
          ms(r.exact),
          ms(r.dp),
          ms(r.added),
          percent(r.added / r.federated),
          percent(r.added / (r.federated - r.added)),
        ]),
      );
      console.log("\n  the node's parts alone (medians):");
      table(
        ['query', 'exact SQL ms', 'bounded SQL ms', 'exact pad + SDC ms', 'noise + SDC ms'],
        results.map((r) => [r.label, ms(r.exactSql), ms(r.boundedSql), ms(r.exactRelease), ms(r.dpRelease)]),
      );
      const worst = Math.max(...results.map((r) => r.added / (r.federated - r.added)));
      console.log(`\n  DP adds at most ${percent(worst)} to the federated time without it: target ≤ 5 % ${worst <= 0.05 ? 'met' : 'NOT met'}`);
    } finally {
      await net.stop();
    }
  } finally {
    tmp.cleanup();
  }
}

/** The sections of `npm run bench -- dp`, in order. */
export const DP_SECTIONS: ReadonlyArray<(args: string[]) => Promise<void>> = [dpSamplerSpeed, dpExactness, dpFederatedCost];

/**
 * `npm run bench -- dp [--rate-draws=200000] [--rounds=3] [--draws=1000000] [--rows=200000] [--query-rounds=15]`:
 * the exact discrete Gaussian sampler's speed against a floating-point Gaussian, its exactness checks
 * at 10^6 draws, and the cost of DP on the federated query path.
 */
export async function dp(args: string[]): Promise<void> {
  const rateDraws = integerOption(args, 'rate-draws', 200_000);
  const rounds = integerOption(args, 'rounds', 3);
  const draws = integerOption(args, 'draws', 1_000_000);
  const rows = integerOption(args, 'rows', 200_000);
  const queryRounds = integerOption(args, 'query-rounds', 15);
  console.log(`dp: exact discrete Gaussian (inversion table for σ² ≤ 2^16, scaled table to 2^78, else CKS20; exact integer arithmetic) on node:crypto`);
  console.log(`  command: npm run bench -- dp --rate-draws=${rateDraws} --rounds=${rounds} --draws=${draws} --rows=${rows} --query-rounds=${queryRounds}`);
  for (const section of DP_SECTIONS) await section(args);
}
