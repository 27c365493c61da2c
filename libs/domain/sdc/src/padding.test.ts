import { describe, expect, it } from 'vitest';
import { DEFAULT_SDC_POLICY, type RawCell } from '@fedlab/model';
import { applyDisclosureControl } from './disclosure-control';
import { padWithDomains } from './padding';

const cell = (key: RawCell['key'], persons: number): RawCell => ({ key, persons, records: persons });

describe('publishing only public keys', () => {
  it('pads a one-dimensional table to its declared values so an empty cell looks like a small one', () => {
    const padded = padWithDomains([cell(['north'], 40), cell(['south'], 4)], [['north', 'south', 'east']]);
    const out = applyDisclosureControl({ kind: 'count', dimensions: ['region'], cells: padded, policy: DEFAULT_SDC_POLICY });
    // The empty "east" is suppressed with exactly the reason of the small "south"; two suppressed
    // cells in the line protect each other, so "north" is released.
    expect(out.cells.map((c) => [c.key[0], c.stats?.count ?? null, c.suppressed?.rule ?? null, c.suppressed?.reason ?? null])).toEqual([
      ['east', null, 'threshold', 'fewer than 10 persons'],
      ['north', 40, null, null],
      ['south', null, 'threshold', 'fewer than 10 persons'],
    ]);
  });

  it('leaves a table without declared domains as it is', () => {
    const cells = [cell([1970], 30)];
    expect(padWithDomains(cells, [null])).toBe(cells);
  });
});
