import { describe, expect, it } from 'vitest';
import { DEFAULT_SDC_POLICY, type RawCell } from '@fedlab/model';
import { applyDisclosureControl } from '@fedlab/sdc';
import { padWithDomains, withholdUnpublishedKeys } from './query-executor';

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

  it('withholds suppressed cells keyed by values that are not published, such as a rare birth year', () => {
    const domains = [null, ['F', 'M']];
    const cells = [cell([1960, 'F'], 2), cell([1970, 'F'], 30), cell([1970, 'M'], 30), cell([1980, 'F'], 25), cell([1980, 'M'], 40)];
    const out = withholdUnpublishedKeys(applyDisclosureControl({ kind: 'count', dimensions: ['birth_year', 'sex'], cells: padWithDomains(cells, domains), policy: DEFAULT_SDC_POLICY }), domains);
    expect(out.cells.some((c) => c.key[0] === 1960)).toBe(false);
    expect(out.cells.filter((c) => c.suppressed === null).map((c) => c.key)).toEqual(out.cells.map((c) => c.key));
    expect(out.report.notes.at(-1)).toMatch(/^\d+ suppressed cells are not listed because their keys are not published values$/);
  });

  it('leaves a table without declared domains as it is', () => {
    const cells = [cell([1970], 30)];
    expect(padWithDomains(cells, [null])).toBe(cells);
  });
});
