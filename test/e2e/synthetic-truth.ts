import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { SYNTH_DATASETS, TRUTH_PERSONS_PATH } from '@fedlab/synth';

/*
 * Ground truth of the FASD study (DEMO_QUERIES['fasd-study']) computed from the synthetic population's
 * files: `truth/persons.csv` (the latent persons, with every ministry's local id) joined to the
 * ministries' own rows by those local ids, never by the noisy identifiers. The test harness may read
 * the truth; the nodes never do.
 */

type Row = Record<string, string>;

const readCsv = (file: string): Row[] => parse(readFileSync(file), { columns: true }) as Row[];
const csvOf = (dataDir: string, dataset: string): string => path.join(dataDir, SYNTH_DATASETS.find((d) => d.dataset === dataset)!.csvPath);

/** The cap of `income_support_months` in the study (per person, as the outcome node applies it). */
export const INCOME_SUPPORT_MONTHS_MAX = 240;

/** One latent person with the study's outcome values, as the definitions of the query give them. */
export interface StudyPerson {
  personId: string;
  healthNumber: string;
  surname: string;
  givenName: string;
  birthDate: string;
  sex: string;
  birthYear: number;
  region: string;
  fasd: boolean;
  /** Has at least one Health row (so Health knows the person at all). */
  inHealth: boolean;
  /** Has a Q86.0 row at Health (read from the Health file, not from the latent flag). */
  q86: boolean;
  /** In the education register (Education coverage is "population": rates are over these). */
  inEducation: boolean;
  completedHighSchool: boolean;
  /** Has a record at Human Services (any program): matched there when linkage finds the person. */
  inHumanServices: boolean;
  /** Has a record at Justice (any offence). */
  inJustice: boolean;
  /** Any income_support spell at Human Services. */
  incomeSupport: boolean;
  /** Σ months of income_support spells, capped at {@link INCOME_SUPPORT_MONTHS_MAX}. */
  incomeSupportMonths: number;
  /** Any Justice row with age_at_offence < 18, the age as Justice recorded it (from its noisy birth date). */
  offenceBefore18: boolean;
  /** Same, with the age from the true birth date (`any_offence_by_18` of the truth file). */
  offenceBefore18TrueAge: boolean;
}

/** An exact-matching stratum of the comparison: sex, birth year and region. */
export interface Stratum {
  key: string;
  cases: StudyPerson[];
  candidates: StudyPerson[];
  /** Controls the selection draws here: min(k × cases, candidates) (libs/domain/study selectExactControls). */
  controls: number;
}

/** A measure as a per-person value and whether the person is in the rate's denominator. */
export interface MeasureDefinition {
  value: (p: StudyPerson) => number;
  inDenominator: (p: StudyPerson) => boolean;
}

export interface Expectation {
  mean: number;
  /** Standard error of the comparison group's figure under the stratified draw without replacement. */
  se: number;
}

export interface StudyTruth {
  persons: StudyPerson[];
  cohort: StudyPerson[];
  /** Persons who may be controls: at Health, in the birth years, not in the cohort. */
  pool: StudyPerson[];
  strata: Stratum[];
  /** The comparison group's size: Σ over strata of min(k × cases, candidates). */
  comparisonSize: number;
}

