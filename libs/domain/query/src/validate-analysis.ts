import { FedlabError, IDENTIFIER_NAME, type Analysis, type ColumnSchema, type ColumnType, type DatasetSchema, type Filter, type Scalar } from '@fedlab/model';
import { QUERY_LIMITS, checkAnalysisShape, invalid } from './analysis-shape';

/** Where a column is used in an analysis; identifier columns may be used nowhere. */
type ColumnUse = 'filter' | 'group-by' | 'measure' | 'condition';

const USE_PHRASES: Record<ColumnUse, string> = {
  filter: 'in a filter',
  'group-by': 'in a group-by',
  measure: 'as a measure',
  condition: 'in a condition',
};
const ORDERED_OPS = new Set(['lt', 'le', 'gt', 'ge', 'between']);
const TYPE_PHRASES: Record<ColumnType, string> = {
  text: 'a string',
  integer: 'an integer',
  real: 'a number',
  date: 'a date',
  boolean: 'a boolean',
};
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Returns true when `value` is an ISO `YYYY-MM-DD` string naming a real calendar date. */
export function isIsoDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const isNumeric = (column: ColumnSchema): boolean => column.type === 'integer' || column.type === 'real';

function matchesType(type: ColumnType, value: Scalar): boolean {
  switch (type) {
    case 'integer':
      return Number.isSafeInteger(value);
    case 'real':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'text':
    case 'date':
      return typeof value === 'string';
  }
}

/** Orders two values of one column type the way SQLite compares them (numbers; text and ISO dates bytewise). */
function compareValues(a: Scalar, b: Scalar): number {
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return Number(a) - Number(b);
}

/** Whether a column's values may appear as group keys: categorical text, booleans and integers. */
export function isGroupable(column: ColumnSchema): boolean {
  return column.type === 'boolean' || column.type === 'integer' || (column.type === 'text' && (column.values?.length ?? 0) > 0);
}

/**
 * Checks an analysis against the schema of the dataset it names, in this order: shape and limits,
 * the dataset name, group-by columns, the measured column, the proportion condition, the filter.
 * Declared categorical value sets are not enforced: a value outside the set simply matches nothing.
 * Looking up the schema (and refusing an unknown dataset) is the caller's job.
 *
 * @throws FedlabError with code
 * - `UNKNOWN_COLUMN`: `unknown column "x" in dataset "d"`, or `invalid column name` when the name is not
 *   a lower snake case identifier (such names are never echoed);
 * - `IDENTIFIER_NOT_ALLOWED`: `column "c" is an identifier and cannot be used in a filter` (in a group-by,
 *   as a measure, in a condition);
 * - `TYPE_MISMATCH`: `column "c" is integer; value at analysis.filter.values[0] is not an integer` (values are never echoed);
 * - `INVALID_QUERY`: shape and limit violations, group-by on a column that is not {@link isGroupable}, operators that make no sense for the column type,
 *   non-numeric measures, `between` with lower > upper, and date values that are not real `YYYY-MM-DD` dates.
 */
