export { buildDesign, designRow, INTERCEPT_NAME, MAX_FACTOR_LEVELS, type Covariate, type GlmDesign } from './glm-design';
export { CANONICAL_LINKS, isGlmFamily, type GlmFamily } from './glm-family';
export { CONTRIBUTION_LAYOUT, contributionLength, localContribution, type LocalRows } from './glm-contribution';
export { GLM_FIT_DEFAULTS, GlmFitter, MIN_RESIDUAL_DF, type GlmCoefficient, type GlmFitOptions, type GlmResult, type GlmRoundRequest } from './glm-fitter';
export { normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distributions';
export {
  checkPrivateRange,
  PRIVATE_GLM_AVERAGED,
  PRIVATE_GLM_EXP_LIMIT,
  PRIVATE_GLM_ROUNDS,
  PRIVATE_GLM_SCALE_BITS,
  PrivateGlmFitter,
  privateGlmPlan,
  privateRoundLength,
  privateRoundRho,
  privateRoundSensitivitySquared,
  privateRoundVector,
  privateRowWeights,
  type ColumnScaling,
  type PrivateCovariate,
  type PrivateGlmPlan,
  type PrivateGlmResult,
} from './private-glm';
export { covariateKinds, fitPropensityModel, propensityLogits } from './propensity-model';
