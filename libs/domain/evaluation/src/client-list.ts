import { canonicalGivenName, normaliseAscii, parseCivilDate } from '@fedlab/linkage';
import { FedlabError } from '@fedlab/model';
import { CsvError, parse, type CsvErrorCode } from 'csv-parse/sync';

/** The columns a client list must have, in the canonical spelling. */
export const CLIENT_LIST_COLUMNS = ['surname', 'forename', 'date_of_birth', 'sex', 'intervention_start', 'intervention_end'] as const;
/** The columns a client list may have. */
export const OPTIONAL_CLIENT_LIST_COLUMNS = ['justice_id'] as const;
/** The most client rows a list may have. */
export const MAX_CLIENT_LIST_ROWS = 100_000;
/** The `schema` of an encoded client list (see {@link encodeClientList}). */
export const CLIENT_LIST_SCHEMA = 'fedlab.client-list.v1';
/** The longest surname or forename accepted, in characters. */
export const MAX_NAME_LENGTH = 100;
/** The longest justice id accepted, in characters. */
export const MAX_JUSTICE_ID_LENGTH = 64;

type ClientListColumn = (typeof CLIENT_LIST_COLUMNS)[number] | (typeof OPTIONAL_CLIENT_LIST_COLUMNS)[number];

/**
 * Header spellings accepted besides the canonical names, after the header is normalised (trimmed,
 * lower-cased, runs of spaces and hyphens turned into `_`): `dob` and `birth_date` for `date_of_birth`,
 * `first_name` and `given_name` for `forename`, `last_name` and `family_name` for `surname`.
 */
export const CLIENT_LIST_COLUMN_ALIASES: Readonly<Record<string, ClientListColumn>> = {
  dob: 'date_of_birth',
  birth_date: 'date_of_birth',
  first_name: 'forename',
  given_name: 'forename',
  last_name: 'surname',
  family_name: 'surname',
};

/** One client of the organisation, validated. Dates are `YYYY-MM-DD`. */
export interface ClientRecord {
  /** The physical line of the CSV file where the client's row starts (the header is line 1). */
  line: number;
  surname: string;
  forename: string;
  dateOfBirth: string;
  sex: 'M' | 'F';
  interventionStart: string;
  interventionEnd: string;
  /** The client's id in the justice records, when the organisation knows it. */
  justiceId: string | null;
}

/**
 * One thing wrong with a client list. Messages name lines, columns and rules only, never a value of the
 * file, so they may travel to the coordinator.
 */
export interface ClientListProblem {
  line: number | null;
  column: string | null;
  message: string;
}

/** A parsed client list: the valid, distinct clients and everything wrong with the rest. */
export interface ClientList {
  /** Rows without problems, less the later rows of a person listed twice, in file order. */
  clients: ClientRecord[];
  /** Client rows in the file (the header and blank rows not counted). */
  rows: number;
  problems: ClientListProblem[];
  /** Rows naming a person an earlier row already names. */
  duplicates: ClientListProblem[];
}

const REQUIRED_COLUMNS: ReadonlySet<string> = new Set(CLIENT_LIST_COLUMNS);
const KNOWN_COLUMNS: ReadonlySet<string> = new Set([...CLIENT_LIST_COLUMNS, ...OPTIONAL_CLIENT_LIST_COLUMNS]);
const EXPECTED_COLUMNS = `expected columns: ${CLIENT_LIST_COLUMNS.join(', ')}; optional: ${OPTIONAL_CLIENT_LIST_COLUMNS.join(', ')}`;
const HEADER_SEPARATORS = /[\s-]+/g;
// A header name is shown only when it looks like a column name: a headerless file has data in its first row.
const SHOWABLE_COLUMN = /^[a-z_][a-z0-9_]{0,39}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const EARLIEST_BIRTH_DATE = '1900-01-01';
const MAX_PROBLEMS_IN_MESSAGE = 10;
const RECORD_KEYS = ['line', 'surname', 'forename', 'dateOfBirth', 'sex', 'interventionStart', 'interventionEnd', 'justiceId'] as const;

