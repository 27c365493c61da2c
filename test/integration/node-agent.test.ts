import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect } from 'vitest';
import { FedlabError, type QuerySpec } from '@fedlab/model';
import { blake2b, generateIdentity, initCrypto, openFromPeer, parseRoster } from '@fedlab/crypto';
import { publicIdentityJson, type Identity, type Roster } from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import { NodeAgent, loadNodePolicy } from '@fedlab/node-service';
import { openNodeStore, type SqliteNodeStore } from '@fedlab/store';
import { answerSealHeader, encodeQuerySpec, sealEnvelope } from '@fedlab/wire';
import { CLINIC_SCHEMA, TestLog, approveForNode, clinicCsv, policyYaml, signTestProject, testQuerySpec } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

describe('a node agent receiving work from a possibly malicious coordinator', () => {
  let coordinator: Identity;
  let alice: Identity;
  let node: Identity;
  let agent: NodeAgent;
  let store: SqliteNodeStore;
  let log: TestLog;
  let roster: Roster;
  const now = Date.now();

  test.beforeAll(async ({ fileTempDir }) => {
    await initCrypto();
    coordinator = generateIdentity('coordinator', 'coordinator');
    alice = generateIdentity('alice', 'researcher');
    node = generateIdentity('clinic', 'node');
    const steward = generateIdentity('clinic-steward', 'steward');
    log = new TestLog(coordinator);
    roster = parseRoster(
      { version: 1, participants: [...[coordinator, alice, node].map(publicIdentityJson), { ...publicIdentityJson(steward), node: 'clinic' }] },
      'roster',
    );
    store = openNodeStore(path.join(fileTempDir, 'clinic.db'));
    writeFileSync(path.join(fileTempDir, 'clinic.csv'), clinicCsv());
    await store.datasets.import({ csvPath: path.join(fileTempDir, 'clinic.csv'), schema: CLINIC_SCHEMA });
    approveForNode(store, 'clinic', roster, signTestProject([alice], { clinic: [CLINIC_SCHEMA] }, { id: 'p' }), steward);
    const policyFile = path.join(fileTempDir, 'policy.yaml');
    writeFileSync(policyFile, policyYaml({ datasets: { clinic_visits: ['research'] } }));
    agent = new NodeAgent({ identity: node, roster, store, policy: () => loadNodePolicy(policyFile), now: () => now });
  });
  afterAll(() => {
    store.close();
  });

  function spec(overrides: Partial<QuerySpec> = {}): QuerySpec {
    return testQuerySpec({ projectId: 'p', issuedAtMs: now, expiresAtMs: now + 60_000, ...overrides });
  }

  function work(s: QuerySpec, mutate: (payload: Buffer) => void = () => {}, signer = coordinator): pb.QueryWork {
    const signed = sealEnvelope('query', encodeQuerySpec(s), alice);
    const payload = Buffer.from(signed.payload);
    mutate(payload);
    const query = { ...signed, payload };
    const index = log.appendQuery(query);
    const countersigned = pb.CountersignedQuery.encode({ query, logIndex: BigInt(index), receivedAtMs: BigInt(now) }).finish();
    return log.work(s.queryId, sealEnvelope('countersign', countersigned, signer), index, agent.knownTreeSize());
  }

  function outcome(envelope: pb.SignedEnvelope): pb.NodeAnswer['outcome'] {
    return pb.NodeAnswer.decode(envelope.payload).outcome;
  }

  it('answers a valid query with a table sealed to its researcher, signed over the query hash', async () => {
    const s = spec();
    const envelope = await agent.handle(work(s));
    const answer = pb.NodeAnswer.decode(envelope.payload);
    expect(Buffer.from(answer.queryHash).equals(Buffer.from(blake2b(encodeQuerySpec(s), 32)))).toBe(true);
    // The coordinator relays only ciphertext: the researcher opens it with her key.
    const sealed = answer.outcome?.$case === 'sealed' ? answer.outcome.value : undefined;
    expect(sealed?.kind).toBe('table');
    const table = pb.ResultTable.decode(openFromPeer(alice, roster.get('clinic', 'node')!, answerSealHeader(s.queryId, 'clinic', 'alice'), sealed!.ciphertext));
    expect(table.dataset).toBe('clinic_visits');
    expect(table.cells.length).toBeGreaterThan(0);
    // Nobody else can: not the coordinator, not with another query's header.
    expect(() => openFromPeer(coordinator, roster.get('clinic', 'node')!, answerSealHeader(s.queryId, 'clinic', 'alice'), sealed!.ciphertext)).toThrow(
      FedlabError,
    );
    expect(() => openFromPeer(alice, roster.get('clinic', 'node')!, answerSealHeader('q-other', 'clinic', 'alice'), sealed!.ciphertext)).toThrow(FedlabError);
  });

  it('refuses, signed, a work item over its max_message_bytes without caching the refusal, so a raised limit lets it through', async ({ fileTempDir }) => {
    const s = spec();
    const w = work(s);
    const policyFile = path.join(fileTempDir, 'policy.yaml');
    const strict = new NodeAgent({ identity: node, roster, store, policy: () => loadNodePolicy(policyFile), now: () => now, maxWorkBytes: 100 });
    expect(outcome(await strict.handle(w))).toEqual({
      $case: 'refusal',
      value: {
        code: 'MESSAGE_TOO_LARGE',
        message: `work item: ${pb.QueryWork.encode(w).finish().length} bytes, more than the 100 this node accepts (max_message_bytes)`,
      },
    });
    // Re-delivered (a fresh log proof, the same query and nonce) to a node that accepts it: answered, not the cached refusal.
    expect(outcome(await agent.handle(work(s)))).toMatchObject({ $case: 'sealed' });
  });

  it('refuses query bytes altered after the researcher signed them, even when the coordinator countersigned', async () => {
    const log = store.audit;
    const before = log.head().seq;
    const s = spec();
    const envelope = await agent.handle(work(s, (p) => (p[p.length - 40]! ^= 0x04)));
    expect(outcome(envelope)).toEqual({ $case: 'refusal', value: { code: 'SIGNATURE_INVALID', message: 'query: signature does not verify' } });
    expect(log.entries(before + 1).map((e) => [e.queryId, e.decision, e.reason])).toEqual([[s.queryId, 'refused', 'SIGNATURE_INVALID']]);
  });

  it('refuses work not countersigned by the coordinator on the roster', async () => {
    const envelope = await agent.handle(work(spec(), undefined, generateIdentity('coordinator', 'coordinator')));
    expect(outcome(envelope)).toEqual({ $case: 'refusal', value: { code: 'SIGNATURE_INVALID', message: 'countersign: signature does not verify' } });
  });

  it('refuses a query that expired before it reached the node', async () => {
    const s = spec({ issuedAtMs: now - 120_000, expiresAtMs: now - 1 });
    expect(outcome(await agent.handle(work(s)))).toEqual({ $case: 'refusal', value: { code: 'QUERY_EXPIRED', message: `query ${s.queryId} expired` } });
  });

  it('refuses a query issued in the future beyond the clock skew', async () => {
    const s = spec({ issuedAtMs: now + 3_600_000, expiresAtMs: now + 7_200_000 });
    expect(outcome(await agent.handle(work(s)))).toEqual({ $case: 'refusal', value: { code: 'INVALID_QUERY', message: 'query: issued in the future' } });
  });

  it('refuses every query while the policy file is invalid, without revealing the file or the parse error', async ({ fileTempDir }) => {
    const broken = path.join(fileTempDir, 'broken-policy.yaml');
    writeFileSync(broken, 'sdc: { min_persons: 2 }\n');
    const strict = new NodeAgent({ identity: node, roster, store, policy: () => loadNodePolicy(broken), now: () => now });
    const s = spec();
    expect(outcome(await strict.handle(work(s)))).toEqual({
      $case: 'refusal',
      value: { code: 'NO_POLICY', message: "this node's policy is invalid and it answers nothing until its steward fixes it" },
    });
    expect(store.nonces.seen(Buffer.from(s.nonce).toString('hex'), now)).toBe(true);
  });

  it('refuses a query that comes without a tree head and log entry', async () => {
    const w = { ...work(spec()), treeHead: undefined, logLeaf: Buffer.alloc(0) };
    expect(outcome(await agent.handle(w))).toEqual({
      $case: 'refusal',
      value: { code: 'INCLUSION_PROOF_INVALID', message: 'query: no signed tree head and log entry came with it' },
    });
  });

  it('refuses an inclusion proof for a different tree', async () => {
    const w = work(spec());
    const other = new TestLog(coordinator);
    for (let i = 0; i < log.tree.size; i++) other.append(Buffer.from(`other-${i}`));
    const index = log.tree.size - 1;
    const foreignProof = other.tree.inclusionProof(index, other.tree.size).map((h) => Buffer.from(h));
    expect(outcome(await agent.handle({ ...w, inclusionProof: foreignProof }))).toEqual({
      $case: 'refusal',
      value: { code: 'INCLUSION_PROOF_INVALID', message: 'query: the inclusion proof does not match the signed tree head' },
    });
  });

  it('refuses a tree head that is not signed by the coordinator on the roster', async () => {
    const w = work(spec());
    const forged = log.treeHead(log.tree.size, generateIdentity('coordinator', 'coordinator'));
    expect(outcome(await agent.handle({ ...w, treeHead: forged }))).toEqual({
      $case: 'refusal',
      value: { code: 'TREE_HEAD_INVALID', message: 'tree head: signature does not verify' },
    });
  });

  it('refuses a log that was rewritten since the node last verified it', async () => {
    const known = agent.knownTreeSize();
    expect(known).toBeGreaterThan(0);
    // A rewritten history: the same number of earlier entries, but different ones, then the query.
    const rewritten = new TestLog(coordinator);
    for (let i = 0; i < known; i++) rewritten.append(Buffer.from(`rewritten-${i}`));
    const s = spec();
    const query = sealEnvelope('query', encodeQuerySpec(s), alice);
    const index = rewritten.appendQuery(query);
    const countersigned = sealEnvelope(
      'countersign',
      pb.CountersignedQuery.encode({ query, logIndex: BigInt(index), receivedAtMs: BigInt(now) }).finish(),
      coordinator,
    );
    const w = rewritten.work(s.queryId, countersigned, index, known);
    expect(outcome(await agent.handle(w))).toEqual({
      $case: 'refusal',
      value: { code: 'LOG_INCONSISTENT', message: `tree head: the log of size ${known + 1} is not consistent with the tree of size ${known} already verified` },
    });
    expect(agent.knownTreeSize()).toBe(known);
  });

  it('refuses a tree head smaller than the one already verified', async () => {
    const w = work(spec());
    const known = agent.knownTreeSize();
    expect(outcome(await agent.handle({ ...w, treeHead: log.treeHead(1) }))).toEqual({
      $case: 'refusal',
      value: { code: 'LOG_INCONSISTENT', message: `tree head: size 1 is smaller than the size ${known} already verified` },
    });
  });

  it('refuses a query that does not name this node as a target', async () => {
    const s = spec({ targetNodes: ['other'] });
    expect(outcome(await agent.handle(work(s)))).toEqual({
      $case: 'refusal',
      value: { code: 'INVALID_QUERY', message: 'query: this node is not a target of the query' },
    });
  });
});
