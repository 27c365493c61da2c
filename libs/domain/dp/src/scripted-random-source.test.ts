import { describe, expect, it } from 'vitest';
import { createScriptedRandomSource } from './scripted-random-source';

describe('createScriptedRandomSource', () => {
  it('replays the scripted values in order and counts what is left', () => {
    const rng = createScriptedRandomSource([
      { below: 3n, value: 2n },
      { below: 10n, value: 0n },
    ]);
    expect([rng.uniformBelow(3n), rng.remaining(), rng.uniformBelow(10n), rng.remaining()]).toEqual([2n, 1, 0n, 0]);
  });

  it('throws when asked for a different bound than scripted', () => {
    const rng = createScriptedRandomSource([{ below: 3n, value: 2n }]);
    expect(() => rng.uniformBelow(4n)).toThrow(new Error('scripted random source: draw 1 asked for a value below 4, the script expects below 3'));
  });

  it('throws when asked for more draws than scripted', () => {
    const rng = createScriptedRandomSource([]);
    expect(() => rng.uniformBelow(2n)).toThrow(new Error('scripted random source: draw 1 (below 2) is beyond the script of 0'));
  });

  it('throws for a scripted value outside [0, n)', () => {
    const rng = createScriptedRandomSource([{ below: 2n, value: 2n }]);
    expect(() => rng.uniformBelow(2n)).toThrow(new Error('scripted random source: draw 1 scripts 2, not below 2'));
  });
});
