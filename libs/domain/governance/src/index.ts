export { SIGNATURE_CONTEXTS, rosterSigningPayload, signingPayload, type SignatureContext, type VerifySignature } from './signature';
export { DEFAULT_GOVERNANCE_THRESHOLD, parseGovernance, type Governance, type PinnedSteward } from './governance-config';
export {
  PARTICIPANT_ROLES,
  Roster,
  formatRosterDocument,
  parseRosterDocument,
  publicIdentityJson,
  type Identity,
  type ParticipantRole,
  type PublicIdentity,
  type RosterDocument,
  type RosterEntryJson,
} from './roster';
export { parseSignedRoster, verifySignedRoster, type SignedRoster, type StewardSignature, type VerifySignedRosterOptions } from './signed-roster';
export { parseSignedDocument, type SignedDocument } from './signed-document';
export {
  formatProjectDocument,
  parseProjectDocument,
  verifySignedProject,
  type DatasetAccess,
  type NodeRequest,
  type ProjectDocument,
} from './project-document';
export {
  checkApprovalProjectHash,
  checkApprovalWithinRequest,
  formatApproval,
  parseApproval,
  verifySignedApproval,
  type Approval,
  type PrivacyGrant,
} from './approval';
export { formatRevocation, parseRevocation, verifySignedRevocation, type Revocation } from './revocation';
export { authoriseQuery, columnsRead, localDataset, type AuthoriseQueryInput } from './authorise-query';
export { approvalForRequest, checkApprovable, fullAccess, narrowApproval, type Narrowing } from './approval-request';
export { checkProjectTargets, type PublishedDataset } from './project-targets';
