import { afterAll, describe, expect } from 'vitest';
import type { QuerySpec } from '@fedlab/model';
import { LogClient, crossCheckAudit, type FedlabClient } from '@fedlab/client';
import { blake2b } from '@fedlab/crypto';
import { encodePublicQuerySummary } from '@fedlab/wire';
import { CLINIC_SCHEMA, clinicCsv, policyYaml, startTestNetwork, type TestNetwork, testQuerySpec } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

function spec(overrides: Partial<QuerySpec> = {}): QuerySpec {
  return testQuerySpec({ analysis: { kind: 'count', dataset: 'clinic_visits', groupBy: ['sex'] }, ...overrides });
}

describe('the public transparency log', () => {
  let net: TestNetwork;
  let alice: FedlabClient;
  let log: LogClient;
  const submitted: string[] = [];

  test.beforeAll(async ({ fileTempDir }) => {
    net = await startTestNetwork({
      dir: fileTempDir,
      researchers: ['alice', 'bob'],
      auditors: ['audrey'],
      nodes: [{ id: 'clinic', datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }], policy: policyYaml({ datasets: { clinic_visits: ['research'] } }) }],
    });
    alice = net.client(net.researchers.alice!);
    log = new LogClient({ address: net.address, roster: net.roster });
    for (let i = 0; i < 3; i++) {
      const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
      await alice.watch(queryId);
      submitted.push(queryId);
    }
  });
  afterAll(async () => {
    log.close();
    await net.stop();
  });

  it('holds every submitted query, in order, with its public fields, and its root matches the signed head', async () => {
    const { head, entries } = await log.verify();
    expect(head.size).toBe(entries.length);
    const queries = entries.filter((e) => e.kind === 'query');
    expect(queries.map((e) => [e.query?.queryId, e.query?.researcherId, e.query?.purpose])).toEqual(submitted.map((id) => [id, 'alice', 'research']));
    expect(queries.map((e) => e.index)).toEqual([...queries.map((e) => e.index)].sort((a, b) => a - b));
  });

  it("holds each query's hash and public summary, never a value the researcher typed", async () => {
    const secret = 'Zqxv-secret-7731';
    const filtered = spec({
      analysis: { kind: 'count', dataset: 'clinic_visits', groupBy: ['sex'], filter: { kind: 'cmp', column: 'region', op: 'eq', values: [secret] } },
    });
    const envelope = await alice.sign(filtered);
    const { queryId } = await alice.submitEnvelope(envelope);
    await alice.watch(queryId);
    submitted.push(queryId);
    const { entries } = await log.verify();
    const entry = entries.find((e) => e.query?.queryId === queryId)!;
    expect(entry.query).toEqual({
      queryHash: Buffer.from(blake2b(envelope.payload, 32)).toString('hex'),
      queryId,
      projectId: filtered.projectId,
      purpose: 'research',
      researcherId: 'alice',
      targetNodes: ['clinic'],
      analysis: 'count',
      pooled: false,
      datasets: ['clinic_visits'],
      columns: ['clinic_visits.sex', 'clinic_visits.region'],
      issuedAtMs: filtered.issuedAtMs,
      expiresAtMs: filtered.expiresAtMs,
    });
    // Not in any leaf's bytes, nor anywhere a public caller can read the log.
    const leaves = (net.store.db.prepare('SELECT leaf FROM log_leaves').all() as Array<{ leaf: Buffer }>).map((r) => r.leaf);
    expect(leaves.some((leaf) => leaf.includes(Buffer.from(secret)))).toBe(false);
    expect(JSON.stringify(entries)).not.toContain(secret);
  });

  it("lets an auditor, and the query's researcher, read the full query behind an entry; nobody else", async () => {
    const queryId = submitted.at(-1)!;
    const audited = await log.auditQuery(queryId, net.auditors.audrey!);
    expect(audited.spec.analysis.filter).toEqual({ kind: 'cmp', column: 'region', op: 'eq', values: ['Zqxv-secret-7731'] });
    expect(audited.summary.queryId).toBe(queryId);
    expect((await log.auditQuery(queryId, net.researchers.alice!)).logIndex).toBe(audited.logIndex);
    await expect(log.auditQuery(queryId, net.researchers.bob!)).rejects.toThrowFedlabError(
      'ROLE_NOT_ALLOWED',
      `only an auditor on the roster, or the researcher who submitted query ${queryId}, may read the full query`,
    );
    await expect(log.auditQuery(queryId, net.nodes.clinic!.identity)).rejects.toThrowFedlabError(
      'UNKNOWN_RESEARCHER',
      'read: signer is not a researcher on the roster',
    );
  });

  it('proves the inclusion of one entry against the signed head', async () => {
    const { entries } = await log.verify();
    const index = entries.find((e) => e.query?.queryId === submitted[1])!.index;
    const r = await log.proveInclusion(index);
    expect(r.entry.query?.queryId).toBe(submitted[1]);
    // proveInclusion already verified the proof; a tree of more than one leaf needs at least one hash.
    expect(r.proof.length).toBeGreaterThan(0);
  });

  it('logs each node audit checkpoint and cross-checks the node audit chain against the log', async () => {
    const { entries } = await log.verify();
    const audit = net.nodes.clinic!.store.audit.entries();
    const checkpoints = entries.filter((e) => e.checkpoint?.nodeId === 'clinic');
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(checkpoints.at(-1)!.checkpoint!.seq).toBe(audit.at(-1)!.seq);
    expect(crossCheckAudit('clinic', entries, audit)).toEqual({
      ok: true,
      queriesInLog: submitted.length,
      queriesAudited: submitted.length,
      checkpointsChecked: checkpoints.length,
      discrepancies: [],
    });
  });

  it('checks every checkpoint signature in the log and ignores, but reports, a forged checkpoint', async () => {
    const { entries } = await log.verify();
    expect(entries.filter((e) => e.kind === 'checkpoint').every((e) => e.signatureValid === true)).toBe(true);
    const real = entries.filter((e) => e.checkpoint?.nodeId === 'clinic').at(-1)!;
    const forged = { ...real, index: 9999, checkpoint: { ...real.checkpoint!, headHash: '00'.repeat(64) }, signatureValid: false };
    const check = crossCheckAudit('clinic', [...entries, forged], net.nodes.clinic!.store.audit.entries());
    expect(check.discrepancies).toEqual(['log entry 9999 (checkpoint) is not validly signed by its node; it was ignored']);
  });

  it('names an audit entry deleted, a chain rewritten after a checkpoint, and an answered query missing from the log', async () => {
    const { entries } = await log.verify();
    const audit = net.nodes.clinic!.store.audit.entries();
    const dropped = audit.filter((a) => a.queryId !== submitted[0]);
    const first = crossCheckAudit('clinic', entries, dropped);
    const index0 = entries.find((e) => e.query?.queryId === submitted[0])!.index;
    expect(first.discrepancies).toContain(
      `query ${submitted[0]} is in the public log (entry ${index0}) but not in the node's audit chain (never received, or the entry was removed)`,
    );
    const lastCheckpoint = entries.filter((e) => e.checkpoint?.nodeId === 'clinic').at(-1)!;
    const rewritten = audit.map((a) => (a.seq === lastCheckpoint.checkpoint!.seq ? { ...a, hash: new Uint8Array(64) } : a));
    expect(crossCheckAudit('clinic', entries, rewritten).discrepancies).toContain(
      `checkpoint in log entry ${lastCheckpoint.index} does not match audit entry ${lastCheckpoint.checkpoint!.seq}: the chain was rewritten after it was published`,
    );
    const secret = [...audit, { ...audit.at(-1)!, seq: 999, queryId: 'q-secret-query-1', decision: 'answered' }];
    expect(crossCheckAudit('clinic', entries, secret).discrepancies).toEqual([
      'query q-secret-query-1 was answered by the node (audit entry 999) but is not in the public log',
    ]);
  });

  it('proves that the log only grew since an earlier head', async () => {
    const { view: before } = await log.treeHead();
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec()));
    await alice.watch(queryId);
    const { head } = await log.verify(before);
    expect(head.size).toBeGreaterThan(before.size);
  });

  it('records the tree head each node verified, so nodes hold the coordinator to the log', async () => {
    const { view } = await log.treeHead();
    const { entries } = await log.verify();
    const lastQuery = entries.filter((e) => e.kind === 'query').at(-1)!;
    // The node verified the head sent with the last query: it contains that query, and later
    // entries (the node's own checkpoint) may have been appended since.
    const known = net.nodes.clinic!.agent.knownTreeSize();
    expect(known).toBeGreaterThan(lastQuery.index);
    expect(known).toBeLessThanOrEqual(view.size);
  });

  it('detects a log whose entries were altered after their tree head was signed', async () => {
    const { view: before } = await log.treeHead();
    const row = net.store.db.prepare('SELECT leaf FROM log_leaves WHERE idx = 0').get() as { leaf: Buffer };
    const altered = Buffer.from(row.leaf);
    altered[altered.length - 1]! ^= 0x01;
    net.store.db.prepare('UPDATE log_leaves SET leaf = ? WHERE idx = 0').run(altered);
    try {
      await expect(log.verify(before)).rejects.toThrowFedlabError('LOG_INCONSISTENT', `the ${before.size} entries served do not hash to the signed root`);
    } finally {
      net.store.db.prepare('UPDATE log_leaves SET leaf = ? WHERE idx = 0').run(row.leaf);
    }
  });

  it('detects a rewritten log through the consistency proof from an earlier head', async () => {
    const { view: real } = await log.treeHead();
    const forgedEarlier = { ...real, size: 2, rootHash: 'ab'.repeat(32) };
    await expect(log.verify(forgedEarlier)).rejects.toThrowFedlabError(
      'LOG_INCONSISTENT',
      `the log of size ${real.size} is not consistent with the earlier head of size 2`,
    );
    expect(real.size).toBeGreaterThan(2);
  });

  it('refuses proofs for indexes and sizes outside the tree', async () => {
    const { size } = (await log.treeHead()).view;
    await expect(log.proveInclusion(99)).rejects.toThrowFedlabError('INVALID_ARGUMENT', `log index 99 is not below tree size ${size}`);
  });

  it("detects an entry whose public fields are not the query's own, even with the right hash (run late: it rewires a query's entry)", async () => {
    const queryId = submitted.at(-1)!;
    const { spec, summary } = await log.auditQuery(queryId, net.auditors.audrey!);
    // A coordinator logs a summary with a false purpose (and the true hash) and points the query at it.
    const forged = encodePublicQuerySummary({ ...spec, purpose: 'statistics' }, Buffer.from(summary.queryHash, 'hex'));
    const index = net.coordinator.log.append('query', forged, Date.now()).index;
    net.store.db.prepare('UPDATE queries SET log_index = ? WHERE query_id = ?').run(index, queryId);
    await expect(log.auditQuery(queryId, net.auditors.audrey!)).rejects.toThrowFedlabError(
      'LOG_INCONSISTENT',
      `log entry ${index} does not commit to the query the coordinator returned for ${queryId}`,
    );
  });

  it('names the entry it cannot read (run last: it appends an unreadable entry to the log)', async () => {
    const index = net.coordinator.log.size;
    net.coordinator.log.append('query', Buffer.from([0xff, 0xff, 0xff]), Date.now());
    await expect(log.verify()).rejects.toThrowFedlabError('LOG_INCONSISTENT', `log entry ${index} (query) cannot be read: it is not a valid query summary`);
  });
});
