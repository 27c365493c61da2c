import type { CellKey } from '@fedlab/model';

type KeyValue = CellKey[number];

function typeRank(value: KeyValue): number {
  if (value === null) return 0;
  return typeof value === 'number' ? 1 : 2;
}

function compareKeyValues(a: KeyValue, b: KeyValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return typeRank(a) - typeRank(b);
}

/**
 * Orders cell keys value by value: nulls first, then numbers (numerically), then strings (by UTF-16
 * code units, so the order does not depend on the locale).
 */
export function compareCellKeys(a: CellKey, b: CellKey): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareKeyValues(a[i], b[i]);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

/** A string that identifies a cell key exactly (`1` and `"1"` differ). */
export function cellKeyId(key: CellKey): string {
  return JSON.stringify(key);
}
