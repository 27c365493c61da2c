import type { AggregateAnalysis, CellKey, DatasetSchema, RawCell } from '@fedlab/model';

/*
 * Padding an exact table to its published domains (DESIGN.md §5: an empty cell must look like a small
 * one after suppression). Private releases lay tables out on the public domains from the start
 * (releaseKeys in private-release.ts); this is the rule for an exact table, kept for the benchmarks that
 * compare the two and for disclosure control on exact data.
 */

/** The public value set of one dimension, or null when only the data knows its values. */
export type Domain = Array<string | number> | null;

/**
 * The public value set of each dimension: declared categories, booleans and histogram bins. Integer
 * dimensions have none (null): their values are only known from the data.
 */
export function publishedDomains(analysis: AggregateAnalysis, schema: DatasetSchema): Domain[] {
  const columns = new Map(schema.columns.map((c) => [c.name, c]));
  const domains: Domain[] = analysis.groupBy.map((name) => {
    const column = columns.get(name)!;
    if (column.type === 'boolean') return ['false', 'true'];
    return column.values && column.values.length > 0 ? column.values : null;
  });
  if (analysis.kind === 'histogram') domains.push(analysis.bins.slice(0, -1));
  return domains;
}

const MAX_PADDED_CELLS = 100_000;

/**
 * Adds empty cells for every combination of published values that the data did not produce, so an
 * empty cell and a small cell look the same after suppression (DESIGN.md §5: zeros can be
 * disclosive). Dimensions without a published domain contribute the values seen.
 */
export function padWithDomains(cells: RawCell[], domains: Domain[]): RawCell[] {
  if (domains.length === 0 || domains.every((d) => d === null)) return cells;
  const axes = domains.map((domain, i) => {
    const seen = cells.map((c) => c.key[i] ?? null);
    return [...new Set<string | number | null>([...(domain ?? []), ...seen])];
  });
  if (axes.reduce((n, a) => n * Math.max(1, a.length), 1) > MAX_PADDED_CELLS) return cells;
  const present = new Set(cells.map((c) => JSON.stringify(c.key)));
  const padded = [...cells];
  const walk = (prefix: CellKey, depth: number): void => {
    if (depth === axes.length) {
      if (!present.has(JSON.stringify(prefix)))
        padded.push({ key: prefix, persons: 0, records: 0, total: 0, totalSquares: 0, valueCount: 0, top1: 0, top2: 0, personsWith: 0, personsWithout: 0 });
      return;
    }
    for (const v of axes[depth]!) walk([...prefix, v], depth + 1);
  };
  walk([], 0);
  return padded;
}