/**
 * `M` or `F` from the spellings client lists and justice data use (`m`, `F`, `male`, `Female`, with
 * surrounding spaces), or undefined for anything else, an empty or missing value included.
 */
export function parseSex(value: string | null | undefined): 'M' | 'F' | undefined {
  const sex = value?.trim().toLowerCase();
  return sex === 'm' || sex === 'male' ? 'M' : sex === 'f' || sex === 'female' ? 'F' : undefined;
}

const SYNTAX_PROBLEMS: Partial<Record<CsvErrorCode, string>> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is not closed before the end of the file',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is not followed by a comma or the end of the line',
  INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field',
  CSV_MAX_RECORD_SIZE: 'a row is too long (is a quote not closed?)',
};

/** The cells of one row by canonical column, trimmed; an absent optional column is empty. */
type RowCells = Record<ClientListColumn, string>;

/**
 * Reads the CSV client list an organisation submits: a header row, then one row per client. Header
 * names are matched case-insensitively, trimmed, with spaces and hyphens read as `_`, and with the
 * {@link CLIENT_LIST_COLUMN_ALIASES}. Each row is checked:
 *
 * - `surname`, `forename`: not empty, with a letter or digit, at most {@link MAX_NAME_LENGTH} characters;
 * - `date_of_birth`, `intervention_start`, `intervention_end`: real dates written `YYYY-MM-DD`, not after
 *   `today`; the birth date not before 1900; the intervention not starting before the birth date nor
 *   ending before it starts;
 * - `sex`: `M`, `F`, `male` or `female` in any case;
 * - `justice_id` (optional): at most {@link MAX_JUSTICE_ID_LENGTH} characters, not on an earlier row.
 *
 * A row with the same surname, forename (nicknames counting as the name: Bob is Robert), date of birth
 * and sex as an earlier row, compared after `normaliseAscii`, is a duplicate. Rows whose cells are all
 * empty are skipped like blank lines. Line numbers are physical lines, so a quoted value spanning lines
 * moves the lines after it. Problems never quote a value of the file.
 *
 * @param today The date (`YYYY-MM-DD`) dates may not be after.
 * @throws FedlabError INVALID_ARGUMENT when `today` is not a date.
 */
export function parseClientList(text: string, today: string): ClientList {
  checkToday(today);
  const csv = readCsv(text);
  if ('syntaxProblem' in csv) return { clients: [], rows: csv.rowsBefore, problems: [csv.syntaxProblem], duplicates: [] };
  const { records, startLines } = csv;

  const rows = Math.max(0, records.length - 1);
  const header = records.length === 0 ? { columns: null, problems: [] } : readHeader(records[0], startLines[0]);
  const countProblem = rowCountProblem(rows);
  if (countProblem !== null) return { clients: [], rows, problems: [...header.problems, countProblem], duplicates: [] };
  if (header.columns === null) return { clients: [], rows, problems: header.problems, duplicates: [] };

  const problems = [...header.problems];
  const valid: ClientRecord[] = [];
  for (let index = 1; index < records.length; index += 1) {
    const record = records[index];
    const line = startLines[index];
    if (record.length !== records[0].length) {
      problems.push({ line, column: null, message: `the row has ${record.length} fields, the header has ${records[0].length}` });
      continue;
    }
    const cells = { justice_id: '' } as RowCells;
    for (const [column, position] of header.columns) cells[column] = record[position].trim();
    const client = validateRow(cells, line, today, problems);
    if (client !== null) valid.push(client);
  }
  const duplicates: ClientListProblem[] = [];
  const clients = distinctClients(valid, problems, duplicates);
  return { clients, rows, problems, duplicates };
}

/**
 * Refuses a client list with any problem or duplicate.
 *
 * @throws FedlabError CLIENT_LIST_INVALID with the number of problems and the first ten, in line order,
 *   e.g. `line 4, date_of_birth: not a date (expected YYYY-MM-DD)`.
 */
