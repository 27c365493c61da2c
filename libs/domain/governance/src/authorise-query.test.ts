import type { Analysis } from '@fedlab/model';
import { describe, expect, it } from 'vitest';
import { authoriseQuery, columnsRead, type AuthoriseQueryInput } from './authorise-query';
import { approval, project, refusal } from '../testing/fixtures';

const MARCH_1 = Date.parse('2026-03-01T12:00:00Z');

const meanVisits: Analysis = {
  kind: 'mean',
  dataset: 'visits',
  column: 'visits',
  groupBy: ['age_band'],
  filter: { kind: 'cmp', column: 'region', op: 'eq', values: ['north'] },
};

function input(overrides: Partial<AuthoriseQueryInput> = {}): AuthoriseQueryInput {
  return {
    nodeId: 'health',
    researcherId: 'alice',
    projectId: 'jdl-2026-001',
    purpose: 'program_evaluation',
    analysis: meanVisits,
    nowMs: MARCH_1,
    project,
    approval,
    revoked: false,
    ...overrides,
  };
}

function refused(overrides: Partial<AuthoriseQueryInput>) {
  const error = refusal(() => authoriseQuery(input(overrides)));
  return { code: error.code, message: error.message };
}

describe('authoriseQuery', () => {
  it('allows a query by a member, for the project purpose, within the approved datasets, columns and kinds', () => {
    expect(() => authoriseQuery(input())).not.toThrow();
  });

  it('refuses a project this node holds no project document for', () => {
    expect(refused({ project: undefined, projectId: 'p' })).toEqual({ code: 'PROJECT_NOT_ALLOWED', message: 'project "p" is not approved at this node' });
  });

  it('refuses a project this node has not approved', () => {
    expect(refused({ approval: undefined })).toEqual({ code: 'PROJECT_NOT_ALLOWED', message: 'project "jdl-2026-001" is not approved at this node' });
  });

  it('refuses a project whose approval is for another node', () => {
    expect(refused({ nodeId: 'justice' })).toEqual({ code: 'PROJECT_NOT_ALLOWED', message: 'project "jdl-2026-001" is not approved at this node' });
  });

  it('refuses a query naming a project other than the one the approval is for', () => {
    expect(refused({ projectId: 'other' })).toEqual({ code: 'PROJECT_NOT_ALLOWED', message: 'project "other" is not approved at this node' });
  });

  it('refuses a project whose approval at this node was revoked', () => {
    expect(refused({ revoked: true })).toEqual({ code: 'PROJECT_REVOKED', message: 'the approval of project "jdl-2026-001" at this node was revoked' });
  });

  it('allows a query on the last day of the approval', () => {
    expect(() => authoriseQuery(input({ nowMs: Date.parse('2026-06-30T23:59:59.999Z') }))).not.toThrow();
  });

  it('refuses a query the day after the approval expired', () => {
    expect(refused({ nowMs: Date.parse('2026-07-01T00:00:00Z') })).toEqual({
      code: 'PROJECT_EXPIRED',
      message: 'project "jdl-2026-001" expired on 2026-06-30',
    });
  });

  it('refuses a query after the ethics approval expired, even if the node approval runs longer', () => {
    const lasting = { ...approval, expiresOn: '2027-06-30' };
    expect(refused({ approval: lasting, nowMs: Date.parse('2027-01-15T00:00:00Z') })).toEqual({
      code: 'PROJECT_EXPIRED',
      message: 'project "jdl-2026-001" expired on 2026-12-31',
    });
  });

  it('refuses a researcher who is not a member of the project', () => {
    expect(refused({ researcherId: 'carol' })).toEqual({
      code: 'RESEARCHER_NOT_ALLOWED',
      message: 'researcher "carol" is not a member of project "jdl-2026-001"',
    });
  });

  it('refuses a purpose other than the project purpose', () => {
    expect(refused({ purpose: 'research' })).toEqual({
      code: 'PURPOSE_NOT_PERMITTED',
      message: 'purpose "research" is not the purpose of project "jdl-2026-001"',
    });
  });

  it('refuses an enforcement purpose under a project approved for another purpose', () => {
    expect(refused({ purpose: 'immigration_control' })).toEqual({
      code: 'PURPOSE_NOT_PERMITTED',
      message: 'purpose "immigration_control" is not the purpose of project "jdl-2026-001"',
    });
  });

  it('refuses an enforcement purpose the approval does not list explicitly, even when it is the project purpose', () => {
    const enforcementProject = { ...project, purpose: 'fraud_targeting' as const };
    expect(refused({ project: enforcementProject, approval: { ...approval, purposes: [] }, purpose: 'fraud_targeting' })).toEqual({
      code: 'PURPOSE_NOT_PERMITTED',
      message: 'purpose "fraud_targeting" is not explicitly approved for project "jdl-2026-001" at this node',
    });
  });

  it('allows an enforcement purpose the approval lists explicitly', () => {
    const enforcementProject = { ...project, purpose: 'fraud_targeting' as const };
    const explicit = { ...approval, purposes: ['fraud_targeting' as const] };
    expect(() => authoriseQuery(input({ project: enforcementProject, approval: explicit, purpose: 'fraud_targeting' }))).not.toThrow();
  });

  it('refuses a dataset the approval does not grant', () => {
    expect(refused({ analysis: { kind: 'count', dataset: 'admissions', groupBy: [] } })).toEqual({
      code: 'DATASET_NOT_APPROVED',
      message: 'dataset "admissions" is not approved for project "jdl-2026-001"',
    });
  });

  it('refuses a dataset the project requested but this approval left out', () => {
    const narrower = { ...approval, datasets: { visits: approval.datasets.visits! } };
    expect(refused({ approval: narrower, analysis: { kind: 'count', dataset: 'prescriptions', groupBy: [] } }).message).toBe(
      'dataset "prescriptions" is not approved for project "jdl-2026-001"',
    );
  });

  it('refuses a measure column the approval does not grant', () => {
    expect(refused({ analysis: { ...meanVisits, column: 'cost' } })).toEqual({
      code: 'COLUMN_NOT_APPROVED',
      message: 'column "cost" of dataset "visits" is not approved for project "jdl-2026-001"',
    });
  });

  it('refuses a group-by column the approval does not grant', () => {
    expect(refused({ analysis: { ...meanVisits, groupBy: ['age_band', 'postcode'] } }).message).toBe(
      'column "postcode" of dataset "visits" is not approved for project "jdl-2026-001"',
    );
  });

  it('refuses a column deep inside the filter tree that the approval does not grant', () => {
    const analysis: Analysis = {
      ...meanVisits,
      filter: {
        kind: 'and',
        items: [
          { kind: 'cmp', column: 'region', op: 'eq', values: ['north'] },
          {
            kind: 'or',
            items: [
              { kind: 'cmp', column: 'age_band', op: 'ne', values: ['0-17'] },
              { kind: 'cmp', column: 'income', op: 'lt', values: [20000] },
            ],
          },
        ],
      },
    };
    expect(refused({ analysis }).message).toBe('column "income" of dataset "visits" is not approved for project "jdl-2026-001"');
  });

  it('refuses a proportion condition column the approval does not grant', () => {
    const analysis: Analysis = {
      kind: 'proportion',
      dataset: 'visits',
      groupBy: [],
      condition: { kind: 'cmp', column: 'readmitted', op: 'eq', values: [true] },
    };
    expect(refused({ analysis }).message).toBe('column "readmitted" of dataset "visits" is not approved for project "jdl-2026-001"');
  });

  it('allows a proportion whose condition reads only approved columns', () => {
    const analysis: Analysis = {
      kind: 'proportion',
      dataset: 'visits',
      groupBy: ['region'],
      condition: { kind: 'cmp', column: 'diagnosis', op: 'eq', values: ['J45'] },
    };
    expect(() => authoriseQuery(input({ analysis }))).not.toThrow();
  });

  it('refuses an analysis kind the approval does not grant for the dataset', () => {
    expect(refused({ analysis: { ...meanVisits, kind: 'sum' } })).toEqual({
      code: 'ANALYSIS_NOT_ALLOWED',
      message: 'analysis "sum" is not approved for dataset "visits" of project "jdl-2026-001"',
    });
  });

  it('quotes names so a crafted project id cannot break the one-line message', () => {
    expect(refused({ project: undefined, projectId: 'p"\nx' }).message).toBe('project "p\\"\\nx" is not approved at this node');
  });
});

describe('columnsRead', () => {
  it('lists the measure, group-by, filter and condition columns in order, each once', () => {
    const analysis: Analysis = {
      kind: 'proportion',
      dataset: 'visits',
      groupBy: ['region', 'age_band'],
      filter: {
        kind: 'or',
        items: [
          { kind: 'cmp', column: 'sex', op: 'eq', values: ['f'] },
          { kind: 'cmp', column: 'region', op: 'not_null', values: [] },
        ],
      },
      condition: { kind: 'and', items: [{ kind: 'cmp', column: 'readmitted', op: 'eq', values: [true] }] },
    };
    expect(columnsRead(analysis)).toEqual(['region', 'age_band', 'sex', 'readmitted']);
  });

  it("lists a histogram's measure column first", () => {
    expect(columnsRead({ kind: 'histogram', dataset: 'visits', column: 'visits', bins: [0, 5, 10], groupBy: ['region'] })).toEqual(['visits', 'region']);
  });
});
