export { QUERY_LIMITS } from './analysis-shape';
export { parseQueryDocument, type QueryDocument } from './query-document';
export { validateAnalysis, validatePooledAnalysis, isIsoDate, isGroupable } from './validate-analysis';
export { categoryLevels, validateCohortSide, validateOutcomeSide, valueLayout, type ValueEntry } from './validate-linkage';
export { type DialectOptions, type SqlDialect } from './dialect';
export {
  compileAnalysis,
  compileColumnRows,
  compilePersonRows,
  type CompiledPersonRows,
  type CompiledQuery,
  type CompiledRows,
  type ModelRowValue,
  type SqlParam,
} from './query-compiler';
export {
  compilePrivateAnalysis,
  compilePrivateModelRows,
  publicDomains,
  valueGrid,
  MAX_INTEGER_DOMAIN,
  type CompiledPrivateQuery,
  type PrivateCompileOptions,
  type PrivateCell,
  type PublicDomain,
  type ValueGrid,
} from './private-analysis';
export { compilePrivateRoundSums, MAX_SUMS_PER_STATEMENT, type CompiledRoundSums } from './private-model-sums';
export { privacyPlan, rhoForStandardError, type NoiseComponent, type NoiseComponentName, type PrivacyPlan } from './privacy-plan';
export * from './query-admission';
