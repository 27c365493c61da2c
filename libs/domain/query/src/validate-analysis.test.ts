import { describe, expect, test } from 'vitest';
import type { Analysis, DatasetSchema, ErrorCode, Filter, Scalar } from '@fedlab/model';
import { isIsoDate, validateAnalysis } from './validate-analysis';

const SCHEMA: DatasetSchema = {
  dataset: 'visits',
  person: 'health_number',
  columns: [
    { name: 'health_number', type: 'text', role: 'identifier', nullable: false },
    { name: 'sex', type: 'text', role: 'quasi_identifier', nullable: false, values: ['F', 'M'] },
    { name: 'birth_year', type: 'integer', role: 'quasi_identifier', nullable: false },
    { name: 'visit_date', type: 'date', role: 'date', nullable: false },
    { name: 'icd10', type: 'text', role: 'attribute', nullable: true },
    { name: 'cost', type: 'real', role: 'attribute', nullable: true },
    { name: 'flag', type: 'boolean', role: 'attribute', nullable: true },
  ],
};

const cmp = (column: string, op: Extract<Filter, { kind: 'cmp' }>['op'], values: Scalar[]): Filter => ({ kind: 'cmp', column, op, values });
const count = (filter?: Filter, groupBy: string[] = []): Analysis => ({ kind: 'count', dataset: 'visits', groupBy, ...(filter ? { filter } : {}) });

