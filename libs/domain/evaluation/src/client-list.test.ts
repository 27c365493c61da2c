import { describe, expect, it } from 'vitest';
import {
  assertValidClientList,
  decodeClientList,
  encodeClientList,
  MAX_CLIENT_LIST_ROWS,
  parseClientList,
  type ClientList,
  type ClientListProblem,
  type ClientRecord,
} from './client-list';

const TODAY = '2024-06-30';
const HEADER = 'surname,forename,date_of_birth,sex,intervention_start,intervention_end';
const EXPECTED = 'expected columns: surname, forename, date_of_birth, sex, intervention_start, intervention_end; optional: justice_id';

function csv(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function problemsOf(text: string): ClientListProblem[] {
  const list = parseClientList(text, TODAY);
  return [...list.problems, ...list.duplicates];
}

function refusal(list: ClientList): string {
  try {
    assertValidClientList(list);
  } catch (error) {
    expect(error).toMatchObject({ code: 'CLIENT_LIST_INVALID' });
    return (error as Error).message;
  }
  throw new Error('the list was accepted');
}

const VALID = csv(
  'Surname, Forename ,Date of Birth,SEX,intervention-start,Intervention End,justice_id',
  "O'Brien,Siobhán,1990-02-28,F,2023-01-09,2023-06-30,",
  '"Smith, Jr",Robert,1985-11-03,male,2022-12-01,2023-03-31,J40821319',
);

const VALID_CLIENTS: ClientRecord[] = [
  {
    line: 2,
    surname: "O'Brien",
    forename: 'Siobhán',
    dateOfBirth: '1990-02-28',
    sex: 'F',
    interventionStart: '2023-01-09',
    interventionEnd: '2023-06-30',
    justiceId: null,
  },
  {
    line: 3,
    surname: 'Smith, Jr',
    forename: 'Robert',
    dateOfBirth: '1985-11-03',
    sex: 'M',
    interventionStart: '2022-12-01',
    interventionEnd: '2023-03-31',
    justiceId: 'J40821319',
  },
];

describe('parseClientList', () => {
  it('reads a valid list, normalising header names and sexes', () => {
    expect(parseClientList(VALID, TODAY)).toEqual({ clients: VALID_CLIENTS, rows: 2, problems: [], duplicates: [] });
    expect(() => assertValidClientList(parseClientList(VALID, TODAY))).not.toThrow();
  });

  it('accepts the header aliases dob, birth_date, first_name, given_name, last_name and family_name', () => {
    for (const header of ['last_name,first_name,dob', 'Family Name,Given-Name,birth date']) {
      const list = parseClientList(csv(`${header},sex,intervention_start,intervention_end`, 'Smith,Ann,1990-01-02,F,2023-01-01,2023-02-01'), TODAY);
      expect(list.problems).toEqual([]);
      expect(list.clients).toHaveLength(1);
    }
  });

  it('counts physical lines across quoted line breaks, blank lines and a byte order mark', () => {
    const text = `\ufeff${HEADER}\n\n"Smith\nJones",Ann,1990-01-02,F,2023-01-01,2023-02-01\r\n\n,,,,,\nLee,Bo,1990-13-01,M,2023-01-01,2023-02-01\n`;
    const list = parseClientList(text, TODAY);
    expect(list.clients.map((c) => c.line)).toEqual([3]);
    expect(list.rows).toBe(2);
    expect(list.problems).toEqual([{ line: 7, column: 'date_of_birth', message: 'not a date (expected YYYY-MM-DD)' }]);
  });

  it('reports a missing column on line 1, listing the expected columns', () => {
    expect(problemsOf(csv('surname,forename,date_of_birth,intervention_start,intervention_end', 'Smith,Ann,1990-01-02,2023-01-01,2023-02-01'))).toEqual([
      { line: 1, column: 'sex', message: `missing column (${EXPECTED})` },
    ]);
  });

  it('reports an unknown column and a repeated one, and still checks the rows', () => {
    expect(problemsOf(csv(`${HEADER},postcode,dob`, 'Smith,Ann,1990-01-02,F,2023-01-01,2023-02-01,T5J,1990-01-02'))).toEqual([
      { line: 1, column: 'postcode', message: `unknown column (${EXPECTED})` },
      { line: 1, column: 'date_of_birth', message: `repeated column (${EXPECTED})` },
    ]);
  });

  it('does not name a header cell that does not look like a column name', () => {
    expect(problemsOf(csv(`${HEADER},1990-01-02`, 'Smith,Ann,1990-01-02,F,2023-01-01,2023-02-01,x'))).toEqual([
      { line: 1, column: 'column 7', message: `unknown column (${EXPECTED})` },
    ]);
  });

  it('recognises a file without a header row and does not name its cells', () => {
    expect(problemsOf(csv('Smith,Ann,1990-01-02,F,2023-01-01,2023-02-01', 'Lee,Bo,1991-01-02,M,2023-01-01,2023-02-01'))).toEqual([
      { line: 1, column: null, message: `the first row names none of the expected columns (${EXPECTED})` },
    ]);
  });

  it.each([
    ['1990/01/02', 'not a date (expected YYYY-MM-DD)'],
    ['19900102', 'not a date (expected YYYY-MM-DD)'],
    ['02-01-1990', 'not a date (expected YYYY-MM-DD)'],
    ['1990-02-30', 'not a date (expected YYYY-MM-DD)'],
    ['', 'empty (expected YYYY-MM-DD)'],
    ['2024-07-01', 'in the future'],
    ['1899-12-31', 'before 1900'],
  ])('reports a date of birth %j as %j', (value, message) => {
    expect(problemsOf(csv(HEADER, `Smith,Ann,${value},F,2023-01-01,2023-02-01`))).toEqual([{ line: 2, column: 'date_of_birth', message }]);
  });

  it('reports an intervention date in the future', () => {
    expect(problemsOf(csv(HEADER, 'Smith,Ann,1990-01-02,F,2024-06-01,2024-07-01'))).toEqual([
      { line: 2, column: 'intervention_end', message: 'in the future' },
    ]);
  });

  it('accepts dates on the day given as today', () => {
    expect(problemsOf(csv(HEADER, `Smith,Ann,1990-01-02,F,${TODAY},${TODAY}`))).toEqual([]);
  });

  it('reports an intervention ending before it starts', () => {
    expect(problemsOf(csv(HEADER, 'Smith,Ann,1990-01-02,F,2023-03-01,2023-02-28'))).toEqual([
      { line: 2, column: 'intervention_end', message: 'before intervention_start' },
    ]);
  });

  it('reports an intervention starting before the date of birth', () => {
    expect(problemsOf(csv(HEADER, 'Smith,Ann,1990-01-02,F,1990-01-01,2023-02-28'))).toEqual([
      { line: 2, column: 'intervention_start', message: 'before date_of_birth' },
    ]);
  });

  it.each([
    ['X', 'not M, F, male or female'],
    ['unknown', 'not M, F, male or female'],
    // The names of inherited object properties are no sex either.
    ['constructor', 'not M, F, male or female'],
    ['__proto__', 'not M, F, male or female'],
    ['', 'empty (expected M, F, male or female)'],
  ])('reports a sex %j as %j', (value, message) => {
    expect(problemsOf(csv(HEADER, `Smith,Ann,1990-01-02,${value},2023-01-01,2023-02-01`))).toEqual([{ line: 2, column: 'sex', message }]);
  });

  it('accepts M, F, male and female in any case', () => {
    const rows = ['m', 'F', 'MALE', 'Female'].map((sex, i) => `Smith${i},Ann,1990-01-02,${sex},2023-01-01,2023-02-01`);
    expect(parseClientList(csv(HEADER, ...rows), TODAY).clients.map((c) => c.sex)).toEqual(['M', 'F', 'M', 'F']);
  });

  it('reports empty names and names without a letter or digit', () => {
    expect(problemsOf(csv(HEADER, ' ,Ann,1990-01-02,F,2023-01-01,2023-02-01', 'Smith,--,1990-01-02,F,2023-01-01,2023-02-01'))).toEqual([
      { line: 2, column: 'surname', message: 'empty' },
      { line: 3, column: 'forename', message: 'has no letters or digits' },
    ]);
  });

  it('reports a row with the wrong number of fields', () => {
    expect(problemsOf(csv(HEADER, 'Smith,Ann,1990-01-02,F,2023-01-01'))).toEqual([
      { line: 2, column: null, message: 'the row has 5 fields, the header has 6' },
    ]);
  });

  it('reports every problem of a row', () => {
    expect(problemsOf(csv(HEADER, ',Ann,1990-01-32,Z,2023-01-01,2025-01-01'))).toEqual([
      { line: 2, column: 'surname', message: 'empty' },
      { line: 2, column: 'date_of_birth', message: 'not a date (expected YYYY-MM-DD)' },
      { line: 2, column: 'sex', message: 'not M, F, male or female' },
      { line: 2, column: 'intervention_end', message: 'in the future' },
    ]);
  });

  it('reports the same person twice on the later line, naming the earlier one', () => {
    const list = parseClientList(
      csv(
        HEADER,
        'Smith,Robert,1985-11-03,M,2023-01-01,2023-02-01',
        'Lee,Ann,1990-01-02,F,2023-01-01,2023-02-01',
        'SMITH,robert,1985-11-03,male,2023-03-01,2023-04-01',
      ),
      TODAY,
    );
    expect(list.duplicates).toEqual([{ line: 4, column: null, message: 'the same person as line 2' }]);
    expect(list.clients.map((c) => c.line)).toEqual([2, 3]);
    expect(list.rows).toBe(3);
  });

  it('treats a nickname, accents and punctuation as the same person', () => {
    expect(
      problemsOf(
        csv(
          HEADER,
          "O'Brien,Robert,1985-11-03,M,2023-01-01,2023-02-01",
          'Lee,Ann,1990-01-02,F,2023-01-01,2023-02-01',
          'OBrién,Bob,1985-11-03,M,2023-03-01,2023-04-01',
        ),
      ),
    ).toEqual([{ line: 4, column: null, message: 'the same person as line 2' }]);
  });

  it('does not treat namesakes of another birth date or sex as the same person', () => {
    expect(
      problemsOf(
        csv(HEADER, 'Lee,Sam,1985-11-03,M,2023-01-01,2023-02-01', 'Lee,Sam,1985-11-03,F,2023-01-01,2023-02-01', 'Lee,Sam,1985-11-04,M,2023-01-01,2023-02-01'),
      ),
    ).toEqual([]);
  });

  it('reports a justice id given to two rows', () => {
    const list = parseClientList(
      csv(`${HEADER},justice_id`, 'Smith,Robert,1985-11-03,M,2023-01-01,2023-02-01,J1', 'Lee,Ann,1990-01-02,F,2023-01-01,2023-02-01,J1'),
      TODAY,
    );
    expect(list.problems).toEqual([{ line: 3, column: 'justice_id', message: 'the same justice_id as line 2' }]);
  });

  it.each([
    ['an empty file', ''],
    ['a file of blank lines', '\n\n'],
    ['a header only', csv(HEADER)],
  ])('reports %s as having no client rows', (_, text) => {
    expect(parseClientList(text, TODAY)).toEqual({
      clients: [],
      rows: 0,
      problems: [{ line: null, column: null, message: 'the file has no client rows' }],
      duplicates: [],
    });
  });

  it('refuses more than MAX_CLIENT_LIST_ROWS rows without checking them', () => {
    const row = 'Smith,Ann,1990-01-02,F,2023-01-01,2023-02-01';
    const list = parseClientList(csv(HEADER, ...new Array<string>(MAX_CLIENT_LIST_ROWS + 1).fill(row)), TODAY);
    expect(list).toEqual({
      clients: [],
      rows: 100_001,
      problems: [{ line: null, column: null, message: 'the file has 100001 client rows, more than the 100000 allowed' }],
      duplicates: [],
    });
  });

  it('reports a quote that is never closed at the line where its row starts', () => {
    expect(parseClientList(csv(HEADER, 'Smith,Ann,1990-01-02,F,2023-01-01,2023-02-01', '"Lee,Bo,1991-01-02,M,2023-01-01,2023-02-01'), TODAY)).toEqual({
      clients: [],
      rows: 1,
      problems: [{ line: 3, column: null, message: 'a quoted field is not closed before the end of the file' }],
      duplicates: [],
    });
  });

  it('never puts a value of the file in a problem', () => {
    const list = parseClientList(
      csv(`${HEADER},justice_id`, 'Zebedee,Quintus,1899-07-17,Xylo,2031-05-06,2031-05-05,J77777', 'Zebedee,Quintus,17/07/1970,F,2023-01-01,2023-02-01,'),
      TODAY,
    );
    const text = JSON.stringify([...list.problems, ...list.duplicates]);
    for (const value of ['Zebedee', 'Quintus', '1899', '07-17', 'Xylo', '2031', 'J77777', '1970']) expect(text).not.toContain(value);
    expect(list.problems).toHaveLength(5);
  });

  it('rejects a today that is not a date', () => {
    expect(() => parseClientList(VALID, '30/06/2024')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'today is not a date (expected YYYY-MM-DD)' }),
    );
  });
});

