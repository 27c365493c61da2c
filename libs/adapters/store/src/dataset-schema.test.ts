import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSynthetic, SYNTH_DATASETS, SYNTH_SCHEMAS } from '@fedlab/synth';
import { describe, expect } from 'vitest';
import { loadDatasetSchemaFile, parseDatasetSchema } from './dataset-schema';
import { test } from '@fedlab/test-kit';

interface Doc {
  dataset: string;
  description: string;
  person: string;
  purposes?: string[];
  columns: Array<Record<string, unknown>>;
  linkage_keys?: Array<{ name: string; description?: string; parts: Array<Record<string, unknown>> }>;
  max_records_per_person?: number;
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

const linkedDoc = (): Doc => {
  const doc = validDoc();
  doc.columns.push({ name: 'surname', type: 'text', role: 'identifier' }, { name: 'birth_date', type: 'date', role: 'identifier', nullable: true });
  doc.linkage_keys = [
    { name: 'health_number', parts: [{ column: 'health_number', transform: 'digits' }] },
    {
      name: 'name_dob',
      description: 'Surname initials, sex and date of birth',
      parts: [
        { column: 'surname', transform: 'first', length: 2 },
        { column: 'sex', transform: 'value' },
        { column: 'birth_date', transform: 'date_unordered' },
      ],
    },
  ];
  return doc;
};

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
    [
      'a column name that is not snake case',
      (d: Doc) => (d.columns[3].name = 'Cost'),
      'columns[3].name: must be lower snake case: a letter, then letters, digits or _ (at most 63 characters)',
    ],
    [
      'a dataset name that is too long',
      (d: Doc) => (d.dataset = `d${'x'.repeat(63)}`),
      'dataset: must be lower snake case: a letter, then letters, digits or _ (at most 63 characters)',
    ],
    ['a reserved dataset prefix', (d: Doc) => (d.dataset = 'sqlite_visits'), 'dataset: must not start with fedlab_ or sqlite_'],
    ['a duplicate column name', (d: Doc) => (d.columns[3].name = 'sex'), 'columns[3].name: duplicate column "sex"'],
    [
      'a column name reserved for the node',
      (d: Doc) => (d.columns[3].name = 'fedlab_person_rows'),
      'columns[3].name: must not start with fedlab_ (reserved for the node)',
    ],
    ['bounds with lo above hi', (d: Doc) => (d.columns[3].bounds = [100, 0]), 'columns[3].bounds: the lower bound 100 is above the upper bound 0'],
    ['bounds that are not finite', (d: Doc) => (d.columns[3].bounds = [0, Number.POSITIVE_INFINITY]), 'columns[3].bounds[1]: expected number'],
    ['bounds on a text column', (d: Doc) => (d.columns[1].bounds = [0, 1]), 'columns[1].bounds: only integer and real columns may have bounds'],
    [
      'non-integer bounds on an integer column',
      (d: Doc) => ((d.columns[3].type = 'integer'), (d.columns[3].bounds = [0, 2.5])),
      'columns[3].bounds: bounds of an integer column must be integers',
    ],
    ['a max_records_per_person of 0', (d: Doc) => (d.max_records_per_person = 0), 'max_records_per_person: must be an integer from 1 to 10000'],
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

  test('reads linkage_keys as linkageKeys', () => {
    const schema = parseDatasetSchema(linkedDoc(), 'visits.yaml');
    expect(schema.linkageKeys).toEqual(linkedDoc().linkage_keys);
    expect(schema).not.toHaveProperty('linkage_keys');
  });

  test('leaves linkageKeys out when the document declares no recipe', () => {
    expect(parseDatasetSchema(validDoc(), 'visits.yaml')).not.toHaveProperty('linkageKeys');
  });

  test('accepts a schema it returned, linkage keys included', () => {
    const schema = parseDatasetSchema(linkedDoc(), 'visits.yaml');
    expect(parseDatasetSchema(schema, 'visits.yaml')).toEqual(schema);
  });

