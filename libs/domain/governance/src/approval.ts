import { z } from 'zod';
import { FedlabError, IDENTIFIER_NAME, PURPOSES, parseDocument, type Purpose } from '@fedlab/model';
import { DATASET_HINT, isoDate, isoTimestamp, parseSignedJson, participantId, projectId, quote, recordOf, uniqueArray } from './fields';
import { datasetAccessMapSchema, type DatasetAccess, type ProjectDocument } from './project-document';
import { verifySignerAndSignature, type SignedDocument } from './signed-document';
import type { RosterDocument } from './roster';
import type { VerifySignature } from './signature';

/**
 * One node steward's approval of a project, for that node only (DESIGN.md §7.6). What it grants
 * may be narrower than what the project requested, never wider.
 */
export interface Approval {
  projectId: string;
  /** Lower-case hex SHA-256 of the project payload bytes, computed by the caller. */
  projectHash: string;
  nodeId: string;
  datasets: Record<string, DatasetAccess>;
  /** The project's purpose; an enforcement purpose is honoured only when listed here. */
  purposes: Purpose[];
  /** Last day (UTC) the approval is valid; never after the ethics approval's expiry. */
  expiresOn: string;
  approvedAt: string;
  /**
   * Privacy budgets granted per dataset (DESIGN.md §5): total ρ and an optional per-query cap. A
   * dataset without an entry gets the node policy's default budget.
   */
  privacy: Record<string, PrivacyGrant>;
}

/** A project's privacy budget for one dataset at one node, as the steward's approval grants it. */
export interface PrivacyGrant {
  rho: number;
  maxQueryRho?: number;
}

const positiveRho = z.number().positive('must be a positive number').max(1000, 'must be at most 1000');
const privacyGrantSchema = z
  .strictObject({ rho: positiveRho, max_query_rho: positiveRho.optional() })
  .refine((g) => g.max_query_rho === undefined || g.max_query_rho <= g.rho, { message: 'max_query_rho must not be above rho', path: ['max_query_rho'] });

const approvalSchema = z.strictObject({
  project_id: projectId,
  project_hash: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex SHA-256 digest (64 characters)'),
  node_id: participantId,
  datasets: datasetAccessMapSchema,
  purposes: uniqueArray(z.enum(PURPOSES), 'purpose').min(1, 'at least 1 purpose'),
  expires_on: isoDate,
  approved_at: isoTimestamp,
  privacy: recordOf(IDENTIFIER_NAME, DATASET_HINT, privacyGrantSchema).optional(),
});

/** Validates an approval document (INVALID_ARGUMENT, `${source}: field.path: reason`). */
export function parseApproval(doc: unknown, source: string): Approval {
  const a = parseDocument(approvalSchema, doc, source, 'INVALID_ARGUMENT');
  return {
    projectId: a.project_id,
    projectHash: a.project_hash,
    nodeId: a.node_id,
    datasets: a.datasets,
    purposes: a.purposes,
    expiresOn: a.expires_on,
    approvedAt: a.approved_at,
    privacy: Object.fromEntries(
      Object.entries(a.privacy ?? {}).map(([dataset, g]) => [
        dataset,
        { rho: g.rho, ...(g.max_query_rho === undefined ? {} : { maxQueryRho: g.max_query_rho }) },
      ]),
    ),
  };
}

/** The JSON text of an approval, in the file's snake_case form, ready for the steward to sign. */
export function formatApproval(approval: Approval): string {
  return JSON.stringify(
    {
      project_id: approval.projectId,
      project_hash: approval.projectHash,
      node_id: approval.nodeId,
      datasets: approval.datasets,
      purposes: approval.purposes,
      expires_on: approval.expiresOn,
      approved_at: approval.approvedAt,
      ...(Object.keys(approval.privacy).length === 0
        ? {}
        : {
            privacy: Object.fromEntries(
              Object.entries(approval.privacy).map(([dataset, g]) => [
                dataset,
                { rho: g.rho, ...(g.maxQueryRho === undefined ? {} : { max_query_rho: g.maxQueryRho }) },
              ]),
            ),
          }),
    },
    null,
    2,
  );
}

