import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  COLUMN_ROLES,
  COLUMN_TYPES,
  FedlabError,
  IDENTIFIER_NAME,
  KEY_PART_LENGTH,
  KEY_TRANSFORMS,
  KEY_TRANSFORMS_REQUIRING_LENGTH,
  KEY_TRANSFORMS_WITH_OPTIONAL_LENGTH,
  LINKAGE_KEY_LIMITS,
  MAX_RECORDS_PER_PERSON,
  type DatasetSchema,
} from '@fedlab/model';
import { parseDocument } from 'yaml';
import { z } from 'zod';

const NAME_RULE = 'must be lower snake case: a letter, then letters, digits or _ (at most 63 characters)';
const RESERVED_PREFIXES = ['fedlab_', 'sqlite_'];

const nameSchema = z.string().regex(IDENTIFIER_NAME, { error: NAME_RULE });

const columnSchema = z.strictObject({
  name: nameSchema.refine((name) => !name.startsWith('fedlab_'), { error: 'must not start with fedlab_ (reserved for the node)' }),
  type: z.enum(COLUMN_TYPES),
  role: z.enum(COLUMN_ROLES),
  nullable: z.boolean().default(false),
  values: z
    .array(z.string().min(1, { error: 'must not be empty' }))
    .min(1)
    .optional(),
  bounds: z.tuple([z.number(), z.number()]).optional(),
  description: z.string().optional(),
});

const linkageKeyPartSchema = z.strictObject({
  column: z.string(),
  transform: z.enum(KEY_TRANSFORMS),
  length: z.number().optional(),
});

const linkageKeyRecipeSchema = z.strictObject({
  name: nameSchema,
  description: z.string().optional(),
  parts: z.array(linkageKeyPartSchema).min(1).max(LINKAGE_KEY_LIMITS.partsPerRecipe),
});

const LINKAGE_COLUMN_ROLES: ReadonlySet<string> = new Set(['identifier', 'quasi_identifier']);
const LENGTH_RULE = `must be an integer from ${KEY_PART_LENGTH.min} to ${KEY_PART_LENGTH.max}`;

type ParsedSchema = Omit<DatasetSchema, 'linkageKeys'> & { linkage_keys?: z.infer<typeof linkageKeyRecipeSchema>[] };

function checkLinkageKeys(schema: ParsedSchema, ctx: z.core.$RefinementCtx): void {
  const roles = new Map(schema.columns.map((column) => [column.name, column.role]));
  const names = new Set<string>();
  schema.linkage_keys?.forEach((recipe, r) => {
    const issue = (path: Array<string | number>, message: string): void => {
      ctx.addIssue({ code: 'custom', path: ['linkage_keys', r, ...path], message });
    };
    if (names.has(recipe.name)) issue(['name'], `duplicate linkage key recipe "${recipe.name}"`);
    names.add(recipe.name);
    recipe.parts.forEach((part, p) => {
      const role = roles.get(part.column);
      if (role === undefined) issue(['parts', p, 'column'], `no column "${part.column}"`);
      else if (!LINKAGE_COLUMN_ROLES.has(role)) issue(['parts', p, 'column'], `column "${part.column}" is not an identifier or quasi-identifier column`);
      if (part.length === undefined) {
        if (KEY_TRANSFORMS_REQUIRING_LENGTH.includes(part.transform)) issue(['parts', p, 'length'], `required for transform "${part.transform}"`);
      } else if (!KEY_TRANSFORMS_REQUIRING_LENGTH.includes(part.transform) && !KEY_TRANSFORMS_WITH_OPTIONAL_LENGTH.includes(part.transform)) {
        issue(['parts', p, 'length'], `not allowed for transform "${part.transform}"`);
      } else if (!Number.isInteger(part.length) || part.length < KEY_PART_LENGTH.min || part.length > KEY_PART_LENGTH.max) {
        issue(['parts', p, 'length'], LENGTH_RULE);
      }
    });
  });
}

const datasetSchemaSchema = z
  .strictObject({
    dataset: nameSchema.refine((name) => !RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix)), {
      error: `must not start with ${RESERVED_PREFIXES.join(' or ')}`,
    }),
    description: z.string().optional(),
    person: z.string(),
    max_records_per_person: z.number().optional(),
    columns: z.array(columnSchema).min(1),
    linkage_keys: z.array(linkageKeyRecipeSchema).max(LINKAGE_KEY_LIMITS.recipesPerDataset).optional(),
  })
  .superRefine((schema, ctx) => {
    const seen = new Set<string>();
    schema.columns.forEach((column, index) => {
      if (seen.has(column.name)) {
        const message = `duplicate column "${column.name}"`;
        ctx.addIssue({ code: 'custom', path: ['columns', index, 'name'], message });
      }
      seen.add(column.name);
      if (column.bounds !== undefined) checkBounds(column, ['columns', index, 'bounds'], ctx);
      if (column.values === undefined) return;
      if (column.type !== 'text') {
        const message = 'only text columns may list values';
        ctx.addIssue({ code: 'custom', path: ['columns', index, 'values'], message });
      }
      const duplicate = column.values.findIndex((value, i) => column.values?.indexOf(value) !== i);
      if (duplicate >= 0) {
        ctx.addIssue({ code: 'custom', path: ['columns', index, 'values', duplicate], message: 'duplicate value' });
      }
    });
    const person = schema.columns.find((column) => column.name === schema.person);
    if (person?.role !== 'identifier') {
      ctx.addIssue({
        code: 'custom',
        path: ['person'],
        message: person ? `column "${schema.person}" is not an identifier column` : `no column "${schema.person}"`,
      });
    }
    const m = schema.max_records_per_person;
    if (m !== undefined && !(Number.isInteger(m) && m >= 1 && m <= MAX_RECORDS_PER_PERSON.max)) {
      ctx.addIssue({ code: 'custom', path: ['max_records_per_person'], message: `must be an integer from 1 to ${MAX_RECORDS_PER_PERSON.max}` });
    }
    checkLinkageKeys(schema, ctx);
  })
  .transform(({ linkage_keys: linkageKeys, max_records_per_person: maxRecords, ...schema }): DatasetSchema => ({
    ...schema,
    ...(maxRecords === undefined ? {} : { maxRecordsPerPerson: maxRecords }),
    ...(linkageKeys === undefined ? {} : { linkageKeys }),
  }));

