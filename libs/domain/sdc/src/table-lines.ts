import type { CellKey } from '@fedlab/model';
import { cellKeyId } from './cell-key';

/** The cells of a table that agree on every dimension but `dimension`, as indices into the table. */
export interface TableLine {
  dimension: number;
  cells: number[];
}

/**
 * Splits a table into its lines: for every dimension, each set of cells whose keys agree on all
 * other dimensions. A 1-D table is one line; a table without dimensions has none. Cell indices keep
 * the order of `keys`.
 */
export function tableLines(keys: CellKey[]): TableLine[] {
  const dimensions = keys[0]?.length ?? 0;
  const lines: TableLine[] = [];
  for (let dimension = 0; dimension < dimensions; dimension++) {
    const byRest = new Map<string, number[]>();
    keys.forEach((key, index) => {
      const rest = cellKeyId(key.filter((_, d) => d !== dimension));
      const line = byRest.get(rest);
      if (line) line.push(index);
      else byRest.set(rest, [index]);
    });
    for (const cells of byRest.values()) lines.push({ dimension, cells });
  }
  return lines;
}

/**
 * The keys of the cross product of the values seen along each dimension that are missing from
 * `keys`: the empty cells of a table with two or more dimensions.
 */
export function missingKeys(keys: CellKey[], dimensions: number): CellKey[] {
  if (dimensions < 2) return [];
  const values = Array.from({ length: dimensions }, (_, d) => {
    const seen = new Map(keys.map((key) => [cellKeyId([key[d]]), key[d]] as const));
    return [...seen.values()];
  });
  const present = new Set(keys.map(cellKeyId));
  const product = values.reduce<CellKey[]>((partial, column) => partial.flatMap((prefix) => column.map((value) => [...prefix, value])), [[]]);
  return product.filter((key) => !present.has(cellKeyId(key)));
}

/** The number of cells in the cross product of the values seen along each dimension. */
export function crossProductSize(keys: CellKey[], dimensions: number): number {
  let size = 1;
  for (let d = 0; d < dimensions; d++) size *= new Set(keys.map((key) => cellKeyId([key[d]]))).size;
  return size;
}