export function assertValidClientList(list: ClientList): void {
  const all = [...list.problems, ...list.duplicates].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (all.length === 0) return;
  const shown = all.slice(0, MAX_PROBLEMS_IN_MESSAGE);
  const more = all.length > shown.length ? ` … and ${all.length - shown.length} more` : '';
  const count = all.length === 1 ? '1 problem' : `${all.length} problems`;
  throw new FedlabError('CLIENT_LIST_INVALID', `the client list has ${count}: ${shown.map(formatClientListProblem).join('; ')}${more}`, {
    problemCount: all.length,
    problems: shown,
  });
}

/** A problem as one line of text: `line 4, date_of_birth: not a date (expected YYYY-MM-DD)`. */
export function formatClientListProblem(problem: ClientListProblem): string {
  const where = [problem.line === null ? null : `line ${problem.line}`, problem.column].filter((part) => part !== null).join(', ');
  return where === '' ? problem.message : `${where}: ${problem.message}`;
}

/**
 * The clients as canonical JSON in UTF-8, for sealing to the justice node:
 * `{"schema":"fedlab.client-list.v1","clients":[{"line":…,"surname":…,…}]}` with the record fields in
 * {@link ClientRecord} order and no whitespace, so the same list always gives the same bytes.
 */
export function encodeClientList(clients: ClientRecord[]): Uint8Array {
  const canonical = clients.map((client) => Object.fromEntries(RECORD_KEYS.map((key) => [key, client[key]])));
  return new TextEncoder().encode(JSON.stringify({ schema: CLIENT_LIST_SCHEMA, clients: canonical }));
}

/**
 * Reads an encoded client list and checks it again with every rule of {@link parseClientList} (the node
 * does not trust the organisation's software), plus the shape of the document.
 *
 * @throws FedlabError CLIENT_LIST_INVALID when the bytes are not a valid client list.
 * @throws FedlabError INVALID_ARGUMENT when `today` is not a date.
 */
export function decodeClientList(bytes: Uint8Array, today: string): ClientRecord[] {
  checkToday(today);
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new FedlabError('CLIENT_LIST_INVALID', 'the client list is not valid UTF-8 JSON');
  }
  if (
    !isPlainObject(document) ||
    !hasExactKeys(document, ['schema', 'clients']) ||
    document.schema !== CLIENT_LIST_SCHEMA ||
    !Array.isArray(document.clients)
  ) {
    throw new FedlabError('CLIENT_LIST_INVALID', `the client list is not a ${CLIENT_LIST_SCHEMA} document`);
  }
  const entries: unknown[] = document.clients;
  const countProblem = rowCountProblem(entries.length);
  if (countProblem !== null) assertValidClientList({ clients: [], rows: entries.length, problems: [countProblem], duplicates: [] });
  const problems: ClientListProblem[] = [];
  const valid: ClientRecord[] = [];
  let previousLine = 1;
  for (let index = 0; index < entries.length; index += 1) {
    const entry = entries[index];
    if (!isEncodedRecord(entry) || entry.line <= previousLine) {
      throw new FedlabError(
        'CLIENT_LIST_INVALID',
        `the client list is not a ${CLIENT_LIST_SCHEMA} document: client ${index + 1} is not a client record with a line number after the previous one`,
      );
    }
    previousLine = entry.line;
    const cells: RowCells = {
      surname: entry.surname,
      forename: entry.forename,
      date_of_birth: entry.dateOfBirth,
      sex: entry.sex,
      intervention_start: entry.interventionStart,
      intervention_end: entry.interventionEnd,
      justice_id: entry.justiceId ?? '',
    };
    if (entry.justiceId === '' || Object.values(cells).some((cell) => cell !== cell.trim())) {
      problems.push({ line: entry.line, column: null, message: 'a value is not in canonical form' });
      continue;
    }
    const client = validateRow(cells, entry.line, today, problems);
    if (client !== null) valid.push(client);
  }
  const duplicates: ClientListProblem[] = [];
  const clients = distinctClients(valid, problems, duplicates);
  assertValidClientList({ clients, rows: entries.length, problems, duplicates });
  return clients;
}

