import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

/** One FEBRL record: its trimmed values by column (empty string when missing) and the entity it describes. */
export interface FebrlRecord {
  /** The entity number N of `rec-N-org` / `rec-N-dup-0`: records with the same number are about the same person. */
  entity: number;
  values: Readonly<Record<string, string>>;
}

/** The two files of FEBRL 4: originals (4a) and one corrupted duplicate of each (4b). */
export interface Febrl4 {
  a: FebrlRecord[];
  b: FebrlRecord[];
}

const REC_ID = /^rec-(\d+)-(?:org|dup-\d+)$/;

function readFebrlFile(file: string): FebrlRecord[] {
  // The header and values carry a space after every comma; `trim` drops it.
  const rows = parse(readFileSync(file, 'utf8'), { columns: true, trim: true, skip_empty_lines: true }) as Array<Record<string, string>>;
  return rows.map((values, index) => {
    const match = REC_ID.exec(values.rec_id ?? '');
    if (!match) throw new Error(`${path.basename(file)}: record ${index + 1} has no rec-N-… identifier`);
    return { entity: Number(match[1]), values };
  });
}

/**
 * Reads FEBRL 4 (`dataset4a.csv`, `dataset4b.csv`) from `dir`. True matches are `rec-N-org` in 4a and
 * `rec-N-dup-0` in 4b (5,000 pairs).
 */
export function loadFebrl4(dir: string): Febrl4 {
  return { a: readFebrlFile(path.join(dir, 'dataset4a.csv')), b: readFebrlFile(path.join(dir, 'dataset4b.csv')) };
}

/** The true matches as `[index in a, index in b]` pairs: records about the same entity. */
export function febrlTruth(data: Febrl4): Array<[number, number]> {
  const inA = new Map(data.a.map((record, i) => [record.entity, i]));
  const pairs: Array<[number, number]> = [];
  data.b.forEach((record, j) => {
    const i = inA.get(record.entity);
    if (i !== undefined) pairs.push([i, j]);
  });
  return pairs;
}
