import {
  ANALYSIS_KINDS,
  COMPARISON_METHODS,
  COMPARISON_OPS,
  FedlabError,
  OUTCOME_COVERAGES,
  OUTCOME_MEASURE_KINDS,
  type ComparisonMethod,
  type LinkageAnalysis,
  type OutcomeCoverage,
  type OutcomeMeasureKind,
  GLM_FAMILIES,
  PURPOSES,
  type Analysis,
  type AnalysisKind,
  type ComparisonOp,
  type Filter,
  type GlmFamilyName,
  type Purpose,
  type QuerySpec,
  type Scalar,
} from '@fedlab/model';
import * as pb from '@fedlab/proto';

function scalarToProto(value: Scalar): pb.Scalar {
  if (typeof value === 'string') return { kind: { $case: 'text', value } };
  if (typeof value === 'number') return { kind: { $case: 'number', value } };
  return { kind: { $case: 'boolean', value } };
}

function scalarFromProto(value: pb.Scalar): Scalar {
  if (!value.kind) throw new FedlabError('INVALID_QUERY', 'analysis: empty filter value');
  return value.kind.value;
}

function filterToProto(filter: Filter): pb.Filter {
  switch (filter.kind) {
    case 'and':
      return { node: { $case: 'all', value: { items: filter.items.map(filterToProto) } } };
    case 'or':
      return { node: { $case: 'any', value: { items: filter.items.map(filterToProto) } } };
    case 'cmp':
      return {
        node: { $case: 'comparison', value: { column: filter.column, op: filter.op, values: filter.values.map(scalarToProto) } },
      };
    default: {
      // A caller outside TypeScript's checks (JavaScript, JSON) could pass any kind: never drop it silently,
      // or the query would run over everyone.
      const kind = String((filter as { kind?: unknown }).kind);
      throw new FedlabError('INVALID_QUERY', `filter: unknown filter kind "${kind.slice(0, 40)}" (expected and, or or cmp)`);
    }
  }
}

const MAX_FILTER_DEPTH = 8;

/** Decodes a filter tree; the root counts as level 1, as in the query document (at most 8 levels). */
function filterFromProto(filter: pb.Filter, field: string, depth = 1): Filter {
  if (depth > MAX_FILTER_DEPTH) throw new FedlabError('INVALID_QUERY', `${field}: nested deeper than ${MAX_FILTER_DEPTH} levels`);
  const node = filter.node;
  if (!node) throw new FedlabError('INVALID_QUERY', `${field}: empty filter`);
  switch (node.$case) {
    case 'all':
      return { kind: 'and', items: node.value.items.map((f) => filterFromProto(f, field, depth + 1)) };
    case 'any':
      return { kind: 'or', items: node.value.items.map((f) => filterFromProto(f, field, depth + 1)) };
    case 'comparison': {
      const op = node.value.op as ComparisonOp;
      if (!COMPARISON_OPS.includes(op)) throw new FedlabError('INVALID_QUERY', `${field}: unknown comparison operator`);
      return { kind: 'cmp', column: node.value.column, op, values: node.value.values.map(scalarFromProto) };
    }
  }
}

