import { z } from 'zod';
import {
  ANALYSIS_KINDS,
  COMPARISON_OPS,
  COMPARISON_METHODS,
  GLM_FAMILIES,
  IDENTIFIER_NAME,
  OUTCOME_COVERAGES,
  OUTCOME_MEASURE_KINDS,
  PURPOSES,
  type Analysis,
  type AnalysisKind,
  type Filter,
  type LinkageAnalysis,
  type OutcomeMeasure,
  type OutcomeSource,
  type Purpose,
} from '@fedlab/model';
import { NULL_TEST_OPS, QUERY_LIMITS, SINGLE_VALUE_OPS, checkAnalysisShape, formatPath, invalid } from './analysis-shape';

/** A query as a researcher authored it, validated and converted to model terms. */
export interface QueryDocument {
  projectId: string;
  purpose: Purpose;
  /** Target node ids, unique. */
  nodes: string[];
  expiresInMinutes: number;
  /** Pooled over the nodes by secure aggregation (required for models). */
  pooled: boolean;
  analysis: Analysis;
  /**
   * The privacy budget the query spends at each node: ρ itself, or the standard deviation the
   * researcher wants on the noise of each count (or sum, in the column's units), from which the
   * client derives ρ with the dataset's public bounds (see rhoForStandardError). Absent: none stated.
   */
  privacy?: { rho: number } | { standardError: number };
}

const name = z.string().regex(IDENTIFIER_NAME, 'expected a lower snake case name (a-z, 0-9, _; at most 63 characters)');
const nodeId = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a node id (a-z, 0-9, - or _, starting with a letter)');
const scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' });

const documentSchema = z.strictObject({
  project: z.string().min(1, 'must not be empty').max(QUERY_LIMITS.maxStringLength, `at most ${QUERY_LIMITS.maxStringLength} characters`),
  purpose: z.enum(PURPOSES),
  nodes: z
    .array(nodeId)
    .min(1, 'at least 1 node')
    .refine((ids) => new Set(ids).size === ids.length, 'duplicate node'),
  expires_in_minutes: z
    .number()
    .int('expected a whole number of minutes')
    .min(1, 'at least 1 minute')
    .max(QUERY_LIMITS.maxExpiresInMinutes, `at most ${QUERY_LIMITS.maxExpiresInMinutes} minutes (7 days)`)
    .default(QUERY_LIMITS.defaultExpiresInMinutes),
  pooled: z.boolean().default(false),
  privacy: z
    .strictObject({
      rho: z.number().positive('must be a positive number').max(1000, 'at most 1000').optional(),
      standard_error: z.number().positive('must be a positive number').optional(),
    })
    .optional(),
  analysis: z.strictObject({
    // An evaluation carries a sealed client list: `fedlab evaluate submit` builds it, never a query document.
    kind: z.enum(
      ANALYSIS_KINDS.filter((kind) => kind !== 'evaluation') as [Exclude<AnalysisKind, 'evaluation'>, ...Array<Exclude<AnalysisKind, 'evaluation'>>],
    ),
    dataset: name,
    column: name.optional(),
    group_by: z.array(name).optional(),
    bins: z.array(z.number()).optional(),
    condition: z.unknown().optional(),
    filter: z.unknown().optional(),
    family: z.enum(GLM_FAMILIES).optional(),
    response: name.optional(),
    covariates: z.array(name).optional(),
    cohort_node: nodeId.optional(),
    keys: z.array(name).min(1, 'at least 1 key recipe').max(QUERY_LIMITS.maxLinkagePasses, `at most ${QUERY_LIMITS.maxLinkagePasses} key recipes`).optional(),
    comparison: z
      .strictObject({
        method: z.enum(COMPARISON_METHODS),
        columns: z.array(name).min(1, 'at least 1 column').max(QUERY_LIMITS.maxCovariates, `at most ${QUERY_LIMITS.maxCovariates} columns`),
        controls_per_case: z
          .number()
          .int('expected an integer')
          .min(1, 'at least 1')
          .max(QUERY_LIMITS.maxControlsPerCase, `at most ${QUERY_LIMITS.maxControlsPerCase}`)
          .default(1),
        pool: z.unknown().optional(),
      })
      .optional(),
    outcomes: z
      .array(
        z.strictObject({
          node: nodeId,
          dataset: name,
          coverage: z.enum(OUTCOME_COVERAGES),
          measures: z
            .array(
              z.strictObject({
                name,
                kind: z.enum(OUTCOME_MEASURE_KINDS),
                filter: z.unknown().optional(),
                column: name.optional(),
                max: z
                  .number()
                  .int('expected an integer')
                  .min(1, 'at least 1')
                  .max(QUERY_LIMITS.maxMeasureValue, `at most ${QUERY_LIMITS.maxMeasureValue}`)
                  .optional(),
              }),
            )
            .min(1, 'at least 1 measure')
            .max(QUERY_LIMITS.maxMeasures, `at most ${QUERY_LIMITS.maxMeasures} measures`),
        }),
      )
      .min(1, 'at least 1 outcome source')
      .optional(),
  }),
});

