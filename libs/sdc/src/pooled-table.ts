import { FedlabError, type AggregateKind, type CellKey, type RawCell, type SdcPolicy } from '@fedlab/model';

/**
 * The per-cell sums a node contributes to a pooled table, in vector order. Every entry is a sum over
 * the node's persons or rows, so the element-wise sum over nodes is the pooled cell — except `top1`
 * and `top2`, whose sum over nodes bounds the pooled two largest contributions from above: the
 * pooled top two are two distinct persons, each within the top two of their own node, so the
 * dominance rule on the sums is never weaker than on the pooled data (it may suppress more).
 */
export const POOLED_CELL_FIELDS = ['persons', 'records', 'total', 'totalSquares', 'valueCount', 'top1', 'top2', 'personsWith', 'personsWithout'] as const;

/**
 * The public shape of a pooled table: every cell of the cross product of the published value sets
 * (declared categories, booleans, histogram bins), with NULL on the axis of a nullable column. It depends on
 * the query and the dataset's published schema only, never on the data, so every node lays out the
 * same vector and no node's layout shows which values occur in its records.
 */
export interface PooledLayout {
  kind: AggregateKind;
  dimensions: string[];
  keys: CellKey[];
}

/** Most cells a pooled table may have (its vector has 9 entries per cell). */
export const MAX_POOLED_CELLS = 20_000;

/**
 * Builds the layout from the published values of each group-by column, NULL included for a nullable
 * column (and, for a histogram, the lower edges of its bins, last).
 *
 * @throws FedlabError INVALID_QUERY when the table would exceed {@link MAX_POOLED_CELLS} cells.
 */
export function pooledLayout(kind: AggregateKind, dimensions: string[], groupDomains: Array<Array<string | number | null>>, bins: number[] = []): PooledLayout {
  const axes: Array<Array<string | number | null>> = [...groupDomains];
  if (kind === 'histogram') axes.push(bins);
  const size = axes.reduce((n, axis) => n * axis.length, 1);
  if (size > MAX_POOLED_CELLS) throw new FedlabError('INVALID_QUERY', `a pooled table may have at most ${MAX_POOLED_CELLS} cells; this one would have ${size}`);
  let keys: CellKey[] = [[]];
  for (const axis of axes) keys = keys.flatMap((prefix) => axis.map((value) => [...prefix, value]));
  return { kind, dimensions, keys };
}

/**
 * A node's contribution vector: for each layout cell, in order, the fields of
 * {@link POOLED_CELL_FIELDS} (0 for an empty cell). Cells whose key is not in the layout (a value
 * outside the declared categories) are left out and counted in `excludedCells`.
 */
export function pooledVector(layout: PooledLayout, cells: readonly RawCell[]): { values: number[]; excludedCells: number } {
  const index = new Map(layout.keys.map((key, i) => [JSON.stringify(key), i]));
  const values = new Array<number>(layout.keys.length * POOLED_CELL_FIELDS.length).fill(0);
  let excludedCells = 0;
  for (const cell of cells) {
    const at = index.get(JSON.stringify(cell.key));
    if (at === undefined) {
      if (cell.records > 0) excludedCells += 1;
      continue;
    }
    POOLED_CELL_FIELDS.forEach((field, f) => {
      values[at * POOLED_CELL_FIELDS.length + f] = cell[field] ?? 0;
    });
  }
  return { values, excludedCells };
}

/** Turns the summed vector back into raw cells, one per layout cell, for disclosure control. */
export function pooledCells(layout: PooledLayout, values: ArrayLike<number>): RawCell[] {
  const width = POOLED_CELL_FIELDS.length;
  if (values.length !== layout.keys.length * width) {
    throw new FedlabError('INTERNAL', `pooled vector has ${values.length} entries, expected ${layout.keys.length * width}`);
  }
  return layout.keys.map((key, i) => {
    const cell: RawCell = { key, persons: 0, records: 0 };
    POOLED_CELL_FIELDS.forEach((field, f) => {
      // Counts were integers at every node, and fixed point encodes integers without rounding, so they come back exact.
      cell[field] = values[i * width + f]!;
    });
    return cell;
  });
}

/**
 * The strictest of several nodes' disclosure-control policies: the largest minimum cell size, the
 * smallest dominance share, and random rounding if any node rounds.
 */
export function strictestPolicy(policies: readonly SdcPolicy[]): SdcPolicy {
  if (policies.length === 0) throw new FedlabError('INTERNAL', 'strictestPolicy: no policies');
  return {
    minPersons: Math.max(...policies.map((p) => p.minPersons)),
    dominanceMaxShare: Math.min(...policies.map((p) => p.dominanceMaxShare)),
    rounding: policies.some((p) => p.rounding === 'random5') ? 'random5' : 'none',
  };
}
