import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { FedlabError, type Analysis, type Filter, type QuerySpec } from '@fedlab/model';
import { generateIdentity, openFromPeer } from '@fedlab/crypto';
import { answerSealHeader } from '@fedlab/wire';
import type { FedlabClient, QueryResultView } from '@fedlab/client';
import * as pb from '@fedlab/proto';
import { parseQueryDocument } from '@fedlab/query';
import { CLINIC_SCHEMA, clinicCsv, clinicRows, policyYaml, startTestNetwork, type TestNetwork, testQuerySpec } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

const PURPOSES = ['research', 'statistics'];

function spec(client: { researcherId: string }, analysis: Analysis, overrides: Partial<QuerySpec> = {}): QuerySpec {
  return testQuerySpec({ researcherId: client.researcherId, analysis, ...overrides });
}

const countByRegion: Analysis = { kind: 'count', dataset: 'clinic_visits', groupBy: ['region'] };

async function runQuery(client: FedlabClient, s: QuerySpec): Promise<QueryResultView> {
  const { queryId } = await client.submitEnvelope(await client.sign(s));
  await client.watch(queryId);
  return client.result(queryId);
}

async function refusalOf(client: FedlabClient, s: QuerySpec, node = 'clinic') {
  const result = await runQuery(client, s);
  const answer = result.answers.find((a) => a.nodeId === node)!;
  expect(answer.table).toBeUndefined();
  expect(result.status.nodes.find((n) => n.nodeId === node)!.state).toBe('refused');
  return answer.refusal!;
}

