export { QUERY_LIMITS } from './analysis-shape';
export { parseQueryDocument, type QueryDocument } from './query-document';
export { validateAnalysis, validatePooledAnalysis, isIsoDate, isGroupable } from './validate-analysis';
export { compileAnalysis, compileModelRows, type CompiledQuery, type CompiledRows, type ModelRowValue, type SqlParam } from './query-compiler';