describe('validateAnalysis', () => {
  test.each<[string, Analysis]>([
    [
      'a grouped count with every operator',
      count(
        {
          kind: 'and',
          items: [
            cmp('sex', 'eq', ['F']),
            cmp('sex', 'ne', ['M']),
            cmp('birth_year', 'lt', [2010]),
            cmp('birth_year', 'le', [2010]),
            cmp('cost', 'gt', [0.5]),
            cmp('cost', 'ge', [0]),
            cmp('icd10', 'in', ['Q86.0', 'F10']),
            { kind: 'or', items: [cmp('visit_date', 'between', ['2020-01-01', '2020-12-31']), cmp('flag', 'is_null', []), cmp('flag', 'not_null', [])] },
          ],
        },
        ['sex', 'birth_year', 'flag'],
      ),
    ],
    ['a value outside a categorical value set', count(cmp('sex', 'eq', ['X']))],
    ['text ordering (ICD-10 ranges)', count(cmp('icd10', 'between', ['F10', 'F19']))],
    ['booleans compared for equality', count(cmp('flag', 'in', [true, false]))],
    ['a whole number against a real column', count(cmp('cost', 'eq', [3]))],
    ['between with equal bounds', count(cmp('birth_year', 'between', [2000, 2000]))],
    ['a leap day', count(cmp('visit_date', 'eq', ['2024-02-29']))],
    ['a sum', { kind: 'sum', dataset: 'visits', groupBy: ['flag'], column: 'cost' }],
    ['a mean of an integer', { kind: 'mean', dataset: 'visits', groupBy: [], column: 'birth_year' }],
    ['a variance', { kind: 'variance', dataset: 'visits', groupBy: [], column: 'cost' }],
    ['a proportion', { kind: 'proportion', dataset: 'visits', groupBy: ['sex'], condition: cmp('icd10', 'eq', ['Q86.0']) }],
    ['a histogram', { kind: 'histogram', dataset: 'visits', groupBy: [], column: 'cost', bins: [0, 10.5, 100] }],
  ])('accepts %s', (_name, analysis) => expect(() => validateAnalysis(analysis, SCHEMA)).not.toThrow());

  test.each<[string, Analysis, ErrorCode, string]>([
    ['an unknown filter column', count(cmp('postcode', 'eq', ['K1A'])), 'UNKNOWN_COLUMN', 'unknown column "postcode" in dataset "visits"'],
    ['an unknown group-by column', count(undefined, ['postcode']), 'UNKNOWN_COLUMN', 'unknown column "postcode" in dataset "visits"'],
    ['an unknown measure', { kind: 'sum', dataset: 'visits', groupBy: [], column: 'amount' }, 'UNKNOWN_COLUMN', 'unknown column "amount" in dataset "visits"'],
    [
      'an unknown condition column',
      { kind: 'proportion', dataset: 'visits', groupBy: [], condition: cmp('dx', 'eq', ['x']) },
      'UNKNOWN_COLUMN',
      'unknown column "dx" in dataset "visits"',
    ],
    ['a column name that is not an identifier', count(cmp('sex" FROM visits; --', 'eq', ['F'])), 'UNKNOWN_COLUMN', 'invalid column name'],
    ['an upper-case column name', count(undefined, ['Sex']), 'UNKNOWN_COLUMN', 'invalid column name'],
    [
      'an identifier in a filter',
      count(cmp('health_number', 'eq', ['123'])),
      'IDENTIFIER_NOT_ALLOWED',
      'column "health_number" is an identifier and cannot be used in a filter',
    ],
    [
      'an identifier in a group-by',
      count(undefined, ['health_number']),
      'IDENTIFIER_NOT_ALLOWED',
      'column "health_number" is an identifier and cannot be used in a group-by',
    ],
    [
      'an identifier as a measure',
      { kind: 'mean', dataset: 'visits', groupBy: [], column: 'health_number' },
      'IDENTIFIER_NOT_ALLOWED',
      'column "health_number" is an identifier and cannot be used as a measure',
    ],
    [
      'an identifier in a condition',
      { kind: 'proportion', dataset: 'visits', groupBy: [], condition: cmp('health_number', 'not_null', []) },
      'IDENTIFIER_NOT_ALLOWED',
      'column "health_number" is an identifier and cannot be used in a condition',
    ],
    [
      'a fraction for an integer',
      count({ kind: 'and', items: [cmp('birth_year', 'between', [2000, 2010.5])] }),
      'TYPE_MISMATCH',
      'column "birth_year" is integer; value at analysis.filter.and[0].values[1] is not an integer',
    ],
    [
      'a string for an integer',
      count(cmp('birth_year', 'eq', ['2000'])),
      'TYPE_MISMATCH',
      'column "birth_year" is integer; value at analysis.filter.values[0] is not an integer',
    ],
    [
      'a string for a real',
      count(cmp('cost', 'gt', ["x' OR 1=1 --"])),
      'TYPE_MISMATCH',
      'column "cost" is real; value at analysis.filter.values[0] is not a number',
    ],
    [
      'a number for text',
      count({ kind: 'or', items: [cmp('sex', 'eq', ['F']), cmp('sex', 'in', ['M', 1])] }),
      'TYPE_MISMATCH',
      'column "sex" is text; value at analysis.filter.or[1].values[1] is not a string',
    ],
    [
      'a string for a boolean',
      count(cmp('flag', 'eq', ['true'])),
      'TYPE_MISMATCH',
      'column "flag" is boolean; value at analysis.filter.values[0] is not a boolean',
    ],
    [
      'a number for a date',
      count(cmp('visit_date', 'ge', [20200101])),
      'TYPE_MISMATCH',
      'column "visit_date" is date; value at analysis.filter.values[0] is not a date',
    ],
    [
      'a mismatch in a condition',
      { kind: 'proportion', dataset: 'visits', groupBy: [], condition: cmp('flag', 'eq', [1]) },
      'TYPE_MISMATCH',
      'column "flag" is boolean; value at analysis.condition.values[0] is not a boolean',
    ],
    ['lt on a boolean', count(cmp('flag', 'lt', [true])), 'INVALID_QUERY', 'analysis.filter: op "lt" cannot be used on boolean column "flag"'],
    [
      'between on a boolean',
      count({ kind: 'and', items: [cmp('flag', 'between', [false, true])] }),
      'INVALID_QUERY',
      'analysis.filter.and[0]: op "between" cannot be used on boolean column "flag"',
    ],
    [
      'a sum of text',
      { kind: 'sum', dataset: 'visits', groupBy: [], column: 'icd10' },
      'INVALID_QUERY',
      'analysis.column: sum needs a numeric column; "icd10" is text',
    ],
    [
      'a mean of a date',
      { kind: 'mean', dataset: 'visits', groupBy: [], column: 'visit_date' },
      'INVALID_QUERY',
      'analysis.column: mean needs a numeric column; "visit_date" is date',
    ],
    [
      'a variance of a boolean',
      { kind: 'variance', dataset: 'visits', groupBy: [], column: 'flag' },
      'INVALID_QUERY',
      'analysis.column: variance needs a numeric column; "flag" is boolean',
    ],
    [
      'a histogram of text',
      { kind: 'histogram', dataset: 'visits', groupBy: [], column: 'sex', bins: [0, 1] },
      'INVALID_QUERY',
      'analysis.column: histogram needs a numeric column; "sex" is text',
    ],
    [
      'between with lower > upper',
      count(cmp('birth_year', 'between', [2010, 2000])),
      'INVALID_QUERY',
      'analysis.filter.values: lower bound is greater than upper bound',
    ],
    [
      'date between with lower > upper',
      count(cmp('visit_date', 'between', ['2021-01-01', '2020-12-31'])),
      'INVALID_QUERY',
      'analysis.filter.values: lower bound is greater than upper bound',
    ],
    [
      'a date that does not exist',
      count(cmp('visit_date', 'eq', ['2021-02-29'])),
      'INVALID_QUERY',
      'column "visit_date" is date; value at analysis.filter.values[0] is not a real date in YYYY-MM-DD form',
    ],
    [
      'a date in another format',
      count(cmp('visit_date', 'in', ['2021-01-01', '01/02/2021'])),
      'INVALID_QUERY',
      'column "visit_date" is date; value at analysis.filter.values[1] is not a real date in YYYY-MM-DD form',
    ],
    [
      'another dataset',
      { kind: 'count', dataset: 'visits"; DROP TABLE visits; --', groupBy: [] },
      'INVALID_QUERY',
      'analysis.dataset: does not name dataset "visits"',
    ],
    [
      'a group-by on a real column',
      count(undefined, ['cost']),
      'INVALID_QUERY',
      'analysis.group_by[0]: column "cost" is real and cannot be grouped by; use a histogram or a filter',
    ],
    [
      'a group-by on a date column',
      count(undefined, ['sex', 'visit_date']),
      'INVALID_QUERY',
      'analysis.group_by[1]: column "visit_date" is date and cannot be grouped by; use a histogram or a filter',
    ],
    [
      'a group-by on free text',
      count(undefined, ['icd10']),
      'INVALID_QUERY',
      'analysis.group_by[0]: column "icd10" is free text (no declared values) and cannot be grouped by; use a histogram or a filter',
    ],
    ['four group-by columns', count(undefined, ['sex', 'birth_year', 'icd10', 'flag']), 'INVALID_QUERY', 'analysis.group_by: at most 3 columns'],
    [
      'bins not ascending',
      { kind: 'histogram', dataset: 'visits', groupBy: [], column: 'cost', bins: [10, 0] },
      'INVALID_QUERY',
      'analysis.bins: edges must be strictly ascending',
    ],
    [
      'an infinite bin edge',
      { kind: 'histogram', dataset: 'visits', groupBy: [], column: 'cost', bins: [0, Infinity] },
      'INVALID_QUERY',
      'analysis.bins[1]: expected a finite number',
    ],
    [
      'an unknown operator',
      count(cmp('sex', 'like' as 'eq', ['F%'])),
      'INVALID_QUERY',
      'analysis.filter.op: expected one of eq, ne, lt, le, gt, ge, in, between, is_null, not_null',
    ],
    ['eq with two values', count(cmp('sex', 'eq', ['F', 'M'])), 'INVALID_QUERY', 'analysis.filter.values: op "eq" needs exactly 1 value'],
    ['an empty or', count({ kind: 'or', items: [] }), 'INVALID_QUERY', 'analysis.filter.or: at least 1 item'],
    ['a NaN value', count(cmp('cost', 'eq', [NaN])), 'INVALID_QUERY', 'analysis.filter.values[0]: expected a finite number'],
    ['a null value', count(cmp('cost', 'eq', [null as unknown as Scalar])), 'INVALID_QUERY', 'analysis.filter.values[0]: expected a string, number or boolean'],
    [
      '65 comparisons',
      count({ kind: 'or', items: Array.from({ length: 65 }, () => cmp('sex', 'eq', ['F'])) }),
      'INVALID_QUERY',
      'analysis.filter: at most 64 comparisons',
    ],
    [
      'an in list of 1001 values',
      count(cmp('sex', 'in', Array.from({ length: 1001 }, String))),
      'INVALID_QUERY',
      'analysis.filter.values: at most 1000 values',
    ],
  ])('refuses %s', (_name, analysis, code, message) => {
    expect(() => validateAnalysis(analysis, SCHEMA)).toThrowFedlabError(code, message);
  });

  test('refuses a filter nested deeper than 8 levels', () => {
    let filter: Filter = cmp('sex', 'eq', ['F']);
    for (let i = 0; i < 8; i += 1) filter = { kind: 'and', items: [filter] };
    expect(() => validateAnalysis(count(filter), SCHEMA)).toThrowFedlabError(
      'INVALID_QUERY',
      `analysis.filter${'.and[0]'.repeat(8)}: at most 8 levels of nesting`,
    );
  });
});

describe('isIsoDate', () => {
  test.each([
    ['2024-02-29', true],
    ['0001-01-01', true],
    ['0099-12-31', true],
    ['2023-02-29', false],
    ['0000-01-01', false],
    ['2020-04-31', false],
    ['2020-1-01', false],
    ['2020-01-01T00:00:00Z', false],
  ])('%s → %s', (value, expected) => expect(isIsoDate(value)).toBe(expected));
});