export function validateAnalysis(analysis: Analysis, schema: DatasetSchema): void {
  checkAnalysisShape(analysis);
  if (analysis.dataset !== schema.dataset) invalid('analysis.dataset', `does not name dataset "${schema.dataset}"`);
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const resolve = (name: string, use: ColumnUse): ColumnSchema => {
    if (typeof name !== 'string' || !IDENTIFIER_NAME.test(name)) throw new FedlabError('UNKNOWN_COLUMN', 'invalid column name');
    const column = columns.get(name);
    if (!column) throw new FedlabError('UNKNOWN_COLUMN', `unknown column "${name}" in dataset "${schema.dataset}"`);
    if (column.role === 'identifier' || column.name === schema.person) {
      throw new FedlabError('IDENTIFIER_NOT_ALLOWED', `column "${column.name}" is an identifier and cannot be used ${USE_PHRASES[use]}`);
    }
    return column;
  };
  analysis.groupBy.forEach((name, i) => {
    const column = resolve(name, 'group-by');
    // A released or suppressed cell shows its key, so group keys must come from a small, public
    // domain: declared categories, booleans or integers. Exact amounts, dates and free text would
    // publish the values of the people in small cells; those columns are binned with a histogram.
    if (!isGroupable(column)) {
      const what = column.type === 'text' ? 'free text (no declared values)' : column.type;
      invalid(`analysis.group_by[${i}]`, `column "${column.name}" is ${what} and cannot be grouped by; use a histogram or a filter`);
    }
  });
  if (analysis.kind === 'sum' || analysis.kind === 'mean' || analysis.kind === 'variance' || analysis.kind === 'histogram') {
    const column = resolve(analysis.column, 'measure');
    if (!isNumeric(column)) invalid('analysis.column', `${analysis.kind} needs a numeric column; "${column.name}" is ${column.type}`);
  }
  const checkTree = (filter: Filter, path: string, use: ColumnUse): void => {
    if (filter.kind !== 'cmp') {
      filter.items.forEach((item, i) => checkTree(item, `${path}.${filter.kind}[${i}]`, use));
      return;
    }
    const column = resolve(filter.column, use);
    if (ORDERED_OPS.has(filter.op) && column.type === 'boolean') invalid(path, `op "${filter.op}" cannot be used on boolean column "${column.name}"`);
    filter.values.forEach((value, i) => {
      const at = `${path}.values[${i}]`;
      if (!matchesType(column.type, value)) {
        throw new FedlabError('TYPE_MISMATCH', `column "${column.name}" is ${column.type}; value at ${at} is not ${TYPE_PHRASES[column.type]}`);
      }
      if (column.type === 'date' && !isIsoDate(value as string)) {
        throw new FedlabError('INVALID_QUERY', `column "${column.name}" is date; value at ${at} is not a real date in YYYY-MM-DD form`);
      }
    });
    if (filter.op === 'between' && compareValues(filter.values[0]!, filter.values[1]!) > 0) {
      invalid(`${path}.values`, 'lower bound is greater than upper bound');
    }
  };
  if (analysis.kind === 'glm') {
    const response = resolve(analysis.response, 'measure');
    if (!isNumeric(response) && response.type !== 'boolean')
      invalid('analysis.response', `a model needs a numeric or boolean response; "${response.name}" is ${response.type}`);
    analysis.covariates.forEach((name, i) => {
      const column = resolve(name, 'measure');
      const levels = column.values?.length ?? 0;
      if (column.type === 'text' && levels === 0)
        invalid(`analysis.covariates[${i}]`, `column "${column.name}" is free text (no declared values) and cannot be a covariate`);
      if (column.type === 'date') invalid(`analysis.covariates[${i}]`, `column "${column.name}" is a date and cannot be a covariate`);
      if (levels > QUERY_LIMITS.maxFactorLevels) {
        invalid(`analysis.covariates[${i}]`, `column "${column.name}" has ${levels} levels; a factor may have at most ${QUERY_LIMITS.maxFactorLevels}`);
      }
    });
  }
  if (analysis.kind === 'proportion') checkTree(analysis.condition, 'analysis.condition', 'condition');
  if (analysis.filter !== undefined) checkTree(analysis.filter, 'analysis.filter', 'filter');
}

/**
 * The extra rule of pooled queries: every group-by column has a published value set (declared
 * categories or booleans), so all nodes lay out the same cells before anything is masked and no
 * node's cell keys reveal which values occur in its data.
 *
 * @throws FedlabError INVALID_QUERY `analysis.group_by[i]: pooled queries group only by columns with declared values; "c" is integer`.
 */
export function validatePooledAnalysis(analysis: Analysis, schema: DatasetSchema): void {
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  analysis.groupBy.forEach((name, i) => {
    const column = columns.get(name)!;
    if (column.type !== 'boolean' && (column.values?.length ?? 0) === 0) {
      invalid(`analysis.group_by[${i}]`, `pooled queries group only by columns with declared values; "${column.name}" is ${column.type}`);
    }
  });
}
