import type { ColumnSchema, DatasetSchema, LinkageKeyRecipe } from '@fedlab/model';
import { REGIONS } from './effects';

/** The four ministry nodes of the synthetic province. */
export type SynthNode = 'health' | 'education' | 'human_services' | 'justice';

/** One dataset the generator writes, the node that imports it, and its files (relative paths). */
export interface SynthDataset {
  node: SynthNode;
  dataset: string;
  csvPath: string;
  schemaPath: string;
}

/** The ICD-10 codes that occur in Health visits (Q86.0 is fetal alcohol syndrome). */
export const ICD10_CODES = [
  'Z00.0',
  'J06.9',
  'H66.9',
  'J45.9',
  'F32.9',
  'F41.1',
  'F90.0',
  'E11.9',
  'I10',
  'S52.5',
  'M54.5',
  'N39.0',
  'K21.9',
  'L20.9',
  'R51',
  'F10.2',
  'Q86.0',
] as const;

/** Offence types in Justice records. */
export const OFFENCE_TYPES = ['theft', 'assault', 'mischief', 'drug', 'breach', 'fraud', 'impaired_driving', 'break_and_enter'] as const;

/** Sentences given on conviction. */
export const SENTENCES = ['custody', 'community', 'fine', 'discharge'] as const;

/** Human Services programs. */
export const PROGRAMS = ['income_support', 'child_support', 'disability_services'] as const;

/** School boards: a public and a Catholic board per region. */
export const SCHOOL_BOARDS = REGIONS.flatMap((region) => [`${region}_public`, `${region}_catholic`]);

const text = (name: string, role: ColumnSchema['role'], description: string, nullable = false): ColumnSchema => ({
  name,
  type: 'text',
  role,
  nullable,
  description,
});

const category = (name: string, role: ColumnSchema['role'], values: readonly string[], description: string, nullable = false): ColumnSchema => ({
  name,
  type: 'text',
  role,
  nullable,
  values: [...values],
  description,
});

const typed = (
  name: string,
  type: ColumnSchema['type'],
  role: ColumnSchema['role'],
  description: string,
  nullable = false,
  bounds?: [number, number],
): ColumnSchema => ({
  name,
  type,
  role,
  nullable,
  ...(bounds ? { bounds } : {}),
  description,
});

function demographicColumns(recordedBy: string): ColumnSchema[] {
  return [
    text('surname', 'identifier', `Surname as recorded by ${recordedBy}`),
    text('given_name', 'identifier', `Given name as recorded by ${recordedBy}`),
    typed('birth_date', 'date', 'identifier', `Date of birth as recorded by ${recordedBy}`),
    category('sex', 'quasi_identifier', ['F', 'M'], 'Sex (F or M)'),
    typed('birth_year', 'integer', 'quasi_identifier', 'Year of birth', false, [1900, 2026]),
    category('region', 'quasi_identifier', REGIONS, 'Region of residence'),
  ];
}

function healthNumberColumn(ministry: string): ColumnSchema {
  return text('health_number', 'identifier', `Provincial health number as recorded by ${ministry}; empty when not collected`, true);
}

/**
 * The linkage key recipes every synthetic dataset declares, in pass order (DESIGN.md §7.4): the health
 * number first; then two name and birth date passes that each survive one of the generator's name
 * noises: `name_dob` keeps the surname's Soundex and the given name's initial after nickname
 * canonicalisation (robust to nicknames and to given-name typos, which spare first letters);
 * `given_name_dob` keeps the canonical given name's Soundex and the surname's initial (robust to
 * surname typos). Both use the birth date with day and month unordered (robust to swaps) and the sex
 * (which tells Samuel from Samantha under a shared nickname); accents are folded by the transforms.
 */
export const SYNTH_LINKAGE_KEYS: readonly LinkageKeyRecipe[] = [
  {
    name: 'health_number',
    description: 'Provincial health number',
    parts: [{ column: 'health_number', transform: 'digits' }],
  },
  {
    name: 'name_dob',
    description: 'Soundex of the surname, initial of the canonical given name, birth date (day and month unordered), sex',
    parts: [
      { column: 'surname', transform: 'soundex' },
      { column: 'given_name', transform: 'nickname', length: 1 },
      { column: 'birth_date', transform: 'date_unordered' },
      { column: 'sex', transform: 'value' },
    ],
  },
  {
    name: 'given_name_dob',
    description: 'Soundex of the canonical given name, initial of the surname, birth date (day and month unordered), sex',
    parts: [
      { column: 'given_name', transform: 'nickname_soundex' },
      { column: 'surname', transform: 'first', length: 1 },
      { column: 'birth_date', transform: 'date_unordered' },
      { column: 'sex', transform: 'value' },
    ],
  },
];

/** Health: physician visits and hospitalisations, one row per visit or stay. */
export const HEALTH_VISITS_SCHEMA: DatasetSchema = {
  dataset: 'health_visits',
  description: 'Physician visits and hospital stays with their ICD-10 diagnosis, one row per visit or stay',
  person: 'health_number',
  maxRecordsPerPerson: 5,
  columns: [
    text('health_number', 'identifier', 'Provincial health number (10 digits)'),
    ...demographicColumns('Health'),
    typed('visit_date', 'date', 'date', 'Date of the visit or of admission'),
    category('setting', 'attribute', ['physician', 'hospital'], 'Physician visit or hospital stay'),
    category('icd10', 'attribute', ICD10_CODES, 'ICD-10 diagnosis code (Q86.0: fetal alcohol syndrome)'),
    typed('cost', 'real', 'attribute', 'Cost to the health system in dollars', false, [0, 50_000]),
    typed('length_of_stay', 'integer', 'attribute', 'Days in hospital; empty for physician visits', true, [0, 365]),
  ],
  linkageKeys: [...SYNTH_LINKAGE_KEYS],
};

