import type { CellKey, RawCell, ReleasedCell } from '@fedlab/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDisclosureControl } from './index';
import { tableLines } from './table-lines';

interface Table {
  dimensions: string[];
  cells: RawCell[];
  minPersons: number;
}

/** Tables of 1–3 dimensions with 1–4 values each; a combination is absent or has 1–25 persons. */
const tables: fc.Arbitrary<Table> = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }).chain((sizes) => {
  const keys = sizes.reduce<CellKey[]>((partial, size) => partial.flatMap((prefix) => Array.from({ length: size }, (_, v) => [...prefix, v])), [[]]);
  return fc.record({
    dimensions: fc.constant(sizes.map((_, d) => `d${d}`)),
    cells: fc
      .tuple(...keys.map(() => fc.option(fc.integer({ min: 1, max: 25 }), { nil: undefined })))
      .map((persons) => keys.flatMap((key, i) => (persons[i] === undefined ? [] : [{ key, persons: persons[i], records: persons[i] }]))),
    minPersons: fc.integer({ min: 3, max: 12 }),
  });
});

function controlled({ dimensions, cells, minPersons }: Table): ReleasedCell[] {
  const policy = { minPersons, dominanceMaxShare: 0.9, rounding: 'none' as const };
  return applyDisclosureControl({ kind: 'count', dimensions, cells, policy }).cells;
}

describe('margin protection', () => {
  it('leaves no line of two or more cells with exactly one suppressed cell', () => {
    fc.assert(
      fc.property(tables, (table) => {
        const released = controlled(table);
        for (const line of tableLines(released.map((cell) => cell.key))) {
          const suppressed = line.cells.filter((index) => released[index].suppressed).length;
          if (line.cells.length >= 2) expect(suppressed).not.toBe(1);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('leaves no line whose released cells add up to its margin while it has suppressed cells', () => {
    fc.assert(
      fc.property(tables, (table) => {
        const released = controlled(table);
        const records = new Map(table.cells.map((cell) => [JSON.stringify(cell.key), cell.records]));
        for (const line of tableLines(released.map((cell) => cell.key))) {
          const hidden = line.cells.filter((index) => released[index].suppressed).map((index) => records.get(JSON.stringify(released[index].key)) ?? 0);
          const anyReleased = line.cells.some((index) => !released[index].suppressed);
          if (hidden.length > 0 && anyReleased) expect(hidden.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gives every suppressed cell one of the fixed reasons, which carry no data values', () => {
    fc.assert(
      fc.property(tables, (table) => {
        const reasons = new Set([
          `fewer than ${table.minPersons} persons`,
          'suppressed so that a suppressed cell cannot be recovered from the margin',
          'suppressed so that empty cells cannot be recognised from the margin',
        ]);
        for (const cell of controlled(table)) {
          if (cell.suppressed) expect(reasons).toContain(cell.suppressed.reason);
        }
      }),
      { numRuns: 200 },
    );
  });
});