  test.each([
    [
      'an unknown transform',
      (d: Doc) => (d.linkage_keys![1].parts[0].transform = 'metaphone'),
      'linkage_keys[1].parts[0].transform: expected one of text|ascii|digits|first|soundex|nysiis|nickname|nickname_soundex|date|year|month|day|date_unordered|value',
    ],
    ['an unknown column', (d: Doc) => (d.linkage_keys![1].parts[0].column = 'family_name'), 'linkage_keys[1].parts[0].column: no column "family_name"'],
    [
      'a column with role attribute',
      (d: Doc) => (d.linkage_keys![0].parts[0].column = 'cost'),
      'linkage_keys[0].parts[0].column: column "cost" is not an identifier or quasi-identifier column',
    ],
    [
      'a column with role date',
      (d: Doc) => (d.linkage_keys![0].parts[0].column = 'visit_date'),
      'linkage_keys[0].parts[0].column: column "visit_date" is not an identifier or quasi-identifier column',
    ],
    ['a duplicate recipe name', (d: Doc) => (d.linkage_keys![1].name = 'health_number'), 'linkage_keys[1].name: duplicate linkage key recipe "health_number"'],
    [
      'a recipe name that is not snake case',
      (d: Doc) => (d.linkage_keys![1].name = 'Name-DOB'),
      'linkage_keys[1].name: must be lower snake case: a letter, then letters, digits or _ (at most 63 characters)',
    ],
    ['a missing length for first', (d: Doc) => delete d.linkage_keys![1].parts[0].length, 'linkage_keys[1].parts[0].length: required for transform "first"'],
    [
      'a length on a transform that takes none',
      (d: Doc) => (d.linkage_keys![0].parts[0].length = 4),
      'linkage_keys[0].parts[0].length: not allowed for transform "digits"',
    ],
    ['a length out of range', (d: Doc) => (d.linkage_keys![1].parts[0].length = 11), 'linkage_keys[1].parts[0].length: must be an integer from 1 to 10'],
    ['a fractional length', (d: Doc) => (d.linkage_keys![1].parts[0].length = 1.5), 'linkage_keys[1].parts[0].length: must be an integer from 1 to 10'],
    ['a recipe without parts', (d: Doc) => (d.linkage_keys![0].parts = []), 'linkage_keys[0].parts: must have at least 1 item(s)'],
    [
      'a recipe with 7 parts',
      (d: Doc) => (d.linkage_keys![0].parts = Array.from({ length: 7 }, () => ({ column: 'sex', transform: 'value' }))),
      'linkage_keys[0].parts: must have at most 6 item(s)',
    ],
    [
      '9 recipes',
      (d: Doc) => (d.linkage_keys = Array.from({ length: 9 }, (_, i) => ({ name: `pass_${i}`, parts: [{ column: 'sex', transform: 'value' }] }))),
      'linkage_keys: must have at most 8 item(s)',
    ],
    ['an unknown part field', (d: Doc) => (d.linkage_keys![0].parts[0].width = 2), 'linkage_keys[0].parts[0]: unknown field "width"'],
  ])('rejects a linkage key recipe with %s', (_case, edit, message) => {
    const doc = linkedDoc();
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
  test('reads and validates a YAML schema file', ({ tempDir: dir }) => {
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

  test('reports a field error with the file name', ({ tempDir: dir }) => {
    const file = path.join(dir, 'visits.yaml');
    writeFileSync(file, 'dataset: visits\nperson: pid\ncolumns:\n  - { name: pid, type: string, role: identifier }\n');
    expect(() => loadDatasetSchemaFile(file)).toThrow(
      expect.objectContaining({
        code: 'SCHEMA_INVALID',
        message: 'visits.yaml: columns[0].type: expected one of text|integer|real|date|boolean',
      }),
    );
  });

  test('reads the synthetic schema files, linkage_keys included', ({ tempDir: dir }) => {
    for (const file of generateSynthetic({ persons: 50, seed: 1 })) {
      const entry = SYNTH_DATASETS.find((candidate) => candidate.schemaPath === file.path);
      if (!entry) continue;
      const target = path.join(dir, `${entry.dataset}.yaml`);
      writeFileSync(target, file.content);
      const schema = loadDatasetSchemaFile(target);
      expect(schema).toEqual(SYNTH_SCHEMAS[entry.dataset]);
      expect(schema.linkageKeys?.map((recipe) => recipe.name)).toEqual(['health_number', 'name_dob', 'given_name_dob']);
    }
  });

  test('reports a YAML syntax error with its line', ({ tempDir: dir }) => {
    const file = path.join(dir, 'visits.yaml');
    writeFileSync(file, 'dataset: visits\nperson: pid\ncolumns: [\n');
    expect(() => loadDatasetSchemaFile(file)).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringMatching(/^visits\.yaml: line \d+: not valid YAML \([A-Z_]+\)$/) }),
    );
  });

  test('reports a missing file as INVALID_ARGUMENT', ({ tempDir: dir }) => {
    expect(() => loadDatasetSchemaFile(path.join(dir, 'none.yaml'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'none.yaml: cannot read the schema file (ENOENT)' }),
    );
  });
});
