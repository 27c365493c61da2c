import { describe, expect } from 'vitest';
import type { DatasetSchema, QuerySpec } from '@fedlab/model';
import type { QueryResultView } from '@fedlab/client';
import { CLINIC_SCHEMA, clinicCsv, clinicRows, policyYaml, runQuery, testQuerySpec } from '@fedlab/testing';
import { it } from '@fedlab/test-kit';
import { useTestNetwork } from '../network-fixture';

/*
 * A linkage study spends the project's budget at the nodes whose data it uses, and a node whose
 * budget cannot afford it refuses before any protocol message is sent (issue 15).
 */
const CLINIC: DatasetSchema = { ...CLINIC_SCHEMA, linkageKeys: [{ name: 'surname', parts: [{ column: 'surname', transform: 'text' }] }] };
const OFFENCES: DatasetSchema = {
  dataset: 'offences',
  person: 'person_id',
  columns: [
    { name: 'person_id', type: 'text', role: 'identifier', nullable: false },
    { name: 'surname', type: 'text', role: 'identifier', nullable: false },
    { name: 'offence', type: 'text', role: 'attribute', nullable: false, values: ['theft', 'assault'] },
  ],
  linkageKeys: [{ name: 'surname', parts: [{ column: 'surname', transform: 'text' }] }],
};
const offencesCsv = () =>
  [
    'person_id,surname,offence',
    ...clinicRows()
      .filter((_, i) => i % 3 === 0)
      .map((r, i) => `J${i},${r.surname},${i % 2 ? 'theft' : 'assault'}`),
  ].join('\n') + '\n';
const PRIVACY = { default_project_rho: 1, max_project_rho: 1, max_query_rho: 1 };

describe('a linkage study over the budget of a node it uses', () => {
  const fixture = useTestNetwork([
    { id: 'clinic', datasets: [{ schema: CLINIC, csv: clinicCsv() }], policy: policyYaml({ datasets: { clinic_visits: ['research'] }, privacy: PRIVACY }) },
    { id: 'justice', datasets: [{ schema: OFFENCES, csv: offencesCsv() }], policy: policyYaml({ datasets: { offences: ['research'] }, privacy: PRIVACY }) },
  ]);
  const run = (spec: QuerySpec): Promise<QueryResultView> => runQuery(fixture.alice(), spec);

  it('is refused at the cohort node before any protocol message, and releases nothing', async () => {
    // The project first spends 0.6 of its 1 at the clinic on an ordinary count.
    const count = await run(testQuerySpec({ analysis: { kind: 'count', dataset: 'clinic_visits', groupBy: [] }, targetNodes: ['clinic'], rho: 0.6 }));
    expect(count.answers[0]!.budget?.remaining).toBeCloseTo(0.4, 12);
    const study = await run(
      testQuerySpec({
        rho: 0.6,
        targetNodes: ['clinic', 'justice'],
        analysis: {
          kind: 'linkage',
          dataset: 'clinic_visits',
          groupBy: [],
          cohortNode: 'clinic',
          keys: ['surname'],
          filter: { kind: 'cmp', column: 'birth_year', op: 'le', values: [1979] },
          outcomes: [{ node: 'justice', dataset: 'offences', coverage: 'events', measures: [{ name: 'any_offence', kind: 'any' }] }],
        },
      }),
    );
    const clinic = study.answers.find((a) => a.nodeId === 'clinic')!;
    expect(clinic.refusal).toEqual({
      code: 'BUDGET_EXHAUSTED',
      message: 'project "proj-test" has rho 0.4 left of 1 for dataset "clinic_visits" at this node; the query asks for 0.6',
    });
    expect(clinic.budget).toMatchObject({ rhoSpent: 0, spent: 0.6 });
    expect(study.pooled!.refusal).toEqual({
      code: 'TOO_FEW_NODES',
      message: "clinic did not take part in the study (see each node's status); nothing was released",
    });
    // The outcome node had agreed, and spent its ρ when it did (a node debits when it agrees to contribute).
    expect(study.answers.find((a) => a.nodeId === 'justice')!.budget).toMatchObject({ rhoSpent: 0.6, spent: 0.6 });
    expect(study.pooled!.study).toBeUndefined();
    // No private intersection-sum message left either node.
    for (const id of ['clinic', 'justice']) {
      const entries = fixture
        .net()
        .nodes[id]!.store.audit.entries()
        .filter((e) => e.queryId === study.status.queryId);
      expect(entries.filter((e) => e.kind === 'psi')).toEqual([]);
    }
  });
});
