import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { FedlabError } from '@fedlab/model';
import { CsvError, parse, type CsvErrorCode, type InfoRecord, type Options } from 'csv-parse';
import { Utf8Validator, type Utf8Error } from './utf8-validator';

/** The longest row a CSV file may hold, in bytes. */
export const MAX_RECORD_BYTES = 1 << 20;

/**
 * A line the plain path splits itself, at most this many UTF-16 units (so at most 3 × as many bytes, well
 * under {@link MAX_RECORD_BYTES}); a longer one is left to csv-parse, which enforces the limit.
 */
const PLAIN_LINE_UNITS = MAX_RECORD_BYTES >> 2;

/** One record of a CSV file: its fields, the physical line it starts on (1-based) and the bytes read up to its end. */
export interface ParsedRecord {
  record: string[];
  line: number;
  /** Bytes of the file read up to the end of the record (or of the stretch of lines it was read with). */
  bytes: number;
}

/** Options of {@link csvRecords}. */
export interface CsvRecordsOptions {
  /** The file's name as error messages give it. */
  file: string;
  /** Whether the rows have more than one column: then an empty line is skipped; with one it is an empty value. */
  multiColumn: boolean;
  /**
   * Stop with `plain: false` at the first stretch of the file that needs the full RFC 4180 parser (a quote, a
   * carriage return inside a line, a very long line) instead of parsing it.
   */
  plainOnly?: boolean;
}

/** The state of a {@link csvRecords} read, complete once its records are exhausted. */
export interface CsvReading {
  /** Where the file's first invalid UTF-8 is: reading stopped at the line holding it. */
  encodingError?: Utf8Error;
  /** False when `plainOnly` stopped the read early. */
  plain: boolean;
}

/**
 * The records of a CSV file (RFC 4180, UTF-8, optional BOM, `\n` or `\r\n` line ends), in file order and in
 * groups, after checking that the bytes are valid UTF-8.
 *
 * A stretch of whole lines without any quote, and without a carriage return other than before a newline,
 * cannot hold anything but fields separated by commas, and is split directly (about ten times faster than csv-parse, which yields one record at a time
 * with a context object); the first stretch that holds either is parsed, with the rest of the file, by
 * csv-parse, so quoting rules and syntax errors are csv-parse's throughout. Both give the same records and
 * physical line numbers.
 *
 * @throws FedlabError INVALID_ARGUMENT `<file> line <n>: <problem>` for broken quoting or an over-long row
 * (unless invalid UTF-8 cut the text it failed on: then `reading.encodingError` says so once the records are exhausted).
 */
export function csvRecords(csvPath: string, options: CsvRecordsOptions): { records: AsyncGenerator<ParsedRecord[]>; reading: CsvReading } {
  const reading: CsvReading = { plain: true };
  return { records: readRecords(csvPath, options, reading), reading };
}

