import { civilFromDays, daysFromCivil } from './civil-date';
import { NICKNAMES } from './names';
import type { Rng } from './prng';

/** The identifiers a ministry records about a person. */
export interface RecordedIdentity {
  surname: string;
  givenName: string;
  /** Birth date as a day number. */
  birthDay: number;
  /** The provincial health number, or null when the ministry did not record it. */
  healthNumber: string | null;
}

/** Per-record noise probabilities (see `SYNTH_EFFECTS.identifierNoise`). */
export interface IdentifierNoiseRates {
  nickname: number;
  givenNameTypo: number;
  surnameTypo: number;
  asciiFold: number;
  dayMonthSwap: number;
  healthNumberMissing: number;
  healthNumberTypo: number;
}

const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';
const COMBINING_MARKS = /\p{M}/gu;
const NON_ASCII = /[^\x20-\x7e]/;

/** Removes accents (`Côté` → `Cote`), as systems limited to ASCII do. */
export function asciiFold(text: string): string {
  return text.normalize('NFD').replace(COMBINING_MARKS, '');
}

/** True when the text contains characters outside printable ASCII. */
export function hasNonAscii(text: string): boolean {
  return NON_ASCII.test(text);
}

/**
 * One keying error: a substituted, inserted, deleted or transposed letter after the first character
 * (first letters are rarely mistyped, and keeping them lets blocking on initials work as in life).
 * Always returns a different string.
 */
export function typo(rng: Rng, text: string): string {
  if (text.length < 2) return `${text}${rng.pick([...LOWERCASE])}`;
  for (;;) {
    const position = 1 + rng.int(text.length - 1);
    const letter = LOWERCASE[rng.int(LOWERCASE.length)];
    const operation = text.length <= 3 ? rng.int(3) : rng.int(4);
    let result: string;
    const canTranspose = position < text.length - 1;
    switch (operation) {
      case 1:
        result = text.slice(0, position) + letter + text.slice(position);
        break;
      case 2:
        result = canTranspose ? text.slice(0, position) + text[position + 1] + text[position] + text.slice(position + 2) : text.slice(0, position) + letter;
        break;
      case 3:
        result = text.slice(0, position) + text.slice(position + 1);
        break;
      default:
        result = text.slice(0, position) + letter + text.slice(position + 1);
    }
    if (result !== text) return result;
  }
}

/** The birth date with day and month swapped, or undefined when that is not a different valid date. */
export function swapDayMonth(birthDay: number): number | undefined {
  const { year, month, day } = civilFromDays(birthDay);
  if (day > 12 || day === month) return undefined;
  return daysFromCivil(year, day, month);
}

/** One keying error in a health number: a changed digit or two adjacent digits transposed. */
export function healthNumberTypo(rng: Rng, healthNumber: string): string {
  for (;;) {
    const position = rng.int(healthNumber.length);
    let result: string;
    if (rng.chance(0.5) && position < healthNumber.length - 1) {
      result = healthNumber.slice(0, position) + healthNumber[position + 1] + healthNumber[position] + healthNumber.slice(position + 2);
    } else {
      result = healthNumber.slice(0, position) + String(rng.int(10)) + healthNumber.slice(position + 1);
    }
    if (result !== healthNumber) return result;
  }
}

/**
 * The identity a ministry recorded for a person: the clean Health registration with this ministry's
 * noise applied once (a ministry keeps one identity per person, so every row repeats it).
 */
export function recordIdentity(rng: Rng, clean: RecordedIdentity, rates: IdentifierNoiseRates): RecordedIdentity {
  let givenName = clean.givenName;
  const nicknames = NICKNAMES[givenName];
  if (nicknames && rng.chance(rates.nickname)) givenName = rng.pick(nicknames);
  let surname = clean.surname;
  if (hasNonAscii(givenName) && rng.chance(rates.asciiFold)) givenName = asciiFold(givenName);
  if (hasNonAscii(surname) && rng.chance(rates.asciiFold)) surname = asciiFold(surname);
  if (rng.chance(rates.givenNameTypo)) givenName = typo(rng, givenName);
  if (rng.chance(rates.surnameTypo)) surname = typo(rng, surname);

  let birthDay = clean.birthDay;
  const swapped = swapDayMonth(birthDay);
  if (swapped !== undefined && rng.chance(rates.dayMonthSwap)) birthDay = swapped;

  let healthNumber = clean.healthNumber;
  if (healthNumber !== null) {
    if (rng.chance(rates.healthNumberMissing)) healthNumber = null;
    else if (rng.chance(rates.healthNumberTypo)) healthNumber = healthNumberTypo(rng, healthNumber);
  }
  return { surname, givenName, birthDay, healthNumber };
}
