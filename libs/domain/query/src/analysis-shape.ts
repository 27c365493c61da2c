import {
  ANALYSIS_KINDS,
  COMPARISON_METHODS,
  COMPARISON_OPS,
  FedlabError,
  GLM_FAMILIES,
  OUTCOME_COVERAGES,
  OUTCOME_MEASURE_KINDS,
  type Analysis,
  type ComparisonOp,
  type Filter,
  type LinkageAnalysis,
} from '@fedlab/model';

/** Size limits of the query model; they bound the SQL a node runs and the work it does. */
export const QUERY_LIMITS = {
  maxGroupBy: 3,
  minBinEdges: 2,
  maxBinEdges: 101,
  maxFilterDepth: 8,
  maxComparisons: 64,
  maxInValues: 1000,
  maxStringLength: 256,
  defaultExpiresInMinutes: 60,
  maxExpiresInMinutes: 10080,
  maxCovariates: 20,
  maxFactorLevels: 40,
  maxLinkagePasses: 6,
  maxControlsPerCase: 10,
  maxMeasures: 8,
  maxMeasureValue: 10000,
  maxOutcomeSources: 6,
} as const;

/** Operators that take exactly one value. */
export const SINGLE_VALUE_OPS: readonly ComparisonOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
/** Operators that take no value. */
export const NULL_TEST_OPS: readonly ComparisonOp[] = ['is_null', 'not_null'];

/** Formats a field path the way a researcher wrote it: `analysis.filter.and[0].values[1]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, seg) => (typeof seg === 'number' ? `${out}[${seg}]` : out ? `${out}.${String(seg)}` : String(seg)), '');
}

/** Throws INVALID_QUERY naming the field path and the reason. */
export function invalid(path: string, reason: string): never {
  throw new FedlabError('INVALID_QUERY', `${path}: ${reason}`);
}

/**
 * Checks the schema-independent shape of an analysis: known kind and operators, operator arity,
 * group-by and bin limits, filter depth, comparison count, `in` list size, string length, finite numbers.
 * Throws INVALID_QUERY with the authoring field path (`analysis.group_by`, `analysis.filter.and[0]` …).
 */
export function checkAnalysisShape(analysis: Analysis): void {
  if (!ANALYSIS_KINDS.includes(analysis.kind)) invalid('analysis.kind', `expected one of ${ANALYSIS_KINDS.join(', ')}`);
  if (!Array.isArray(analysis.groupBy)) invalid('analysis.group_by', 'expected a list');
  if (analysis.groupBy.length > QUERY_LIMITS.maxGroupBy) invalid('analysis.group_by', `at most ${QUERY_LIMITS.maxGroupBy} columns`);
  if (new Set(analysis.groupBy).size !== analysis.groupBy.length) invalid('analysis.group_by', 'duplicate column');
  if (analysis.kind === 'histogram') checkBins(analysis.bins);
  if (analysis.kind === 'proportion') checkFilterShape(analysis.condition, 'analysis.condition');
  if (analysis.kind === 'glm') checkModelShape(analysis);
  if (analysis.kind === 'linkage') checkLinkageShape(analysis);
  if (analysis.filter !== undefined) checkFilterShape(analysis.filter, 'analysis.filter');
}

function checkModelShape(analysis: Extract<Analysis, { kind: 'glm' }>): void {
  if (!GLM_FAMILIES.includes(analysis.family)) invalid('analysis.family', `expected one of ${GLM_FAMILIES.join(', ')}`);
  if (analysis.groupBy.length > 0) invalid('analysis.group_by', 'not allowed for kind "glm"');
  if (!Array.isArray(analysis.covariates) || analysis.covariates.length === 0) invalid('analysis.covariates', 'at least 1 column');
  if (analysis.covariates.length > QUERY_LIMITS.maxCovariates) invalid('analysis.covariates', `at most ${QUERY_LIMITS.maxCovariates} columns`);
  if (new Set(analysis.covariates).size !== analysis.covariates.length) invalid('analysis.covariates', 'duplicate column');
  if (analysis.covariates.includes(analysis.response)) invalid('analysis.covariates', 'must not include the response');
}

