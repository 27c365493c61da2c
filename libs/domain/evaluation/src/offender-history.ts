import type { PersonOutcome } from './evaluation-measures';

/** One offence of a person, as the justice node reads it (dates YYYY-MM-DD). */
export interface OffenceRecord {
  date: string;
  type: string;
  convicted: boolean;
  /** The sentence was custody. */
  custodial: boolean;
  /** Release from that custody, when it happened. */
  release: string | null;
  employed: boolean;
  incomeSupport: boolean;
}

/** Everything the justice node holds about one person that an evaluation uses, offences by date. */
export interface OffenderHistory {
  personId: string;
  sex: string | null;
  birthDate: string | null;
  region: string | null;
  offences: OffenceRecord[];
}

/**
 * The covariates of the participation model, in model order: demographics, criminal history, the index
 * offence, and the employment and benefit flags recorded with it (DESIGN.md §7.5).
 */
export const EVALUATION_COVARIATES = [
  'male',
  'age_at_index',
  'region',
  'previous_offences',
  'previous_custody',
  'age_at_first_offence',
  'index_offence',
  'employed',
  'income_support',
] as const;
export type EvaluationCovariate = (typeof EVALUATION_COVARIATES)[number];

/** Plain-language labels of the covariates, for the balance table. */
export const COVARIATE_LABELS: Record<EvaluationCovariate, string> = {
  male: 'Male',
  age_at_index: 'Age at the index date (years)',
  region: 'Region',
  previous_offences: 'Previous offences',
  previous_custody: 'Previous custodial sentences',
  age_at_first_offence: 'Age at first offence (years)',
  index_offence: 'Index offence',
  employed: 'Employed at the index offence',
  income_support: 'On income support at the index offence',
};

/** A person's index event: the custody release the evaluation follows them from. */
export interface IndexEvent {
  personId: string;
  indexDate: string;
  covariates: Record<EvaluationCovariate, number | string | boolean>;
  outcome: PersonOutcome;
}

const DAY_MS = 86_400_000;
const YEAR_DAYS = 365.25;

/** Days since 1970-01-01 of a YYYY-MM-DD date. */
export function dayNumber(date: string): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

/** The YYYY-MM-DD date of a day number. */
export function dateOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The person's index event: the first release from custody with `from ≤ release ≤ to` (day numbers)
 * and a complete follow-up (`release + followUpDays ≤ dataAsOf`); null when there is none, or the
 * birth date or sex needed for the model is missing.
 *
 * Covariates, at the index: male; age in years (days / 365.25); region (`unknown` when missing);
 * offences dated before the index offence, and how many of those ended in custody; age at the first
 * offence; the index offence's type; the employment and income-support flags recorded with it.
 *
 * Outcome (one-year proven reoffending, as the Justice Data Lab counts it): offences after the index
 * date and within the follow-up that led to a conviction; days from the index date to the first;
 * whether any of them was sentenced to custody.
 */
export function indexEventFor(history: OffenderHistory, from: number, to: number, dataAsOf: number, followUpDays: number): IndexEvent | null {
  if (history.birthDate === null || history.sex === null || history.offences.length === 0) return null;
  const position = history.offences.findIndex((o) => {
    if (o.release === null) return false;
    const release = dayNumber(o.release);
    return release >= from && release <= to && release + followUpDays <= dataAsOf;
  });
  if (position < 0) return null;
  const index = history.offences[position]!;
  const indexDay = dayNumber(index.release!);
  const born = dayNumber(history.birthDate);
  const previous = history.offences.filter((o) => o.date < index.date);
  const proven = history.offences.filter((o) => {
    const day = dayNumber(o.date);
    return o.convicted && day > indexDay && day <= indexDay + followUpDays;
  });
  return {
    personId: history.personId,
    indexDate: index.release!,
    covariates: {
      male: history.sex === 'M',
      age_at_index: (indexDay - born) / YEAR_DAYS,
      region: history.region ?? 'unknown',
      previous_offences: previous.length,
      previous_custody: previous.filter((o) => o.custodial).length,
      age_at_first_offence: (dayNumber(history.offences[0]!.date) - born) / YEAR_DAYS,
      index_offence: index.type,
      employed: index.employed,
      income_support: index.incomeSupport,
    },
    outcome: {
      weight: 1,
      reoffences: proven.length,
      daysToFirstReoffence: proven.length > 0 ? dayNumber(proven[0]!.date) - indexDay : null,
      custodial: proven.some((o) => o.custodial),
    },
  };
}