/** Converts a domain analysis to its wire form. */
export function analysisToProto(analysis: Analysis): pb.Analysis {
  return {
    kind: analysis.kind,
    dataset: analysis.dataset,
    column: 'column' in analysis ? analysis.column : '',
    groupBy: analysis.groupBy,
    filter: analysis.filter ? filterToProto(analysis.filter) : undefined,
    condition: analysis.kind === 'proportion' ? filterToProto(analysis.condition) : undefined,
    bins: analysis.kind === 'histogram' ? analysis.bins : [],
    family: analysis.kind === 'glm' ? analysis.family : '',
    response: analysis.kind === 'glm' ? analysis.response : '',
    covariates: analysis.kind === 'glm' ? analysis.covariates : [],
    cohortNode: analysis.kind === 'linkage' ? analysis.cohortNode : '',
    keys: analysis.kind === 'linkage' ? analysis.keys : [],
    comparison:
      analysis.kind === 'linkage' && analysis.comparison
        ? {
            method: analysis.comparison.method,
            columns: analysis.comparison.columns,
            controlsPerCase: analysis.comparison.controlsPerCase,
            pool: analysis.comparison.pool ? filterToProto(analysis.comparison.pool) : undefined,
          }
        : undefined,
    outcomes:
      analysis.kind === 'linkage'
        ? analysis.outcomes.map((o) => ({
            node: o.node,
            dataset: o.dataset,
            coverage: o.coverage,
            measures: o.measures.map((m) => ({
              name: m.name,
              kind: m.kind,
              filter: m.filter ? filterToProto(m.filter) : undefined,
              column: m.column ?? '',
              max: m.max ?? 0,
            })),
          }))
        : [],
    programme: analysis.kind === 'evaluation' ? analysis.programme : '',
    attachmentDigest: analysis.kind === 'evaluation' ? Buffer.from(analysis.attachmentDigest) : Buffer.alloc(0),
  };
}

function linkageFromProto(message: pb.Analysis): Pick<LinkageAnalysis, 'cohortNode' | 'keys' | 'comparison' | 'outcomes'> {
  const c = message.comparison;
  if (c && !COMPARISON_METHODS.includes(c.method as ComparisonMethod)) throw new FedlabError('INVALID_QUERY', 'analysis.comparison.method: unknown method');
  return {
    cohortNode: message.cohortNode,
    keys: message.keys,
    ...(c
      ? {
          comparison: {
            method: c.method as ComparisonMethod,
            columns: c.columns,
            controlsPerCase: c.controlsPerCase,
            ...(c.pool ? { pool: filterFromProto(c.pool, 'analysis.comparison.pool') } : {}),
          },
        }
      : {}),
    outcomes: message.outcomes.map((o, i) => {
      if (!OUTCOME_COVERAGES.includes(o.coverage as OutcomeCoverage))
        throw new FedlabError('INVALID_QUERY', `analysis.outcomes[${i}].coverage: unknown coverage`);
      return {
        node: o.node,
        dataset: o.dataset,
        coverage: o.coverage as OutcomeCoverage,
        measures: o.measures.map((m, j) => {
          if (!OUTCOME_MEASURE_KINDS.includes(m.kind as OutcomeMeasureKind))
            throw new FedlabError('INVALID_QUERY', `analysis.outcomes[${i}].measures[${j}].kind: unknown measure kind`);
          return {
            name: m.name,
            kind: m.kind as OutcomeMeasureKind,
            ...(m.filter ? { filter: filterFromProto(m.filter, `analysis.outcomes[${i}].measures[${j}].filter`) } : {}),
            ...(m.column ? { column: m.column } : {}),
            ...(m.max ? { max: m.max } : {}),
          };
        }),
      };
    }),
  };
}

/** Converts a wire analysis into the domain model, checking its shape (not its columns: see validateAnalysis). */
export function analysisFromProto(message: pb.Analysis | undefined): Analysis {
  if (!message) throw new FedlabError('INVALID_QUERY', 'analysis: missing');
  const kind = message.kind as AnalysisKind;
  if (!ANALYSIS_KINDS.includes(kind)) throw new FedlabError('INVALID_QUERY', 'analysis.kind: unknown analysis kind');
  const base = {
    dataset: message.dataset,
    groupBy: message.groupBy,
    ...(message.filter ? { filter: filterFromProto(message.filter, 'analysis.filter') } : {}),
  };
  switch (kind) {
    case 'count':
      return { ...base, kind };
    case 'sum':
    case 'mean':
    case 'variance':
      return { ...base, kind, column: message.column };
    case 'proportion':
      if (!message.condition) throw new FedlabError('INVALID_QUERY', 'analysis.condition: required for a proportion');
      return { ...base, kind, condition: filterFromProto(message.condition, 'analysis.condition') };
    case 'histogram':
      return { ...base, kind, column: message.column, bins: message.bins };
    case 'glm':
      if (!GLM_FAMILIES.includes(message.family as GlmFamilyName)) throw new FedlabError('INVALID_QUERY', 'analysis.family: unknown model family');
      return { ...base, kind, family: message.family as GlmFamilyName, response: message.response, covariates: message.covariates };
    case 'linkage':
      return { ...base, kind, ...linkageFromProto(message) };
    case 'evaluation':
      if (message.attachmentDigest.length !== 32) throw new FedlabError('INVALID_QUERY', 'analysis.attachment_digest: must be 32 bytes');
      return { ...base, kind, programme: message.programme, attachmentDigest: new Uint8Array(message.attachmentDigest) };
  }
}

