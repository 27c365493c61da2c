import { FedlabError, type AggregateKind, type DisclosureReport, type RawCell, type ReleasedCell, type SdcPolicy, type SdcRule } from '@fedlab/model';
import { compareCellKeys } from './cell-key';
import { validateSdcPolicy } from './sdc-policy';
import { roundToBase5, sampleVariance, secureRandom, wilsonInterval } from './statistics';
import { emptyCell, MEASURE_KINDS, toTableCells, type TableCell } from './table-cell';
import { crossProductSize, missingKeys, tableLines, type TableLine } from './table-lines';

/** One analysis's raw result at a node, with the node's disclosure-control settings. */
export interface DisclosureInput {
  kind: AggregateKind;
  /** Group-by column names, plus 'bin' last for histograms. */
  dimensions: string[];
  /** Raw cells computed from the data; they never leave the node. */
  cells: RawCell[];
  policy: SdcPolicy;
  /**
   * Uniform [0, 1) source for random rounding; defaults to Web Crypto. Called once per rounded
   * count (twice for a proportion cell), for every cell in output order whether or not it is
   * suppressed, so the draws never depend on the suppression pattern. It is told which count it
   * rounds, so a caller can make the draw a keyed function of the cell (the "cell key" method):
   * then repeating or varying a query cannot average the rounding away.
   */
  random?: (draw: RoundingDraw) => number;
  /**
   * The cells are differentially private figures of contributions clamped to public bounds: no
   * cell carries its largest contributions, and the dominance rule does not apply.
   */
  noisy?: boolean;
}

/** What a rounding draw is for: the cell, which of its counts, and the true value being rounded. */
export interface RoundingDraw {
  key: RawCell['key'];
  field: 'count' | 'numerator' | 'complement';
  value: number;
}

/** The cells that may leave the node and the report of what disclosure control did. */
export interface DisclosureOutput {
  cells: ReleasedCell[];
  report: DisclosureReport;
}

/** The largest table (cross product of observed dimension values) disclosure control accepts. */
export const MAX_TABLE_CELLS = 250_000;

type Suppression = NonNullable<ReleasedCell['suppressed']>;

/** The counts a cell releases, rounded if the policy says so. For a proportion, `count` is the denominator. */
interface ReleasedCounts {
  count: number;
  /** Proportion only: the rounded number of records meeting the condition (0 otherwise). */
  numerator: number;
}

interface ControlledCell {
  cell: TableCell;
  counts: ReleasedCounts;
  suppressed: Suppression | null;
}

const SECONDARY: Suppression = {
  rule: 'secondary',
  reason: 'suppressed so that a suppressed cell cannot be recovered from the margin',
};
const ZERO_MARGIN: Suppression = {
  rule: 'zero_margin',
  reason: 'suppressed so that empty cells cannot be recognised from the margin',
};

/**
 * Applies the disclosure-control rules of DESIGN.md §5 to the raw cells of one analysis and returns
 * the releasable cells with a disclosure report. Rules, in order (README.md has the full text):
 *
 * 1. Empty cells: for two or more dimensions, every combination of values seen along each
 *    dimension is listed; combinations without records are empty cells (0 persons) and are
 *    suppressed like any small cell, so a released table never shows which cells are 0.
 * 2. Primary suppression, first rule that applies: `threshold` (persons < minPersons, and for
 *    sum/mean/variance also non-missing values < minPersons); `group_disclosure` (proportion with
 *    fewer than minPersons persons meeting, or not meeting, the condition); `dominance` (sum, mean,
 *    and variance cells that carry top1/top2: |top1| + |top2| > dominanceMaxShare × |total|);
 *    `rounding` (proportion whose rounded denominator is 0).
 * 3. Margin protection, repeated until stable, over every line of the table (cells agreeing on all
 *    dimensions but one; a 1-D table is one line): a line with exactly one suppressed cell loses its
 *    smallest released cell too (`secondary`); a line whose suppressed cells are all empty loses its
 *    smallest released cell (`zero_margin`), as otherwise margin − released = 0 shows they are 0.
 * 4. Rounding 'random5': released counts are randomly rounded to base 5, unbiased; proportions and
 *    Wilson intervals are computed from the rounded numerator and denominator.
 *
 * Cells are returned sorted by key (nulls, then numbers, then strings). Minima, maxima and row-level
 * values are never released.
 *
 * @throws FedlabError `POLICY_INVALID` when the policy is below the floors (see validateSdcPolicy).
 * @throws FedlabError `INVALID_QUERY` when the table would exceed MAX_TABLE_CELLS cells.
 * @throws FedlabError `INTERNAL` when the raw cells are malformed for the analysis kind.
 */
