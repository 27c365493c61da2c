import { z } from 'zod';
import { ANALYSIS_KINDS, FedlabError, IDENTIFIER_NAME, PURPOSES, parseDocument, type AnalysisKind, type Purpose } from '@fedlab/model';
import {
  DATASET_HINT,
  NODE_ID_HINT,
  PARTICIPANT_ID,
  datasetOrColumnName,
  isoDate,
  isoTimestamp,
  parseSignedJson,
  participantId,
  projectId,
  quote,
  recordOf,
  text,
  uniqueArray,
} from './fields';
import { verifySignerAndSignature, type SignedDocument } from './signed-document';
import type { RosterDocument } from './roster';
import type { VerifySignature } from './signature';

/** The columns and analysis kinds requested (in a project) or granted (in an approval) for one dataset. */
export interface DatasetAccess {
  columns: string[];
  analyses: AnalysisKind[];
}

/** What a project asks of one node. */
export interface NodeRequest {
  datasets: Record<string, DatasetAccess>;
}

/** A research project (DESIGN.md §7.6), signed by the researcher who drafted it. */
export interface ProjectDocument {
  projectId: string;
  title: string;
  laySummary: string;
  purpose: Purpose;
  legalBasis: string;
  dataSharingAgreement: string;
  ethicsApproval: { reference: string; expiresOn: string };
  /** Researcher ids, at least one. */
  members: string[];
  /** Per node id, the datasets, columns and analysis kinds requested there. */
  requests: Record<string, NodeRequest>;
  createdAt: string;
}

const MAX_COLUMNS = 500;

/** The `{ columns, analyses }` object shared by project requests and approvals. */
export const datasetAccessSchema = z.strictObject({
  columns: uniqueArray(datasetOrColumnName, 'column').max(MAX_COLUMNS, `at most ${MAX_COLUMNS} columns`),
  analyses: uniqueArray(z.enum(ANALYSIS_KINDS), 'analysis').min(1, 'at least 1 analysis kind'),
});

/** Datasets by name, at least one. */
export const datasetAccessMapSchema = recordOf(IDENTIFIER_NAME, DATASET_HINT, datasetAccessSchema).refine(
  (datasets) => Object.keys(datasets).length > 0,
  'at least 1 dataset',
);

const projectSchema = z.strictObject({
  project_id: projectId,
  title: text(200),
  lay_summary: text(5000),
  purpose: z.enum(PURPOSES),
  legal_basis: text(1000),
  data_sharing_agreement: text(500),
  ethics_approval: z.strictObject({ reference: text(200), expires_on: isoDate }),
  members: uniqueArray(participantId, 'member').min(1, 'at least 1 member').max(1000, 'at most 1000 members'),
  requests: recordOf(PARTICIPANT_ID, NODE_ID_HINT, z.strictObject({ datasets: datasetAccessMapSchema })).refine(
    (requests) => Object.keys(requests).length > 0,
    'at least 1 node',
  ),
  created_at: isoTimestamp,
});

/** Validates a project document (INVALID_ARGUMENT, `${source}: field.path: reason`). */
export function parseProjectDocument(doc: unknown, source: string): ProjectDocument {
  const p = parseDocument(projectSchema, doc, source, 'INVALID_ARGUMENT');
  return {
    projectId: p.project_id,
    title: p.title,
    laySummary: p.lay_summary,
    purpose: p.purpose,
    legalBasis: p.legal_basis,
    dataSharingAgreement: p.data_sharing_agreement,
    ethicsApproval: { reference: p.ethics_approval.reference, expiresOn: p.ethics_approval.expires_on },
    members: p.members,
    requests: Object.fromEntries(Object.entries(p.requests).map(([node, r]) => [node, { datasets: r.datasets }])),
    createdAt: p.created_at,
  };
}

/** The JSON text of a project document, in the file's snake_case form, ready to sign. */
export function formatProjectDocument(project: ProjectDocument): string {
  return JSON.stringify(
    {
      project_id: project.projectId,
      title: project.title,
      lay_summary: project.laySummary,
      purpose: project.purpose,
      legal_basis: project.legalBasis,
      data_sharing_agreement: project.dataSharingAgreement,
      ethics_approval: { reference: project.ethicsApproval.reference, expires_on: project.ethicsApproval.expiresOn },
      members: project.members,
      requests: project.requests,
      created_at: project.createdAt,
    },
    null,
    2,
  );
}

/**
 * Verifies a signed project and returns it. The signer must be a researcher on the roster
 * (UNKNOWN_RESEARCHER), the signature must verify under the "project" context (SIGNATURE_INVALID),
 * the payload must be a valid project (INVALID_ARGUMENT), and the signer must be one of its members
 * (RESEARCHER_NOT_ALLOWED).
 */
export function verifySignedProject(signed: SignedDocument, roster: RosterDocument, verify: VerifySignature, source = 'project'): ProjectDocument {
  const signer = verifySignerAndSignature(signed, roster, verify, 'project', 'researcher', source);
  const payloadSource = `${source} payload`;
  const project = parseProjectDocument(parseSignedJson(signed.payload, payloadSource), payloadSource);
  if (!project.members.includes(signer.id)) {
    throw new FedlabError('RESEARCHER_NOT_ALLOWED', `${source}: signer ${quote(signer.id)} is not a member of project ${quote(project.projectId)}`);
  }
  return project;
}