function checkLinkageShape(analysis: LinkageAnalysis): void {
  if (analysis.groupBy.length > 0) invalid('analysis.group_by', 'not allowed for kind "linkage"');
  if (analysis.keys.length === 0 || analysis.keys.length > QUERY_LIMITS.maxLinkagePasses)
    invalid('analysis.keys', `1 to ${QUERY_LIMITS.maxLinkagePasses} key recipes`);
  if (analysis.outcomes.length === 0 || analysis.outcomes.length > QUERY_LIMITS.maxOutcomeSources)
    invalid('analysis.outcomes', `1 to ${QUERY_LIMITS.maxOutcomeSources} outcome sources`);
  const c = analysis.comparison;
  if (c) {
    if (!COMPARISON_METHODS.includes(c.method)) invalid('analysis.comparison.method', `expected one of ${COMPARISON_METHODS.join(', ')}`);
    if (!Number.isInteger(c.controlsPerCase) || c.controlsPerCase < 1 || c.controlsPerCase > QUERY_LIMITS.maxControlsPerCase)
      invalid('analysis.comparison.controls_per_case', `1 to ${QUERY_LIMITS.maxControlsPerCase}`);
    if (c.columns.length === 0 || c.columns.length > QUERY_LIMITS.maxCovariates)
      invalid('analysis.comparison.columns', `1 to ${QUERY_LIMITS.maxCovariates} columns`);
    if (c.pool !== undefined) checkFilterShape(c.pool, 'analysis.comparison.pool');
  }
  analysis.outcomes.forEach((o, i) => {
    if (o.node === analysis.cohortNode) invalid(`analysis.outcomes[${i}].node`, 'an outcome node must not be the cohort node');
    if (!OUTCOME_COVERAGES.includes(o.coverage)) invalid(`analysis.outcomes[${i}].coverage`, `expected one of ${OUTCOME_COVERAGES.join(', ')}`);
    if (o.measures.length === 0 || o.measures.length > QUERY_LIMITS.maxMeasures)
      invalid(`analysis.outcomes[${i}].measures`, `1 to ${QUERY_LIMITS.maxMeasures} measures`);
    o.measures.forEach((m, j) => {
      const at = `analysis.outcomes[${i}].measures[${j}]`;
      if (!OUTCOME_MEASURE_KINDS.includes(m.kind)) invalid(`${at}.kind`, `expected one of ${OUTCOME_MEASURE_KINDS.join(', ')}`);
      if ((m.kind === 'count' || m.kind === 'sum') && !(Number.isInteger(m.max) && m.max! >= 1 && m.max! <= QUERY_LIMITS.maxMeasureValue))
        invalid(`${at}.max`, `1 to ${QUERY_LIMITS.maxMeasureValue}`);
      if ((m.kind === 'sum' || m.kind === 'category') && !m.column) invalid(`${at}.column`, `required for measure kind "${m.kind}"`);
      if (m.filter !== undefined) checkFilterShape(m.filter, `${at}.filter`);
    });
  });
  if (new Set(analysis.outcomes.map((o) => o.node)).size !== analysis.outcomes.length) invalid('analysis.outcomes', 'one outcome source per node');
}

function checkBins(bins: number[]): void {
  if (!Array.isArray(bins)) invalid('analysis.bins', 'expected a list');
  if (bins.length < QUERY_LIMITS.minBinEdges) invalid('analysis.bins', `at least ${QUERY_LIMITS.minBinEdges} edges`);
  if (bins.length > QUERY_LIMITS.maxBinEdges) invalid('analysis.bins', `at most ${QUERY_LIMITS.maxBinEdges} edges`);
  bins.forEach((edge, i) => {
    if (typeof edge !== 'number' || !Number.isFinite(edge)) invalid(`analysis.bins[${i}]`, 'expected a finite number');
    if (i > 0 && edge <= bins[i - 1]!) invalid('analysis.bins', 'edges must be strictly ascending');
  });
}

function checkFilterShape(root: Filter, rootPath: string): void {
  let comparisons = 0;
  const walk = (filter: Filter, path: string, depth: number): void => {
    if (depth > QUERY_LIMITS.maxFilterDepth) invalid(path, `at most ${QUERY_LIMITS.maxFilterDepth} levels of nesting`);
    if (typeof filter !== 'object' || filter === null) invalid(path, 'expected an object');
    if (filter.kind === 'and' || filter.kind === 'or') {
      if (!Array.isArray(filter.items) || filter.items.length === 0) invalid(`${path}.${filter.kind}`, 'at least 1 item');
      filter.items.forEach((item, i) => walk(item, `${path}.${filter.kind}[${i}]`, depth + 1));
      return;
    }
    if (filter.kind !== 'cmp') invalid(path, 'expected and, or or a comparison');
    comparisons += 1;
    if (comparisons > QUERY_LIMITS.maxComparisons) invalid(rootPath, `at most ${QUERY_LIMITS.maxComparisons} comparisons`);
    checkComparisonShape(filter, path);
  };
  walk(root, rootPath, 1);
}

function checkComparisonShape(cmp: Extract<Filter, { kind: 'cmp' }>, path: string): void {
  const { op, values } = cmp;
  if (!COMPARISON_OPS.includes(op)) invalid(`${path}.op`, `expected one of ${COMPARISON_OPS.join(', ')}`);
  if (typeof cmp.column !== 'string') invalid(`${path}.column`, 'expected a string');
  if (!Array.isArray(values)) invalid(`${path}.values`, 'expected a list');
  if (SINGLE_VALUE_OPS.includes(op) && values.length !== 1) invalid(`${path}.values`, `op "${op}" needs exactly 1 value`);
  if (NULL_TEST_OPS.includes(op) && values.length !== 0) invalid(`${path}.values`, `op "${op}" takes no value`);
  if (op === 'between' && values.length !== 2) invalid(`${path}.values`, 'op "between" needs exactly 2 values');
  if (op === 'in' && values.length === 0) invalid(`${path}.values`, 'op "in" needs at least 1 value');
  if (op === 'in' && values.length > QUERY_LIMITS.maxInValues) invalid(`${path}.values`, `at most ${QUERY_LIMITS.maxInValues} values`);
  values.forEach((value, i) => {
    const at = `${path}.values[${i}]`;
    if (typeof value === 'string' && value.length > QUERY_LIMITS.maxStringLength) invalid(at, `at most ${QUERY_LIMITS.maxStringLength} characters`);
    if (typeof value === 'number' && !Number.isFinite(value)) invalid(at, 'expected a finite number');
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') invalid(at, 'expected a string, number or boolean');
  });
}