/** Bounds `[lo, hi]` (finite: zod refuses infinities): only on integer and real columns, lo ≤ hi, integers on an integer column. */
function checkBounds(column: { type: string; bounds?: [number, number] }, path: Array<string | number>, ctx: z.core.$RefinementCtx): void {
  const [lo, hi] = column.bounds!;
  const issue = (message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (column.type !== 'integer' && column.type !== 'real') issue('only integer and real columns may have bounds');
  else if (lo > hi) issue(`the lower bound ${lo} is above the upper bound ${hi}`);
  else if (column.type === 'integer' && !(Number.isSafeInteger(lo) && Number.isSafeInteger(hi))) issue('bounds of an integer column must be integers');
}

function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined) return 'required';
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join('|')}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
    case 'too_small':
      return issue.origin === 'array' ? `must have at least ${issue.minimum} item(s)` : undefined;
    case 'too_big':
      return issue.origin === 'array' ? `must have at most ${issue.maximum} item(s)` : undefined;
    default:
      return undefined;
  }
}

function formatPath(segments: PropertyKey[]): string {
  return segments.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`)).join('');
}

// A DatasetSchema spells `linkage_keys` as `linkageKeys` (and `max_records_per_person` as
// `maxRecordsPerPerson`); read it as the document field so that parsing a
// schema this function returned gives it back (importCsv validates the schema it is given again).
function asDocument(doc: unknown): unknown {
  if (typeof doc !== 'object' || doc === null) return doc;
  let out = doc as Record<string, unknown>;
  if ('linkageKeys' in out && !('linkage_keys' in out)) {
    const { linkageKeys, ...rest } = out;
    out = { ...rest, linkage_keys: linkageKeys };
  }
  if ('maxRecordsPerPerson' in out && !('max_records_per_person' in out)) {
    const { maxRecordsPerPerson, ...rest } = out;
    out = { ...rest, max_records_per_person: maxRecordsPerPerson };
  }
  return out;
}

/**
 * Validates a parsed schema document (e.g. from YAML) and returns it as a DatasetSchema with defaults
 * filled in (`nullable: false`) and `linkage_keys` as `linkageKeys`. Array indexes in messages are
 * 0-based, as in the document. A DatasetSchema this function returned is accepted as a document too.
 *
 * Linkage key recipes (`linkage_keys`, at most 8): names in snake case and unique; 1 to 6 parts, each
 * naming an identifier or quasi-identifier column and a transform of `KEY_TRANSFORMS`, with a `length`
 * of 1 to 10 where the transform requires (`first`) or accepts (`nysiis`, `nickname`) one.
 *
 * Throws SCHEMA_INVALID naming `source`, the first offending field and the reason, e.g.
 * `health.yaml: columns[3].type: expected one of text|integer|real|date|boolean`; `details.issues` lists
 * every problem found.
 */
export function parseDatasetSchema(doc: unknown, source: string): DatasetSchema {
  const result = datasetSchemaSchema.safeParse(asDocument(doc), { error: describeIssue });
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
  const [first] = issues;
  const where = first.path === '' ? '' : `${first.path}: `;
  throw new FedlabError('SCHEMA_INVALID', `${source}: ${where}${first.message}`, { source, issues });
}

/**
 * Reads and validates a dataset schema YAML file. Throws INVALID_ARGUMENT when the file cannot be read and
 * SCHEMA_INVALID (prefixed with the file name) when it is not valid YAML or not a valid schema.
 */
export function loadDatasetSchemaFile(file: string): DatasetSchema {
  const source = path.basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new FedlabError('INVALID_ARGUMENT', `${source}: cannot read the schema file (${code})`, { file: source });
  }
  const document = parseDocument(text);
  const [syntaxError] = document.errors;
  if (syntaxError) {
    const line = syntaxError.linePos?.[0].line;
    const at = line === undefined ? '' : ` line ${line}:`;
    throw new FedlabError('SCHEMA_INVALID', `${source}:${at} not valid YAML (${syntaxError.code})`, { source, line });
  }
  return parseDatasetSchema(document.toJS(), source);
}
