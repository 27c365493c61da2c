import { describe, expect, it } from 'vitest';
import { matchTuples } from './tuple-matching';

describe('matchTuples', () => {
  it('pairs tuples whose key is equal at some pass', () => {
    const cohort = [
      ['h1', 'n1'],
      ['h2', 'n2'],
      ['h3', 'n3'],
    ];
    const outcome = [
      [null, 'n3'],
      ['h1', 'nx'],
      ['hy', 'ny'],
    ];
    expect(matchTuples(cohort, outcome)).toEqual([
      [0, 1],
      [2, 0],
    ]);
  });

  it('takes the passes in order, so an earlier pass decides over a later one', () => {
    const cohort = [
      ['h1', 'n1'],
      ['h2', 'n2'],
    ];
    // Outcome 0 has cohort 1's health number but cohort 0's name key: pass 0 wins.
    const outcome = [['h2', 'n1']];
    expect(matchTuples(cohort, outcome)).toEqual([[1, 0]]);
  });

  it('ignores a key held by two cohort tuples at that pass, and matches the tuples at a later pass', () => {
    const cohort = [
      ['smith', 'h1'],
      ['smith', 'h2'],
    ];
    const outcome = [
      ['smith', null],
      ['smith', 'h2'],
    ];
    expect(matchTuples(cohort, outcome)).toEqual([[1, 1]]);
  });

  it('ignores a key held by two outcome tuples at that pass', () => {
    const cohort = [['k', null]];
    const outcome = [
      ['k', null],
      ['k', null],
    ];
    expect(matchTuples(cohort, outcome)).toEqual([]);
  });

  it('counts matched tuples when deciding ambiguity', () => {
    const cohort = [
      ['h1', 'k'],
      ['h2', 'k'],
    ];
    // Cohort 0 is matched at pass 0; key k is still held by two cohort tuples at pass 1.
    const outcome = [
      ['h1', null],
      [null, 'k'],
    ];
    expect(matchTuples(cohort, outcome)).toEqual([[0, 0]]);
  });

  it('puts each tuple in at most one pair', () => {
    const cohort = [
      ['a', 'x'],
      ['b', 'y'],
    ];
    // Outcome 1 shares pass 1 with cohort 0, which outcome 0 already took at pass 0.
    const outcome = [
      ['a', null],
      ['c', 'x'],
    ];
    const pairs = matchTuples(cohort, outcome);
    expect(pairs).toEqual([[0, 0]]);
  });

  it('never matches on missing keys', () => {
    expect(matchTuples([[null, null]], [[null, null]])).toEqual([]);
  });

  it('accepts empty sides', () => {
    expect(matchTuples([], [['a']])).toEqual([]);
    expect(matchTuples([['a']], [])).toEqual([]);
    expect(matchTuples([], [])).toEqual([]);
  });

  it('rejects tuples of different widths with INVALID_ARGUMENT', () => {
    expect(() =>
      matchTuples(
        [
          ['a', 'b'],
          ['c', 'd'],
        ],
        [['a']],
      ),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'tuples: every tuple must have 2 keys' }));
    expect(() => matchTuples([], [['a', 'b', 'c'], ['d']])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'tuples: every tuple must have 3 keys' }),
    );
  });

  it('matches 100,000 × 100,000 tuples of 3 keys in well under a second', () => {
    const size = 100_000;
    const key = (pass: number, i: number): string => `${pass}:${(i * 2_654_435_761) % 4_294_967_291}`;
    const cohort = Array.from({ length: size }, (_, i) => [key(0, i), key(1, i), key(2, i)]);
    // Every outcome tuple matches a different cohort tuple, each at one of the three passes.
    const outcome = Array.from({ length: size }, (_, i) => {
      const j = size - 1 - i;
      return [0, 1, 2].map((pass) => (pass === i % 3 ? key(pass, j) : `o${pass}:${i}`));
    });
    const started = performance.now();
    const pairs = matchTuples(cohort, outcome);
    const elapsedMs = performance.now() - started;
    expect(pairs).toHaveLength(size);
    expect(pairs.every(([c, o]) => c === size - 1 - o)).toBe(true);
    expect(elapsedMs).toBeLessThan(1_000);
  });
});
