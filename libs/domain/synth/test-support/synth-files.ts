/**
 * Test-only helpers for the synthetic population: parse generated files with an independent RFC 4180
 * parser, check every value against its declared type, and compare observed rates with known ones.
 */
import type { ColumnSchema, DatasetSchema } from '@fedlab/model';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { expect } from 'vitest';
import { generateSynthetic, SYNTH_DATASETS, TRUTH_PERSONS_PATH, type SynthOptions } from '../src';

/** A parsed CSV: header and rows as string arrays (empty string = NULL). */
export interface ParsedCsv {
  header: string[];
  rows: string[][];
}

/** Parsed datasets of one generation run, by dataset name, plus the truth table. */
export interface SynthRun {
  files: Map<string, string>;
  schemas: Map<string, DatasetSchema>;
  tables: Map<string, ParsedCsv>;
  truth: ParsedCsv;
}

/** Parses CSV text strictly (RFC 4180 quoting, equal column counts). */
export function readCsv(content: string): ParsedCsv {
  const records = parseCsv(content, { relaxQuotes: false, relaxColumnCount: false }) as string[][];
  const [header, ...rows] = records;
  return { header, rows };
}

/** Generates a population and parses every file. */
export function runSynth(options: SynthOptions): SynthRun {
  const files = new Map<string, string>();
  for (const file of generateSynthetic(options)) files.set(file.path, file.content);
  const schemas = new Map<string, DatasetSchema>();
  const tables = new Map<string, ParsedCsv>();
  for (const entry of SYNTH_DATASETS) {
    schemas.set(entry.dataset, parseYaml(files.get(entry.schemaPath) as string) as DatasetSchema);
    tables.set(entry.dataset, readCsv(files.get(entry.csvPath) as string));
  }
  return { files, schemas, tables, truth: readCsv(files.get(TRUTH_PERSONS_PATH) as string) };
}

/** Rows as objects keyed by header. */
export function records(table: ParsedCsv): Array<Record<string, string>> {
  return table.rows.map((row) => Object.fromEntries(table.header.map((name, i) => [name, row[i]])));
}

/** The rows of one dataset of a run as objects keyed by column name. */
export function datasetRecords(run: SynthRun, dataset: string): Array<Record<string, string>> {
  const table = run.tables.get(dataset);
  if (!table) throw new Error(`no dataset ${dataset} in the run`);
  return records(table);
}

const INTEGER = /^-?(0|[1-9]\d*)$/;
const REAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isRealDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === text;
}

/** Why a cell does not parse under its column declaration, or undefined when it does. */
export function cellError(column: ColumnSchema, cell: string): string | undefined {
  if (cell === '') return column.nullable ? undefined : 'empty cell in a non-nullable column';
  switch (column.type) {
    case 'integer':
      return INTEGER.test(cell) ? undefined : 'not an integer';
    case 'real':
      return REAL.test(cell) ? undefined : 'not a real number';
    case 'date':
      return isRealDate(cell) ? undefined : 'not a YYYY-MM-DD date';
    case 'boolean':
      return cell === 'true' || cell === 'false' ? undefined : 'not true/false';
    default:
      if (column.values && !column.values.includes(cell)) return 'not in the declared value set';
      return undefined;
  }
}

/** Every problem found in a table under its schema, as "line N, column: reason" (first 10). */
export function typeErrors(schema: DatasetSchema, table: ParsedCsv): string[] {
  const errors: string[] = [];
  table.rows.forEach((row, r) => {
    schema.columns.forEach((column, c) => {
      const error = cellError(column, row[c]);
      if (error && errors.length < 10) errors.push(`line ${r + 2}, ${column.name}: ${error} (${JSON.stringify(row[c])})`);
    });
  });
  return errors;
}

/** Asserts an observed proportion is within `z` binomial standard errors of the expected probability. */
export function expectRate(successes: number, trials: number, expected: number, z = 4): void {
  expect(trials).toBeGreaterThan(0);
  const standardError = Math.sqrt((expected * (1 - expected)) / trials);
  expect(Math.abs(successes / trials - expected)).toBeLessThanOrEqual(z * standardError + 1e-9);
}

/** Proportion of a group meeting a condition, with its size. */
export function proportion<T>(group: T[], condition: (item: T) => boolean): { rate: number; n: number } {
  return { rate: group.filter(condition).length / group.length, n: group.length };
}

/**
 * Asserts a risk difference between two groups has the expected sign and lies within `z` standard
 * errors of the known effect.
 */
export function expectRiskDifference(exposed: { rate: number; n: number }, unexposed: { rate: number; n: number }, expected: number, z = 3): void {
  const difference = exposed.rate - unexposed.rate;
  const standardError = Math.sqrt((exposed.rate * (1 - exposed.rate)) / exposed.n + (unexposed.rate * (1 - unexposed.rate)) / unexposed.n);
  expect(Math.sign(difference)).toBe(Math.sign(expected));
  expect(Math.abs(difference - expected)).toBeLessThanOrEqual(z * standardError);
}

function meanAndVariance(values: number[]): { mean: number; variance: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1);
  return { mean, variance };
}

/** Asserts a difference in means has the expected sign and lies within `z` standard errors of the known effect. */
export function expectMeanDifference(exposed: number[], unexposed: number[], expected: number, z = 3): void {
  const [a, b] = [meanAndVariance(exposed), meanAndVariance(unexposed)];
  const difference = a.mean - b.mean;
  const standardError = Math.sqrt(a.variance / exposed.length + b.variance / unexposed.length);
  expect(Math.sign(difference)).toBe(Math.sign(expected));
  expect(Math.abs(difference - expected)).toBeLessThanOrEqual(z * standardError);
}

/** Age in whole years on a date, from `YYYY-MM-DD` strings. */
export function ageOnDate(birthDate: string, onDate: string): number {
  const years = Number(onDate.slice(0, 4)) - Number(birthDate.slice(0, 4));
  return onDate.slice(5) < birthDate.slice(5) ? years - 1 : years;
}

/** `YYYY-MM-DD` plus a number of days. */
export function addDaysToDate(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}
