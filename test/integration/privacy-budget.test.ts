import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect } from 'vitest';
import type { AggregateAnalysis, QuerySpec } from '@fedlab/model';
import { generateIdentity, initCrypto, parseRoster } from '@fedlab/crypto';
import { publicIdentityJson, type Identity, type Roster } from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import { NodeAgent, debitBudget, importNodeDataset, loadNodePolicy, projectBudget, projectState } from '@fedlab/node-service';
import { openNodeStore, type SqliteNodeStore } from '@fedlab/store';
import { encodeQuerySpec, sealEnvelope } from '@fedlab/wire';
import { CLINIC_SCHEMA, TestLog, unsealAnswer, approveForNode, clinicCsv, policyYaml, signTestProject, testQuerySpec } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

/** A steward's tight budgets: 1 per project and dataset by default, at most 2, at most 0.5 per query. */
const PRIVACY = { default_project_rho: 1, max_project_rho: 2, max_query_rho: 0.5 };

describe('privacy budgets at a node', () => {
  let coordinator: Identity;
  let alice: Identity;
  let node: Identity;
  let steward: Identity;
  let roster: Roster;
  let store: SqliteNodeStore;
  let agent: NodeAgent;
  let log: TestLog;
  let dir: string;
  let policyFile: string;
  const now = Date.now();

  beforeAll(async () => {
    await initCrypto();
    coordinator = generateIdentity('coordinator', 'coordinator');
    alice = generateIdentity('alice', 'researcher');
    node = generateIdentity('clinic', 'node');
    steward = generateIdentity('clinic-steward', 'steward');
    roster = parseRoster(
      { version: 1, participants: [...[coordinator, alice, node].map(publicIdentityJson), { ...publicIdentityJson(steward), node: 'clinic' }] },
      'roster',
    );
  });

  test.beforeEach(async ({ tempDir }) => {
    dir = tempDir;
    store = openNodeStore(path.join(dir, 'clinic.db'));
    writeFileSync(path.join(dir, 'clinic.csv'), clinicCsv());
    await importNodeDataset(store, { csvPath: path.join(dir, 'clinic.csv'), schema: CLINIC_SCHEMA });
    approveForNode(store, 'clinic', roster, signTestProject([alice], { clinic: [CLINIC_SCHEMA] }, { id: 'p' }), steward);
    policyFile = path.join(dir, 'policy.yaml');
    writeFileSync(policyFile, policyYaml({ datasets: { clinic_visits: ['research'] }, privacy: PRIVACY }));
    log = new TestLog(coordinator);
    agent = restartedAgent();
  });
  afterEach(() => store.close());

  function restartedAgent(): NodeAgent {
    return new NodeAgent({ identity: node, roster, store, policy: () => loadNodePolicy(policyFile), now: () => now });
  }

  function spec(overrides: Partial<QuerySpec> = {}): QuerySpec {
    return testQuerySpec({ projectId: 'p', issuedAtMs: now, expiresAtMs: now + 60_000, rho: 0.25, ...overrides });
  }

  function work(s: QuerySpec): pb.QueryWork {
    const query = sealEnvelope('query', encodeQuerySpec(s), alice);
    const index = log.appendQuery(query);
    const countersigned = pb.CountersignedQuery.encode({ query, logIndex: BigInt(index), receivedAtMs: BigInt(now) }).finish();
    return log.work(s.queryId, sealEnvelope('countersign', countersigned, coordinator), index, agent.knownTreeSize());
  }

  function answer(envelope: pb.SignedEnvelope): pb.NodeAnswer {
    return unsealAnswer(pb.NodeAnswer.decode(envelope.payload), alice, roster);
  }

  const spent = () => store.ledger.totals().find((r) => r.projectId === 'p' && r.dataset === 'clinic_visits')?.spent ?? 0;

  async function expectRefusal(s: QuerySpec, code: string, message: string): Promise<pb.NodeAnswer> {
    const before = { spent: spent(), audit: store.audit.head().seq };
    const a = answer(await agent.handle(work(s)));
    expect(a.outcome).toEqual({ $case: 'refusal', value: { code, message } });
    // Refused before anything ran: nothing debited, one audit entry for the refusal.
    expect(spent()).toBe(before.spent);
    expect(store.audit.entries(before.audit + 1)).toMatchObject([{ decision: 'refused', reason: code }]);
    return a;
  }

  it('debits the ρ a query states and reports what it spent and what remains in the signed answer', async () => {
    const a = answer(await agent.handle(work(spec())));
    expect(a.outcome?.$case).toBe('table');
    expect(a.budget).toEqual({ projectId: 'p', dataset: 'clinic_visits', rhoSpent: 0.25, budget: { total: 1, spent: 0.25, remaining: 0.75 } });
    const table = a.outcome?.$case === 'table' ? a.outcome.value : undefined;
    expect(table?.privacy).toMatchObject({ rho: 0.25, maxRecordsPerPerson: 2, delta: 1e-6 });
    // σ² = m² / (2ρ) = 4 / 0.5 for a count with two rows per person.
    expect(table?.privacy?.noise).toEqual([{ statistic: 'count', sd: expect.closeTo(Math.sqrt(8), 9) }]);
    expect(spent()).toBe(0.25);
  });

  it('refuses a query that states no budget', async () => {
    await expectRefusal(spec({ rho: undefined }), 'BUDGET_INVALID', 'query: rho is required: state the privacy budget the query spends (rho)');
  });

  it.each([
    ['negative', -0.1],
    ['zero', 0],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
  ])('refuses a %s budget', async (_, rho) => {
    await expectRefusal(spec({ rho }), 'BUDGET_INVALID', 'query: rho must be a positive finite number');
  });

  it("refuses a query above the steward's per-query ceiling", async () => {
    await expectRefusal(spec({ rho: 0.6 }), 'BUDGET_INVALID', 'query: rho 0.6 is above the per-query ceiling 0.5 for dataset "clinic_visits" of project "p"');
  });

  it("honours an approval's per-query cap below the policy's", async () => {
    approveForNode(store, 'clinic', roster, signTestProject([alice], { clinic: [CLINIC_SCHEMA] }, { id: 'p' }), steward, {
      clinic_visits: { rho: 2, maxQueryRho: 0.1 },
    });
    await expectRefusal(spec({ rho: 0.2 }), 'BUDGET_INVALID', 'query: rho 0.2 is above the per-query ceiling 0.1 for dataset "clinic_visits" of project "p"');
  });

  it("refuses every query of a project whose approval grants more than the steward's ceiling", async () => {
    approveForNode(store, 'clinic', roster, signTestProject([alice], { clinic: [CLINIC_SCHEMA] }, { id: 'p' }), steward, { clinic_visits: { rho: 5 } });
    await expectRefusal(spec(), 'BUDGET_INVALID', 'the approval of project "p" grants rho 5 for dataset "clinic_visits", above this node\'s ceiling 2');
  });

  it('refuses a query over the remaining budget before running it, debiting nothing, and says what is left', async () => {
    for (let i = 0; i < 3; i++) expect(answer(await agent.handle(work(spec()))).outcome?.$case).toBe('table');
    const refused = await expectRefusal(
      spec({ rho: 0.5 }),
      'BUDGET_EXHAUSTED',
      'project "p" has rho 0.25 left of 1 for dataset "clinic_visits" at this node; the query asks for 0.5',
    );
    expect(refused.budget).toEqual({ projectId: 'p', dataset: 'clinic_visits', rhoSpent: 0, budget: { total: 1, spent: 0.75, remaining: 0.25 } });
    expect(answer(await agent.handle(work(spec()))).outcome?.$case).toBe('table');
    expect(spent()).toBe(1);
  });

  it('refuses the debit of a query whose budget another query spent between its check and its answer', async () => {
    // Two queries checked against the same budget before either was answered (two agents on one
    // database): the debit reads the ledger again inside the answer's transaction.
    const stale = projectBudget(store, loadNodePolicy(policyFile)!.privacy, projectState(store, 'p').approval!, 'clinic_visits');
    store.transaction(() => debitBudget(store, stale, 'q-first', 'count', 0.5, now));
    store.transaction(() => debitBudget(store, stale, 'q-second', 'count', 0.5, now));
    expect(() => store.transaction(() => debitBudget(store, stale, 'q-third', 'count', 0.5, now))).toThrow(
      'project "p" has rho 0 left of 1 for dataset "clinic_visits" at this node; the query asks for 0.5',
    );
    expect(store.ledger.totals()).toEqual([{ projectId: 'p', dataset: 'clinic_visits', spent: 1, queries: 2 }]);
  });

  it('answers a query re-delivered after a restart with the same answer, without debiting it again', async () => {
    const s = spec({ rho: 0.4 });
    const first = await agent.handle(work(s));
    // A crash after the debit-and-answer transaction but before the answer reached the coordinator:
    // a new agent on the same database gets the same query again (in a new work item).
    agent = restartedAgent();
    const again = await agent.handle(work(s));
    expect(answer(again).outcome?.$case).toBe('table');
    expect(Buffer.from(pb.SignedEnvelope.encode(again).finish()).equals(Buffer.from(pb.SignedEnvelope.encode(first).finish()))).toBe(true);
    expect(spent()).toBe(0.4);
    expect(store.ledger.totals()).toEqual([{ projectId: 'p', dataset: 'clinic_visits', spent: 0.4, queries: 1 }]);
  });

  it('refuses a sum on a column without bounds, before spending anything', async () => {
    const analysis: AggregateAnalysis = { kind: 'sum', dataset: 'clinic_visits', column: 'birth_year', groupBy: [] };
    const schema = { ...CLINIC_SCHEMA, columns: CLINIC_SCHEMA.columns.map((c) => (c.name === 'birth_year' ? { ...c, bounds: undefined } : c)) };
    // Nothing was spent yet, so the dataset may be imported again without the bounds.
    await importNodeDataset(store, { csvPath: path.join(dir, 'clinic.csv'), schema });
    await expectRefusal(
      spec({ analysis }),
      'BOUNDS_MISSING',
      'column "birth_year" of dataset "clinic_visits" has no bounds: a sum, mean or variance needs bounds: [lo, hi] in the dataset schema',
    );
  });

  it('refuses a new schema that widens bounds once queries were answered, and keeps the table and schema', async () => {
    expect(answer(await agent.handle(work(spec()))).outcome?.$case).toBe('table');
    const csv = path.join(dir, 'clinic.csv');
    const widened = { ...CLINIC_SCHEMA, columns: CLINIC_SCHEMA.columns.map((c) => (c.name === 'cost' ? { ...c, bounds: [0, 500] as [number, number] } : c)) };
    await expect(importNodeDataset(store, { csvPath: csv, schema: widened })).rejects.toMatchObject({
      code: 'SCHEMA_CHANGE_REFUSED',
      message: 'dataset "clinic_visits" has answered queries under its contribution bounds; column "cost": bounds [0, 500] are wider than [0, 200]',
    });
    const more = { ...CLINIC_SCHEMA, maxRecordsPerPerson: 3 };
    await expect(importNodeDataset(store, { csvPath: csv, schema: more })).rejects.toMatchObject({
      code: 'SCHEMA_CHANGE_REFUSED',
      message: 'dataset "clinic_visits" has answered queries under its contribution bounds; max_records_per_person 3 is above 2',
    });
    expect(store.datasets.schema('clinic_visits')).toEqual(CLINIC_SCHEMA);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM clinic_visits').get()).toEqual({ n: 406 });
    // Narrower bounds are fine.
    const narrowed = { ...CLINIC_SCHEMA, columns: CLINIC_SCHEMA.columns.map((c) => (c.name === 'cost' ? { ...c, bounds: [10, 190] as [number, number] } : c)) };
    await expect(importNodeDataset(store, { csvPath: csv, schema: narrowed })).resolves.toEqual({ rows: 406 });
  });
});