/** Encodes a query spec to the exact bytes a researcher signs. */
export function encodeQuerySpec(spec: QuerySpec): Uint8Array {
  return pb.QuerySpec.encode({
    queryId: spec.queryId,
    projectId: spec.projectId,
    purpose: spec.purpose,
    researcherId: spec.researcherId,
    targetNodes: spec.targetNodes,
    analysis: analysisToProto(spec.analysis),
    issuedAtMs: BigInt(spec.issuedAtMs),
    expiresAtMs: BigInt(spec.expiresAtMs),
    nonce: Buffer.from(spec.nonce),
    pooled: spec.pooled,
    ...(spec.rho === undefined ? {} : { rho: spec.rho }),
  }).finish();
}

const QUERY_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$/;
const NODE_ID = /^[a-z][a-z0-9_-]{0,62}$/;

/** Decodes and shape-checks signed query bytes. Throws INVALID_QUERY on anything malformed. */
export function decodeQuerySpec(bytes: Uint8Array): QuerySpec {
  let message: pb.QuerySpec;
  try {
    message = pb.QuerySpec.decode(bytes);
  } catch {
    throw new FedlabError('INVALID_QUERY', 'query: payload is not a valid QuerySpec');
  }
  if (!QUERY_ID.test(message.queryId)) throw new FedlabError('INVALID_QUERY', 'query_id: 8-64 letters, digits, "-" or "_"');
  if (!PURPOSES.includes(message.purpose as Purpose)) throw new FedlabError('INVALID_QUERY', 'purpose: unknown purpose');
  if (message.targetNodes.length === 0 || !message.targetNodes.every((n) => NODE_ID.test(n))) {
    throw new FedlabError('INVALID_QUERY', 'target_nodes: at least one valid node id is required');
  }
  if (new Set(message.targetNodes).size !== message.targetNodes.length) {
    throw new FedlabError('INVALID_QUERY', 'target_nodes: duplicate node id');
  }
  if (message.nonce.length < 16 || message.nonce.length > 64) throw new FedlabError('INVALID_QUERY', 'nonce: 16 to 64 bytes');
  // An evaluation runs under the node's standing evaluation policy, not a project (DESIGN.md §7.5).
  const evaluation = message.analysis?.kind === 'evaluation';
  if (evaluation && message.projectId !== '') throw new FedlabError('INVALID_QUERY', 'project_id: an evaluation belongs to no project; leave it empty');
  if (!evaluation && (!message.projectId || message.projectId.length > 64))
    throw new FedlabError('INVALID_QUERY', 'project_id: required, at most 64 characters');
  return {
    queryId: message.queryId,
    projectId: message.projectId,
    purpose: message.purpose as Purpose,
    researcherId: message.researcherId,
    targetNodes: message.targetNodes,
    analysis: analysisFromProto(message.analysis),
    issuedAtMs: Number(message.issuedAtMs),
    expiresAtMs: Number(message.expiresAtMs),
    nonce: new Uint8Array(message.nonce),
    pooled: message.pooled,
    ...(message.rho === undefined ? {} : { rho: message.rho }),
  };
}
