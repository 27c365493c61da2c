import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { loadDatasetSchemaFile, parseDatasetSchema } from './dataset-schema';
import { storeTest as test } from './store-test-fixtures';

interface Doc {
  dataset: string;
  description: string;
  person: string;
  purposes?: string[];
  columns: Array<Record<string, unknown>>;
}

const validDoc = (): Doc => ({
  dataset: 'visits',
  description: 'Hospital visits',
  person: 'health_number',
  columns: [
    { name: 'health_number', type: 'text', role: 'identifier' },
    { name: 'sex', type: 'text', role: 'quasi_identifier', values: ['F', 'M', 'X'] },
    { name: 'visit_date', type: 'date', role: 'date', nullable: true },
    { name: 'cost', type: 'real', role: 'attribute', description: 'CAD' },
  ],
});

function schemaError(doc: unknown): unknown {
  try {
    parseDatasetSchema(doc, 'visits.yaml');
  } catch (error) {
    return error;
  }
  throw new Error('the schema was accepted');
}

describe('parseDatasetSchema', () => {
  test('accepts a valid schema and defaults nullable to false', () => {
    const schema = parseDatasetSchema(validDoc(), 'visits.yaml');
    expect(schema).toEqual({
      ...validDoc(),
      columns: [
        { name: 'health_number', type: 'text', role: 'identifier', nullable: false },
        { name: 'sex', type: 'text', role: 'quasi_identifier', values: ['F', 'M', 'X'], nullable: false },
        { name: 'visit_date', type: 'date', role: 'date', nullable: true },
        { name: 'cost', type: 'real', role: 'attribute', description: 'CAD', nullable: false },
      ],
    });
  });

  test.each([
    ['an unknown column type', (d: Doc) => (d.columns[3].type = 'float'), 'columns[3].type: expected one of text|integer|real|date|boolean'],
    ['an unknown role', (d: Doc) => (d.columns[1].role = 'secret'), 'columns[1].role: expected one of identifier|quasi_identifier|attribute|date'],
    ['a missing field', (d: Doc) => delete d.columns[0].role, 'columns[0].role: required'],
    ['a field of the wrong type', (d: Doc) => (d.columns[2].nullable = 'yes'), 'columns[2].nullable: expected boolean'],
    ['an unknown field', (d: Doc) => (d.columns[0].nulable = true), 'columns[0]: unknown field "nulable"'],
    ['an unknown top-level field', (d: Doc) => (d.purposes = []), 'unknown field "purposes"'],
    ['a column name that is not snake case', (d: Doc) => (d.columns[3].name = 'Cost'), 'columns[3].name: must be lower snake case: a letter, then letters, digits or _ (at most 63 characters)'],
    ['a dataset name that is too long', (d: Doc) => (d.dataset = `d${'x'.repeat(63)}`), 'dataset: must be lower snake case: a letter, then letters, digits or _ (at most 63 characters)'],
    ['a reserved dataset prefix', (d: Doc) => (d.dataset = 'sqlite_visits'), 'dataset: must not start with fedlab_ or sqlite_'],
    ['a duplicate column name', (d: Doc) => (d.columns[3].name = 'sex'), 'columns[3].name: duplicate column "sex"'],
    ['values on a non-text column', (d: Doc) => (d.columns[3].values = ['1']), 'columns[3].values: only text columns may list values'],
    ['a duplicate value', (d: Doc) => (d.columns[1].values = ['F', 'M', 'F']), 'columns[1].values[2]: duplicate value'],
    ['an empty value', (d: Doc) => (d.columns[1].values = ['F', '']), 'columns[1].values[1]: must not be empty'],
    ['no columns', (d: Doc) => (d.columns = []), 'columns: must have at least 1 item(s)'],
    ['a person that is no column', (d: Doc) => (d.person = 'pid'), 'person: no column "pid"'],
    ['a person that is not an identifier', (d: Doc) => (d.person = 'sex'), 'person: column "sex" is not an identifier column'],
  ])('rejects %s with the field path and the reason', (_case, edit, message) => {
    const doc = validDoc();
    edit(doc);
    expect(schemaError(doc)).toMatchObject({ code: 'SCHEMA_INVALID', message: `visits.yaml: ${message}` });
  });

  test('rejects a document that is not a mapping', () => {
    expect(schemaError('visits')).toMatchObject({ code: 'SCHEMA_INVALID', message: 'visits.yaml: expected object' });
  });

  test('lists every problem in details', () => {
    const doc = validDoc();
    doc.columns[0].type = 'str';
    doc.columns[1].role = 'x';
    expect(schemaError(doc)).toMatchObject({
      details: {
        source: 'visits.yaml',
        issues: [
          { path: 'columns[0].type', message: 'expected one of text|integer|real|date|boolean' },
          { path: 'columns[1].role', message: 'expected one of identifier|quasi_identifier|attribute|date' },
        ],
      },
    });
  });
});

describe('loadDatasetSchemaFile', () => {
  test('reads and validates a YAML schema file', ({ dir }) => {
    const file = path.join(dir, 'visits.yaml');
    writeFileSync(
      file,
      'dataset: visits\nperson: pid\ncolumns:\n  - { name: pid, type: text, role: identifier }\n  - name: age\n    type: integer\n    role: quasi_identifier\n',
    );
    expect(loadDatasetSchemaFile(file)).toEqual({
      dataset: 'visits',
      person: 'pid',
      columns: [
        { name: 'pid', type: 'text', role: 'identifier', nullable: false },
        { name: 'age', type: 'integer', role: 'quasi_identifier', nullable: false },
      ],
    });
  });

  test('reports a field error with the file name', ({ dir }) => {
    const file = path.join(dir, 'visits.yaml');
    writeFileSync(file, 'dataset: visits\nperson: pid\ncolumns:\n  - { name: pid, type: string, role: identifier }\n');
    expect(() => loadDatasetSchemaFile(file)).toThrow(
      expect.objectContaining({
        code: 'SCHEMA_INVALID',
        message: 'visits.yaml: columns[0].type: expected one of text|integer|real|date|boolean',
      }),
    );
  });

  test('reports a YAML syntax error with its line', ({ dir }) => {
    const file = path.join(dir, 'visits.yaml');
    writeFileSync(file, 'dataset: visits\nperson: pid\ncolumns: [\n');
    expect(() => loadDatasetSchemaFile(file)).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringMatching(/^visits\.yaml: line \d+: not valid YAML \([A-Z_]+\)$/) }),
    );
  });

  test('reports a missing file as INVALID_ARGUMENT', ({ dir }) => {
    expect(() => loadDatasetSchemaFile(path.join(dir, 'none.yaml'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'none.yaml: cannot read the schema file (ENOENT)' }),
    );
  });
});
