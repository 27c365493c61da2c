export {
  buildDesign,
  designRow,
  INTERCEPT_NAME,
  MAX_FACTOR_LEVELS,
  type Covariate,
  type GlmDesign,
} from './glm-design';
export { CANONICAL_LINKS, isGlmFamily, type GlmFamily } from './glm-family';
export {
  checkNodeRows,
  checkResponse,
  CONTRIBUTION_LAYOUT,
  contributionLength,
  localContribution,
  MIN_ROWS_PER_PARAMETER,
  type LocalRows,
} from './glm-contribution';
export {
  GLM_FIT_DEFAULTS,
  GlmFitter,
  MIN_RESIDUAL_DF,
  type GlmCoefficient,
  type GlmFitOptions,
  type GlmResult,
  type GlmRoundRequest,
} from './glm-fitter';
export { normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distributions';
