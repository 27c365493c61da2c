export {
  addRational,
  bitLength,
  compareRational,
  divRational,
  gcd,
  integerSquareRoot,
  mulRational,
  rational,
  rationalFromNumber,
  rationalToNumber,
  reduceRational,
  type Rational,
} from './rational';
export { createCryptoRandomSource, type RandomSource } from './random-source';
export { createScriptedRandomSource, type ScriptedDraw, type ScriptedRandomSource } from './scripted-random-source';
export {
  cks20DiscreteGaussianSampler,
  discreteGaussianNumberSampler,
  discreteGaussianSampler,
  sampleBernoulliExp,
  sampleBernoulliRational,
  sampleDiscreteGaussian,
  sampleDiscreteGaussianVector,
  sampleDiscreteLaplace,
  type DiscreteGaussianSampler,
} from './discrete-gaussian';
export { discreteGaussianScaledSampler, SCALED_MAX_SIGMA2 } from './discrete-gaussian-scaled';
export {
  decideThreshold,
  discreteGaussianTableSampler,
  oneSidedTableSampler,
  discreteGaussianThresholds,
  TABLE_MAX_SIGMA2,
  type DiscreteGaussianNumberSampler,
  type DiscreteGaussianThresholds,
} from './discrete-gaussian-table';
export { discreteGaussianFourthMoment, discreteGaussianPmf, discreteGaussianVariance } from './discrete-gaussian-pmf';
export { auditDiscreteGaussian, type AuditOptions, type DiscreteGaussianAudit } from './discrete-gaussian-audit';
export { chiSquareCriticalValue, chiSquareSurvival, logGamma, regularizedGammaQ } from './chi-square';
export { composeRho, gaussianRho, gaussianSigma2, rhoForStandardError, zcdpToApproxDp, zcdpToApproxDpSimple } from './zcdp';
export { distributedGaussianRho, distributedGaussianShare, distributedGaussianTau, MIN_PARTY_SIGMA2 } from './distributed-noise';
export { noiseKernel, SCALED_KERNEL_PARAMS, useNoiseKernel, type NoiseKernel } from './noise-kernel';
