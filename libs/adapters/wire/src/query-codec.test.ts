import { FedlabError, type Analysis, type Filter, type QuerySpec } from '@fedlab/model';
import * as pb from '@fedlab/proto';
import { describe, expect, it } from 'vitest';
import { analysisFromProto, analysisToProto, decodeQuerySpec, encodeQuerySpec } from './query-codec';

function failure(fn: () => unknown): FedlabError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FedlabError) return error;
    throw error;
  }
  throw new Error('expected a FedlabError, but nothing was thrown');
}

const NONCE = new Uint8Array(Array.from({ length: 16 }, (_, i) => i * 17));

/** A filter using every scalar type, including the proto3 defaults 0, "" and false. */
const EVERY_SCALAR: Filter = {
  kind: 'and',
  items: [
    { kind: 'cmp', column: 'region', op: 'in', values: ['north', 'south', ''] },
    {
      kind: 'or',
      items: [
        { kind: 'cmp', column: 'age', op: 'between', values: [18, 64.5] },
        { kind: 'cmp', column: 'balance', op: 'lt', values: [-12.25] },
        { kind: 'cmp', column: 'visits', op: 'ne', values: [0] },
        { kind: 'and', items: [{ kind: 'cmp', column: 'smoker', op: 'eq', values: [true] }] },
      ],
    },
    { kind: 'cmp', column: 'deceased', op: 'eq', values: [false] },
    { kind: 'cmp', column: 'income', op: 'not_null', values: [] },
  ],
};

function spec(analysis: Analysis, patch: Partial<QuerySpec> = {}): QuerySpec {
  return {
    queryId: 'q-2024_0001',
    projectId: 'proj-diabetes',
    purpose: 'research',
    researcherId: 'r1',
    targetNodes: ['node-a', 'node_b'],
    analysis,
    issuedAtMs: 1_718_000_000_000,
    expiresAtMs: 1_718_000_600_000,
    nonce: NONCE,
    pooled: false,
    ...patch,
  };
}

const COUNT: Analysis = { kind: 'count', dataset: 'patients', groupBy: ['region'] };

/** Encodes a wire message built from a valid spec with some fields replaced, bypassing encodeQuerySpec's types. */
function rawQuery(patch: Partial<pb.QuerySpec>): Uint8Array {
  const message = pb.QuerySpec.decode(encodeQuerySpec(spec(COUNT)));
  return pb.QuerySpec.encode({ ...message, ...patch }).finish();
}

function rawAnalysis(patch: Partial<pb.Analysis>): Uint8Array {
  return rawQuery({ analysis: { ...analysisToProto(COUNT), ...patch } });
}

function cmp(column: string): pb.Filter {
  return { node: { $case: 'comparison', value: { column, op: 'eq', values: [{ kind: { $case: 'number', value: 1 } }] } } };
}

/** A domain filter `levels` deep: `levels - 1` nested `and`s around one comparison. */
function nested(levels: number): Filter {
  let filter: Filter = { kind: 'cmp', column: 'age', op: 'gt', values: [1] };
  for (let i = 1; i < levels; i += 1) filter = { kind: 'and', items: [filter] };
  return filter;
}

