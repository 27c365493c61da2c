import { describe, expect, it } from 'vitest';
import type { AggregateAnalysis, DatasetSchema } from '@fedlab/model';
import { compilePrivateAnalysis } from '@fedlab/query';
import { compilePrivateAnalysisOnce } from './compile-options';

const schema = (): DatasetSchema => ({
  dataset: 'visits',
  person: 'health_number',
  columns: [
    { name: 'health_number', type: 'text', role: 'identifier', nullable: false },
    { name: 'sex', type: 'text', role: 'quasi_identifier', nullable: false, values: ['F', 'M'] },
    { name: 'cost', type: 'real', role: 'attribute', nullable: true, bounds: [0, 1000] },
  ],
});

const mean = (value: string): AggregateAnalysis => ({
  kind: 'mean',
  dataset: 'visits',
  groupBy: ['sex'],
  column: 'cost',
  filter: { kind: 'cmp', column: 'sex', op: 'eq', values: [value] },
});

describe('compilePrivateAnalysisOnce', () => {
  it('compiles as compilePrivateAnalysis does, once per equal analysis, options and schema object', () => {
    const visits = schema();
    const options = { dialect: 'duckdb' as const, personColumns: true };
    const first = compilePrivateAnalysisOnce(mean('F'), visits, options);
    const reference = compilePrivateAnalysis(mean('F'), visits, options);
    expect({ sql: first.sql, params: first.params, grid: first.grid, m: first.maxRecordsPerPerson }).toEqual({
      sql: reference.sql,
      params: reference.params,
      grid: reference.grid,
      m: reference.maxRecordsPerPerson,
    });
    // An equal analysis decoded afresh (another query) gets the same compiled statement.
    expect(compilePrivateAnalysisOnce(mean('F'), visits, options)).toBe(first);
    // Another filter value, other options or a schema imported anew compile again.
    const other = compilePrivateAnalysisOnce(mean('M'), visits, options);
    expect(other).not.toBe(first);
    expect(other.params).toEqual(compilePrivateAnalysis(mean('M'), visits, options).params);
    expect(compilePrivateAnalysisOnce(mean('F'), visits, { dialect: 'sqlite', personColumns: true }).sql).toBe(
      compilePrivateAnalysis(mean('F'), visits, { dialect: 'sqlite', personColumns: true }).sql,
    );
    expect(compilePrivateAnalysisOnce(mean('F'), schema(), options)).not.toBe(first);
  });

  it('refuses an analysis that does not compile every time, keeping nothing for it', () => {
    const visits = schema();
    const unknown: AggregateAnalysis = { kind: 'mean', dataset: 'visits', groupBy: [], column: 'amount' };
    for (let i = 0; i < 2; i++) {
      expect(() => compilePrivateAnalysisOnce(unknown, visits, { dialect: 'duckdb' })).toThrowFedlabError(
        'UNKNOWN_COLUMN',
        'unknown column "amount" in dataset "visits"',
      );
    }
  });
});
