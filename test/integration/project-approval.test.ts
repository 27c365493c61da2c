import { afterAll, describe, expect } from 'vitest';
import { FedlabError, type Analysis, type QuerySpec } from '@fedlab/model';
import { generateIdentity, parseRoster, signDocument, verifyGovernanceSignature } from '@fedlab/crypto';
import { GovernanceClient, LogClient } from '@fedlab/client';
import {
  formatApproval,
  formatProjectDocument,
  formatRevocation,
  parseProjectDocument,
  verifySignedProject,
  type SignedDocument,
  publicIdentityJson,
} from '@fedlab/governance';
import type { FedlabClient } from '@fedlab/client';
import { projectHash, recordApproval, recordRevocation } from '@fedlab/node-service';
import { approvalForRequest } from '@fedlab/governance';
import { CLINIC_SCHEMA, clinicCsv, policyYaml, startTestNetwork, type TestNetwork, testQuerySpec } from '@fedlab/testing';
import { it, test } from '@fedlab/test-kit';

const count: Analysis = { kind: 'count', dataset: 'clinic_visits', groupBy: ['sex'] };

function spec(overrides: Partial<QuerySpec> = {}): QuerySpec {
  return testQuerySpec({ analysis: count, ...overrides });
}

describe('queries run only inside projects approved by the node steward', () => {
  let net: TestNetwork;
  let alice: FedlabClient;

  test.beforeAll(async ({ fileTempDir }) => {
    net = await startTestNetwork({
      dir: fileTempDir,
      researchers: ['alice'],
      project: { approvedBy: [] },
      nodes: [
        {
          id: 'clinic',
          datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv() }],
          policy: policyYaml({ datasets: { clinic_visits: ['research', 'statistics'] } }),
        },
      ],
    });
    alice = net.client(net.researchers.alice!);
  });
  afterAll(async () => {
    await net.stop();
  });

  async function answer(s: QuerySpec) {
    const { queryId } = await alice.submitEnvelope(await alice.sign(s));
    await alice.watch(queryId);
    return (await alice.result(queryId)).answers[0]!;
  }

  /** Records the clinic steward's approval of the test project, narrowed or shortened by `edit`. */
  function approve(edit: (approval: ReturnType<typeof approvalForRequest>) => void = () => {}) {
    const project = parseProjectDocument(JSON.parse(net.project.payload), 'project');
    const approval = approvalForRequest(project, 'clinic', projectHash(net.project), '2099-12-31', new Date().toISOString());
    edit(approval);
    recordApproval(
      net.nodes.clinic!.store,
      'clinic',
      net.roster,
      net.project,
      signDocument('approval', formatApproval(approval), net.stewards.clinic!),
      Date.now(),
    );
  }

  it('refuses a query of a project the node has not approved', async () => {
    expect((await answer(spec())).refusal).toEqual({ code: 'PROJECT_NOT_ALLOWED', message: 'project "proj-test" is not approved at this node' });
  });

  it('answers once the steward approved the project', async () => {
    approve();
    expect((await answer(spec())).table?.cells.map((c) => c.key[0])).toEqual(['F', 'M']);
  });

  it('refuses a column the steward did not approve, even though the project asked for it', async () => {
    approve((a) => {
      a.datasets.clinic_visits!.columns = a.datasets.clinic_visits!.columns.filter((c) => c !== 'diagnosis');
    });
    const refusal = (await answer(spec({ analysis: { ...count, filter: { kind: 'cmp', column: 'diagnosis', op: 'eq', values: ['flu'] } } }))).refusal;
    expect(refusal).toEqual({ code: 'COLUMN_NOT_APPROVED', message: 'column "diagnosis" of dataset "clinic_visits" is not approved for project "proj-test"' });
  });

  it('refuses a purpose other than the project purpose, even one the dataset permits', async () => {
    approve();
    expect((await answer(spec({ purpose: 'statistics' }))).refusal).toEqual({
      code: 'PURPOSE_NOT_PERMITTED',
      message: 'purpose "statistics" is not the purpose of project "proj-test"',
    });
  });

  it('refuses a query of a project whose approval expired', async () => {
    approve((a) => {
      a.expiresOn = '2020-01-31';
    });
    expect((await answer(spec())).refusal).toEqual({ code: 'PROJECT_EXPIRED', message: 'project "proj-test" expired on 2020-01-31' });
  });

  it('refuses the next query once the steward revokes the approval', async () => {
    approve();
    expect((await answer(spec())).table).toBeDefined();
    const revocation: SignedDocument = signDocument(
      'revocation',
      formatRevocation({ projectId: 'proj-test', nodeId: 'clinic', reason: 'ethics approval withdrawn', revokedAt: new Date().toISOString() }),
      net.stewards.clinic!,
    );
    recordRevocation(net.nodes.clinic!.store, 'clinic', net.roster, revocation, Date.now());
    expect((await answer(spec())).refusal).toEqual({ code: 'PROJECT_REVOKED', message: 'the approval of project "proj-test" at this node was revoked' });
  });

  it('refuses an approval that grants more than the project asked for', () => {
    const error = (() => {
      try {
        approve((a) => {
          a.datasets.other_dataset = { columns: ['x'], analyses: ['count'] };
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FedlabError);
    expect((error as FedlabError).code).toBe('APPROVAL_INVALID');
  });

  it('lets an auditor read the register and log but submit neither queries nor projects', async () => {
    const auditor = generateIdentity('commissioner', 'auditor');
    const roster = parseRoster({ version: 1, participants: [...net.roster.toJson().participants, publicIdentityJson(auditor)] }, 'roster');
    expect(() => verifySignedProject(signDocument('project', net.project.payload, auditor), roster, verifyGovernanceSignature)).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_RESEARCHER', message: 'project: signer "commissioner" is not a researcher on the roster' }),
    );
    const asAuditor = net.client(auditor);
    const refused = await asAuditor.submitEnvelope(await asAuditor.sign(spec({ researcherId: 'commissioner' }))).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'UNKNOWN_RESEARCHER', message: 'query: signer is not a researcher on the roster' });
    const log = new LogClient({ address: net.address, roster: net.roster });
    try {
      expect((await log.verify()).head.size).toBeGreaterThan(0);
    } finally {
      log.close();
    }
  });

  it('refuses, before logging anything, a project naming an unknown node or a dataset or column a node does not publish', async () => {
    const gov = new GovernanceClient({ address: net.address, roster: net.roster });
    const log = new LogClient({ address: net.address, roster: net.roster });
    try {
      const asked = parseProjectDocument(JSON.parse(net.project.payload), 'project');
      const clinic = asked.requests.clinic!.datasets.clinic_visits!;
      const submit = (requests: typeof asked.requests, id: string) =>
        gov
          .submitProject(signDocument('project', formatProjectDocument({ ...asked, projectId: id, requests }), net.researchers.alice!))
          .catch((e: unknown) => e);
      const sizeBefore = (await log.treeHead()).view.size;
      expect(await submit({ 'node-id': { datasets: { dataset_name: { columns: ['column'], analyses: ['count'] } } } }, 'template')).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: 'project "template": requests.node-id: "node-id" is not a node on the roster',
      });
      expect(await submit({ clinic: { datasets: { dataset_name: clinic } } }, 'placeholder')).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message:
          'project "placeholder": requests.clinic.datasets.dataset_name: node "clinic" publishes no dataset "dataset_name" (its catalog lists: clinic_visits)',
      });
      expect(await submit({ clinic: { datasets: { clinic_visits: { ...clinic, columns: [...clinic.columns, 'postcode'] } } } }, 'typo')).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: 'project "typo": requests.clinic.datasets.clinic_visits.columns: "postcode" is not a column of "clinic_visits" at node "clinic"',
      });
      expect((await log.treeHead()).view.size).toBe(sizeBefore);
      expect((await gov.projects()).map((p) => p.project.projectId)).not.toContain('template');
    } finally {
      gov.close();
      log.close();
    }
  });

  it('registers governance documents once: replays and older approvals are refused', async () => {
    const gov = new GovernanceClient({ address: net.address, roster: net.roster });
    try {
      expect(await gov.submitProject(net.project)).toBeGreaterThanOrEqual(0);
      const project = parseProjectDocument(JSON.parse(net.project.payload), 'project');
      const approvalAt = (iso: string) =>
        signDocument('approval', formatApproval(approvalForRequest(project, 'clinic', projectHash(net.project), '2099-12-31', iso)), net.stewards.clinic!);
      const newer = approvalAt('2026-11-24T10:00:00.000Z');
      await gov.submitApproval(newer);
      expect(await gov.submitApproval(newer).catch((e: unknown) => e)).toMatchObject({ code: 'APPROVAL_INVALID' });
      expect(await gov.submitApproval(approvalAt('2026-11-24T09:00:00.000Z')).catch((e: unknown) => e)).toMatchObject({
        code: 'APPROVAL_INVALID',
        message: 'approval: not newer than the approval of "proj-test" at "clinic" already registered',
      });
      const revocation = signDocument(
        'revocation',
        formatRevocation({ projectId: 'proj-test', nodeId: 'clinic', reason: 'r', revokedAt: '2026-11-24T11:00:00.000Z' }),
        net.stewards.clinic!,
      );
      await gov.submitRevocation(revocation);
      expect(await gov.submitRevocation(revocation).catch((e: unknown) => e)).toMatchObject({
        code: 'REPLAYED_NONCE',
        message: 'revocation: this document is already registered',
      });
      const view = await gov.project('proj-test');
      expect([view.approvals.length, view.revocations.length]).toEqual([1, 1]);
    } finally {
      gov.close();
    }
  });

  it('refuses an approval signed by a key that is not the node steward', () => {
    const project = parseProjectDocument(JSON.parse(net.project.payload), 'project');
    const approval = approvalForRequest(project, 'clinic', projectHash(net.project), '2099-12-31', new Date().toISOString());
    const byResearcher = signDocument('approval', formatApproval(approval), net.researchers.alice!);
    expect(() => recordApproval(net.nodes.clinic!.store, 'clinic', net.roster, net.project, byResearcher, Date.now())).toThrow(
      expect.objectContaining({ code: 'SIGNATURE_INVALID' }),
    );
  });
});
