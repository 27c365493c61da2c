import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import path from 'node:path';
import {
  assertValidClientList,
  buildEvaluation,
  DEFAULT_EVALUATION_RULES,
  matchClients,
  parseClientList,
  type ClientList,
  type ClientMatch,
  type EvaluationStage,
  type JusticePerson,
} from '@fedlab/evaluation';
import { canonicalGivenName, normaliseAscii } from '@fedlab/linkage';
import { DEFAULT_EVALUATION_POLICY, type EvaluationPolicy } from '@fedlab/model';
import { readOffenderData } from '@fedlab/node-service';
import { openNodeStore, type Database, type NodeStore } from '@fedlab/store';
import { JUSTICE_OFFENCES_SCHEMA, OFFENCE_TYPES, REGIONS, SYNTH_EFFECTS } from '@fedlab/synth';
import { createTempDir } from '@fedlab/testing';
// Not exported by the packages' indexes: the node's reader, and the synthetic generator's names, random
// streams and identifier noise (the bench reuses them rather than copying them).
import type { Offence } from '../../libs/domain/synth/src/population';
import { ageOn, daysFromCivil, formatDay } from '../../libs/domain/synth/src/civil-date';
import { recordIdentity } from '../../libs/domain/synth/src/identifier-noise';
import { FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, SURNAMES } from '../../libs/domain/synth/src/names';
import { createRng, WeightedChoice } from '../../libs/domain/synth/src/prng';
import { loadAverage } from './psi';
import { integerOption } from './options';

/** First and last day of the justice data: ten years of offences. */
const WINDOW_START = daysFromCivil(2015, 1, 1);
const DATA_END = daysFromCivil(2024, 12, 31);
const FOLLOW_UP_DAYS = DEFAULT_EVALUATION_POLICY.followUpDays;
/** A client's release leaves this margin after its year of follow-up (the data's last date may fall short of DATA_END). */
const FOLLOW_UP_MARGIN_DAYS = 30;
/** Timed full-table scans before the pipeline (after one warm-up); their median is the baseline. */
const BASELINE_SCANS = 3;
const MAX_OFFENCES = 6;
const CONVICTION_RATE = 0.7;
/** P(custody | conviction) = min(CUSTODY_MAX, CUSTODY_BASE + CUSTODY_PER_PRIOR × priors + 0.08 for assault). */
const CUSTODY_BASE = 0.17;
const CUSTODY_PER_PRIOR = 0.05;
const CUSTODY_MAX = 0.5;
/** P(another offence) after each offence, and for a participant after their index release. */
const REOFFENDING = 0.6;
const PARTICIPANT_REOFFENDING = 0.4;
/** Days from the offence (or release) to the next offence: exponential with this mean. */
const MEAN_GAP_DAYS = 300;

const zipf = (items: readonly string[], exponent: number) =>
  new WeightedChoice(
    items,
    items.map((_, i) => 1 / (i + 1) ** exponent),
  );
// The synthetic population's name popularity (libs/domain/synth population.ts: Zipf 0.7 for given names, 0.8 for surnames).
const FEMALE_NAMES = zipf(FEMALE_GIVEN_NAMES, 0.7);
const MALE_NAMES = zipf(MALE_GIVEN_NAMES, 0.7);
const SURNAME_CHOICE = zipf(SURNAMES, 0.8);
const REGION_CHOICE = new WeightedChoice(REGIONS, [0.15, 0.3, 0.2, 0.15, 0.2]);
const FIRST_OFFENCE_TYPES = new WeightedChoice<string>(
  OFFENCE_TYPES.filter((type) => type !== 'breach'),
  [0.3, 0.2, 0.14, 0.13, 0.09, 0.09, 0.05],
);
const REPEAT_OFFENCE_TYPES = new WeightedChoice<string>(OFFENCE_TYPES, [0.26, 0.18, 0.11, 0.12, 0.14, 0.08, 0.07, 0.04]);
const NON_CUSTODIAL_SENTENCES = new WeightedChoice(['community', 'fine', 'discharge'], [0.45, 0.4, 0.15]);

