import type { RandomSource } from './random-source';

/** One scripted draw: the bound the caller must ask for and the value to return. */
export interface ScriptedDraw {
  below: bigint;
  value: bigint;
}

/** A {@link RandomSource} that replays a script, and what is left of it. */
export interface ScriptedRandomSource extends RandomSource {
  /** Draws not yet consumed. */
  remaining(): number;
}

/**
 * A {@link RandomSource} for known-answer tests: returns the scripted values in order and throws
 * when a caller asks for a different bound than scripted, or for more draws than scripted, so a
 * test pins down every draw an algorithm makes.
 */
export function createScriptedRandomSource(script: readonly ScriptedDraw[]): ScriptedRandomSource {
  let next = 0;
  return {
    uniformBelow(n: bigint): bigint {
      const draw = script[next];
      if (!draw) throw new Error(`scripted random source: draw ${next + 1} (below ${n}) is beyond the script of ${script.length}`);
      if (draw.below !== n) throw new Error(`scripted random source: draw ${next + 1} asked for a value below ${n}, the script expects below ${draw.below}`);
      if (draw.value < 0n || draw.value >= n) throw new Error(`scripted random source: draw ${next + 1} scripts ${draw.value}, not below ${n}`);
      next += 1;
      return draw.value;
    },
    remaining: () => script.length - next,
  };
}