describe('encodeQuerySpec and decodeQuerySpec', () => {
  const analyses: Array<[string, Analysis]> = [
    ['count', { kind: 'count', dataset: 'patients', groupBy: ['region', 'sex'], filter: EVERY_SCALAR }],
    ['sum', { kind: 'sum', dataset: 'claims', column: 'amount', groupBy: [], filter: EVERY_SCALAR }],
    ['mean', { kind: 'mean', dataset: 'claims', column: 'amount', groupBy: ['year'] }],
    ['variance', { kind: 'variance', dataset: 'labs', column: 'hba1c', groupBy: ['region'], filter: EVERY_SCALAR }],
    [
      'proportion',
      {
        kind: 'proportion',
        dataset: 'patients',
        groupBy: ['sex'],
        filter: { kind: 'cmp', column: 'age', op: 'ge', values: [40] },
        condition: EVERY_SCALAR,
      },
    ],
    ['histogram', { kind: 'histogram', dataset: 'labs', column: 'hba1c', groupBy: [], bins: [-1.5, 0, 4, 6.5, 100], filter: EVERY_SCALAR }],
  ];

  it.each(analyses)('round-trips a %s analysis exactly', (_kind, analysis) => {
    const original = spec(analysis);
    expect(decodeQuerySpec(encodeQuerySpec(original))).toStrictEqual(original);
  });

  it('refuses a filter of unknown kind, at any depth, instead of dropping it', () => {
    const not = { kind: 'not', items: [{ kind: 'cmp', column: 'age', op: 'ge', values: [40] }] } as unknown as Filter;
    for (const filter of [not, { kind: 'and', items: [EVERY_SCALAR, not] } as Filter]) {
      expect(() => encodeQuerySpec(spec({ kind: 'count', dataset: 'patients', groupBy: [], filter }))).toThrow(
        new FedlabError('INVALID_QUERY', 'filter: unknown filter kind "not" (expected and, or or cmp)'),
      );
    }
  });

  it('round-trips every purpose', () => {
    const purposes = [
      'research',
      'statistics',
      'program_evaluation',
      'policy_planning',
      'enforcement',
      'immigration_control',
      'individual_investigation',
      'fraud_targeting',
    ] as const;
    expect(purposes.map((purpose) => decodeQuerySpec(encodeQuerySpec(spec(COUNT, { purpose }))).purpose)).toEqual(purposes);
  });

  it('round-trips every comparison operator', () => {
    const ops = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'between', 'is_null', 'not_null'] as const;
    const filter: Filter = { kind: 'or', items: ops.map((op) => ({ kind: 'cmp', column: 'age', op, values: [1] })) };
    expect(decodeQuerySpec(encodeQuerySpec(spec({ ...COUNT, filter }))).analysis).toStrictEqual({ ...COUNT, filter });
  });

  it('round-trips a filter 8 levels deep', () => {
    const analysis: Analysis = { ...COUNT, filter: nested(8) };
    expect(decodeQuerySpec(encodeQuerySpec(spec(analysis))).analysis).toStrictEqual(analysis);
  });

  it('round-trips an and with no items', () => {
    const analysis: Analysis = { ...COUNT, filter: { kind: 'and', items: [] } };
    expect(decodeQuerySpec(encodeQuerySpec(spec(analysis))).analysis).toStrictEqual(analysis);
  });

  it('round-trips the longest nonce of 64 bytes', () => {
    const nonce = new Uint8Array(64).fill(0xab);
    expect(decodeQuerySpec(encodeQuerySpec(spec(COUNT, { nonce }))).nonce).toStrictEqual(nonce);
  });

  it('decodes the nonce as a plain Uint8Array rather than a Buffer', () => {
    expect(decodeQuerySpec(encodeQuerySpec(spec(COUNT))).nonce.constructor).toBe(Uint8Array);
  });

  it('round-trips timestamps beyond 32 bits', () => {
    const decoded = decodeQuerySpec(encodeQuerySpec(spec(COUNT, { issuedAtMs: 4_102_444_800_000, expiresAtMs: 4_102_444_800_001 })));
    expect([decoded.issuedAtMs, decoded.expiresAtMs]).toEqual([4_102_444_800_000, 4_102_444_800_001]);
  });
});