export function applyDisclosureControl(input: DisclosureInput): DisclosureOutput {
  const { kind, dimensions, policy } = input;
  validateSdcPolicy(policy);
  const observed = toTableCells(kind, dimensions.length, input.cells, input.noisy ?? false);
  const observedKeys = observed.map((cell) => cell.key);
  if (crossProductSize(observedKeys, dimensions.length) > MAX_TABLE_CELLS) {
    throw new FedlabError('INVALID_QUERY', `the table would have more than ${MAX_TABLE_CELLS} cells; group by fewer or coarser columns`);
  }
  const table = [...observed, ...missingKeys(observedKeys, dimensions.length).map(emptyCell)].sort((a, b) => compareCellKeys(a.key, b.key));

  const random = input.random ?? secureRandom;
  const cells: ControlledCell[] = table.map((cell) => {
    const round = (value: number, field: RoundingDraw['field']) =>
      policy.rounding === 'random5' ? roundToBase5(value, random({ key: cell.key, field, value })) : value;
    const counts = releasedCounts(kind, cell, round);
    return { cell, counts, suppressed: primarySuppression(kind, cell, counts, policy) };
  });
  const lines = tableLines(table.map((cell) => cell.key));
  protectMargins(cells, lines);

  const released = cells.map(({ cell, counts, suppressed }): ReleasedCell =>
    suppressed ? { key: cell.key, stats: null, suppressed } : { key: cell.key, stats: releasedStatistics(kind, cell, counts), suppressed: null },
  );
  const suppressedCells = released.filter((cell) => cell.suppressed).length;
  const notes = loneCellNotes(cells, lines, dimensions);
  if (policy.rounding === 'random5') {
    notes.push('counts are randomly rounded to base 5; proportions and intervals use the rounded counts');
  }
  return {
    cells: released,
    report: {
      rules: appliedRules(kind, dimensions.length, observed, policy),
      suppressedCells,
      releasedCells: released.length - suppressedCells,
      notes,
    },
  };
}

function releasedCounts(kind: AggregateKind, cell: TableCell, round: (value: number, field: RoundingDraw['field']) => number): ReleasedCounts {
  if (kind === 'proportion') {
    // The denominator is the sum of the rounded numerator and rounded complement, so it stays
    // unbiased and a multiple of 5 while never falling below the numerator.
    const numerator = round(cell.total, 'numerator');
    return { count: numerator + round(cell.records - cell.total, 'complement'), numerator };
  }
  return { count: round(MEASURE_KINDS.has(kind) ? cell.valueCount : cell.records, 'count'), numerator: 0 };
}

function primarySuppression(kind: AggregateKind, cell: TableCell, counts: ReleasedCounts, policy: SdcPolicy): Suppression | null {
  const { minPersons, dominanceMaxShare } = policy;
  // Every value behind a mean belongs to a person, so fewer values than minPersons means fewer persons.
  if (cell.persons < minPersons || (MEASURE_KINDS.has(kind) && cell.valueCount < minPersons)) {
    return { rule: 'threshold', reason: `fewer than ${minPersons} persons` };
  }
  if (kind === 'proportion' && Math.min(cell.personsWith, cell.personsWithout) < minPersons) {
    return { rule: 'group_disclosure', reason: `fewer than ${minPersons} persons meet, or do not meet, the condition` };
  }
  if (MEASURE_KINDS.has(kind) && cell.top && cell.top[0] + cell.top[1] > dominanceMaxShare * Math.abs(cell.total)) {
    const percent = Number((dominanceMaxShare * 100).toPrecision(12));
    return { rule: 'dominance', reason: `two largest contributors exceed ${percent} % of the total` };
  }
  if (kind === 'proportion' && counts.count === 0) {
    return { rule: 'rounding', reason: 'the rounded denominator is 0' };
  }
  return null;
}

