import { FedlabError } from '@fedlab/model';
import { civilFromDays, daysFromCivil, parseDay } from './civil-date';
import { SYNTH_EFFECTS } from './effects';

/** Options of {@link generateSynthetic}. */
export interface SynthOptions {
  /** Number of persons in the population (1 … 10,000,000). */
  persons: number;
  /** Seed of the pseudo-random generator (a non-negative safe integer); same options, same bytes. */
  seed: number;
  /** Reference date (`YYYY-MM-DD`): records end the day before it. Default `2026-01-01`. */
  referenceDate?: string;
}

/** Defaults of {@link SynthOptions}. */
export const SYNTH_DEFAULTS = { referenceDate: '2026-01-01' } as const;

/** Validated options with the derived time frame, as day numbers (days since 1970-01-01). */
export interface SynthContext {
  persons: number;
  seed: number;
  referenceDate: string;
  referenceDay: number;
  referenceYear: number;
  /** First day of the observation window: 1 January of (reference year − 11). */
  windowStart: number;
  /** Earliest and latest possible birth day. */
  birthStart: number;
  birthEnd: number;
}

const MAX_PERSONS = 10_000_000;

/**
 * Validates options and derives the time frame.
 * @throws FedlabError INVALID_ARGUMENT when a field is out of range, naming the field.
 */
export function compileSynthOptions(options: SynthOptions): SynthContext {
  const { persons, seed } = options;
  const referenceDate = options.referenceDate ?? SYNTH_DEFAULTS.referenceDate;
  if (!Number.isInteger(persons) || persons < 1 || persons > MAX_PERSONS) {
    throw new FedlabError('INVALID_ARGUMENT', `persons must be an integer from 1 to ${MAX_PERSONS}, got ${persons}`, { field: 'persons' });
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new FedlabError('INVALID_ARGUMENT', `seed must be a non-negative safe integer, got ${seed}`, { field: 'seed' });
  }
  const referenceDay = parseDay(referenceDate);
  const referenceYear = referenceDay === undefined ? NaN : civilFromDays(referenceDay).year;
  if (referenceDay === undefined || referenceYear < 1900 || referenceYear > 2200) {
    throw new FedlabError('INVALID_ARGUMENT', `referenceDate must be a date YYYY-MM-DD between 1900 and 2200, got ${JSON.stringify(referenceDate)}`, {
      field: 'referenceDate',
    });
  }
  const { oldest, youngest } = SYNTH_EFFECTS.birthYearsBeforeReference;
  return {
    persons,
    seed,
    referenceDate,
    referenceDay,
    referenceYear,
    windowStart: daysFromCivil(referenceYear - SYNTH_EFFECTS.windowYears, 1, 1),
    birthStart: daysFromCivil(referenceYear - oldest, 1, 1),
    birthEnd: daysFromCivil(referenceYear - youngest, 12, 31),
  };
}