describe('analysisToProto', () => {
  it('writes an empty column and no bins for a count', () => {
    expect(analysisToProto(COUNT)).toStrictEqual({
      kind: 'count',
      dataset: 'patients',
      column: '',
      groupBy: ['region'],
      filter: undefined,
      condition: undefined,
      bins: [],
      family: '',
      response: '',
      covariates: [],
      cohortNode: '',
      keys: [],
      comparison: undefined,
      outcomes: [],
      programme: '',
      attachmentDigest: Buffer.alloc(0),
    });
  });

  it('round-trips an evaluation, which names the sealed list by its digest and belongs to no project', () => {
    const evaluation = spec({ kind: 'evaluation', dataset: '', groupBy: [], programme: 'Second Chance', attachmentDigest: new Uint8Array(32).fill(7) });
    const original: QuerySpec = { ...evaluation, projectId: '', purpose: 'program_evaluation' };
    expect(decodeQuerySpec(encodeQuerySpec(original))).toStrictEqual(original);
    const withProject = encodeQuerySpec({ ...original, projectId: 'p1' });
    expect(() => decodeQuerySpec(withProject)).toThrow(new FedlabError('INVALID_QUERY', 'project_id: an evaluation belongs to no project; leave it empty'));
    const shortDigest = encodeQuerySpec({ ...original, analysis: { ...original.analysis, attachmentDigest: new Uint8Array(31) } as Analysis });
    expect(() => decodeQuerySpec(shortDigest)).toThrow(new FedlabError('INVALID_QUERY', 'analysis.attachment_digest: must be 32 bytes'));
  });
});

describe('analysisFromProto', () => {
  it('refuses a missing analysis', () => {
    const error = failure(() => analysisFromProto(undefined));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('analysis: missing');
  });
});

