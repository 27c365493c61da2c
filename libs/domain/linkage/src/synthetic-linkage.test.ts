import type { DatasetSchema } from '@fedlab/model';
import { generateSynthetic, SYNTH_DATASETS, SYNTH_SCHEMAS, TRUTH_PERSONS_PATH } from '@fedlab/synth';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeKeys, recipeFingerprint } from './key-recipe';
import { matchTuples } from './tuple-matching';

type Row = Record<string, string>;

interface LinkageQuality {
  truePairs: number;
  matched: number;
  correct: number;
  recall: number;
  precision: number;
}

/** One record per person of a dataset (a ministry records one identity per person, repeated on every row). */
function persons(csv: string, schema: DatasetSchema): Row[] {
  const byPerson = new Map<string, Row>();
  for (const row of parse(csv, { columns: true }) as Row[]) if (!byPerson.has(row[schema.person])) byPerson.set(row[schema.person], row);
  return [...byPerson.values()];
}

describe('linkage of the synthetic datasets on their declared recipes', () => {
  const files = new Map<string, string>();
  let health: Row[];
  let truth: Row[];

  beforeAll(() => {
    for (const file of generateSynthetic({ persons: 20_000, seed: 2024 })) files.set(file.path, file.content);
    health = persons(files.get('health/health_visits.csv') as string, SYNTH_SCHEMAS.health_visits);
    truth = parse(files.get(TRUTH_PERSONS_PATH) as string, { columns: true }) as Row[];
  });

  /** Links Health (cohort) to another ministry (outcome) on plaintext keys and scores it against the truth. */
  function linkHealthTo(dataset: string): LinkageQuality {
    const entry = SYNTH_DATASETS.find((candidate) => candidate.dataset === dataset);
    const schema = SYNTH_SCHEMAS[dataset];
    const others = persons(files.get(entry?.csvPath ?? '') as string, schema);
    const healthNumberOf = new Map(truth.filter((person) => person[schema.person] !== '').map((person) => [person[schema.person], person.health_number]));
    const inHealth = new Set(health.map((row) => row.health_number));
    const keys = (rows: Row[], recipes = schema.linkageKeys ?? []): Array<Array<string | null>> =>
      rows.map((row) => computeKeys(recipes, (column) => row[column]));

    const pairs = matchTuples(keys(health, SYNTH_SCHEMAS.health_visits.linkageKeys), keys(others));
    const correct = pairs.filter(([c, o]) => health[c].health_number === healthNumberOf.get(others[o][schema.person])).length;
    const truePairs = others.filter((row) => inHealth.has(healthNumberOf.get(row[schema.person]) ?? '')).length;
    const quality = { truePairs, matched: pairs.length, correct, recall: correct / truePairs, precision: correct / pairs.length };
    console.info(
      `linkage health_visits → ${dataset}: recall ${quality.recall.toFixed(4)}, precision ${quality.precision.toFixed(4)} ` +
        `(${correct} correct of ${pairs.length} matched, ${truePairs} true pairs)`,
    );
    return quality;
  }

  it('declares the same recipes, with the same fingerprints, in every dataset', () => {
    const fingerprints = (schema: DatasetSchema): string[] => (schema.linkageKeys ?? []).map((recipe) => `${recipe.name} ${recipeFingerprint(recipe)}`);
    const expected = fingerprints(SYNTH_SCHEMAS.health_visits);
    expect(expected).toHaveLength(3);
    for (const schema of Object.values(SYNTH_SCHEMAS)) expect(fingerprints(schema), schema.dataset).toEqual(expected);
  });

  it.each(['justice_offences', 'education_enrolments', 'income_support'])('links health_visits to %s with recall ≥ 0.97 and precision ≥ 0.995', (dataset) => {
    const quality = linkHealthTo(dataset);
    expect(quality.truePairs).toBeGreaterThan(1_000);
    expect(quality.recall).toBeGreaterThanOrEqual(0.97);
    expect(quality.precision).toBeGreaterThanOrEqual(0.995);
  });
});
