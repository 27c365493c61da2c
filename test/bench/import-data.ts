import { writeFileSync } from 'node:fs';
import { parseDatasetSchema } from '@fedlab/store';

/** The import benchmarks' dataset (test/bench/import.ts, pg-import.ts): visits in six columns of every type. */
export const IMPORT_BENCH_SCHEMA = parseDatasetSchema(
  {
    dataset: 'visits',
    person: 'person_id',
    columns: [
      { name: 'person_id', type: 'text', role: 'identifier' },
      { name: 'sex', type: 'text', role: 'quasi_identifier', values: ['F', 'M'] },
      { name: 'birth_year', type: 'integer', role: 'quasi_identifier' },
      { name: 'cost', type: 'real', role: 'attribute', nullable: true },
      { name: 'visit_date', type: 'date', role: 'date' },
      { name: 'urgent', type: 'boolean', role: 'attribute' },
    ],
  },
  'bench',
);

/** Writes `rows` visits of 300,000 persons (every 50th cost empty) as a CSV file with its header row. */
export function writeImportBenchCsv(file: string, rows: number): void {
  const lines = ['person_id,sex,birth_year,cost,visit_date,urgent'];
  for (let i = 0; i < rows; i++) {
    const month = String(1 + (i % 12)).padStart(2, '0');
    const day = String(1 + (i % 28)).padStart(2, '0');
    lines.push(
      `p${i % 300_000},${i % 2 ? 'F' : 'M'},${1940 + (i % 60)},${i % 50 === 0 ? '' : (i % 997) * 1.25},2020-${month}-${day},${i % 3 ? 'true' : 'false'}`,
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}