const andSchema = z.strictObject({ and: z.array(z.unknown()) });
const orSchema = z.strictObject({ or: z.array(z.unknown()) });
const comparisonSchema = z.strictObject({
  column: name,
  op: z.enum(COMPARISON_OPS),
  value: scalar.optional(),
  values: z.array(scalar).max(QUERY_LIMITS.maxInValues, `at most ${QUERY_LIMITS.maxInValues} values`).optional(),
});

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  array: 'a list',
  object: 'an object',
};
/** Unknown keys are echoed only when they look like plain field names. */
const ECHOABLE_KEY = /^[A-Za-z0-9_]{1,64}$/;

function describeIssue(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'unrecognized_keys': {
      const keys = issue.keys.filter((key) => ECHOABLE_KEY.test(key));
      return keys.length === 0 ? 'unknown key' : `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((key) => `"${key}"`).join(', ')}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `at least ${String(issue.minimum)}`;
    case 'too_big':
      return `at most ${String(issue.maximum)}`;
    default:
      return 'invalid value';
  }
}

function parseWith<T extends z.ZodType>(schema: T, input: unknown, path: PropertyKey[]): z.output<T> {
  const parsed = schema.safeParse(input, { error: describeIssue });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  return invalid(formatPath([...path, ...issue.path]) || 'document', issue.message);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function parseFilter(input: unknown, path: PropertyKey[], depth: number, budget: { root: string; comparisons: number }): Filter {
  const at = formatPath(path);
  if (depth > QUERY_LIMITS.maxFilterDepth) invalid(at, `at most ${QUERY_LIMITS.maxFilterDepth} levels of nesting`);
  if (!isRecord(input)) invalid(at, 'expected {and: [...]}, {or: [...]} or a comparison {column, op, value | values}');
  if ('and' in input || 'or' in input) {
    const kind = 'and' in input ? 'and' : 'or';
    const parsed: Record<string, unknown[]> = parseWith(kind === 'and' ? andSchema : orSchema, input, path);
    const items = parsed[kind]!;
    if (items.length === 0) invalid(`${at}.${kind}`, 'at least 1 item');
    return { kind, items: items.map((item, i) => parseFilter(item, [...path, kind, i], depth + 1, budget)) };
  }
  const cmp = parseWith(comparisonSchema, input, path);
  budget.comparisons += 1;
  if (budget.comparisons > QUERY_LIMITS.maxComparisons) invalid(budget.root, `at most ${QUERY_LIMITS.maxComparisons} comparisons`);
  if (SINGLE_VALUE_OPS.includes(cmp.op)) {
    if (cmp.values !== undefined) invalid(`${at}.values`, `not allowed with op "${cmp.op}" (use value)`);
    if (cmp.value === undefined) invalid(`${at}.value`, `required with op "${cmp.op}"`);
    return { kind: 'cmp', column: cmp.column, op: cmp.op, values: [cmp.value] };
  }
  if (cmp.value !== undefined) invalid(`${at}.value`, `not allowed with op "${cmp.op}"${NULL_TEST_OPS.includes(cmp.op) ? '' : ' (use values)'}`);
  if (NULL_TEST_OPS.includes(cmp.op)) {
    if (cmp.values !== undefined) invalid(`${at}.values`, `not allowed with op "${cmp.op}"`);
    return { kind: 'cmp', column: cmp.column, op: cmp.op, values: [] };
  }
  if (cmp.values === undefined) invalid(`${at}.values`, `required with op "${cmp.op}"`);
  return { kind: 'cmp', column: cmp.column, op: cmp.op, values: cmp.values };
}

const parseTree = (input: unknown, field: 'filter' | 'condition'): Filter =>
  parseFilter(input, ['analysis', field], 1, { root: `analysis.${field}`, comparisons: 0 });
const parseTreeAt = (input: unknown, path: PropertyKey[]): Filter => parseFilter(input, path, 1, { root: formatPath(path), comparisons: 0 });

type ParsedAnalysis = z.output<typeof documentSchema>['analysis'];
const LINKAGE_FIELDS = ['cohort_node', 'keys', 'comparison', 'outcomes'] as const;

/** The linkage-only fields of a study, converted; `nodes` must be exactly the cohort node and the outcome nodes. */
function parseLinkage(a: ParsedAnalysis, nodes: string[]): Pick<LinkageAnalysis, 'cohortNode' | 'keys' | 'comparison' | 'outcomes'> {
  for (const field of ['cohort_node', 'keys', 'outcomes'] as const) if (a[field] === undefined) invalid(`analysis.${field}`, 'required for kind "linkage"');
  if (a.group_by !== undefined && a.group_by.length > 0) invalid('analysis.group_by', 'not allowed for kind "linkage"');
  if (new Set(a.keys).size !== a.keys!.length) invalid('analysis.keys', 'duplicate key recipe');
  const outcomes: OutcomeSource[] = a.outcomes!.map((o, i) => {
    const at = ['analysis', 'outcomes', i];
    if (o.node === a.cohort_node) invalid(formatPath([...at, 'node']), 'an outcome node must not be the cohort node');
    const names = new Set<string>();
    const measures: OutcomeMeasure[] = o.measures.map((m, j) => {
      const path = formatPath([...at, 'measures', j]);
      if (names.has(m.name)) invalid(`${path}.name`, `duplicate measure name "${m.name}"`);
      names.add(m.name);
      const needsColumn = m.kind === 'sum' || m.kind === 'category';
      if (needsColumn && m.column === undefined) invalid(`${path}.column`, `required for measure kind "${m.kind}"`);
      if (!needsColumn && m.column !== undefined) invalid(`${path}.column`, `not allowed for measure kind "${m.kind}"`);
      const needsMax = m.kind === 'sum' || m.kind === 'count';
      if (needsMax && m.max === undefined) invalid(`${path}.max`, `required for measure kind "${m.kind}" (the per-person cap)`);
      if (!needsMax && m.max !== undefined) invalid(`${path}.max`, `not allowed for measure kind "${m.kind}"`);
      return {
        name: m.name,
        kind: m.kind,
        ...(m.filter === undefined ? {} : { filter: parseTreeAt(m.filter, [...at, 'measures', j, 'filter']) }),
        ...(m.column === undefined ? {} : { column: m.column }),
        ...(m.max === undefined ? {} : { max: m.max }),
      };
    });
    return { node: o.node, dataset: o.dataset, coverage: o.coverage, measures };
  });
  const expected = new Set([a.cohort_node!, ...outcomes.map((o) => o.node)]);
  if (expected.size !== nodes.length || nodes.some((n) => !expected.has(n))) {
    invalid('nodes', `a linkage study names exactly its cohort node and its outcome nodes (${[...expected].join(', ')})`);
  }
  const c = a.comparison;
  return {
    cohortNode: a.cohort_node!,
    keys: a.keys!,
    outcomes,
    ...(c === undefined
      ? {}
      : {
          comparison: {
            method: c.method,
            columns: c.columns,
            controlsPerCase: c.controls_per_case,
            ...(c.pool === undefined ? {} : { pool: parseTreeAt(c.pool, ['analysis', 'comparison', 'pool']) }),
          },
        }),
  };
}

const NEEDS_COLUMN: readonly AnalysisKind[] = ['sum', 'mean', 'variance', 'histogram'];

/**
 * Validates a query document as a researcher writes it in YAML or JSON (snake_case keys) and converts
 * it to model terms: a comparison's `value` becomes `values: [value]`, `group_by` defaults to `[]` and
 * `expires_in_minutes` to 60. Checks only what needs no dataset schema; the node checks the rest with
 * {@link validateAnalysis}.
 *
 * @throws FedlabError INVALID_QUERY with `<field path>: <reason>`, e.g. `analysis.group_by: at most 3 columns`.
 */
export function parseQueryDocument(doc: unknown): QueryDocument {
  const parsed = parseWith(documentSchema, doc, []);
  const a = parsed.analysis;
  const needsColumn = NEEDS_COLUMN.includes(a.kind);
  if (needsColumn && a.column === undefined) invalid('analysis.column', `required for kind "${a.kind}"`);
  if (!needsColumn && a.column !== undefined) invalid('analysis.column', `not allowed for kind "${a.kind}"`);
  if (a.kind === 'histogram' && a.bins === undefined) invalid('analysis.bins', 'required for kind "histogram"');
  if (a.kind !== 'histogram' && a.bins !== undefined) invalid('analysis.bins', `not allowed for kind "${a.kind}"`);
  if (a.kind === 'proportion' && a.condition === undefined) invalid('analysis.condition', 'required for kind "proportion"');
  if (a.kind !== 'proportion' && a.condition !== undefined) invalid('analysis.condition', `not allowed for kind "${a.kind}"`);
  const isModel = a.kind === 'glm';
  for (const field of ['family', 'response', 'covariates'] as const) {
    if (isModel && a[field] === undefined) invalid(`analysis.${field}`, 'required for kind "glm"');
    if (!isModel && a[field] !== undefined) invalid(`analysis.${field}`, `not allowed for kind "${a.kind}"`);
  }
  const isLinkage = a.kind === 'linkage';
  if (!isLinkage) for (const field of LINKAGE_FIELDS) if (a[field] !== undefined) invalid(`analysis.${field}`, `not allowed for kind "${a.kind}"`);
  if (isLinkage && parsed.pooled) invalid('pooled', 'a linkage study is composed by the coordinator; do not set pooled');
  if (isModel && !parsed.pooled) invalid('pooled', 'a glm is fitted over the pooled rows of its nodes; set pooled: true');
  if (parsed.pooled && parsed.nodes.length < 2) invalid('nodes', 'a pooled query needs at least 2 nodes');
  const base = {
    dataset: a.dataset,
    groupBy: a.group_by ?? [],
    ...(a.filter === undefined ? {} : { filter: parseTree(a.filter, 'filter') }),
  };
  const analysis: Analysis =
    a.kind === 'count'
      ? { ...base, kind: a.kind }
      : a.kind === 'proportion'
        ? { ...base, kind: a.kind, condition: parseTree(a.condition, 'condition') }
        : a.kind === 'histogram'
          ? { ...base, kind: a.kind, column: a.column!, bins: a.bins! }
          : a.kind === 'glm'
            ? { ...base, kind: a.kind, family: a.family!, response: a.response!, covariates: a.covariates! }
            : a.kind === 'linkage'
              ? { ...base, kind: a.kind, ...parseLinkage(a, parsed.nodes) }
              : { ...base, kind: a.kind as 'sum' | 'mean' | 'variance', column: a.column! };
  checkAnalysisShape(analysis);
  const privacy = parsed.privacy;
  if (privacy && (privacy.rho === undefined) === (privacy.standard_error === undefined)) invalid('privacy', 'give exactly one of rho and standard_error');
  return {
    ...(privacy?.rho !== undefined
      ? { privacy: { rho: privacy.rho } }
      : privacy?.standard_error !== undefined
        ? { privacy: { standardError: privacy.standard_error } }
        : {}),
    projectId: parsed.project,
    purpose: parsed.purpose,
    nodes: parsed.nodes,
    expiresInMinutes: parsed.expires_in_minutes,
    pooled: parsed.pooled,
    analysis,
  };
}
