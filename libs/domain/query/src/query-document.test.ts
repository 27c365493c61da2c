import { describe, expect, it, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { isFedlabError } from '@fedlab/model';
import { parseQueryDocument } from './query-document';

const EXAMPLE = `
project: proj-fasd-2026
purpose: research
nodes: [health, education]
expires_in_minutes: 90
analysis:
  kind: mean
  dataset: health_visits
  column: cost
  group_by: [sex, region]
  filter:
    and:
      - {column: birth_year, op: between, values: [2000, 2010]}
      - or:
          - {column: sex, op: eq, value: F}
          - {column: region, op: in, values: [north, south]}
          - {column: discharge_date, op: is_null}
`;

const base = { project: 'proj-fasd-2026', purpose: 'research', nodes: ['health'] };
const withAnalysis = (analysis: Record<string, unknown>): Record<string, unknown> => ({ ...base, analysis });
const count = (extra: Record<string, unknown> = {}): Record<string, unknown> => withAnalysis({ kind: 'count', dataset: 'visits', ...extra });
const cmp = (column = 'sex'): Record<string, unknown> => ({ column, op: 'eq', value: 'F' });
const nested = (depth: number): Record<string, unknown> => (depth === 1 ? cmp() : { and: [nested(depth - 1)] });

function expectInvalid(doc: unknown, message: string): void {
  let thrown: unknown;
  try {
    parseQueryDocument(doc);
  } catch (error) {
    thrown = error;
  }
  expect(isFedlabError(thrown, 'INVALID_QUERY'), `expected INVALID_QUERY, got ${String(thrown)}`).toBe(true);
  expect((thrown as Error).message).toBe(message);
}

describe('parseQueryDocument', () => {
  test('converts the authoring format to model terms', () => {
    expect(parseQueryDocument(parseYaml(EXAMPLE))).toEqual({
      projectId: 'proj-fasd-2026',
      purpose: 'research',
      nodes: ['health', 'education'],
      expiresInMinutes: 90,
      pooled: false,
      analysis: {
        kind: 'mean',
        dataset: 'health_visits',
        column: 'cost',
        groupBy: ['sex', 'region'],
        filter: {
          kind: 'and',
          items: [
            { kind: 'cmp', column: 'birth_year', op: 'between', values: [2000, 2010] },
            {
              kind: 'or',
              items: [
                { kind: 'cmp', column: 'sex', op: 'eq', values: ['F'] },
                { kind: 'cmp', column: 'region', op: 'in', values: ['north', 'south'] },
                { kind: 'cmp', column: 'discharge_date', op: 'is_null', values: [] },
              ],
            },
          ],
        },
      },
    });
  });

  test('defaults expiry to 60 minutes and group-by to none', () => {
    const doc = parseQueryDocument(count());
    expect(doc.expiresInMinutes).toBe(60);
    expect(doc.analysis).toEqual({ kind: 'count', dataset: 'visits', groupBy: [] });
  });

  test('parses proportion conditions and histogram bins', () => {
    expect(
      parseQueryDocument(withAnalysis({ kind: 'proportion', dataset: 'visits', condition: { column: 'icd10', op: 'eq', value: 'Q86.0' } })).analysis,
    ).toEqual({
      kind: 'proportion',
      dataset: 'visits',
      groupBy: [],
      condition: { kind: 'cmp', column: 'icd10', op: 'eq', values: ['Q86.0'] },
    });
    expect(parseQueryDocument(withAnalysis({ kind: 'histogram', dataset: 'visits', column: 'cost', bins: [0, 10, 20.5] })).analysis).toEqual({
      kind: 'histogram',
      dataset: 'visits',
      groupBy: [],
      column: 'cost',
      bins: [0, 10, 20.5],
    });
  });

  test('accepts 8 levels of nesting and 64 comparisons', () => {
    expect(() => parseQueryDocument(count({ filter: nested(8) }))).not.toThrow();
    expect(() => parseQueryDocument(count({ filter: { or: Array.from({ length: 64 }, () => cmp()) } }))).not.toThrow();
  });

  test.each<[string, unknown, string]>([
    ['a non-object document', 'select *', 'document: expected an object'],
    ['a missing field', { purpose: 'research', nodes: ['health'], analysis: { kind: 'count', dataset: 'visits' } }, 'project: required'],
    ['an unknown top-level key', { ...count(), priority: 'high' }, 'document: unknown key "priority"'],
    ['an empty project', { ...count(), project: '' }, 'project: must not be empty'],
    [
      'an unknown purpose',
      { ...count(), purpose: 'curiosity' },
      'purpose: expected one of research, statistics, program_evaluation, policy_planning, enforcement, immigration_control, individual_investigation, fraud_targeting',
    ],
    ['no nodes', { ...count(), nodes: [] }, 'nodes: at least 1 node'],
    ['a duplicate node', { ...count(), nodes: ['health', 'health'] }, 'nodes: duplicate node'],
    ['a malformed node id', { ...count(), nodes: ['Health Ministry'] }, 'nodes[0]: expected a node id (a-z, 0-9, - or _, starting with a letter)'],
    ['a zero expiry', { ...count(), expires_in_minutes: 0 }, 'expires_in_minutes: at least 1 minute'],
    ['an expiry beyond 7 days', { ...count(), expires_in_minutes: 10081 }, 'expires_in_minutes: at most 10080 minutes (7 days)'],
    ['a fractional expiry', { ...count(), expires_in_minutes: 1.5 }, 'expires_in_minutes: expected a whole number of minutes'],
    ['a textual expiry', { ...count(), expires_in_minutes: '60' }, 'expires_in_minutes: expected a number'],
    [
      'an unknown kind',
      withAnalysis({ kind: 'median', dataset: 'visits' }),
      'analysis.kind: expected one of count, sum, mean, variance, proportion, histogram, glm, linkage',
    ],
    [
      'an evaluation (submitted with fedlab evaluate)',
      withAnalysis({ kind: 'evaluation', dataset: 'visits' }),
      'analysis.kind: expected one of count, sum, mean, variance, proportion, histogram, glm, linkage',
    ],
    [
      'a malformed dataset name',
      withAnalysis({ kind: 'count', dataset: 'Visits; DROP' }),
      'analysis.dataset: expected a lower snake case name (a-z, 0-9, _; at most 63 characters)',
    ],
    ['an unknown analysis key', count({ colum: 'cost' }), 'analysis: unknown key "colum"'],
    ['an unknown key that is not a plain name', count({ 'x"; DROP TABLE t; --': 1 }), 'analysis: unknown key'],
    ['a measure without column', withAnalysis({ kind: 'mean', dataset: 'visits' }), 'analysis.column: required for kind "mean"'],
    ['a count with a column', count({ column: 'cost' }), 'analysis.column: not allowed for kind "count"'],
    ['a histogram without bins', withAnalysis({ kind: 'histogram', dataset: 'visits', column: 'cost' }), 'analysis.bins: required for kind "histogram"'],
    ['bins outside a histogram', withAnalysis({ kind: 'sum', dataset: 'visits', column: 'cost', bins: [0, 1] }), 'analysis.bins: not allowed for kind "sum"'],
    ['a proportion without condition', withAnalysis({ kind: 'proportion', dataset: 'visits' }), 'analysis.condition: required for kind "proportion"'],
    ['a condition outside a proportion', count({ condition: cmp() }), 'analysis.condition: not allowed for kind "count"'],
    ['four group-by columns', count({ group_by: ['a', 'b', 'c', 'd'] }), 'analysis.group_by: at most 3 columns'],
    ['a repeated group-by column', count({ group_by: ['sex', 'sex'] }), 'analysis.group_by: duplicate column'],
    [
      'a malformed group-by column',
      count({ group_by: ['sex" FROM t; --'] }),
      'analysis.group_by[0]: expected a lower snake case name (a-z, 0-9, _; at most 63 characters)',
    ],
    ['a single bin edge', withAnalysis({ kind: 'histogram', dataset: 'visits', column: 'cost', bins: [0] }), 'analysis.bins: at least 2 edges'],
    [
      '102 bin edges',
      withAnalysis({ kind: 'histogram', dataset: 'visits', column: 'cost', bins: Array.from({ length: 102 }, (_, i) => i) }),
      'analysis.bins: at most 101 edges',
    ],
    [
      'descending bin edges',
      withAnalysis({ kind: 'histogram', dataset: 'visits', column: 'cost', bins: [0, 10, 10] }),
      'analysis.bins: edges must be strictly ascending',
    ],
    ['a textual bin edge', withAnalysis({ kind: 'histogram', dataset: 'visits', column: 'cost', bins: [0, '10'] }), 'analysis.bins[1]: expected a number'],
    ['a filter that is a list', count({ filter: [cmp()] }), 'analysis.filter: expected {and: [...]}, {or: [...]} or a comparison {column, op, value | values}'],
    ['an empty and', count({ filter: { and: [] } }), 'analysis.filter.and: at least 1 item'],
    ['and and or in one node', count({ filter: { and: [cmp()], or: [cmp()] } }), 'analysis.filter: unknown key "or"'],
    ['an unknown comparison key', count({ filter: { and: [{ ...cmp(), vale: 'F' }] } }), 'analysis.filter.and[0]: unknown key "vale"'],
    [
      'an unknown operator',
      count({ filter: { column: 'sex', op: 'like', value: 'F%' } }),
      'analysis.filter.op: expected one of eq, ne, lt, le, gt, ge, in, between, is_null, not_null',
    ],
    ['a comparison without column', count({ filter: { op: 'eq', value: 'F' } }), 'analysis.filter.column: required'],
    ['eq without value', count({ filter: { column: 'sex', op: 'eq' } }), 'analysis.filter.value: required with op "eq"'],
    ['eq with values', count({ filter: { column: 'sex', op: 'eq', values: ['F'] } }), 'analysis.filter.values: not allowed with op "eq" (use value)'],
    ['in with value', count({ filter: { column: 'sex', op: 'in', value: 'F' } }), 'analysis.filter.value: not allowed with op "in" (use values)'],
    ['in without values', count({ filter: { column: 'sex', op: 'in' } }), 'analysis.filter.values: required with op "in"'],
    ['is_null with value', count({ filter: { column: 'sex', op: 'is_null', value: 'F' } }), 'analysis.filter.value: not allowed with op "is_null"'],
    ['not_null with values', count({ filter: { column: 'sex', op: 'not_null', values: [] } }), 'analysis.filter.values: not allowed with op "not_null"'],
    [
      'between with three values',
      count({ filter: { column: 'birth_year', op: 'between', values: [1, 2, 3] } }),
      'analysis.filter.values: op "between" needs exactly 2 values',
    ],
    ['an empty in list', count({ filter: { column: 'sex', op: 'in', values: [] } }), 'analysis.filter.values: op "in" needs at least 1 value'],
    [
      'an in list of 1001 values',
      count({ filter: { column: 'sex', op: 'in', values: Array.from({ length: 1001 }, String) } }),
      'analysis.filter.values: at most 1000 values',
    ],
    ['an object value', count({ filter: { column: 'sex', op: 'eq', value: { $ne: 1 } } }), 'analysis.filter.value: expected a string, number or boolean'],
    ['a null value', count({ filter: { column: 'sex', op: 'eq', value: null } }), 'analysis.filter.value: expected a string, number or boolean'],
    ['a string of 257 characters', count({ filter: { column: 'sex', op: 'eq', value: 'x'.repeat(257) } }), 'analysis.filter.values[0]: at most 256 characters'],
    [
      'nine levels of nesting',
      count({ filter: nested(9) }),
      'analysis.filter.and[0].and[0].and[0].and[0].and[0].and[0].and[0].and[0]: at most 8 levels of nesting',
    ],
    ['65 comparisons', count({ filter: { or: Array.from({ length: 65 }, () => cmp()) } }), 'analysis.filter: at most 64 comparisons'],
    [
      'a malformed condition column',
      withAnalysis({ kind: 'proportion', dataset: 'visits', condition: cmp('ICD 10') }),
      'analysis.condition.column: expected a lower snake case name (a-z, 0-9, _; at most 63 characters)',
    ],
  ])('rejects %s', (_name, doc, message) => expectInvalid(doc, message));
});

describe('parseQueryDocument: linkage studies', () => {
  const study = (analysis: Record<string, unknown>, nodes = ['health', 'justice']) => ({
    project: 'p',
    purpose: 'research',
    nodes,
    analysis: {
      kind: 'linkage',
      dataset: 'health_visits',
      cohort_node: 'health',
      keys: ['health_number'],
      outcomes: [{ node: 'justice', dataset: 'justice_offences', coverage: 'events', measures: [{ name: 'offence', kind: 'any' }] }],
      ...analysis,
    },
  });

  it('converts a study with a comparison group to model terms', () => {
    const doc = parseQueryDocument(study({ comparison: { method: 'exact', columns: ['sex'], controls_per_case: 2 } }));
    expect(doc.analysis).toEqual({
      kind: 'linkage',
      dataset: 'health_visits',
      groupBy: [],
      cohortNode: 'health',
      keys: ['health_number'],
      comparison: { method: 'exact', columns: ['sex'], controlsPerCase: 2 },
      outcomes: [{ node: 'justice', dataset: 'justice_offences', coverage: 'events', measures: [{ name: 'offence', kind: 'any' }] }],
    });
  });

  it('refuses nodes other than the cohort node and the outcome nodes', () => {
    expect(() => parseQueryDocument(study({}, ['health', 'justice', 'education']))).toThrow(
      'nodes: a linkage study names exactly its cohort node and its outcome nodes (health, justice)',
    );
  });

  it('refuses a sum measure without its per-person cap', () => {
    expect(() =>
      parseQueryDocument(
        study({
          outcomes: [{ node: 'justice', dataset: 'justice_offences', coverage: 'events', measures: [{ name: 'days', kind: 'sum', column: 'custody_days' }] }],
        }),
      ),
    ).toThrow('analysis.outcomes[0].measures[0].max: required for measure kind "sum" (the per-person cap)');
  });

  it('refuses linkage fields on other kinds and pooled studies', () => {
    expect(() => parseQueryDocument({ project: 'p', purpose: 'research', nodes: ['health'], analysis: { kind: 'count', dataset: 'd', keys: ['k'] } })).toThrow(
      'analysis.keys: not allowed for kind "count"',
    );
    expect(() => parseQueryDocument({ ...study({}), pooled: true })).toThrow('pooled: a linkage study is composed by the coordinator; do not set pooled');
  });
});