function rowCountProblem(rows: number): ClientListProblem | null {
  if (rows === 0) return { line: null, column: null, message: 'the file has no client rows' };
  if (rows > MAX_CLIENT_LIST_ROWS)
    return { line: null, column: null, message: `the file has ${rows} client rows, more than the ${MAX_CLIENT_LIST_ROWS} allowed` };
  return null;
}

function checkToday(today: string): void {
  if (!isIsoDate(today)) throw new FedlabError('INVALID_ARGUMENT', 'today is not a date (expected YYYY-MM-DD)');
}

type CsvRead = { records: string[][]; startLines: number[] } | { syntaxProblem: ClientListProblem; rowsBefore: number };

/** Parses the CSV, recording the line where each record starts (blank lines are skipped but counted). */
function readCsv(text: string): CsvRead {
  const startLines: number[] = [];
  let previousEndLine = 0;
  let previousEmptyLines = 0;
  const startLine = (emptyLines: number): number => previousEndLine + 1 + emptyLines - previousEmptyLines;
  try {
    const records = parse(text, {
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      // Both line ends, even mixed in one file (auto-detection would leave a CR in the last cell of some rows).
      record_delimiter: ['\r\n', '\n'],
      on_record: (record: string[], context) => {
        // Records of empty cells only (spreadsheets export them) are blank rows too.
        const blank = record.every((cell) => cell.trim() === '');
        if (!blank) startLines.push(startLine(context.empty_lines));
        previousEndLine = context.lines;
        previousEmptyLines = context.empty_lines;
        return blank ? null : record;
      },
    });
    return { records, startLines };
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const emptyLines = typeof error.empty_lines === 'number' ? error.empty_lines : previousEmptyLines;
    const message = SYNTAX_PROBLEMS[error.code] ?? `not valid CSV (${error.code})`;
    return { syntaxProblem: { line: startLine(emptyLines), column: null, message }, rowsBefore: Math.max(0, startLines.length - 1) };
  }
}

interface Header {
  /** Each known column with its position, or null when a required column is missing. */
  columns: Map<ClientListColumn, number> | null;
  problems: ClientListProblem[];
}

function readHeader(names: string[], line: number): Header {
  const columns = new Map<ClientListColumn, number>();
  const problems: ClientListProblem[] = [];
  const normalised = names.map((name) => {
    const plain = name.trim().toLowerCase().replace(HEADER_SEPARATORS, '_');
    return CLIENT_LIST_COLUMN_ALIASES[plain] ?? plain;
  });
  if (!normalised.some((name) => REQUIRED_COLUMNS.has(name))) {
    return { columns: null, problems: [{ line, column: null, message: `the first row names none of the expected columns (${EXPECTED_COLUMNS})` }] };
  }
  normalised.forEach((name, position) => {
    if (!KNOWN_COLUMNS.has(name)) {
      const column = SHOWABLE_COLUMN.test(name) ? name : `column ${position + 1}`;
      problems.push({ line, column, message: `unknown column (${EXPECTED_COLUMNS})` });
    } else if (columns.has(name as ClientListColumn)) {
      problems.push({ line, column: name, message: `repeated column (${EXPECTED_COLUMNS})` });
    } else {
      columns.set(name as ClientListColumn, position);
    }
  });
  for (const column of CLIENT_LIST_COLUMNS) {
    if (!columns.has(column)) problems.push({ line, column, message: `missing column (${EXPECTED_COLUMNS})` });
  }
  return { columns: CLIENT_LIST_COLUMNS.every((column) => columns.has(column)) ? columns : null, problems };
}

