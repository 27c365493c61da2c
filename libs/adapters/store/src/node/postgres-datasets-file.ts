import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FedlabError, IDENTIFIER_NAME, type DatasetSchema } from '@fedlab/model';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { loadDatasetSchemaFile } from '../dataset-schema';

/** One fedlab dataset mapped onto a table or view of the ministry's PostgreSQL server (datasets.yaml). */
export interface PostgresDatasetMapping {
  /** The dataset's schema (schema_file): its columns, types and roles. */
  schema: DatasetSchema;
  /** The relation as datasets.yaml names it (`physician_visits` or `public.physician_visits`). */
  table: string;
  /** The relation's name as SQL text, each part quoted (`"public"."physician_visits"`). */
  relation: string;
  /** Columns whose ascending order is the rows' order of import (they must order the rows totally). */
  importOrder: string[];
}

// A PostgreSQL name as the catalog stores it: unquoted in datasets.yaml, so no dot and no double quote.
const RELATION_PART = /^[^."\s]{1,63}$/;

const mappingSchema = z.strictObject({
  dataset: z.string().regex(IDENTIFIER_NAME, { error: 'must be lower snake case (the name of the dataset in its schema)' }),
  schema_file: z.string().min(1),
  table: z.string().refine((t) => t.split('.').length <= 2 && t.split('.').every((part) => RELATION_PART.test(part)), {
    error: 'must be a table or view name, optionally schema-qualified (schema.table), without quotes or spaces',
  }),
  import_order: z.array(z.string()).min(1, { error: 'must name at least one column (the columns that order the rows totally)' }),
});

// Empty (`[]`) on a node whose datasets are all imported (fedlab node import).
const datasetsFileSchema = z.array(mappingSchema, { error: 'must be a list of mappings ([] when every dataset is imported)' });

/**
 * Reads datasets.yaml of a node whose engine is PostgreSQL: a list of `{ dataset, schema_file, table,
 * import_order }`, schema files resolved against the datasets file's folder; `[]` when the node serves
 * imported datasets only.
 *
 * @throws FedlabError CONFIG_INVALID naming the file, the field and the reason (an unreadable file, invalid
 * YAML, a dataset mapped twice, a schema of another dataset, an import-order column the schema does not
 * have); SCHEMA_INVALID from a schema file.
 */
export function loadPostgresDatasetsFile(file: string): PostgresDatasetMapping[] {
  const source = path.basename(file);
  const invalid = (message: string) => new FedlabError('CONFIG_INVALID', `${source}: ${message}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw invalid(`cannot read the datasets file (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    const line = (error as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    throw invalid(`not valid YAML${line === undefined ? '' : ` (line ${line})`}`);
  }
  const parsed = datasetsFileSchema.safeParse(doc);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const where = issue!.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw invalid(`${where.replace(/^\./, '') || 'the file'}: ${issue!.message}`);
  }
  const seen = new Set<string>();
  return parsed.data.map((entry, i) => {
    if (seen.has(entry.dataset)) throw invalid(`[${i}].dataset: "${entry.dataset}" is mapped twice`);
    seen.add(entry.dataset);
    const schema = loadDatasetSchemaFile(path.resolve(path.dirname(file), entry.schema_file));
    if (schema.dataset !== entry.dataset)
      throw invalid(`[${i}].schema_file: ${entry.schema_file} describes dataset "${schema.dataset}", not "${entry.dataset}"`);
    const unknown = entry.import_order.find((name) => !schema.columns.some((c) => c.name === name));
    if (unknown !== undefined) throw invalid(`[${i}].import_order: dataset "${entry.dataset}" has no column "${unknown}"`);
    return {
      schema,
      table: entry.table,
      relation: entry.table
        .split('.')
        .map((part) => `"${part}"`)
        .join('.'),
      importOrder: entry.import_order,
    };
  });
}