describe('a network of a coordinator and nodes over loopback gRPC', () => {
  let net: TestNetwork;
  let alice: FedlabClient;
  const aliceId = { researcherId: 'alice' };

  test.beforeAll(async ({ fileTempDir }) => {
    const dir = path.join(fileTempDir, 'network');
    mkdirSync(dir);
    net = await startTestNetwork({
      dir,
      researchers: ['alice', 'bob'],
      nodes: [
        { id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: policyYaml({ datasets: { clinic_visits: PURPOSES } }) },
        { id: 'nopolicy', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: null },
      ],
    });
    alice = net.client(net.researchers.alice!);
  });
  afterAll(async () => {
    await net.stop();
  });

  it('answers a count by region with exact values and suppresses the small cell with a second cell', async () => {
    const result = await runQuery(alice, spec(aliceId, countByRegion));
    expect(result.status.state).toBe('finished');
    const table = result.answers[0]!.table!;
    expect(result.answers[0]!.verified).toBe(true);
    const rows = clinicRows();
    const expected = (region: string) => rows.filter((r) => r.region === region).length;
    // east has 6 persons (< 10) so it is suppressed; secondary suppression then hides the smallest other cell (south).
    expect(table.cells.map((c) => [c.key[0], c.stats?.count ?? null, c.suppressed?.rule ?? null])).toEqual([
      ['east', null, 'threshold'],
      ['north', expected('north'), null],
      ['south', null, 'secondary'],
    ]);
    expect(table.report.suppressedCells).toBe(2);
  });

  it("derives ρ from the standard error a researcher asks for, with the catalog's contribution bounds", async () => {
    const ask = async (analysis: Record<string, unknown>, standardError: number) => {
      const doc = parseQueryDocument({ project: 'proj-test', purpose: 'research', nodes: ['clinic'], privacy: { standard_error: standardError }, analysis });
      const { queryId } = await alice.submit(doc);
      await alice.watch(queryId);
      return (await alice.result(queryId)).answers[0]!.table!.privacy!;
    };
    // A count: σ = m / √(2ρ) with m = 2 rows per person, so ρ = m² / (2σ²) = 0.5 for σ = 2.
    const count = await ask({ kind: 'count', dataset: 'clinic_visits', group_by: ['sex'] }, 2);
    expect(count.rho).toBeCloseTo(0.5, 9);
    expect(count.noise).toEqual([{ statistic: 'count', sd: expect.closeTo(2, 6) }]);
    // A mean: the standard error is the noise SD of its sum, in dollars.
    const mean = await ask({ kind: 'mean', dataset: 'clinic_visits', column: 'cost', group_by: ['sex'] }, 50);
    expect(mean.noise.find((n) => n.statistic === 'centred_sum')!.sd).toBeCloseTo(50, 6);
  });

  it('computes a mean by sex that matches the raw data within its noise', async () => {
    const result = await runQuery(
      alice,
      spec(aliceId, {
        kind: 'mean',
        dataset: 'clinic_visits',
        column: 'cost',
        groupBy: ['sex'],
        filter: { kind: 'cmp', column: 'region', op: 'ne', values: ['east'] },
      }),
    );
    const rows = clinicRows().filter((r) => r.region !== 'east');
    const mean = (sex: string) => {
      const xs = rows.filter((r) => r.sex === sex).map((r) => r.cost);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    const cells = result.answers[0]!.table!.cells;
    expect(cells.map((c) => c.key[0])).toEqual(['F', 'M']);
    // The 95 % interval is ±1.96 noise SDs; 5 SDs make a chance failure about 1 in 1.7 million.
    for (const [i, sex] of ['F', 'M'].entries()) {
      const stats = cells[i]!.stats!;
      const noiseSd = (stats.ci_upper! - stats.ci_lower!) / (2 * 1.959963984540054);
      expect(noiseSd).toBeGreaterThan(0);
      expect(Math.abs(stats.mean! - mean(sex))).toBeLessThan(5 * noiseSd);
    }
  });

  it('records one audit entry per received query with the decision and the result digest', async () => {
    const log = net.nodes.clinic!.store.audit;
    const before = log.head().seq;
    const s = spec(aliceId, { ...countByRegion, groupBy: ['sex'] });
    await runQuery(alice, s);
    const entries = log.entries(before + 1);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ kind: 'query', queryId: s.queryId, decision: 'answered', reason: '' });
    expect(entries[0]!.digest).toHaveLength(32);
    expect(log.verify()).toEqual({ ok: true, entries: log.head().seq });
  });

  it('refuses tampered query bytes at the coordinator and stores nothing', async () => {
    const envelope = await alice.sign(spec(aliceId, countByRegion));
    const tampered = Buffer.from(envelope.payload);
    tampered[tampered.length - 30]! ^= 0x01;
    await expect(alice.submitEnvelope({ ...envelope, payload: tampered })).rejects.toThrowFedlabError('SIGNATURE_INVALID', 'query: signature does not verify');
    expect(
      net.store.db
        .prepare('SELECT COUNT(*) AS n FROM queries WHERE envelope = ?')
        .get(Buffer.from(pb.SignedEnvelope.encode({ ...envelope, payload: tampered }).finish())),
    ).toEqual({ n: 0 });
  });

  it('refuses a query from a key that is not on the roster', async () => {
    const mallory = net.client(generateIdentity('mallory', 'researcher'));
    await expect(
      mallory.submit({ projectId: 'p', purpose: 'research', nodes: ['clinic'], expiresInMinutes: 5, pooled: false, analysis: countByRegion }),
    ).rejects.toThrowFedlabError('UNKNOWN_RESEARCHER', 'query: signer is not a researcher on the roster');
  });

  it('refuses an expired query', async () => {
    const now = Date.now();
    // Any message: only the code is checked here.
    await expect(runQuery(alice, spec(aliceId, countByRegion, { issuedAtMs: now - 120_000, expiresAtMs: now - 60_000 }))).rejects.toThrowFedlabError(
      'QUERY_EXPIRED',
      /(?:)/,
    );
  });

  it('refuses a replayed nonce at the node', async () => {
    const nonce = new Uint8Array(randomBytes(24));
    const first = await runQuery(alice, spec(aliceId, countByRegion, { nonce }));
    expect(first.answers[0]!.table).toBeDefined();
    const refusal = await refusalOf(alice, spec(aliceId, countByRegion, { nonce }));
    expect(refusal).toEqual({ code: 'REPLAYED_NONCE', message: 'query: nonce was already used' });
  });

  it('refuses a researcher on the roster who is not a member of the project', async () => {
    const bob = net.client(net.researchers.bob!);
    const refusal = await refusalOf(bob, spec({ researcherId: 'bob' }, countByRegion));
    expect(refusal).toEqual({ code: 'RESEARCHER_NOT_ALLOWED', message: 'researcher "bob" is not a member of project "proj-test"' });
  });

  it('refuses a purpose the dataset does not permit', async () => {
    const refusal = await refusalOf(alice, spec(aliceId, countByRegion, { purpose: 'enforcement' }));
    expect(refusal).toEqual({ code: 'PURPOSE_NOT_PERMITTED', message: 'purpose "enforcement" is not permitted for dataset "clinic_visits"' });
  });

  it('refuses everything at a node without a policy', async () => {
    const refusal = await refusalOf(alice, spec(aliceId, countByRegion, { targetNodes: ['nopolicy'] }), 'nopolicy');
    expect(refusal).toEqual({ code: 'NO_POLICY', message: 'this node has no policy and answers nothing' });
  });

  it('refuses an unknown dataset and an unknown column', async () => {
    expect(await refusalOf(alice, spec(aliceId, { ...countByRegion, dataset: 'prison_records' }))).toEqual({
      code: 'UNKNOWN_DATASET',
      message: 'dataset "prison_records" does not exist at this node',
    });
    expect(await refusalOf(alice, spec(aliceId, { ...countByRegion, groupBy: ['postcode'] }))).toEqual({
      code: 'UNKNOWN_COLUMN',
      message: 'unknown column "postcode" in dataset "clinic_visits"',
    });
  });

  it('refuses identifier columns in a filter, a group-by and a measure', async () => {
    const inFilter = await refusalOf(alice, spec(aliceId, { ...countByRegion, filter: { kind: 'cmp', column: 'surname', op: 'eq', values: ['Surname1'] } }));
    expect(inFilter.code).toBe('IDENTIFIER_NOT_ALLOWED');
    expect(inFilter.message).toMatch(/^column "surname" is an identifier and cannot be used in a filter/);
    const inGroupBy = await refusalOf(alice, spec(aliceId, { ...countByRegion, groupBy: ['patient_id'] }));
    expect(inGroupBy.code).toBe('IDENTIFIER_NOT_ALLOWED');
    expect(inGroupBy.message).toMatch(/^column "patient_id" is an identifier and cannot be used in a group-by/);
    const inMeasure = await refusalOf(alice, spec(aliceId, { kind: 'sum', dataset: 'clinic_visits', column: 'patient_id', groupBy: [] }));
    expect(inMeasure.code).toBe('IDENTIFIER_NOT_ALLOWED');
  });

  it('binds SQL-injection attempts in values and rejects them in names, leaving the data intact', async () => {
    const injected = await runQuery(
      alice,
      spec(aliceId, { ...countByRegion, groupBy: [], filter: { kind: 'cmp', column: 'diagnosis', op: 'eq', values: ["x' OR 1=1 --"] } }),
    );
    expect(injected.answers[0]!.refusal?.code).toBe('ALL_CELLS_SUPPRESSED');
    const badColumn = await refusalOf(alice, spec(aliceId, { ...countByRegion, groupBy: ['region" FROM clinic_visits; DROP TABLE clinic_visits; --'] }));
    expect(badColumn).toEqual({ code: 'UNKNOWN_COLUMN', message: 'invalid column name' });
    const badDataset = await refusalOf(alice, spec(aliceId, { ...countByRegion, dataset: 'clinic_visits; DROP TABLE clinic_visits' }));
    expect(badDataset).toEqual({ code: 'UNKNOWN_DATASET', message: 'invalid dataset name' });
    expect(net.nodes.clinic!.store.db.prepare('SELECT COUNT(*) AS n FROM clinic_visits').get()).toEqual({ n: clinicRows().length });
  });

  it('refuses a group-by whose every cell is suppressed', async () => {
    const refusal = await refusalOf(
      alice,
      spec(aliceId, { ...countByRegion, groupBy: ['birth_year', 'sex'], filter: { kind: 'cmp', column: 'diagnosis', op: 'eq', values: ['rare'] } }),
    );
    expect(refusal).toEqual({ code: 'ALL_CELLS_SUPPRESSED', message: 'disclosure control released no cells; widen the groups or the filter' });
  });

  it('detects tampered result bytes at the researcher', async () => {
    const s = spec(aliceId, countByRegion);
    const { queryId } = await alice.submitEnvelope(await alice.sign(s));
    await alice.watch(queryId);
    const row = net.store.db.prepare('SELECT answer FROM query_nodes WHERE query_id = ?').get(queryId) as { answer: Buffer };
    const envelope = pb.SignedEnvelope.decode(row.answer);
    const payload = Buffer.from(envelope.payload);
    payload[payload.length - 5]! ^= 0x01;
    // A coordinator that rewrites a node's answer: the trigger-free table lets the test play that role.
    net.store.db
      .prepare('UPDATE query_nodes SET answer = ? WHERE query_id = ?')
      .run(Buffer.from(pb.SignedEnvelope.encode({ ...envelope, payload }).finish()), queryId);
    await expect(alice.result(queryId)).rejects.toThrowFedlabError('SIGNATURE_INVALID', 'result: signature does not verify');
  });

  it('detects a coordinator that serves the query bytes without the researcher signature', async () => {
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec(aliceId, countByRegion)));
    await alice.watch(queryId);
    const row = net.store.db.prepare('SELECT envelope FROM queries WHERE query_id = ?').get(queryId) as { envelope: Buffer };
    const envelope = pb.SignedEnvelope.decode(row.envelope);
    net.store.db
      .prepare('UPDATE queries SET envelope = ? WHERE query_id = ?')
      .run(Buffer.from(pb.SignedEnvelope.encode({ ...envelope, signature: Buffer.alloc(64) }).finish()), queryId);
    await expect(alice.result(queryId)).rejects.toThrowFedlabError('SIGNATURE_INVALID', 'query: signature does not verify');
  });

  it("refuses to show a query's status or answers to anyone but its researcher", async () => {
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec(aliceId, countByRegion)));
    await alice.watch(queryId);
    const bob = net.client(net.researchers.bob!);
    for (const read of [() => bob.result(queryId), () => bob.status(queryId), () => bob.watch(queryId)]) {
      await expect(read()).rejects.toThrowFedlabError('RESEARCHER_NOT_ALLOWED', `only the researcher who submitted query ${queryId} may read it`);
    }
  });

  it("stores and relays a node's table only sealed to the researcher: the coordinator cannot read it", async () => {
    const result = await runQuery(alice, spec(aliceId, countByRegion, { rho: 1 }));
    expect(result.answers[0]!.refusal).toBeUndefined();
    expect(result.answers[0]!.table!.cells.length).toBeGreaterThan(0);
    const row = net.store.db.prepare('SELECT answer FROM query_nodes WHERE query_id = ? AND node_id = ?').get(result.status.queryId, 'clinic') as {
      answer: Buffer;
    };
    const stored = pb.NodeAnswer.decode(pb.SignedEnvelope.decode(row.answer).payload);
    expect(stored.outcome?.$case).toBe('sealed');
    // Another researcher holding the stored bytes cannot open them either.
    const bob = net.researchers.bob!;
    const sealed = stored.outcome?.$case === 'sealed' ? stored.outcome.value.ciphertext : Buffer.alloc(0);
    expect(() => openFromPeer(bob, net.roster.get('clinic', 'node')!, answerSealHeader(result.status.queryId, 'clinic', 'bob'), sealed)).toThrow(FedlabError);
  });

  it('refuses, in the client, a filter of unknown kind: nothing is sent or logged', async () => {
    const size = net.coordinator.log.treeHead(Date.now()).size;
    const filter = { kind: 'not', items: [{ kind: 'cmp', column: 'region', op: 'eq', values: ['north'] }] } as unknown as Filter;
    await expect(
      alice.submit({
        projectId: 'proj-test',
        purpose: 'research',
        nodes: ['clinic'],
        expiresInMinutes: 10,
        pooled: false,
        privacy: { rho: 0.5 },
        analysis: { kind: 'count', dataset: 'clinic_visits', groupBy: [], filter },
      }),
    ).rejects.toThrowFedlabError('INVALID_QUERY', 'filter: unknown filter kind "not" (expected and, or or cmp)');
    expect(net.coordinator.log.treeHead(Date.now()).size).toBe(size);
  });

  it('refuses a query naming a node that is not on the roster', async () => {
    await expect(alice.submitEnvelope(await alice.sign(spec(aliceId, countByRegion, { targetNodes: ['ghost'] })))).rejects.toThrowFedlabError(
      'INVALID_QUERY',
      'target_nodes: "ghost" is not a node on the roster',
    );
  });
});