/** Checks one row's cells; pushes its problems and returns the client, or null when it has any. */
function validateRow(cells: RowCells, line: number, today: string, problems: ClientListProblem[]): ClientRecord | null {
  const before = problems.length;
  const problem = (column: ClientListColumn, message: string): void => {
    problems.push({ line, column, message });
  };
  const name = (column: 'surname' | 'forename'): void => {
    const value = cells[column];
    if (value === '') problem(column, 'empty');
    else if (Array.from(value).length > MAX_NAME_LENGTH) problem(column, `longer than ${MAX_NAME_LENGTH} characters`);
    else if (normaliseAscii(value) === '') problem(column, 'has no letters or digits');
  };
  const date = (column: 'date_of_birth' | 'intervention_start' | 'intervention_end'): string | null => {
    const value = cells[column];
    if (value === '') problem(column, 'empty (expected YYYY-MM-DD)');
    else if (!isIsoDate(value)) problem(column, 'not a date (expected YYYY-MM-DD)');
    else if (value > today) problem(column, 'in the future');
    else return value;
    return null;
  };

  name('surname');
  name('forename');
  let dateOfBirth = date('date_of_birth');
  if (dateOfBirth !== null && dateOfBirth < EARLIEST_BIRTH_DATE) {
    problem('date_of_birth', 'before 1900');
    dateOfBirth = null;
  }
  const sex = parseSex(cells.sex);
  if (sex === undefined) problem('sex', cells.sex === '' ? 'empty (expected M, F, male or female)' : 'not M, F, male or female');
  const interventionStart = date('intervention_start');
  const interventionEnd = date('intervention_end');
  if (interventionStart !== null && dateOfBirth !== null && interventionStart < dateOfBirth) problem('intervention_start', 'before date_of_birth');
  if (interventionStart !== null && interventionEnd !== null && interventionEnd < interventionStart) problem('intervention_end', 'before intervention_start');
  const justiceId = cells.justice_id === '' ? null : cells.justice_id;
  if (justiceId !== null && Array.from(justiceId).length > MAX_JUSTICE_ID_LENGTH) problem('justice_id', `longer than ${MAX_JUSTICE_ID_LENGTH} characters`);

  if (problems.length > before || dateOfBirth === null || sex === undefined || interventionStart === null || interventionEnd === null) return null;
  return { line, surname: cells.surname, forename: cells.forename, dateOfBirth, sex, interventionStart, interventionEnd, justiceId };
}

/**
 * The clients without the later rows of a person listed twice (recorded as duplicates) and without the
 * later rows reusing a justice id (recorded as problems).
 */
function distinctClients(clients: ClientRecord[], problems: ClientListProblem[], duplicates: ClientListProblem[]): ClientRecord[] {
  const firstLineOfPerson = new Map<string, number>();
  const firstLineOfJusticeId = new Map<string, number>();
  const distinct: ClientRecord[] = [];
  for (const client of clients) {
    const person = [normaliseAscii(client.surname), canonicalGivenName(normaliseAscii(client.forename)), client.dateOfBirth, client.sex].join('\u0000');
    const earlier = firstLineOfPerson.get(person);
    if (earlier !== undefined) {
      duplicates.push({ line: client.line, column: null, message: `the same person as line ${earlier}` });
      continue;
    }
    firstLineOfPerson.set(person, client.line);
    if (client.justiceId !== null) {
      const earlierId = firstLineOfJusticeId.get(client.justiceId);
      if (earlierId !== undefined) {
        problems.push({ line: client.line, column: 'justice_id', message: `the same justice_id as line ${earlierId}` });
        continue;
      }
      firstLineOfJusticeId.set(client.justiceId, client.line);
    }
    distinct.push(client);
  }
  return distinct;
}

function isIsoDate(text: string): boolean {
  return ISO_DATE.test(text) && parseCivilDate(text) !== null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasExactKeys(value: Record<string, unknown>, keys: readonly string[]): boolean {
  const present = Object.keys(value);
  return present.length === keys.length && keys.every((key) => Object.prototype.hasOwnProperty.call(value, key));
}

function isEncodedRecord(value: unknown): value is ClientRecord {
  if (!isPlainObject(value) || !hasExactKeys(value, RECORD_KEYS)) return false;
  const { line, justiceId, ...text } = value;
  return (
    typeof line === 'number' &&
    Number.isSafeInteger(line) &&
    (justiceId === null || typeof justiceId === 'string') &&
    Object.values(text).every((field) => typeof field === 'string')
  );
}
