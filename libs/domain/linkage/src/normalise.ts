/** A calendar date read from an identifier value. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

const NOT_LETTER_MARK_OR_DIGIT = /[^\p{L}\p{M}\p{N}]/gu;
const COMBINING_MARKS = /\p{M}/gu;
const NOT_ASCII_DIGIT = /[^0-9]/g;
const CONTROL = /\p{Cc}/gu;
// Lower-casing writes a word-final sigma as ς; case folding makes every sigma σ.
const FINAL_SIGMA = /ς/g;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/;

// Latin letters that have no decomposition into an ASCII letter plus marks, spelled as ASCII systems do.
const LATIN_LETTERS: Readonly<Record<string, string>> = {
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ł: 'l',
  ħ: 'h',
  ı: 'i',
  ŋ: 'ng',
  ĸ: 'k',
};
const LATIN_LETTER = new RegExp(`[${Object.keys(LATIN_LETTERS).join('')}]`, 'gu');

/**
 * The text of an identifier value: strings as they are, finite numbers, bigints and booleans in their
 * usual spelling; null for anything else (null, undefined, objects, NaN).
 */
export function valueText(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? String(value) : null;
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      return null;
  }
}

/**
 * Normalised text: Unicode NFKC, case-folded (full folding as upper- then lower-casing gives it, so
 * `ß` → `ss` and `ς` → `σ`), keeping only letters, combining marks and digits: punctuation, symbols,
 * whitespace and control characters are removed. `"  Côté-O'Brien "` → `"côtéobrien"`.
 */
export function normaliseText(text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase().replace(FINAL_SIGMA, 'σ').normalize('NFKC').replace(NOT_LETTER_MARK_OR_DIGIT, '');
}

/**
 * {@link normaliseText} with diacritics removed and the Latin letters that have no decomposition
 * spelled in ASCII (`æ` → `ae`, `ø` → `o`, `ł` → `l` …). Letters of other scripts are kept as they are.
 * `"Côté-O'Brien"` → `"coteobrien"`.
 */
export function normaliseAscii(text: string): string {
  return normaliseText(text)
    .normalize('NFD')
    .replace(COMBINING_MARKS, '')
    .replace(LATIN_LETTER, (letter) => LATIN_LETTERS[letter])
    .normalize('NFC');
}

/** The ASCII digits 0-9 of the text after NFKC (so full-width digits count), in order. */
export function onlyDigits(text: string): string {
  return text.normalize('NFKC').replace(NOT_ASCII_DIGIT, '');
}

/** The text trimmed of surrounding whitespace, without control characters (they could forge a key separator). */
export function plainValue(text: string): string {
  return text.replace(CONTROL, '').trim();
}

/** The first `length` characters (code points) of the text. */
export function firstCharacters(text: string, length: number): string {
  return Array.from(text).slice(0, length).join('');
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Reads a calendar date written `YYYY-MM-DD` or `YYYYMMDD` (surrounding whitespace ignored); null when
 * the text is neither or names no real date (year 0000, month 13, 30 February …).
 */
export function parseCivilDate(text: string): CivilDate | null {
  const trimmed = text.trim();
  const match = ISO_DATE.exec(trimmed) ?? COMPACT_DATE.exec(trimmed);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

/** Two digits, zero-padded. */
export function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/** Four digits, zero-padded. */
export function fourDigits(value: number): string {
  return String(value).padStart(4, '0');
}