/** Reads the synthetic data folder and computes every person's study values. */
export function loadStudyTruth(dataDir: string, birthYears: readonly number[], controlsPerCase: number): StudyTruth {
  const [fromYear, toYear] = birthYears as [number, number];
  const truth = readCsv(path.join(dataDir, TRUTH_PERSONS_PATH));

  // Health: who has a Q86.0 visit (only the rows with that code are parsed: the file is large).
  const q86 = new Set<string>();
  const healthLines = readFileSync(csvOf(dataDir, 'health_visits'), 'utf8').split('\n');
  const healthHeader = parse(healthLines[0]!)[0] as string[];
  for (const line of healthLines) {
    if (!line.includes('Q86.0')) continue;
    const row = parse(line)[0] as string[];
    if (row[healthHeader.indexOf('icd10')] === 'Q86.0') q86.add(row[healthHeader.indexOf('health_number')]!);
  }

  // Human Services: income_support months per client, summed over spells.
  const months = new Map<string, number>();
  for (const row of readCsv(csvOf(dataDir, 'income_support'))) {
    if (row.program !== 'income_support') continue;
    months.set(row.client_id!, (months.get(row.client_id!) ?? 0) + Number(row.months));
  }

  // Justice: offences with the recorded age under 18.
  const offenceBefore18 = new Set<string>();
  for (const row of readCsv(csvOf(dataDir, 'justice_offences'))) if (Number(row.age_at_offence) < 18) offenceBefore18.add(row.offender_id!);

  const persons: StudyPerson[] = truth.map((t) => ({
    personId: t.person_id!,
    healthNumber: t.health_number!,
    surname: t.surname!,
    givenName: t.given_name!,
    birthDate: t.birth_date!,
    sex: t.sex!,
    birthYear: Number(t.birth_year),
    region: t.region!,
    fasd: t.fasd === 'true',
    inHealth: Number(t.health_visits) > 0,
    q86: q86.has(t.health_number!),
    inEducation: t.student_id !== '',
    completedHighSchool: t.completed_high_school === 'true',
    inHumanServices: t.client_id !== '',
    inJustice: t.offender_id !== '',
    incomeSupport: months.has(t.client_id!),
    incomeSupportMonths: Math.min(INCOME_SUPPORT_MONTHS_MAX, months.get(t.client_id!) ?? 0),
    offenceBefore18: offenceBefore18.has(t.offender_id!),
    offenceBefore18TrueAge: t.any_offence_by_18 === 'true',
  }));
  const inYears = (p: StudyPerson) => p.birthYear >= fromYear && p.birthYear <= toYear;
  const cohort = persons.filter((p) => p.q86 && inYears(p));
  const pool = persons.filter((p) => p.inHealth && !p.q86 && inYears(p));

  const byKey = new Map<string, Stratum>();
  const stratum = (p: StudyPerson): Stratum => {
    const key = `${p.sex}/${p.birthYear}/${p.region}`;
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { key, cases: [], candidates: [], controls: 0 }));
    return s;
  };
  for (const p of cohort) stratum(p).cases.push(p);
  for (const p of pool) stratum(p).candidates.push(p);
  const strata = [...byKey.values()].filter((s) => s.cases.length > 0);
  for (const s of strata) s.controls = Math.min(controlsPerCase * s.cases.length, s.candidates.length);
  return { persons, cohort, pool, strata, comparisonSize: strata.reduce((n, s) => n + s.controls, 0) };
}

/** A figure over a set of persons: Σ value / #(in denominator), and that denominator. */
export function figure(persons: readonly StudyPerson[], m: MeasureDefinition): { value: number; denominator: number } {
  const inside = persons.filter(m.inDenominator);
  return { value: inside.reduce((s, p) => s + m.value(p), 0) / inside.length, denominator: inside.length };
}

/**
 * The expected comparison figure and its standard error. In stratum s the selection draws n_s =
 * min(k·cases_s, candidates_s) of the N_s candidates uniformly without replacement, so the group's
 * figure is the ratio Σ_s Σ_sample d·x / Σ_s Σ_sample d (d: in the denominator). Its expectation, to
 * first order, is R = Σ n_s·mean_s(d·x) / Σ n_s·mean_s(d), and its variance that of the linearised
 * residuals e = d·(x − R): Σ n_s·S²_s(e)·(1 − n_s/N_s) / (Σ n_s·mean_s(d))².
 */
export function comparisonExpectation(strata: readonly Stratum[], m: MeasureDefinition): Expectation {
  let numerator = 0;
  let denominator = 0;
  for (const s of strata) {
    const n = s.controls;
    const N = s.candidates.length;
    if (n === 0) continue;
    numerator += (n * s.candidates.reduce((sum, p) => sum + (m.inDenominator(p) ? m.value(p) : 0), 0)) / N;
    denominator += (n * s.candidates.filter(m.inDenominator).length) / N;
  }
  const ratio = numerator / denominator;
  let variance = 0;
  for (const s of strata) {
    const n = s.controls;
    const N = s.candidates.length;
    if (n === 0 || N < 2) continue;
    const e = s.candidates.map((p) => (m.inDenominator(p) ? m.value(p) - ratio : 0));
    const mean = e.reduce((a, b) => a + b, 0) / N;
    const s2 = e.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1);
    variance += n * s2 * (1 - n / N);
  }
  return { mean: ratio, se: Math.sqrt(variance) / denominator };
}
