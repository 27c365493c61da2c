export { applyDisclosureControl, MAX_TABLE_CELLS, type DisclosureInput, type DisclosureOutput, type RoundingDraw } from './disclosure-control';
export { validateSdcPolicy } from './sdc-policy';
export { MAX_POOLED_CELLS, strictestPolicy } from './pooled-table';
export { STATISTICS_BY_KIND } from './released-statistics';
export {
  addComponentNoise,
  cryptoNoise,
  exactReleaseVector,
  formatRho,
  MAX_PRIVATE_CELLS,
  PRIVATE_STATISTICS_BY_KIND,
  releaseKeys,
  releaseNoisyVector,
  releaseVectorLength,
  releaseWithPrivacy,
  type NoiseSource,
  type NoisyVectorRelease,
  type PrivateReleaseInput,
  type PrivateReleaseOutput,
} from './private-release';
export { Z_95 } from './statistics';
export * from './padding';
export * from './differencing';
