import type { ChannelCredentials } from '@grpc/grpc-js';
import { FedlabError } from '@fedlab/model';
import { verifyGovernanceSignature } from '@fedlab/crypto';
import {
  parseApproval,
  parseRevocation,
  verifySignedProject,
  type Approval,
  type ProjectDocument,
  type Revocation,
  type SignedDocument,
  type Roster,
} from '@fedlab/governance';
import * as pb from '@fedlab/proto';
import { createPlaintextChannelCredentials } from '@fedlab/wire';
import { unaryCall, type UnaryMethod } from './unary-call';

/** A project as the register shows it, its researcher signature verified against the roster. */
export interface ProjectView {
  signed: SignedDocument;
  project: ProjectDocument;
  logIndex: number;
  approvals: Approval[];
  revocations: Revocation[];
  queriesPerNode: Record<string, number>;
  /** Privacy budget (ρ) per node and dataset, as the nodes' signed answers last reported it. */
  budgets: Array<{ nodeId: string; dataset: string; total: number; spent: number; remaining: number }>;
}

/** Submits and reads projects, approvals and revocations at the coordinator's GovernanceService. */
export class GovernanceClient {
  private readonly client: pb.GovernanceServiceClient;

  /** `roster` verifies the projects read back; publishing or fetching a roster needs none. */
  constructor(private readonly options: { address: string; roster?: Roster; credentials?: ChannelCredentials; callTimeoutMs?: number }) {
    this.client = new pb.GovernanceServiceClient(options.address, options.credentials ?? createPlaintextChannelCredentials(options.address));
  }

  async submitProject(document: SignedDocument): Promise<number> {
    const r = await this.call<pb.SubmitProjectRequest, pb.SubmitProjectResponse>((q, m, o, cb) => this.client.submitProject(q, m, o, cb), { document });
    return Number(r.logIndex);
  }

  async submitApproval(document: SignedDocument): Promise<number> {
    const r = await this.call<pb.SubmitApprovalRequest, pb.SubmitApprovalResponse>((q, m, o, cb) => this.client.submitApproval(q, m, o, cb), { document });
    return Number(r.logIndex);
  }

  /** Publishes a signed roster file's exact text to the coordinator, which verifies it and puts it in force. */
  async publishRoster(signedRoster: string): Promise<{ version: number; participants: number }> {
    return this.call<pb.PublishRosterRequest, pb.PublishRosterResponse>((q, m, o, cb) => this.client.publishRoster(q, m, o, cb), { signedRoster });
  }

  /** The signed roster file the coordinator holds (verify it against the pinned governance before use). */
  async fetchRoster(): Promise<{ signedRoster: string; version: number }> {
    return this.call<pb.GetRosterRequest, pb.GetRosterResponse>((q, m, o, cb) => this.client.getRoster(q, m, o, cb), {});
  }

  private requireRoster(): Roster {
    if (!this.options.roster) throw new FedlabError('INVALID_ARGUMENT', 'a roster is needed to verify governance documents: pass --roster');
    return this.options.roster;
  }

  async submitRevocation(document: SignedDocument): Promise<number> {
    const r = await this.call<pb.SubmitRevocationRequest, pb.SubmitRevocationResponse>((q, m, o, cb) => this.client.submitRevocation(q, m, o, cb), {
      document,
    });
    return Number(r.logIndex);
  }

  async project(projectId: string): Promise<ProjectView> {
    const r = await this.call<pb.GetProjectRequest, pb.GetProjectResponse>((q, m, o, cb) => this.client.getProject(q, m, o, cb), { projectId });
    if (!r.record) throw new FedlabError('NOT_FOUND', `project "${projectId}" not found`);
    const view = this.view(r.record);
    if (view.project.projectId !== projectId)
      throw new FedlabError('SIGNATURE_INVALID', `the coordinator returned project "${view.project.projectId}" when asked for "${projectId}"`);
    return view;
  }

  async projects(): Promise<ProjectView[]> {
    const r = await this.call<pb.ListProjectsRequest, pb.ListProjectsResponse>((q, m, o, cb) => this.client.listProjects(q, m, o, cb), {});
    return r.records.map((rec) => this.view(rec));
  }

  close(): void {
    this.client.close();
  }

  private view(record: pb.ProjectRecord): ProjectView {
    const signed = record.project!;
    const payloadOf = (d: pb.GovernanceDocument) => JSON.parse(d.payload) as unknown;
    return {
      signed,
      project: verifySignedProject(signed, this.requireRoster(), verifyGovernanceSignature),
      logIndex: Number(record.logIndex),
      approvals: record.approvals.map((d) => parseApproval(payloadOf(d), 'approval')),
      revocations: record.revocations.map((d) => parseRevocation(payloadOf(d), 'revocation')),
      queriesPerNode: Object.fromEntries(Object.entries(record.queriesPerNode).map(([k, v]) => [k, Number(v)])),
      budgets: record.budgets.map((b) => ({ nodeId: b.nodeId, dataset: b.dataset, total: b.total, spent: b.spent, remaining: b.remaining })),
    };
  }

  private call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    return unaryCall(method, request, this.options.callTimeoutMs);
  }
}