/** The synthetic generator's offence, with the income-support flag Justice records at intake. */
type BenchOffence = Offence & { incomeSupport: boolean };

interface BenchPerson {
  offenderId: string;
  healthNumber: string | null;
  surname: string;
  givenName: string;
  birthDay: number;
  sex: 'F' | 'M';
  region: string;
  offences: BenchOffence[];
  /** The first custody release with a full year of follow-up before the data's end (the client's index), or null. */
  indexRelease: number | null;
}

/**
 * One person of the justice dataset, a pure function of (seed, index): identity, then a chain of 1 to
 * {@link MAX_OFFENCES} offences from a uniform first offence day, each followed by another with
 * probability {@link REOFFENDING} after an exponential gap from the offence or the release. When
 * `participant`, the person joins the programme on their index release and reoffends after it with
 * {@link PARTICIPANT_REOFFENDING} instead; every draw before it is the same as for a non-participant,
 * so the index release does not move.
 */
function generatePerson(seed: number, index: number, participant: boolean): BenchPerson {
  const rng = createRng(seed, 'bench/evaluation/person', index);
  const sex = rng.chance(0.8) ? 'M' : 'F';
  const firstDay = WINDOW_START + rng.int(DATA_END - 30 - WINDOW_START);
  const ageAtFirst = Math.min(70, 14 + rng.logNormal(10, 0.6));
  const birthDay = firstDay - Math.round(ageAtFirst * 365.25);
  const givenName = (sex === 'M' ? MALE_NAMES : FEMALE_NAMES).sample(rng);
  const surname = SURNAME_CHOICE.sample(rng);
  const region = REGION_CHOICE.sample(rng);
  const healthNumber = rng.chance(0.2) ? null : String(1_000_000_000 + rng.int(9_000_000_000));
  const onIncomeSupport = rng.chance(0.35);

  const offences: BenchOffence[] = [];
  let indexRelease: number | null = null;
  let day = firstDay;
  while (day < DATA_END && offences.length < MAX_OFFENCES) {
    const priors = offences.length;
    const type = (priors === 0 ? FIRST_OFFENCE_TYPES : REPEAT_OFFENCE_TYPES).sample(rng);
    const convicted = rng.chance(CONVICTION_RATE);
    const custodyRisk = Math.min(CUSTODY_MAX, CUSTODY_BASE + CUSTODY_PER_PRIOR * priors + (type === 'assault' ? 0.08 : 0));
    const custody = convicted && rng.chance(custodyRisk);
    const sentence = convicted ? (custody ? 'custody' : NON_CUSTODIAL_SENTENCES.sample(rng)) : null;
    const courtDelayDays = rng.between(30, 180);
    const custodyDays = custody ? Math.min(1825, Math.max(1, Math.round(rng.logNormal(60, 0.9)))) : null;
    const release = custodyDays === null ? null : day + courtDelayDays + custodyDays;
    const releaseDay = release !== null && release < DATA_END ? release : null;
    const age = ageOn(birthDay, day);
    const employed = rng.chance(0.5 - (age < 25 ? 0.15 : 0) - 0.04 * priors + (sex === 'F' ? 0.05 : 0));
    const incomeSupport = rng.chance(onIncomeSupport ? 0.8 : 0.1);
    const isIndex = indexRelease === null && releaseDay !== null && releaseDay + FOLLOW_UP_DAYS + FOLLOW_UP_MARGIN_DAYS <= DATA_END;
    if (isIndex) indexRelease = releaseDay;
    offences.push({ day, type, convicted, sentence, custodyDays, releaseDay, reentryProgram: participant && isIndex, employed, incomeSupport });
    if (release !== null && release >= DATA_END) break;
    const reoffending = participant && indexRelease !== null ? PARTICIPANT_REOFFENDING : REOFFENDING;
    if (!rng.chance(reoffending)) break;
    day = (release ?? day) + 1 + Math.round(-MEAN_GAP_DAYS * Math.log(1 - rng.float()));
  }
  return { offenderId: `J${String(index + 1).padStart(7, '0')}`, healthNumber, surname, givenName, birthDay, sex, region, offences, indexRelease };
}

