/** A CSV cell: `null`/`undefined` is written as an empty cell (NULL); booleans as `true`/`false`. */
export type CsvValue = string | number | boolean | null | undefined;

const NEEDS_QUOTES = /[",\r\n]/;

/** Formats one cell, quoting it per RFC 4180 when it contains a comma, quote or line break. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Formats one CSV record, terminated by a line feed. */
export function csvLine(values: readonly CsvValue[]): string {
  const cells = new Array<string>(values.length);
  for (let i = 0; i < values.length; i += 1) cells[i] = csvField(values[i]);
  return `${cells.join(',')}\n`;
}

/**
 * Accumulates CSV records into one string without keeping hundreds of thousands of small strings
 * alive: records are joined into chunks as they arrive.
 */
export class CsvBuilder {
  private readonly chunks: string[] = [];
  private pending: string[] = [];
  private count = 0;

  constructor(header: readonly string[]) {
    this.pending.push(csvLine(header));
  }

  /** Number of data records added so far (the header is not counted). */
  get rows(): number {
    return this.count;
  }

  /** Appends one record; its cells must follow the header order. */
  add(values: readonly CsvValue[]): void {
    this.pending.push(csvLine(values));
    this.count += 1;
    if (this.pending.length >= 4096) this.flush();
  }

  /** The complete file content. */
  toString(): string {
    this.flush();
    return this.chunks.join('');
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(this.pending.join(''));
    this.pending = [];
  }
}