describe('keys of suppressed cells', () => {
  let net: TestNetwork;
  let alice: FedlabClient;
  test.beforeAll(async ({ fileTempDir }) => {
    const dir = path.join(fileTempDir, 'suppressed-keys');
    mkdirSync(dir);
    net = await startTestNetwork({
      dir,
      researchers: ['alice'],
      nodes: [{ id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: policyYaml({ datasets: { clinic_visits: PURPOSES } }) }],
    });
    alice = net.client(net.researchers.alice!);
  });
  afterAll(async () => {
    await net.stop();
  });

  it('refuses a group-by on an exact amount, which would publish the values behind small cells', async () => {
    const refusal = await refusalOf(alice, spec({ researcherId: 'alice' }, { ...countByRegion, groupBy: ['cost'] }));
    expect(refusal).toEqual({
      code: 'INVALID_QUERY',
      message: 'analysis.group_by[0]: column "cost" is real and cannot be grouped by; use a histogram or a filter',
    });
  });

  it('lists every histogram bin, so an empty bin cannot be told from a small one', async () => {
    const result = await runQuery(
      alice,
      spec(
        { researcherId: 'alice' },
        {
          kind: 'histogram',
          dataset: 'clinic_visits',
          column: 'cost',
          bins: [0, 40, 60, 100, 1000],
          groupBy: [],
          filter: {
            kind: 'or',
            items: [
              { kind: 'cmp', column: 'diagnosis', op: 'eq', values: ['rare'] },
              { kind: 'cmp', column: 'cost', op: 'ge', values: [100] },
            ],
          },
        },
      ),
    );
    const cells = result.answers[0]!.table!.cells;
    expect(cells.map((c) => [c.key[0], c.suppressed?.reason ?? null])).toEqual([
      [0, 'fewer than 10 persons'],
      [40, 'fewer than 10 persons'],
      [60, 'fewer than 10 persons'],
      [100, null],
    ]);
    const persons = new Set(
      clinicRows()
        .filter((r) => r.cost >= 100)
        .map((r) => r.patient_id),
    );
    expect(cells[3]!.stats!.count).toBe(clinicRows().filter((r) => r.cost >= 100).length);
    expect(persons.size).toBeGreaterThanOrEqual(10);
  });
});