async function* readRecords(csvPath: string, options: CsvRecordsOptions, reading: CsvReading): AsyncGenerator<ParsedRecord[]> {
  const input = validatedLines(csvPath, reading);
  let lines = 0;
  let bytes = 0;
  try {
    for (;;) {
      const next = await input.next();
      if (next.done) return;
      const chunk = next.value;
      const records = plainRecords(chunk, lines, bytes, options.multiColumn);
      if (records === undefined) {
        if (options.plainOnly) {
          reading.plain = false;
          return;
        }
        yield* parsedRecords(resume(chunk, input), { ...options, lines, bytes }, reading);
        return;
      }
      lines += records.lines;
      bytes += chunk.length;
      if (records.records.length > 0) yield records.records;
    }
  } finally {
    // However the reading ends (an error in a row, a consumer that stops early), the file is closed.
    await input.return(undefined);
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The records of a stretch of whole lines that holds no quote and no carriage return but at line ends, or undefined when it
 * holds one (or a line too long to split here). `lines` and `bytes` are what was read before it.
 */
function plainRecords(chunk: Buffer, lines: number, bytes: number, multiColumn: boolean): { records: ParsedRecord[]; lines: number } | undefined {
  if (chunk.includes(0x22)) return undefined;
  // A carriage return may only end a line (CRLF line ends); anywhere else it is csv-parse's to judge.
  let crlf = false;
  for (let at = chunk.indexOf(0x0d); at !== -1; at = chunk.indexOf(0x0d, at + 2)) {
    if (chunk[at + 1] !== 0x0a) return undefined;
    crlf = true;
  }
  const start = bytes === 0 && chunk.subarray(0, 3).equals(BOM) ? 3 : 0;
  const text = chunk.toString('utf8', start);
  const split = text.split('\n');
  // A stretch ends at a line end (or at the end of the file), which leaves one empty piece after it.
  if (split[split.length - 1] === '') split.pop();
  if (crlf) for (let i = 0; i < split.length; i++) if (split[i].endsWith('\r')) split[i] = split[i].slice(0, -1);
  for (const line of split) if (line.length > PLAIN_LINE_UNITS) return undefined;
  const end = bytes + chunk.length;
  const records: ParsedRecord[] = [];
  for (let i = 0; i < split.length; i++) {
    if (multiColumn && split[i] === '') continue;
    records.push({ record: split[i].split(','), line: lines + 1 + i, bytes: end });
  }
  return { records, lines: split.length };
}

async function* resume(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield first;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** csv-parse over the rest of the file, which starts after `lines` lines and `bytes` bytes. */
async function* parsedRecords(
  input: AsyncIterable<Buffer>,
  options: CsvRecordsOptions & { lines: number; bytes: number },
  reading: CsvReading,
): AsyncGenerator<ParsedRecord[]> {
  // Tracked as the parser emits records (it runs ahead of the consumer), so errors get the right line too.
  let previousEndLine = 0;
  let previousEmptyLines = 0;
  const startLine = (emptyLines: number) => options.lines + previousEndLine + 1 + emptyLines - previousEmptyLines;
  const parserOptions: Options<ParsedRecord, string[]> = {
    // A byte order mark is only one at the start of the file.
    bom: options.bytes === 0,
    relax_column_count: true,
    record_delimiter: ['\r\n', '\n'],
    skip_empty_lines: options.multiColumn,
    max_record_size: MAX_RECORD_BYTES,
    on_record: (record, context: InfoRecord) => {
      const line = startLine(context.empty_lines);
      previousEndLine = context.lines;
      previousEmptyLines = context.empty_lines;
      return { record, line, bytes: options.bytes + context.bytes };
    },
  };
  // csv-parse's overloads only accept a generic on_record together with the `columns` option.
  const parser = parse(parserOptions as unknown as Options);
  pipeline(Readable.from(input, { objectMode: false }), parser, () => undefined);
  try {
    for await (const record of parser as AsyncIterable<ParsedRecord>) yield [record];
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    // Reading stops at the line with invalid UTF-8, so the parser may fail on the cut-off text before it.
    if (reading.encodingError === undefined) {
      const emptyLines = typeof error.empty_lines === 'number' ? error.empty_lines : previousEmptyLines;
      throw syntaxError(error, options.file, startLine(emptyLines));
    }
  }
}

/**
 * Yields the file's bytes in whole lines (up to the row size limit) after checking they are valid UTF-8.
 * At invalid UTF-8 it yields the lines before the offending one, records the error and stops, so earlier
 * rows are checked (and their errors reported) first.
 */
async function* validatedLines(csvPath: string, reading: { encodingError?: Utf8Error }): AsyncGenerator<Buffer> {
  const validator = new Utf8Validator();
  let pending: Buffer = Buffer.alloc(0);
  let pendingStart = 0;
  for await (const chunk of createReadStream(csvPath, { highWaterMark: 1 << 18 }) as AsyncIterable<Buffer>) {
    const error = validator.push(chunk);
    const data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (error !== undefined) {
      reading.encodingError = error;
      if (error.lineStart > pendingStart) yield data.subarray(0, error.lineStart - pendingStart);
      return;
    }
    // A line longer than any valid row is passed on whole, for the parser to reject.
    const cut = data.length > MAX_RECORD_BYTES ? data.length : data.lastIndexOf(0x0a) + 1;
    if (cut > 0) yield data.subarray(0, cut);
    pending = data.subarray(cut);
    pendingStart += cut;
  }
  reading.encodingError = validator.end();
  if (reading.encodingError === undefined && pending.length > 0) yield pending;
}

const SYNTAX_PROBLEMS: Partial<Record<CsvErrorCode, string>> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is not closed before the end of the file',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is not followed by a comma or the end of the line',
  INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field',
  CSV_MAX_RECORD_SIZE: `a row is longer than ${MAX_RECORD_BYTES} bytes (is a quote not closed?)`,
};

/**
 * Maps csv-parse errors to messages of our own (theirs can quote characters of the data), reported at the
 * line where the offending row starts.
 */
function syntaxError(error: CsvError, file: string, line: number): FedlabError {
  const problem = SYNTAX_PROBLEMS[error.code] ?? `not valid CSV (${error.code})`;
  return new FedlabError('INVALID_ARGUMENT', `${file} line ${line}: ${problem}`, { file, line });
}
