export {
  applyDisclosureControl,
  MAX_TABLE_CELLS,
  type DisclosureInput,
  type DisclosureOutput,
  type RoundingDraw,
} from './disclosure-control';
export { validateSdcPolicy } from './sdc-policy';
export { MAX_POOLED_CELLS, POOLED_CELL_FIELDS, pooledCells, pooledLayout, pooledVector, strictestPolicy, type PooledLayout } from './pooled-table';
export { cellKeyRandom } from './cell-key-random';
export { STATISTICS_BY_KIND } from './released-statistics';
export { releaseWithPrivacy, formatRho, PRIVATE_STATISTICS_BY_KIND, MAX_PRIVATE_CELLS, type NoiseSource, type PrivateReleaseInput, type PrivateReleaseOutput } from './private-release';
export { Z_95 } from './statistics';
