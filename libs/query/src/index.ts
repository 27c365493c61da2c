export { QUERY_LIMITS } from './analysis-shape';
export { parseQueryDocument, type QueryDocument } from './query-document';
export { validateAnalysis, isIsoDate, isGroupable } from './validate-analysis';
export { compileAnalysis, type CompiledQuery, type SqlParam } from './query-compiler';