function protectMargins(cells: ControlledCell[], lines: TableLine[]): void {
  let changed = true;
  while (changed) {
    changed = false;
    for (const line of lines) {
      const suppressed = line.cells.filter((index) => cells[index].suppressed);
      const released = line.cells.filter((index) => !cells[index].suppressed);
      if (suppressed.length === 0 || released.length === 0) continue;
      const allEmpty = suppressed.every((index) => cells[index].cell.records === 0);
      if (suppressed.length > 1 && !allEmpty) continue;
      const smallest = released.reduce((a, b) => (cells[b].cell.records < cells[a].cell.records ? b : a));
      cells[smallest].suppressed = suppressed.length === 1 ? SECONDARY : ZERO_MARGIN;
      changed = true;
    }
  }
}

/** Rules that suppress a cell for its own contents; the margin of a lone cell has the same contents. */
const CONTENT_RULES: ReadonlySet<SdcRule> = new Set(['threshold', 'group_disclosure', 'dominance']);

/**
 * A cell alone in its line equals that line's margin, which a query without the line's dimension
 * releases. When the cell was suppressed for its own contents that query suppresses it too; when it
 * was suppressed to protect other cells (secondary, zero_margin, rounding) nothing here can stop it.
 */
function loneCellNotes(cells: ControlledCell[], lines: TableLine[], dimensions: string[]): string[] {
  const loneByDimension = new Map<number, number>();
  for (const line of lines) {
    const rule = line.cells.length === 1 ? cells[line.cells[0]].suppressed?.rule : undefined;
    if (rule && !CONTENT_RULES.has(rule)) {
      loneByDimension.set(line.dimension, (loneByDimension.get(line.dimension) ?? 0) + 1);
    }
  }
  return [...loneByDimension].map(([dimension, n]) => {
    const name = dimensions[dimension];
    return n === 1
      ? `1 suppressed cell is alone in its line along "${name}", ` + `so a query without "${name}" would show its value as a margin`
      : `${n} suppressed cells are alone in their lines along "${name}", ` + `so a query without "${name}" would show their values as margins`;
  });
}

function appliedRules(kind: AggregateKind, dimensions: number, observed: TableCell[], policy: SdcPolicy): DisclosureReport['rules'] {
  const rules: Array<[SdcRule, Record<string, number>]> = [['threshold', { minPersons: policy.minPersons }]];
  if (kind === 'proportion') rules.push(['group_disclosure', { minPersons: policy.minPersons }]);
  if (MEASURE_KINDS.has(kind) && observed.some((cell) => cell.top)) {
    rules.push(['dominance', { n: 2, maxShare: policy.dominanceMaxShare }]);
  }
  if (dimensions > 0) rules.push(['secondary', {}], ['zero_margin', {}]);
  if (policy.rounding === 'random5') rules.push(['rounding', { base: 5 }]);
  return rules.map(([rule, parameters]) => ({ rule, parameters }));
}

function releasedStatistics(kind: AggregateKind, cell: TableCell, counts: ReleasedCounts): Record<string, number> {
  const { count, numerator } = counts;
  switch (kind) {
    case 'count':
    case 'histogram':
      return { count };
    case 'sum':
      return { sum: cell.total, count };
    case 'mean':
      return { mean: cell.total / cell.valueCount, count };
    case 'variance': {
      const variance = sampleVariance(cell.total, cell.totalSquares, cell.valueCount);
      return { variance, sd: Math.sqrt(variance), mean: cell.total / cell.valueCount, count };
    }
    case 'proportion': {
      const [lower, upper] = wilsonInterval(numerator, count);
      return { proportion: numerator / count, ci_lower: lower, ci_upper: upper, numerator, denominator: count };
    }
  }
}
