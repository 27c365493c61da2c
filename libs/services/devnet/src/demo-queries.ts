import { REGIONS } from '@fedlab/synth';

/** The demo's regional school boards: each holds its own region's students (pooled queries). */
export const BOARDS = REGIONS.map((region) => `board-${region}`);

const PROJECT = 'demo-research';
/** Birth years of the FASD study: old enough to have finished school, young enough to be in the education register. */
export const FASD_STUDY_BIRTH_YEARS = [1998, 2006];

/** The example queries the demo runs, as a researcher would write them. */
export const DEMO_QUERIES: Record<string, Record<string, unknown>> = {
  'health-by-region': {
    project: PROJECT,
    purpose: 'research',
    privacy: { rho: 0.1 },
    nodes: ['health'],
    analysis: { kind: 'count', dataset: 'health_visits', group_by: ['region'] },
  },
  'education-by-region': {
    project: PROJECT,
    purpose: 'research',
    privacy: { rho: 0.1 },
    nodes: ['education'],
    analysis: { kind: 'count', dataset: 'education_enrolments', group_by: ['region'] },
  },
  'human-services-by-region': {
    project: PROJECT,
    purpose: 'research',
    privacy: { rho: 0.1 },
    nodes: ['human_services'],
    analysis: { kind: 'count', dataset: 'income_support', group_by: ['region'] },
  },
  'justice-by-region': {
    project: PROJECT,
    purpose: 'research',
    privacy: { rho: 0.1 },
    nodes: ['justice'],
    analysis: { kind: 'count', dataset: 'justice_offences', group_by: ['region'] },
  },
  'graduation-by-region': {
    project: PROJECT,
    purpose: 'research',
    privacy: { rho: 0.2 },
    nodes: ['education'],
    analysis: {
      kind: 'proportion',
      dataset: 'education_enrolments',
      group_by: ['region'],
      condition: { column: 'completed_high_school', op: 'eq', value: true },
      filter: { column: 'grade_level', op: 'ge', value: 12 },
    },
  },
  'hospital-cost-by-sex': {
    project: PROJECT,
    purpose: 'research',
    privacy: { rho: 0.5 },
    nodes: ['health'],
    analysis: { kind: 'mean', dataset: 'health_visits', column: 'cost', group_by: ['sex'], filter: { column: 'setting', op: 'eq', value: 'hospital' } },
  },
  'fasd-by-region-and-sex': {
    project: PROJECT,
    purpose: 'research',
    privacy: { rho: 1 },
    nodes: ['health'],
    analysis: {
      kind: 'count',
      dataset: 'health_visits',
      group_by: ['region', 'sex'],
      filter: {
        and: [
          { column: 'icd10', op: 'eq', value: 'Q86.0' },
          { column: 'birth_year', op: 'between', values: [2000, 2010] },
        ],
      },
    },
  },
  'health-statistics': {
    project: 'demo-statistics',
    purpose: 'statistics',
    privacy: { rho: 0.1 },
    nodes: ['health'],
    analysis: { kind: 'count', dataset: 'health_visits', group_by: ['sex'] },
  },
  'justice-statistics': {
    project: 'demo-statistics',
    purpose: 'statistics',
    privacy: { rho: 0.1 },
    nodes: ['justice'],
    analysis: { kind: 'count', dataset: 'justice_offences', group_by: ['sex'] },
  },
  'pooled-graduation-by-sex': {
    project: PROJECT,
    purpose: 'research',
    nodes: BOARDS,
    pooled: true,
    privacy: { rho: 0.5 },
    analysis: {
      kind: 'proportion',
      dataset: 'education_enrolments',
      group_by: ['sex'],
      filter: { column: 'grade_level', op: 'eq', value: 12 },
      condition: { column: 'completed_high_school', op: 'eq', value: true },
    },
  },
  'pooled-graduation-model': {
    project: PROJECT,
    purpose: 'research',
    nodes: BOARDS,
    pooled: true,
    privacy: { rho: 4 },
    analysis: {
      kind: 'glm',
      dataset: 'education_enrolments',
      family: 'binomial',
      response: 'completed_high_school',
      covariates: ['sex', 'achievement_score', 'region'],
      filter: { column: 'grade_level', op: 'eq', value: 12 },
    },
  },
  'fasd-study': {
    project: PROJECT,
    purpose: 'research',
    privacy: { rho: 8 },
    nodes: ['health', 'education', 'human_services', 'justice'],
    analysis: {
      kind: 'linkage',
      dataset: 'health_visits',
      cohort_node: 'health',
      filter: {
        and: [
          { column: 'icd10', op: 'eq', value: 'Q86.0' },
          { column: 'birth_year', op: 'between', values: FASD_STUDY_BIRTH_YEARS },
        ],
      },
      keys: ['health_number', 'name_dob', 'given_name_dob'],
      comparison: {
        method: 'exact',
        columns: ['sex', 'birth_year', 'region'],
        controls_per_case: 2,
        pool: { column: 'birth_year', op: 'between', values: FASD_STUDY_BIRTH_YEARS },
      },
      outcomes: [
        {
          node: 'education',
          dataset: 'education_enrolments',
          coverage: 'population',
          measures: [{ name: 'completed_high_school', kind: 'any', filter: { column: 'completed_high_school', op: 'eq', value: true } }],
        },
        {
          node: 'human_services',
          dataset: 'income_support',
          coverage: 'events',
          measures: [
            { name: 'income_support', kind: 'any', filter: { column: 'program', op: 'eq', value: 'income_support' } },
            { name: 'income_support_months', kind: 'sum', column: 'months', max: 60, filter: { column: 'program', op: 'eq', value: 'income_support' } },
          ],
        },
        {
          node: 'justice',
          dataset: 'justice_offences',
          coverage: 'events',
          measures: [{ name: 'offence_before_18', kind: 'any', filter: { column: 'age_at_offence', op: 'lt', value: 18 } }],
        },
      ],
    },
  },
  // The differencing attack of docs/privacy.md: everyone, and everyone but one sex × birth year × region.
  'differencing-everyone': {
    project: 'demo-statistics',
    purpose: 'statistics',
    privacy: { rho: 0.1 },
    nodes: ['health'],
    analysis: { kind: 'count', dataset: 'health_visits' },
  },
  'differencing-all-but-one-stratum': {
    project: 'demo-statistics',
    purpose: 'statistics',
    privacy: { rho: 0.1 },
    nodes: ['health'],
    analysis: {
      kind: 'count',
      dataset: 'health_visits',
      filter: {
        or: [
          { column: 'sex', op: 'ne', value: 'F' },
          { column: 'birth_year', op: 'ne', value: 1931 },
          { column: 'region', op: 'ne', value: 'north' },
        ],
      },
    },
  },
  'justice-for-enforcement': {
    project: PROJECT,
    purpose: 'immigration_control',
    privacy: { rho: 0.1 },
    nodes: ['justice'],
    analysis: { kind: 'count', dataset: 'justice_offences', group_by: ['offence_type'] },
  },
};