/**
 * Checks that an approval stays within what the project requested for the approval's node:
 * the same project, only requested datasets, columns and analysis kinds (narrower is fine), only
 * the project's purpose, and an expiry no later than the ethics approval's. Throws
 * APPROVAL_INVALID naming the approval field, e.g.
 * `approval: datasets.visits.columns.1: column "postcode" was not requested for node "health"`.
 */
export function checkApprovalWithinRequest(project: ProjectDocument, approval: Approval, source = 'approval'): void {
  const fail = (path: string, reason: string) => new FedlabError('APPROVAL_INVALID', `${source}: ${path}: ${reason}`);
  if (approval.projectId !== project.projectId) {
    throw fail('project_id', `${quote(approval.projectId)} is not project ${quote(project.projectId)}`);
  }
  const request = Object.hasOwn(project.requests, approval.nodeId) ? project.requests[approval.nodeId] : undefined;
  if (request === undefined) throw fail('node_id', `project ${quote(project.projectId)} requested nothing of node ${quote(approval.nodeId)}`);
  const node = quote(approval.nodeId);
  for (const [dataset, granted] of Object.entries(approval.datasets)) {
    const requested = Object.hasOwn(request.datasets, dataset) ? request.datasets[dataset] : undefined;
    if (requested === undefined) throw fail(`datasets.${dataset}`, `dataset ${quote(dataset)} was not requested for node ${node}`);
    granted.columns.forEach((column, i) => {
      if (!requested.columns.includes(column)) throw fail(`datasets.${dataset}.columns.${i}`, `column ${quote(column)} was not requested for node ${node}`);
    });
    granted.analyses.forEach((kind, i) => {
      if (!requested.analyses.includes(kind)) throw fail(`datasets.${dataset}.analyses.${i}`, `analysis ${quote(kind)} was not requested for node ${node}`);
    });
  }
  for (const dataset of Object.keys(approval.privacy)) {
    if (!Object.hasOwn(approval.datasets, dataset)) throw fail(`privacy.${dataset}`, `dataset ${quote(dataset)} is not among the approved datasets`);
  }
  approval.purposes.forEach((purpose, i) => {
    if (purpose !== project.purpose) throw fail(`purposes.${i}`, `${quote(purpose)} is not the project's purpose ${quote(project.purpose)}`);
  });
  if (!approval.purposes.includes(project.purpose)) throw fail('purposes', `must list the project's purpose ${quote(project.purpose)}`);
  if (approval.expiresOn > project.ethicsApproval.expiresOn) {
    throw fail('expires_on', `${approval.expiresOn} is after the ethics approval expiry ${project.ethicsApproval.expiresOn}`);
  }
}

/**
 * Checks that the approval names the project payload it was given for: `projectHashHex` is the
 * hex SHA-256 the caller computed over the signed project payload bytes. Throws APPROVAL_INVALID.
 */
export function checkApprovalProjectHash(approval: Approval, projectHashHex: string, source = 'approval'): void {
  if (approval.projectHash !== projectHashHex.toLowerCase()) {
    throw new FedlabError('APPROVAL_INVALID', `${source}: project_hash: does not match the project ${quote(approval.projectId)} held at this node`);
  }
}

/**
 * Verifies a signed approval and returns it. The signer must be a steward on the roster, the
 * signature must verify under the "approval" context, and the signer must steward the approval's
 * node (all SIGNATURE_INVALID); a malformed payload is INVALID_ARGUMENT. Check the result against
 * the project with {@link checkApprovalWithinRequest} and {@link checkApprovalProjectHash}.
 */
export function verifySignedApproval(signed: SignedDocument, roster: RosterDocument, verify: VerifySignature, source = 'approval'): Approval {
  const signer = verifySignerAndSignature(signed, roster, verify, 'approval', 'steward', source);
  const payloadSource = `${source} payload`;
  const approval = parseApproval(parseSignedJson(signed.payload, payloadSource), payloadSource);
  if (signer.node !== approval.nodeId) {
    throw new FedlabError('ROLE_NOT_ALLOWED', `${source}: steward ${quote(signer.id)} does not steward node ${quote(approval.nodeId)}`);
  }
  return approval;
}
