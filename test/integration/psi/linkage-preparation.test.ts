import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { DEFAULT_LINKAGE_POLICY, DEFAULT_PRIVACY_POLICY, DEFAULT_SDC_POLICY, type DatasetSchema, type LinkageAnalysis, type NodePolicy } from '@fedlab/model';
import { prepareLinkage } from '@fedlab/node-service';
import { openNodeStore, type SqliteNodeStore } from '@fedlab/store';
import { CLINIC_SCHEMA, clinicCsv, clinicRows } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

const SCHEMA: DatasetSchema = { ...CLINIC_SCHEMA, linkageKeys: [{ name: 'surname', parts: [{ column: 'surname', transform: 'text' }] }] };
const POLICY: NodePolicy = {
  sdc: DEFAULT_SDC_POLICY,
  analyses: ['linkage'],
  datasets: { clinic_visits: { purposes: ['research'] } },
  linkage: DEFAULT_LINKAGE_POLICY,
  evaluation: null,
  privacy: DEFAULT_PRIVACY_POLICY,
};
let store: SqliteNodeStore;

test.beforeEach(async ({ tempDir }) => {
  writeFileSync(path.join(tempDir, 'clinic.csv'), clinicCsv());
  store = openNodeStore(path.join(tempDir, 'node.db'));
  await store.datasets.import({ csvPath: path.join(tempDir, 'clinic.csv'), schema: SCHEMA });
});
afterEach(() => {
  store.close();
});

/** A study whose cohort is the clinic's patients born in [from, to]. */
function study(from: number, to: number, comparison?: LinkageAnalysis['comparison']): LinkageAnalysis {
  return {
    kind: 'linkage',
    dataset: 'clinic_visits',
    groupBy: [],
    filter: { kind: 'cmp', column: 'birth_year', op: 'between', values: [from, to] },
    cohortNode: 'clinic',
    keys: ['surname'],
    ...(comparison ? { comparison } : {}),
    outcomes: [{ node: 'justice', dataset: 'offences', coverage: 'events', measures: [{ name: 'any', kind: 'any' }] }],
  };
}

const prepare = (analysis: LinkageAnalysis, queryId: string, projectId = 'p1') =>
  prepareLinkage(analysis, {
    store,
    schema: store.datasets.schema('clinic_visits')!,
    nodeId: 'clinic',
    projectId,
    queryId,
    policy: POLICY,
    cohortKey: new Uint8Array(32).fill(9),
    nowMs: 0,
    rho: 1,
  });

describe('the cohort node prepares its side of a study', () => {
  it('computes one key tuple per cohort person and draws exactly matched controls', async () => {
    const prepared = await prepare(study(1960, 1969, { method: 'exact', columns: ['sex', 'region'], controlsPerCase: 1 }), 'q-00000001');
    const cohort = new Set(
      clinicRows()
        .filter((r) => r.birth_year <= 1969)
        .map((r) => r.surname.toLowerCase()),
    );
    if (prepared.role !== 'cohort') throw new Error('expected the cohort side');
    expect(prepared.groups.map((g) => [g.name, g.tuples.length])).toEqual([
      ['cohort', cohort.size],
      ['comparison', cohort.size],
    ]);
    expect(new Set(prepared.groups[0]!.tuples.map((t) => t[0]))).toEqual(cohort);
    expect(prepared.groups[1]!.tuples.some((t) => cohort.has(t[0]!))).toBe(false);
  });

  it('refuses a cohort smaller than the minimum without saying how small', async () => {
    // Birth year 1960 holds 5 patients (i % 40 === 0 among 200).
    await expect(prepare(study(1960, 1960), 'q-00000002')).rejects.toThrowFedlabError(
      'COHORT_TOO_SMALL',
      "the cohort has fewer than 10 persons (this node's minimum)",
    );
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM fedlab_cohorts').get()).toEqual({ n: 0 });
  });

  it('refuses a cohort that differs from an earlier cohort of the project by fewer persons than the threshold, and records nothing for it', async () => {
    await prepare(study(1960, 1969), 'q-00000003');
    // One more birth year adds 5 patients: fewer than 10.
    await expect(prepare(study(1960, 1970), 'q-00000004')).rejects.toThrowFedlabError(
      'COHORT_DIFFERENCING',
      'the cohort differs from an earlier cohort of this project by fewer than 10 persons; results of the two could be subtracted',
    );
    expect(store.db.prepare('SELECT query_id FROM fedlab_cohorts ORDER BY query_id').all()).toEqual([{ query_id: 'q-00000003' }]);
    // The same cohort again is fine (no difference to exploit); so are cohorts of other projects and larger differences.
    expect((await prepare(study(1960, 1969), 'q-00000005')).role).toBe('cohort');
    expect((await prepare(study(1960, 1970), 'q-00000006', 'p2')).role).toBe('cohort');
    expect((await prepare(study(1960, 1971), 'q-00000007')).role).toBe('cohort');
  });
});