/** The CSV cells of one offence row, by JUSTICE_OFFENCES_SCHEMA column name. */
function offenceCells(person: BenchPerson, offence: BenchOffence): Record<string, string | number | boolean | null> {
  return {
    offender_id: person.offenderId,
    health_number: person.healthNumber,
    surname: person.surname,
    given_name: person.givenName,
    birth_date: formatDay(person.birthDay),
    sex: person.sex,
    birth_year: Number(formatDay(person.birthDay).slice(0, 4)),
    region: person.region,
    offence_date: formatDay(offence.day),
    age_at_offence: ageOn(person.birthDay, offence.day),
    offence_type: offence.type,
    convicted: offence.convicted,
    sentence: offence.sentence,
    custody_days: offence.custodyDays,
    release_date: offence.releaseDay === null ? null : formatDay(offence.releaseDay),
    reentry_program: offence.reentryProgram,
    employed: offence.employed,
    income_support: offence.incomeSupport,
  };
}

const SAFE_CELL = /^[^",\r\n]*$/;

function csvRecord(cells: ReadonlyArray<string | number | boolean | null>): string {
  return `${cells
    .map((cell) => {
      const text = cell === null ? '' : String(cell);
      if (!SAFE_CELL.test(text)) throw new Error(`evaluation bench: a generated cell needs quoting: ${text}`);
      return text;
    })
    .join(',')}\n`;
}

/** A client of the programme as the generator made them: the true person and their index release. */
interface Participant {
  person: BenchPerson;
  indexRelease: number;
}

interface GeneratedData {
  rows: number;
  offenders: number;
  eligible: number;
  participants: Participant[];
  convictedShare: number;
  custodyShareOfConvictions: number;
}

/**
 * Writes the justice dataset of `persons` persons to `csvPath`. A first pass finds every person with an
 * index release (a custody release with a full year of follow-up); `clients` of them, drawn at random,
 * become the programme's participants; the second pass writes everyone, the participants with their
 * lower reoffending after the index release.
 */
async function writeJusticeCsv(csvPath: string, persons: number, clients: number, seed: number): Promise<GeneratedData> {
  const eligible: number[] = [];
  for (let i = 0; i < persons; i += 1) if (generatePerson(seed, i, false).indexRelease !== null) eligible.push(i);
  if (eligible.length < clients)
    throw new Error(`evaluation bench: only ${eligible.length} persons have a custody release with a full year of follow-up; ${clients} clients asked for`);
  const pick = createRng(seed, 'bench/evaluation/participants');
  for (let i = 0; i < clients; i += 1) {
    const j = i + pick.int(eligible.length - i);
    [eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!];
  }
  const participantIndexes = new Set(eligible.slice(0, clients));

  const columns = JUSTICE_OFFENCES_SCHEMA.columns.map((column) => column.name);
  const out = createWriteStream(csvPath);
  let chunk = csvRecord(columns);
  let rows = 0;
  let convicted = 0;
  let custody = 0;
  const participants: Participant[] = [];
  for (let i = 0; i < persons; i += 1) {
    const participant = participantIndexes.has(i);
    const person = generatePerson(seed, i, participant);
    if (participant) participants.push({ person, indexRelease: person.indexRelease! });
    for (const offence of person.offences) {
      const cells = offenceCells(person, offence);
      chunk += csvRecord(columns.map((column) => cells[column] ?? null));
      rows += 1;
      if (offence.convicted) convicted += 1;
      if (offence.sentence === 'custody') custody += 1;
    }
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return {
    rows,
    offenders: persons,
    eligible: eligible.length,
    participants,
    convictedShare: convicted / rows,
    custodyShareOfConvictions: custody / convicted,
  };
}

/**
 * The organisation's client list: each participant as the organisation recorded them, with the
 * synthetic generator's organisation noise (`recordIdentity` at `SYNTH_EFFECTS.identifierNoise.organisation`:
 * nicknames, typos, accents dropped, day/month swaps), intervention from up to 60 days before the
 * release to 30–180 days after (`SYNTH_EFFECTS.clientList`), rows shuffled. Returns the CSV and the
 * true offender id of each line.
 */
function clientListCsv(participants: Participant[], seed: number): { csv: string; truth: Map<number, string>; noisy: { names: number; birthDates: number } } {
  const rng = createRng(seed, 'bench/evaluation/clients');
  const settings = SYNTH_EFFECTS.clientList;
  const order = participants.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const truth = new Map<number, string>();
  const noisy = { names: 0, birthDates: 0 };
  let csv = 'surname,forename,date_of_birth,sex,intervention_start,intervention_end\n';
  order.forEach((p, row) => {
    const { person, indexRelease } = participants[p]!;
    const recorded = recordIdentity(
      rng,
      { surname: person.surname, givenName: person.givenName, birthDay: person.birthDay, healthNumber: null },
      SYNTH_EFFECTS.identifierNoise.organisation,
    );
    if (recorded.surname !== person.surname || recorded.givenName !== person.givenName) noisy.names += 1;
    if (recorded.birthDay !== person.birthDay) noisy.birthDates += 1;
    const start = indexRelease - rng.int(settings.inReachDays + 1);
    const end = indexRelease + rng.between(settings.minAfterDays, settings.maxAfterDays);
    csv += csvRecord([recorded.surname, recorded.givenName, formatDay(recorded.birthDay), person.sex, formatDay(start), formatDay(end)]);
    truth.set(row + 2, person.offenderId);
  });
  return { csv, truth, noisy };
}

/** A span of `performance.now()` time. */
interface Interval {
  start: number;
  end: number;
}

/** Iterates every row `sql` returns (better-sqlite3 builds one object per row; nothing else is done with it). */
function scan(db: Database, sql: string): Interval & { ms: number; rows: number } {
  const start = performance.now();
  let rows = 0;
  for (const _row of db.prepare(sql).iterate()) rows += 1;
  const end = performance.now();
  return { start, end, ms: end - start, rows };
}

/** Collects the garbage collector's pauses (`gc` performance entries) until `stop()`. */
function recordGc(): { msWithin: (interval: Interval) => number; stop: () => void } {
  const pauses: Interval[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    msWithin: ({ start, end }) => pauses.reduce((sum, pause) => sum + Math.max(0, Math.min(end, pause.end) - Math.max(start, pause.start)), 0),
    stop: () => observer.disconnect(),
  };
}

/** The baseline: every row and column of the dataset, read once. */
const FULL_SCAN_SQL = `SELECT * FROM ${JUSTICE_OFFENCES_SCHEMA.dataset}`;
/** `readOffenderData`'s query with the default evaluation columns, as it builds it (for the diagnostic rows). */
const READ_COLUMNS_SQL =
  'SELECT offender_id AS person, surname, given_name AS forename, birth_date AS dob, sex, region, offence_date AS date, offence_type AS type, ' +
  `convicted, sentence, release_date AS release, employed, income_support AS income FROM ${JUSTICE_OFFENCES_SCHEMA.dataset}`;
const READ_SQL = `${READ_COLUMNS_SQL} ORDER BY offender_id, offence_date`;

function timed<T>(run: () => T): { value: T } & Interval {
  const start = performance.now();
  const value = run();
  return { value, start, end: performance.now() };
}

async function timedAsync<T>(run: () => Promise<T>): Promise<{ value: T } & Interval> {
  const start = performance.now();
  const value = await run();
  return { value, start, end: performance.now() };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * The measured part, as the justice node runs it: `readOffenderData`, `matchClients`, `buildEvaluation`
 * (with its stage hook). Returns the timings and the figures to report, not the data read, so that the
 * histories can be collected once it returns.
 */
async function runPipeline(store: NodeStore, policy: EvaluationPolicy, list: ClientList, today: string, truth: Map<number, string>) {
  // A stage reported more than once (a refit of the model) is summed; the count is shown.
  const stages = new Map<EvaluationStage, { ms: number; reports: number }>();
  const cpu = process.cpuUsage();
  const read = await timedAsync(() => readOffenderData(store, policy));
  const match = timed(() => matchClients(list.clients, read.value.persons));
  const build = timed(() =>
    buildEvaluation({
      evaluationId: 'bench-evaluation',
      organisationId: 'bench-organisation',
      programme: 'Bench re-entry programme',
      nodeId: 'justice',
      dataset: policy.dataset,
      producedOn: today,
      clients: list.clients,
      submittedRows: list.rows,
      matches: match.value,
      histories: read.value.histories,
      dataAsOf: read.value.dataAsOf,
      followUpDays: policy.followUpDays,
      indexWindowDays: policy.indexWindowDays,
      rules: DEFAULT_EVALUATION_RULES,
      retention: 'Benchmark: nothing is kept.',
      onStage: (stage, ms) => {
        const seen = stages.get(stage) ?? { ms: 0, reports: 0 };
        stages.set(stage, { ms: seen.ms + ms, reports: seen.reports + 1 });
      },
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    read: { start: read.start, end: read.end },
    match: { start: match.start, end: match.end },
    build: { start: build.start, end: build.end },
    stages,
    cpuMs: (used.user + used.system) / 1000,
    personsRead: read.value.persons.length,
    dataAsOf: read.value.dataAsOf,
    result: build.value.result,
    quality: matchQuality(match.value, truth, read.value.persons),
  };
}

/** `--name=N` or `--name N`, a positive integer. */
const count = (value: number) => Math.round(value).toLocaleString('en-CA');
const secs = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 3 : 2);
const pct = (value: number) => `${(100 * value).toFixed(1)} %`;

/**
 * `npm run bench -- evaluation`: an impact evaluation at the justice node's scale. Generates a justice
 * dataset of `--persons` offenders (default 500,000; JUSTICE_OFFENCES_SCHEMA's columns, one row per
 * offence, seeded by `--seed`) and `--clients` participants (default 1,000) among those with a custody
 * release followed by a full year of data, writes it as CSV and imports it into a node database
 * (`openNodeStore`, its dataset engine); generation and import are timed but not compared. Then, in this
 * process: the baseline, a full-table scan of the dataset (`SELECT *`, every row iterated; one warm-up,
 * then the median of {@link BASELINE_SCANS}); once, as the node does, `readOffenderData`, `matchClients`
 * and `buildEvaluation` with its stage hook (see {@link runPipeline}), each in seconds and as a ratio to
 * the scan, with the garbage collector's pauses inside each; then two diagnostic reads (the node's query
 * with and without its ORDER BY) and a scan again. Also reports the match-report funnel, the comparison
 * pool, the matching recall against the generator's truth, and the reoffending-rate difference with its
 * 95 % CI. Throws unless every scan reads every row written.
 */
export async function evaluation(args: string[]): Promise<void> {
  const persons = integerOption(args, 'persons', 500_000);
  const clients = integerOption(args, 'clients', 1000);
  const seed = integerOption(args, 'seed', 1);
  console.log(`evaluation: ${count(clients)} clients against a justice dataset of ${count(persons)} persons, seed ${seed}`);
  console.log(`  command: npm run bench -- evaluation --persons=${persons} --clients=${clients} --seed=${seed}`);
  console.log(`  load average before: ${loadAverage()}`);

  const tmp = createTempDir('fedlab-bench-evaluation-');
  try {
    const csvPath = path.join(tmp.path, 'justice_offences.csv');
    const generationStart = performance.now();
    const data = await writeJusticeCsv(csvPath, persons, clients, seed);
    const list = clientListCsv(data.participants, seed);
    const generationMs = performance.now() - generationStart;
    console.log(
      `  generated ${count(data.rows)} offence rows for ${count(data.offenders)} persons (${(data.rows / data.offenders).toFixed(2)} per person; convicted ${pct(data.convictedShare)}, ` +
        `custody ${pct(data.custodyShareOfConvictions)} of convictions; ${count(data.eligible)} persons with a custody release and a full year of follow-up) ` +
        `and ${count(list.truth.size)} clients (${list.noisy.names} with altered names, ${list.noisy.birthDates} with day and month swapped)`,
    );

    const store = openNodeStore(path.join(tmp.path, 'node.db'));
    const { db } = store;
    try {
      const importStart = performance.now();
      const imported = await store.datasets.import({ csvPath, schema: JUSTICE_OFFENCES_SCHEMA });
      const importMs = performance.now() - importStart;
      console.log(
        `  generation ${secs(generationMs)} s (two passes + CSV), import ${secs(importMs)} s (${count(imported.rows)} rows); not part of the measured stages`,
      );

      const today = formatDay(DATA_END);
      const parsed = parseClientList(list.csv, today);
      assertValidClientList(parsed);
      const policy: EvaluationPolicy = { dataset: JUSTICE_OFFENCES_SCHEMA.dataset, ...DEFAULT_EVALUATION_POLICY };

      const gc = recordGc();
      scan(db, FULL_SCAN_SQL);
      const baselines = Array.from({ length: BASELINE_SCANS }, () => scan(db, FULL_SCAN_SQL));
      if (baselines.some((b) => b.rows !== data.rows))
        throw new Error(`evaluation bench: a scan read ${baselines.map((b) => b.rows).join(', ')} rows, ${data.rows} were written`);
      const baseline = median(baselines.map((b) => b.ms));

      const run = await runPipeline(store, policy, parsed, today, list.truth);
      // The pipeline's histories are unreachable from here on: the scans below run in as small a heap as the ones above.
      const readQuery = scan(db, READ_SQL);
      const readQueryUnsorted = scan(db, READ_COLUMNS_SQL);
      const scanAfter = scan(db, FULL_SCAN_SQL);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${READ_SQL}`).all() as Array<{ detail: string }>).map((step) => step.detail).join('; ');
      // The observer delivers entries from a timer, not before.
      await new Promise((resolve) => setTimeout(resolve, 50));
      gc.stop();

      const stageMs = [...run.stages.values()].reduce((sum, { ms }) => sum + ms, 0);
      const table: Array<[string, Interval | number, string?]> = [
        [
          `full-table scan (SELECT *, baseline: median of ${BASELINE_SCANS})`,
          baseline,
          `scans ${baselines.map((b) => `${secs(b.ms)} (GC ${secs(gc.msWithin(b))})`).join(', ')}`,
        ],
        ['readOffenderData', run.read],
        ['matchClients', run.match],
        ...[...run.stages].map(([stage, { ms, reports }]): [string, number] => [`buildEvaluation: ${stage}${reports > 1 ? ` (${reports} reports)` : ''}`, ms]),
        ['buildEvaluation: in no stage (failed fits, assembly)', run.build.end - run.build.start - stageMs],
        ['buildEvaluation (all)', run.build],
        ['whole (read + match + buildEvaluation)', { start: run.read.start, end: run.build.end }],
        ["diagnostic: readOffenderData's query alone", readQuery],
        ['diagnostic: the same without ORDER BY', readQueryUnsorted],
        ['full-table scan again, after', scanAfter],
      ];
      const rows = table.map(([label, time, note]) => {
        const ms = typeof time === 'number' ? time : time.end - time.start;
        const gcMs = typeof time === 'number' ? '' : secs(gc.msWithin(time));
        return [label, secs(ms), (ms / baseline).toFixed(2), gcMs, note ?? ''];
      });
      const header = ['stage', 'seconds', '÷ scan', 'of it GC', ''];
      const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
      for (const row of [header, ...rows])
        console.log(`  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`.trimEnd());
      console.log(
        `  process CPU during the whole: ${secs(run.cpuMs)} s (${(run.cpuMs / (run.build.end - run.read.start)).toFixed(2)} cores); readOffenderData's query plan: ${plan}`,
      );

      const { result, quality } = run;
      console.log(`  persons read ${count(run.personsRead)}, data as of ${run.dataAsOf}`);
      console.log(`  funnel: ${result.funnel.map((row) => `${row.stage} ${count(row.count)}`).join(', ')}`);
      const m = result.matching;
      console.log(
        `  comparison pool ${count(m.comparisonPool)}; covariates ${m.covariates.join(', ')}; caliper ${m.caliper.toFixed(4)} logit; matched ${count(m.treatedMatched)}, outside the caliper ${m.treatedOutsideCaliper}; comparison persons used ${count(m.comparisonUsed)} (effective size ${m.comparisonEffectiveSize.toFixed(1)})`,
      );
      console.log(
        `  matching recall ${quality.correct} / ${list.truth.size} = ${(quality.correct / list.truth.size).toFixed(4)} (wrong person ${quality.wrong}; unmatched: no candidate ${quality.noCandidate}, ambiguous ${quality.ambiguous}); ` +
          `rules: ${Object.entries(quality.rules)
            .map(([rule, n]) => `${rule} ${n}`)
            .join(', ')}`,
      );
      console.log(
        `  unmatched clients whose true person has a namesake in the data (another person, same sex and birth date, same surname and forename after normalisation and nicknames): ${quality.unmatchedWithNamesake} of ${quality.noCandidate + quality.ambiguous}`,
      );
      const rate = result.measures.find((measure) => measure.name === 'reoffending_rate')!;
      const difference = rate.difference;
      console.log(
        `  one-year proven reoffending: treatment ${rate.treatment.value?.toFixed(1) ?? 'suppressed'}, comparison ${rate.comparison.value?.toFixed(1) ?? 'suppressed'} per 100; ` +
          `difference ${difference ? `${difference.estimate.toFixed(1)} (95 % CI ${difference.ci ? `${difference.ci.lower.toFixed(1)} to ${difference.ci.upper.toFixed(1)}` : 'none'})` : 'suppressed'}, ` +
          `p ${rate.pValue?.toPrecision(2) ?? '–'}, ${rate.significant ? 'significant' : 'not significant'}`,
      );
      console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load average after: ${loadAverage()}`);
    } finally {
      store.close();
    }
  } finally {
    tmp.cleanup();
  }
}

/**
 * How the matches compare with the generator's truth (line → true offender id), and how many unmatched
 * clients' true persons share sex, birth date and normalised names (nicknames canonical) with another person.
 */
function matchQuality(matches: ClientMatch[], truth: Map<number, string>, persons: JusticePerson[]) {
  const quality = { correct: 0, wrong: 0, noCandidate: 0, ambiguous: 0, unmatchedWithNamesake: 0, rules: {} as Record<string, number> };
  const unmatched = new Set<string>();
  for (const match of matches) {
    if (match.personId === null) {
      if (match.reason === 'ambiguous') quality.ambiguous += 1;
      else quality.noCandidate += 1;
      unmatched.add(truth.get(match.line)!);
      continue;
    }
    if (match.personId === truth.get(match.line)) quality.correct += 1;
    else quality.wrong += 1;
    quality.rules[match.rule!] = (quality.rules[match.rule!] ?? 0) + 1;
  }
  const identity = (person: JusticePerson) =>
    [person.sex, person.birthDate, normaliseAscii(person.surname), canonicalGivenName(normaliseAscii(person.givenName))].join('\u0000');
  const wanted = new Map<string | null, JusticePerson[]>();
  for (const person of persons) if (unmatched.has(person.personId)) wanted.set(person.birthDate, [...(wanted.get(person.birthDate) ?? []), person]);
  const withNamesake = new Set<string>();
  for (const person of persons) {
    for (const target of wanted.get(person.birthDate) ?? []) {
      if (person.personId !== target.personId && identity(person) === identity(target)) withNamesake.add(target.personId);
    }
  }
  quality.unmatchedWithNamesake = withNamesake.size;
  return quality;
}
