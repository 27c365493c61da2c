/**
 * The common case of the table samplers' vector loops in faster code (the native addon of
 * @fedlab/crypto): the same steps on the same words, giving the same draws (checked word for word by
 * the adapter's tests), and every case that needs more random bits handed back to the TypeScript
 * sampler, which reads them from its source. Without one, the samplers run their own loops.
 */
export interface NoiseKernel {
  /**
   * `tableBlock` of discrete-gaussian-table.ts from words[from] on: noise[j] for each word until one the
   * 32-bit thresholds cannot decide; returns its index (words.length when none).
   */
  tableBlock(
    words: Uint32Array,
    from: number,
    guide: Int16Array,
    lower: Float64Array,
    upper: Float64Array,
    shift: number,
    offset: number,
    noise: Int32Array,
  ): number;
  /**
   * `fastBlock` of discrete-gaussian-scaled.ts: `params` holds the sampler's constants in the order of
   * {@link SCALED_KERNEL_PARAMS}; `progress` gets [the next entry, the attempts kept].
   */
  scaledBlock(
    params: Float64Array,
    guide: Int16Array,
    lower: Float64Array,
    upper: Float64Array,
    passing: Int32Array,
    words: Uint32Array,
    from: number,
    end: number,
    noise: Int32Array | Float64Array,
    kept: Float64Array,
    progress: Float64Array,
  ): void;
}

/** The scaled sampler's constants in the order {@link NoiseKernel.scaledBlock} takes them. */
export const SCALED_KERNEL_PARAMS = [
  'shift',
  'guideOffset',
  'spareInFirst',
  'spareMask',
  'bits',
  'mask',
  'blockSize',
  'mDecided',
  'unitDecided',
  'mWord',
  'unitWord',
  'scale',
  'scaleHigh',
] as const;

let current: NoiseKernel | undefined;

/** Sets (or, with undefined, removes) the kernel every sampler of this process uses from now on. */
export function useNoiseKernel(kernel: NoiseKernel | undefined): void {
  current = kernel;
}

/** The kernel in use, if any. */
export function noiseKernel(): NoiseKernel | undefined {
  return current;
}
