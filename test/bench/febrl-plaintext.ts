import path from 'node:path';
import { computeKeys, matchTuples, type KeyTuple } from '@fedlab/linkage';
import { loadDatasetSchemaFile } from '@fedlab/store';
import { febrlTruth, loadFebrl4, type Febrl4, type FebrlRecord } from './febrl-data';

/** The FEBRL 4 schema with its linkage key recipes. */
export const FEBRL4_SCHEMA_PATH = path.join(__dirname, 'fixtures', 'febrl4.schema.yaml');
/** Where the FEBRL files are by default (DESIGN.md §7.4). */
export const FEBRL_DEFAULT_DIR = path.resolve(__dirname, '../../../shared/data/febrl');

/** Linkage quality of a set of matched pairs against the truth. */
export interface LinkageQuality {
  matched: number;
  correct: number;
  recall: number;
  precision: number;
}

/** Quality of one pass on its own and of the passes up to it together. */
export interface PassQuality {
  name: string;
  alone: LinkageQuality;
  cumulative: LinkageQuality;
}

function quality(data: Febrl4, pairs: Array<[number, number]>, truePairs: number): LinkageQuality {
  const correct = pairs.filter(([i, j]) => data.a[i].entity === data.b[j].entity).length;
  return { matched: pairs.length, correct, recall: correct / truePairs, precision: pairs.length === 0 ? 1 : correct / pairs.length };
}

/**
 * Links FEBRL 4a (cohort) to 4b (outcome) on the plaintext keys of the schema's recipes with
 * `matchTuples`, the rule the private protocol applies to blinded keys: the quality of each pass alone,
 * of the first k passes, and the time taken to match all passes.
 */
export function febrlPlaintext(dir: string): { passes: PassQuality[]; overall: LinkageQuality; matchMs: number } {
  const schema = loadDatasetSchemaFile(FEBRL4_SCHEMA_PATH);
  const recipes = schema.linkageKeys ?? [];
  const data = loadFebrl4(dir);
  const truePairs = febrlTruth(data).length;
  const keys = (records: FebrlRecord[]): KeyTuple[] => records.map((record) => computeKeys(recipes, (column) => record.values[column]));
  const [a, b] = [keys(data.a), keys(data.b)];
  const only = (tuples: KeyTuple[], passes: number[]): KeyTuple[] => tuples.map((tuple) => passes.map((p) => tuple[p]));
  const passes = recipes.map((recipe, p) => ({
    name: recipe.name,
    alone: quality(data, matchTuples(only(a, [p]), only(b, [p])), truePairs),
    cumulative: quality(data, matchTuples(only(a, [...Array(p + 1).keys()]), only(b, [...Array(p + 1).keys()])), truePairs),
  }));
  const started = performance.now();
  const pairs = matchTuples(a, b);
  const matchMs = performance.now() - started;
  return { passes, overall: quality(data, pairs, truePairs), matchMs };
}

function main(): void {
  const dir = process.argv[2] ?? FEBRL_DEFAULT_DIR;
  const { passes, overall, matchMs } = febrlPlaintext(dir);
  const format = (q: LinkageQuality): string => `recall ${q.recall.toFixed(4)}  precision ${q.precision.toFixed(4)}  (${q.correct}/${q.matched})`;
  console.log(`FEBRL 4 plaintext linkage, ${dir}`);
  for (const pass of passes) console.log(`${pass.name.padEnd(22)} alone: ${format(pass.alone)}   passes so far: ${format(pass.cumulative)}`);
  console.log(`${'overall'.padEnd(22)} ${format(overall)}   matchTuples ${matchMs.toFixed(0)} ms`);
}

if (process.argv[1] === __filename) main();
