import { FedlabError, type DatasetSchema, type Filter, type LinkageAnalysis, type OutcomeSource } from '@fedlab/model';
import { checkAnalysisShape, invalid, QUERY_LIMITS } from './analysis-shape';
import { validateAnalysis } from './validate-analysis';

/** Checks a filter's columns and values against a dataset, as for an aggregate's filter. */
function checkFilter(filter: Filter | undefined, schema: DatasetSchema): void {
  if (filter) validateAnalysis({ kind: 'count', dataset: schema.dataset, groupBy: [], filter }, schema);
}

function attribute(schema: DatasetSchema, name: string, path: string) {
  const column = schema.columns.find((c) => c.name === name);
  if (!column) throw new FedlabError('UNKNOWN_COLUMN', `unknown column "${name}" in dataset "${schema.dataset}"`);
  if (column.role === 'identifier' || column.name === schema.person)
    throw new FedlabError('IDENTIFIER_NOT_ALLOWED', `column "${name}" is an identifier and cannot be used ${path}`);
  return column;
}

/**
 * Checks the cohort node's part of a linkage study against its dataset: the cohort filter, the
 * comparison columns and pool. Identifier columns appear only in key recipes.
 */
export function validateCohortSide(analysis: LinkageAnalysis, schema: DatasetSchema): void {
  checkAnalysisShape(analysis);
  if (analysis.dataset !== schema.dataset) invalid('analysis.dataset', `does not name dataset "${schema.dataset}"`);
  checkFilter(analysis.filter, schema);
  const comparison = analysis.comparison;
  if (comparison) {
    comparison.columns.forEach((name) => {
      const column = attribute(schema, name, 'to choose a comparison group');
      if (column.type === 'date') invalid('analysis.comparison.columns', `column "${name}" is a date and cannot be matched on`);
    });
    checkFilter(comparison.pool, schema);
  }
}

/** Checks an outcome node's measures against its dataset. */
export function validateOutcomeSide(source: OutcomeSource, schema: DatasetSchema): void {
  if (source.dataset !== schema.dataset) invalid('analysis.outcomes.dataset', `does not name dataset "${schema.dataset}"`);
  source.measures.forEach((measure, j) => {
    checkFilter(measure.filter, schema);
    if (measure.column === undefined) return;
    const column = attribute(schema, measure.column, 'as a measure');
    const at = `analysis.outcomes.measures[${j}].column`;
    if (measure.kind === 'sum' && column.type !== 'integer' && column.type !== 'real')
      invalid(at, `a sum needs a numeric column; "${column.name}" is ${column.type}`);
    if (measure.kind === 'category') {
      const levels = column.type === 'boolean' ? 2 : (column.values?.length ?? 0);
      if (levels === 0) invalid(at, `column "${column.name}" has no declared values and cannot be a category measure`);
      if (levels > QUERY_LIMITS.maxFactorLevels) invalid(at, `column "${column.name}" has ${levels} values; at most ${QUERY_LIMITS.maxFactorLevels}`);
    }
  });
}

/** The declared values of a category measure's column, in order (booleans as false, true). */
export function categoryLevels(schema: DatasetSchema, column: string): string[] {
  const c = schema.columns.find((x) => x.name === column)!;
  return c.type === 'boolean' ? ['false', 'true'] : [...(c.values ?? [])];
}

/** One entry of an outcome node's per-person value vector. */
export interface ValueEntry {
  /** The measure it belongs to. */
  measure: string;
  /** `events`: 0/1 per person; `sum` and `sumSquares`: the capped per-person value and its square. */
  stat: 'events' | 'sum' | 'sumSquares';
  /** For a category measure: the category this indicator is for. */
  level?: string;
  /** Largest per-person value of the entry (bounds the decoded sum). */
  max: number;
}

/**
 * The layout of an outcome source's value vector (DESIGN.md §7.4 "value vectors"): `any` → one
 * indicator; `count` and `sum` → the capped per-person value and its square (for a mean and its
 * CI); `category` → one indicator per declared value.
 */
export function valueLayout(source: OutcomeSource, schema: DatasetSchema): ValueEntry[] {
  return source.measures.flatMap((m): ValueEntry[] => {
    switch (m.kind) {
      case 'any':
        return [{ measure: m.name, stat: 'events', max: 1 }];
      case 'count':
      case 'sum':
        return [
          { measure: m.name, stat: 'sum', max: m.max! },
          { measure: m.name, stat: 'sumSquares', max: m.max! * m.max! },
        ];
      case 'category':
        return categoryLevels(schema, m.column!).map((level) => ({ measure: m.name, stat: 'events', level, max: 1 }));
    }
  });
}