describe('a policy asking for random rounding to base 5', () => {
  let net: TestNetwork;
  let alice: FedlabClient;
  test.beforeAll(async ({ fileTempDir }) => {
    const dir = path.join(fileTempDir, 'rounding');
    mkdirSync(dir);
    const policy = policyYaml({ datasets: { clinic_visits: PURPOSES } }).replace('rounding: none', 'rounding: random5');
    net = await startTestNetwork({
      dir,
      researchers: ['alice'],
      nodes: [{ id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy }],
    });
    alice = net.client(net.researchers.alice!);
  });
  afterAll(async () => {
    await net.stop();
  });

  it('does not round noisy counts to base 5, and says so', async () => {
    const rows = clinicRows();
    const result = await runQuery(alice, spec({ researcherId: 'alice' }, { ...countByRegion, groupBy: ['sex'] }));
    const table = result.answers[0]!.table!;
    // At ρ = 100 the noise on a count is 0 except with negligible probability.
    expect(table.cells.map((c) => c.stats!.count)).toEqual([rows.filter((r) => r.sex === 'F').length, rows.filter((r) => r.sex === 'M').length]);
    expect(table.report.notes).toContain('counts are not rounded to base 5: they carry differential-privacy noise instead');
  });
});

describe('work items larger than a node accepts', () => {
  let net: TestNetwork;
  let alice: FedlabClient;
  const NODE_LIMIT = 64 * 1024;
  test.beforeAll(async ({ fileTempDir }) => {
    const dir = path.join(fileTempDir, 'work-items');
    mkdirSync(dir);
    net = await startTestNetwork({
      dir,
      researchers: ['alice'],
      maxWorkBytes: 150 * 1024,
      nodes: [
        {
          id: 'clinic',
          datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }],
          policy: policyYaml({ datasets: { clinic_visits: PURPOSES } }),
          maxMessageBytes: NODE_LIMIT,
        },
      ],
    });
    alice = net.client(net.researchers.alice!);
  });
  afterAll(async () => {
    await net.stop();
  });

  /** A count whose filter lists `n` made-up regions of 200 characters each (about n × 200 bytes). */
  const bulky = (n: number) =>
    spec(
      { researcherId: 'alice' },
      { ...countByRegion, filter: { kind: 'cmp', column: 'region', op: 'in', values: Array.from({ length: n }, (_, i) => `${i}`.padStart(200, 'r')) } },
    );

  it("refuses at submit a query whose work item would exceed the nodes' limit: nothing logged or stored", async () => {
    // Node checkpoints may be logged meanwhile: count query entries only.
    const queriesLogged = () => (net.store.db.prepare("SELECT COUNT(*) AS n FROM log_leaves WHERE kind = 'query'").get() as { n: number }).n;
    const before = queriesLogged();
    const s = bulky(1000);
    await expect(alice.submitEnvelope(await alice.sign(s))).rejects.toThrowFedlabError(
      'MESSAGE_TOO_LARGE',
      /^query: its work item for the nodes would be up to 2\d{5} bytes; a node accepts at most 153600 \(make the query smaller\)$/,
    );
    expect(queriesLogged()).toBe(before);
    expect(net.store.queries.get(s.queryId)).toBeUndefined();
  });

  it('a node refuses, signed, an item over its own limit and keeps its stream for the next query', async () => {
    const refusal = await refusalOf(alice, bulky(500));
    expect(refusal.code).toBe('MESSAGE_TOO_LARGE');
    expect(refusal.message).toMatch(/^work item: 10\d{4} bytes, more than the 65536 this node accepts \(max_message_bytes\)$/);
    const next = await runQuery(alice, spec({ researcherId: 'alice' }, countByRegion));
    expect(next.answers[0]!.table!.cells.length).toBeGreaterThan(0);
    expect(net.nodes.clinic!.connection.attached).toBe(true);
  });
});
