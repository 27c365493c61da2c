import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addMod, defaultThreshold } from '@fedlab/secagg';
import { createRound, runRound } from './secagg-harness';

/** One party's fate: stays to the end, or drops after round 0, before round 2, or after round 2. */
const FATES = ['stays', 'afterAdvertise', 'beforeMaskedInput', 'afterMaskedInput'] as const;

const scenario = fc
  .record({ n: fc.integer({ min: 3, max: 7 }), length: fc.integer({ min: 1, max: 50 }) })
  .chain(({ n, length }) =>
    fc.record({
      inputs: fc.array(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: length, maxLength: length }), { minLength: n, maxLength: n }),
      // Staying is weighted up so that most drawn scenarios keep at least t parties.
      fates: fc.array(fc.oneof({ arbitrary: fc.constant(FATES[0]), weight: 4 }, fc.constantFrom(...FATES.slice(1))), { minLength: n, maxLength: n }),
    }),
  )
  // Everyone who drops leaves the unmasking round, so at least t parties must stay to the end.
  .filter(({ fates }) => fates.filter((fate) => fate === 'stays').length >= defaultThreshold(fates.length));

describe('SecAgg property', () => {
  it('returns the plain sum mod 2^32 of the masked inputs received, for any dropouts that leave t parties', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ inputs, fates }) => {
        const ids = inputs.map((_, i) => `p${i}`);
        const vectors = new Map(ids.map((id, i) => [id, Uint32Array.from(inputs[i])] as const));
        const dropped = (fate: (typeof FATES)[number]): string[] => ids.filter((_, i) => fates[i] === fate);
        const sum = await runRound(await createRound(vectors), {
          afterAdvertise: dropped('afterAdvertise'),
          beforeMaskedInput: dropped('beforeMaskedInput'),
          afterMaskedInput: dropped('afterMaskedInput'),
        });
        const counted = ids.filter((_, i) => fates[i] === 'stays' || fates[i] === 'afterMaskedInput');
        const expected = counted.map((id) => vectors.get(id) as Uint32Array).reduce((a, b) => addMod(a, b));
        expect(Array.from(sum)).toEqual(Array.from(expected));
      }),
      { numRuns: 40 },
    );
  });
});
