/**
 * Calendar arithmetic on day numbers (days since 1970-01-01, proleptic Gregorian), after Howard
 * Hinnant's `days_from_civil` algorithms. Integer day numbers keep generation fast and free of time
 * zones.
 */

/** A calendar date. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** Day number of a calendar date. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const shiftedMonth = (month + 9) % 12;
  const dayOfYear = Math.floor((153 * shiftedMonth + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** Calendar date of a day number. */
export function civilFromDays(days: number): CivilDate {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Number of days in a month. */
export function daysInMonth(year: number, month: number): number {
  return daysFromCivil(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) - daysFromCivil(year, month, 1);
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** Formats a calendar date as `YYYY-MM-DD`. */
export function formatCivil(date: CivilDate): string {
  return `${date.year}-${pad2(date.month)}-${pad2(date.day)}`;
}

/** Formats a day number as `YYYY-MM-DD`. */
export function formatDay(days: number): string {
  return formatCivil(civilFromDays(days));
}

/** Parses a strict `YYYY-MM-DD` date into a day number, or returns undefined when it is not a real date. */
export function parseDay(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return daysFromCivil(year, month, day);
}

/** The same month and day `years` later (29 February becomes 28 February in common years). */
export function addYears(days: number, years: number): number {
  const { year, month, day } = civilFromDays(days);
  return daysFromCivil(year + years, month, Math.min(day, daysInMonth(year + years, month)));
}

/** The same day of the month `months` later, clamped to the end of shorter months. */
export function addMonths(days: number, months: number): number {
  const { year, month, day } = civilFromDays(days);
  const index = year * 12 + (month - 1) + months;
  const newYear = Math.floor(index / 12);
  const newMonth = (index % 12) + 1;
  return daysFromCivil(newYear, newMonth, Math.min(day, daysInMonth(newYear, newMonth)));
}

/** Whole years completed between a birth day and a later day (age in years). */
export function ageOn(birthDay: number, onDay: number): number {
  const birth = civilFromDays(birthDay);
  const on = civilFromDays(onDay);
  const beforeBirthday = on.month < birth.month || (on.month === birth.month && on.day < birth.day);
  return on.year - birth.year - (beforeBirthday ? 1 : 0);
}