/** Education: one row per student enrolled in a public school board during the observation window. */
export const EDUCATION_ENROLMENTS_SCHEMA: DatasetSchema = {
  dataset: 'education_enrolments',
  description: 'Students of public school boards during the observation window, one row per student',
  person: 'student_id',
  maxRecordsPerPerson: 1,
  columns: [
    text('student_id', 'identifier', 'Provincial student number'),
    healthNumberColumn('Education'),
    ...demographicColumns('Education'),
    category('school_board', 'attribute', SCHOOL_BOARDS, 'School board of the last enrolment'),
    typed('grade_level', 'integer', 'attribute', 'Last grade enrolled in during the window (0 = kindergarten, 12 = final year)', false, [0, 12]),
    typed('achievement_score', 'real', 'attribute', 'Average provincial achievement score (0-100) in the last grade; empty when not assessed', true, [0, 100]),
    typed('completed_high_school', 'boolean', 'attribute', 'Completed high school by the reference date'),
    typed('completion_year', 'integer', 'attribute', 'Year high school was completed; empty when not completed', true, [1950, 2026]),
  ],
  linkageKeys: [...SYNTH_LINKAGE_KEYS],
};

/** Human Services: income support, child support and disability services spells, one row per spell. */
export const INCOME_SUPPORT_SCHEMA: DatasetSchema = {
  dataset: 'income_support',
  description: 'Income support, child support and disability services spells, one row per spell',
  person: 'client_id',
  maxRecordsPerPerson: 5,
  columns: [
    text('client_id', 'identifier', 'Human Services client number'),
    healthNumberColumn('Human Services'),
    ...demographicColumns('Human Services'),
    category('program', 'attribute', PROGRAMS, 'Program paying the benefit'),
    typed('spell_start', 'date', 'date', 'First day of the spell'),
    typed('spell_end', 'date', 'date', 'Last day of the spell; empty while ongoing at the reference date', true),
    typed('months', 'integer', 'attribute', 'Months paid in the spell up to the reference date', false, [0, 240]),
    typed('monthly_amount', 'real', 'attribute', 'Monthly benefit in dollars', false, [0, 5_000]),
  ],
  linkageKeys: [...SYNTH_LINKAGE_KEYS],
};

/** Justice: offences with their outcome, one row per offence. */
export const JUSTICE_OFFENCES_SCHEMA: DatasetSchema = {
  dataset: 'justice_offences',
  description: 'Offences with conviction, sentence and custody, one row per offence',
  person: 'offender_id',
  maxRecordsPerPerson: 10,
  columns: [
    text('offender_id', 'identifier', 'Justice offender number'),
    healthNumberColumn('Justice'),
    ...demographicColumns('Justice'),
    typed('offence_date', 'date', 'date', 'Date of the offence'),
    typed('age_at_offence', 'integer', 'attribute', 'Age in whole years on the date of the offence (from the recorded date of birth)', false, [0, 110]),
    category('offence_type', 'attribute', OFFENCE_TYPES, 'Most serious offence'),
    typed('convicted', 'boolean', 'attribute', 'Whether the offence led to a conviction'),
    category('sentence', 'attribute', SENTENCES, 'Sentence on conviction; empty when not convicted', true),
    typed('custody_days', 'integer', 'attribute', 'Days of custody; empty unless sentenced to custody', true, [0, 3_650]),
    typed('release_date', 'date', 'date', 'Release from custody; empty unless released before the reference date', true),
    typed('reentry_program', 'boolean', 'attribute', 'Whether the person joined the re-entry program on this release'),
    typed('employed', 'boolean', 'attribute', 'Employed at the time of the offence, as recorded at intake'),
    typed('income_support', 'boolean', 'attribute', 'Receiving income support at the time of the offence, as recorded at intake'),
  ],
  linkageKeys: [...SYNTH_LINKAGE_KEYS],
};

/** Every dataset the generator writes, in output order. */
export const SYNTH_DATASETS: SynthDataset[] = [
  { node: 'health', dataset: HEALTH_VISITS_SCHEMA.dataset, csvPath: 'health/health_visits.csv', schemaPath: 'health/health_visits.schema.yaml' },
  {
    node: 'education',
    dataset: EDUCATION_ENROLMENTS_SCHEMA.dataset,
    csvPath: 'education/education_enrolments.csv',
    schemaPath: 'education/education_enrolments.schema.yaml',
  },
  {
    node: 'human_services',
    dataset: INCOME_SUPPORT_SCHEMA.dataset,
    csvPath: 'human_services/income_support.csv',
    schemaPath: 'human_services/income_support.schema.yaml',
  },
  {
    node: 'justice',
    dataset: JUSTICE_OFFENCES_SCHEMA.dataset,
    csvPath: 'justice/justice_offences.csv',
    schemaPath: 'justice/justice_offences.schema.yaml',
  },
];

/** The schema of each synthetic dataset, by dataset name. */
export const SYNTH_SCHEMAS: Readonly<Record<string, DatasetSchema>> = {
  [HEALTH_VISITS_SCHEMA.dataset]: HEALTH_VISITS_SCHEMA,
  [EDUCATION_ENROLMENTS_SCHEMA.dataset]: EDUCATION_ENROLMENTS_SCHEMA,
  [INCOME_SUPPORT_SCHEMA.dataset]: INCOME_SUPPORT_SCHEMA,
  [JUSTICE_OFFENCES_SCHEMA.dataset]: JUSTICE_OFFENCES_SCHEMA,
};

/** Column names of a schema, in file order. */
export function columnNames(schema: DatasetSchema): string[] {
  return schema.columns.map((column) => column.name);
}
