import { useNoiseKernel, type NoiseKernel } from '@fedlab/dp';
import { NATIVE_RISTRETTO_ADDON, requireNativeAddon } from './ristretto-pool';

/** Which code draws the noise of long vectors: the native addon's kernel, or the samplers' own TypeScript. */
export interface NoiseKernelInfo {
  name: 'native' | 'typescript';
  /** Why the native kernel is not used. */
  fallbackReason?: string;
}

/**
 * The noise kernel of the native addon in libs/adapters/crypto/native (noise.c), or why it does not
 * load. It computes the same draws from the same words as the TypeScript samplers (noise-kernel.test.ts).
 */
export function loadNativeNoiseKernel(addonPath = NATIVE_RISTRETTO_ADDON): { kernel: NoiseKernel } | { reason: string } {
  const loaded = requireNativeAddon<NoiseKernel>(addonPath);
  if (!('addon' in loaded)) return loaded;
  const { tableBlock, scaledBlock } = loaded.addon;
  if (typeof tableBlock !== 'function' || typeof scaledBlock !== 'function') {
    return { reason: 'the native addon has no noise kernel (rebuild it: npm run build:native)' };
  }
  return { kernel: { tableBlock, scaledBlock } };
}

/**
 * Has every discrete Gaussian sampler of this process draw long vectors with the native kernel where it
 * loads (a long vector's noise 1.3–1.8 × faster, end to end), else with their own TypeScript
 * loops; says which.
 */
export function useNativeNoiseKernel(addonPath = NATIVE_RISTRETTO_ADDON): NoiseKernelInfo {
  const loaded = loadNativeNoiseKernel(addonPath);
  if ('kernel' in loaded) {
    useNoiseKernel(loaded.kernel);
    return { name: 'native' };
  }
  useNoiseKernel(undefined);
  return { name: 'typescript', fallbackReason: loaded.reason };
}
