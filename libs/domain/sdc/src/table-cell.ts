import { FedlabError, type AggregateKind, type CellKey, type RawCell } from '@fedlab/model';
import { cellKeyId } from './cell-key';

/** Kinds whose cells summarise a measure column (total, valueCount). */
export const MEASURE_KINDS: ReadonlySet<AggregateKind> = new Set(['sum', 'mean', 'variance']);

/** A raw cell with every field present (0 where the analysis kind does not use it). */
export interface TableCell {
  key: CellKey;
  persons: number;
  records: number;
  total: number;
  totalSquares: number;
  valueCount: number;
  /** The two largest absolute contributions, or null when the cell does not carry them. */
  top: [number, number] | null;
  personsWith: number;
  personsWithout: number;
}

type NumericField = Exclude<keyof RawCell, 'key'>;

const REQUIRED_FIELDS: Record<AggregateKind, NumericField[]> = {
  count: [],
  histogram: [],
  sum: ['total', 'valueCount', 'top1', 'top2'],
  mean: ['total', 'valueCount', 'top1', 'top2'],
  variance: ['total', 'totalSquares', 'valueCount'],
  proportion: ['total', 'personsWith', 'personsWithout'],
};
const COUNT_FIELDS: NumericField[] = ['persons', 'records', 'valueCount', 'personsWith', 'personsWithout'];

function malformed(index: number, problem: string): FedlabError {
  return new FedlabError('INTERNAL', `raw cell ${index} ${problem}`);
}

/**
 * Checks raw cells against the analysis kind and turns them into table cells. Noisy cells (see
 * DisclosureInput.noisy) need no largest contributions.
 * Messages name the cell by position and the field, never a value.
 *
 * @throws FedlabError `INTERNAL` when a key has the wrong length, a key repeats, a field the kind
 *   needs is missing or not finite, or a count is not a non-negative integer.
 */
export function toTableCells(kind: AggregateKind, dimensions: number, cells: RawCell[], noisy = false): TableCell[] {
  const seen = new Set<string>();
  return cells.map((raw, index) => {
    if (raw.key.length !== dimensions) {
      throw malformed(index, `has ${raw.key.length} key values for ${dimensions} dimensions`);
    }
    const id = cellKeyId(raw.key);
    if (seen.has(id)) throw malformed(index, 'repeats the key of an earlier cell');
    seen.add(id);
    for (const field of REQUIRED_FIELDS[kind]) {
      if (noisy && (field === 'top1' || field === 'top2')) continue;
      if (!Number.isFinite(raw[field])) throw malformed(index, `needs a finite ${field} for a ${kind}`);
    }
    for (const field of COUNT_FIELDS) {
      const value = raw[field];
      if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
        throw malformed(index, `has a ${field} that is not a non-negative integer`);
      }
    }
    const total = raw.total ?? 0;
    if (kind === 'proportion' && !(Number.isInteger(total) && total >= 0 && total <= raw.records)) {
      throw malformed(index, 'has a total that is not an integer between 0 and records');
    }
    const top: TableCell['top'] = raw.top1 !== undefined && raw.top2 !== undefined ? [Math.abs(raw.top1), Math.abs(raw.top2)] : null;
    return {
      key: raw.key,
      persons: raw.persons,
      records: raw.records,
      total,
      totalSquares: raw.totalSquares ?? 0,
      valueCount: raw.valueCount ?? 0,
      top,
      personsWith: raw.personsWith ?? 0,
      personsWithout: raw.personsWithout ?? 0,
    };
  });
}

/** An empty cell: a combination of observed dimension values with no records. */
export function emptyCell(key: CellKey): TableCell {
  return {
    key,
    persons: 0,
    records: 0,
    total: 0,
    totalSquares: 0,
    valueCount: 0,
    top: [0, 0],
    personsWith: 0,
    personsWithout: 0,
  };
}
