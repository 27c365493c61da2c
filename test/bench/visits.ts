import type { DatasetSchema } from '@fedlab/model';

/** The benchmarks' visits dataset: synthetic persons' physician visits, at most 4 counted per person, birth year and cost bounded. */
export const VISITS_SCHEMA: DatasetSchema = {
  dataset: 'visits',
  description: 'benchmark visits',
  person: 'person_id',
  maxRecordsPerPerson: 4,
  columns: [
    { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
    { name: 'sex', type: 'text', role: 'quasi_identifier', nullable: false, values: ['F', 'M'] },
    { name: 'region', type: 'text', role: 'quasi_identifier', nullable: false, values: ['north', 'south', 'east', 'west', 'central'] },
    { name: 'birth_year', type: 'integer', role: 'quasi_identifier', nullable: false, bounds: [1930, 2019] },
    { name: 'diagnosis', type: 'text', role: 'attribute', nullable: false, values: ['J06.9', 'F32.9', 'E11.9', 'I10', 'S52.5', 'Z00.0', 'Q86.0', 'M54.5'] },
    { name: 'cost', type: 'real', role: 'attribute', nullable: false, bounds: [0, 1000] },
  ],
};

/** The federated-versus-central query (issue 19's): a filtered group-by count of visits, at most `maxRecordsPerPerson` per person. */
export const VISITS_FILTERED_COUNT = {
  kind: 'count',
  dataset: 'visits',
  group_by: ['region', 'sex'],
  filter: {
    and: [
      { column: 'birth_year', op: 'between', values: [1950, 2000] },
      { column: 'diagnosis', op: 'in', values: ['J06.9', 'I10', 'E11.9'] },
    ],
  },
};

/** The node policy of the benchmarks' networks: counts on visits for research, a budget the runs cannot exhaust. */
export const VISITS_POLICY = { privacy: { max_project_rho: 1_000, max_query_rho: 1 }, analyses: ['count'], datasets: { visits: { purposes: ['research'] } } };