describe('assertValidClientList', () => {
  it('names the count and each problem by line and column', () => {
    const list = parseClientList(
      csv(HEADER, 'Smith,Ann,1990/01/02,F,2023-01-01,2023-02-01', 'Lee,Bo,1991-01-02,M,2023-01-01,2023-02-01', 'LEE,Bo,1991-01-02,M,2023-01-01,2023-02-01'),
      TODAY,
    );
    expect(refusal(list)).toBe('the client list has 2 problems: line 2, date_of_birth: not a date (expected YYYY-MM-DD); line 4: the same person as line 3');
  });

  it('shows the first ten problems in line order and counts the rest', () => {
    const rows = Array.from({ length: 12 }, (_, i) => `Smith${i},Ann,1990-01-02,Q,2023-01-01,2023-02-01`);
    const shown = Array.from({ length: 10 }, (_, i) => `line ${i + 2}, sex: not M, F, male or female`).join('; ');
    expect(refusal(parseClientList(csv(HEADER, ...rows), TODAY))).toBe(`the client list has 12 problems: ${shown} … and 2 more`);
  });

  it('writes a problem of the whole file without a line', () => {
    expect(refusal(parseClientList('', TODAY))).toBe('the client list has 1 problem: the file has no client rows');
  });
});

describe('encodeClientList and decodeClientList', () => {
  it('round-trip a valid list through canonical JSON', () => {
    const bytes = encodeClientList(VALID_CLIENTS);
    expect(new TextDecoder().decode(bytes)).toBe(
      '{"schema":"fedlab.client-list.v1","clients":[' +
        '{"line":2,"surname":"O\'Brien","forename":"Siobhán","dateOfBirth":"1990-02-28","sex":"F","interventionStart":"2023-01-09","interventionEnd":"2023-06-30","justiceId":null},' +
        '{"line":3,"surname":"Smith, Jr","forename":"Robert","dateOfBirth":"1985-11-03","sex":"M","interventionStart":"2022-12-01","interventionEnd":"2023-03-31","justiceId":"J40821319"}]}',
    );
    expect(decodeClientList(bytes, TODAY)).toEqual(VALID_CLIENTS);
  });

  it('gives the same bytes whatever the key order of the records', () => {
    const reordered = VALID_CLIENTS.map(({ justiceId, line, ...rest }) => ({ justiceId, ...rest, line }));
    expect(encodeClientList(reordered)).toEqual(encodeClientList(VALID_CLIENTS));
  });

  it('checks every rule again when decoding', () => {
    const tampered = [
      { ...VALID_CLIENTS[0], dateOfBirth: '2025-01-01' },
      { ...VALID_CLIENTS[1], sex: 'X' as 'M' },
    ];
    expect(() => decodeClientList(encodeClientList(tampered), TODAY)).toThrow(
      expect.objectContaining({
        code: 'CLIENT_LIST_INVALID',
        message: 'the client list has 2 problems: line 2, date_of_birth: in the future; line 3, sex: not M, F, male or female',
      }),
    );
  });

  it('refuses the same person twice when decoding', () => {
    const twice = [VALID_CLIENTS[1], { ...VALID_CLIENTS[1], line: 5, forename: 'Bob', justiceId: null }];
    expect(() => decodeClientList(encodeClientList(twice), TODAY)).toThrow(
      expect.objectContaining({ code: 'CLIENT_LIST_INVALID', message: 'the client list has 1 problem: line 5: the same person as line 3' }),
    );
  });

  it('refuses an empty list', () => {
    expect(() => decodeClientList(encodeClientList([]), TODAY)).toThrow(
      expect.objectContaining({ code: 'CLIENT_LIST_INVALID', message: 'the client list has 1 problem: the file has no client rows' }),
    );
  });

  it.each([
    ['bytes that are not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'the client list is not valid UTF-8 JSON'],
    ['text that is not JSON', new TextEncoder().encode('surname,forename'), 'the client list is not valid UTF-8 JSON'],
    ['another schema', new TextEncoder().encode('{"schema":"fedlab.client-list.v2","clients":[]}'), 'the client list is not a fedlab.client-list.v1 document'],
    [
      'an extra field',
      new TextEncoder().encode('{"schema":"fedlab.client-list.v1","clients":[],"note":1}'),
      'the client list is not a fedlab.client-list.v1 document',
    ],
  ])('refuses %s', (_, bytes, message) => {
    expect(() => decodeClientList(bytes, TODAY)).toThrow(expect.objectContaining({ code: 'CLIENT_LIST_INVALID', message }));
  });

  it('refuses records of the wrong shape or out of line order', () => {
    const document = (clients: unknown[]): Uint8Array => new TextEncoder().encode(JSON.stringify({ schema: 'fedlab.client-list.v1', clients }));
    const message = 'the client list is not a fedlab.client-list.v1 document: client 2 is not a client record with a line number after the previous one';
    for (const second of [
      { ...VALID_CLIENTS[1], line: 2 },
      { ...VALID_CLIENTS[1], line: '3' },
      { ...VALID_CLIENTS[1], extra: true },
      { ...VALID_CLIENTS[1], surname: 7 },
    ]) {
      expect(() => decodeClientList(document([VALID_CLIENTS[0], second]), TODAY)).toThrow(expect.objectContaining({ code: 'CLIENT_LIST_INVALID', message }));
    }
  });
});