describe('decodeQuerySpec', () => {
  it('refuses bytes that are not a protobuf message', () => {
    const error = failure(() => decodeQuerySpec(new Uint8Array([0xff, 0xff, 0xff])));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('query: payload is not a valid QuerySpec');
  });

  it('refuses a message truncated in the middle of a field', () => {
    const bytes = encodeQuerySpec(spec(COUNT));
    expect(failure(() => decodeQuerySpec(bytes.subarray(0, 5))).message).toBe('query: payload is not a valid QuerySpec');
  });

  it('refuses an empty payload, whose query id is empty', () => {
    const error = failure(() => decodeQuerySpec(new Uint8Array(0)));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('query_id: 8-64 letters, digits, "-" or "_"');
  });

  it.each([
    ['7 characters', 'q-12345'],
    ['65 characters', `q${'x'.repeat(64)}`],
    ['a leading "-"', '-q2024-0001'],
    ['a "/"', 'q2024/0001'],
  ])('refuses a query id with %s', (_case, queryId) => {
    const error = failure(() => decodeQuerySpec(rawQuery({ queryId })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('query_id: 8-64 letters, digits, "-" or "_"');
  });

  it('accepts a query id of exactly 64 characters', () => {
    const queryId = `Q${'a'.repeat(63)}`;
    expect(decodeQuerySpec(rawQuery({ queryId })).queryId).toBe(queryId);
  });

  it('refuses an unknown purpose', () => {
    const error = failure(() => decodeQuerySpec(rawQuery({ purpose: 'marketing' })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('purpose: unknown purpose');
  });

  it('refuses a query with no target nodes', () => {
    const error = failure(() => decodeQuerySpec(rawQuery({ targetNodes: [] })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('target_nodes: at least one valid node id is required');
  });

  it('refuses a target node id that is not a valid node id', () => {
    const error = failure(() => decodeQuerySpec(rawQuery({ targetNodes: ['node-a', 'Node-B'] })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('target_nodes: at least one valid node id is required');
  });

  it('refuses duplicate target nodes', () => {
    const error = failure(() => decodeQuerySpec(rawQuery({ targetNodes: ['node-a', 'node_b', 'node-a'] })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('target_nodes: duplicate node id');
  });

  it('refuses a nonce of 15 bytes', () => {
    const error = failure(() => decodeQuerySpec(rawQuery({ nonce: Buffer.alloc(15, 1) })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('nonce: 16 to 64 bytes');
  });

  it('refuses a missing nonce', () => {
    expect(failure(() => decodeQuerySpec(rawQuery({ nonce: Buffer.alloc(0) }))).message).toBe('nonce: 16 to 64 bytes');
  });

  it('refuses a nonce of 65 bytes', () => {
    expect(failure(() => decodeQuerySpec(rawQuery({ nonce: Buffer.alloc(65, 1) }))).message).toBe('nonce: 16 to 64 bytes');
  });

  it('refuses a missing project id', () => {
    const error = failure(() => decodeQuerySpec(rawQuery({ projectId: '' })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('project_id: required, at most 64 characters');
  });

  it('refuses a project id of 65 characters', () => {
    expect(failure(() => decodeQuerySpec(rawQuery({ projectId: 'p'.repeat(65) }))).message).toBe('project_id: required, at most 64 characters');
  });

  it('refuses a query without an analysis', () => {
    const error = failure(() => decodeQuerySpec(rawQuery({ analysis: undefined })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('analysis: missing');
  });

  it('refuses an unknown analysis kind', () => {
    const error = failure(() => decodeQuerySpec(rawAnalysis({ kind: 'median' })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('analysis.kind: unknown analysis kind');
  });

  it('refuses an unknown comparison operator', () => {
    const filter: pb.Filter = { node: { $case: 'comparison', value: { column: 'age', op: 'like', values: [] } } };
    const error = failure(() => decodeQuerySpec(rawAnalysis({ filter })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('analysis.filter: unknown comparison operator');
  });

  it('refuses an unknown comparison operator nested inside an or', () => {
    const bad: pb.Filter = { node: { $case: 'comparison', value: { column: 'age', op: 'EQ', values: [] } } };
    const filter: pb.Filter = { node: { $case: 'any', value: { items: [cmp('age'), bad] } } };
    expect(failure(() => decodeQuerySpec(rawAnalysis({ filter }))).message).toBe('analysis.filter: unknown comparison operator');
  });

  it('refuses a proportion without a condition', () => {
    const error = failure(() => decodeQuerySpec(rawAnalysis({ kind: 'proportion' })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('analysis.condition: required for a proportion');
  });

  it('refuses a filter node with no content', () => {
    const error = failure(() => decodeQuerySpec(rawAnalysis({ filter: { node: undefined } })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('analysis.filter: empty filter');
  });

  it('refuses a comparison value with no content', () => {
    const filter: pb.Filter = { node: { $case: 'comparison', value: { column: 'age', op: 'eq', values: [{ kind: undefined }] } } };
    const error = failure(() => decodeQuerySpec(rawAnalysis({ filter })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('analysis: empty filter value');
  });

  it('accepts a filter 8 levels deep and refuses one 9 levels deep, as the query document does', () => {
    let filter = cmp('age');
    for (let i = 1; i < 8; i += 1) filter = { node: { $case: 'all', value: { items: [filter] } } };
    expect(decodeQuerySpec(rawAnalysis({ filter })).analysis.filter?.kind).toBe('and');
    filter = { node: { $case: 'all', value: { items: [filter] } } };
    const error = failure(() => decodeQuerySpec(rawAnalysis({ filter })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('analysis.filter: nested deeper than 8 levels');
  });

  it('refuses a proportion condition nested 10 levels deep', () => {
    let condition = cmp('age');
    for (let i = 1; i < 10; i += 1) condition = { node: { $case: 'any', value: { items: [condition] } } };
    const error = failure(() => decodeQuerySpec(rawAnalysis({ kind: 'proportion', condition })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('analysis.condition: nested deeper than 8 levels');
  });

  it('refuses a filter nested 200 levels deep as an invalid payload without overflowing the stack', () => {
    // The generated decoder stops at its own recursion limit before the depth check sees the filter.
    let filter = cmp('age');
    for (let i = 1; i < 200; i += 1) filter = { node: { $case: 'all', value: { items: [filter] } } };
    const error = failure(() => decodeQuerySpec(rawAnalysis({ filter })));
    expect(error.code).toBe('INVALID_QUERY');
    expect(error.message).toBe('query: payload is not a valid QuerySpec');
  });

  it('checks the query id before the other fields', () => {
    const bytes = rawQuery({ queryId: 'bad', purpose: 'marketing', targetNodes: [], nonce: Buffer.alloc(0), projectId: '' });
    expect(failure(() => decodeQuerySpec(bytes)).message).toBe('query_id: 8-64 letters, digits, "-" or "_"');
  });
});
