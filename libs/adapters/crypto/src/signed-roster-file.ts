import { FedlabError } from '@fedlab/model';
import {
  formatRosterDocument,
  parseRosterDocument,
  rosterSigningPayload,
  signingPayload,
  type Identity,
  type RosterEntryJson,
  type SignedDocument,
} from '@fedlab/governance';
import { signDetached } from './signing';

/** A signed roster file as written to disk: the exact payload text and the stewards' signatures. */
export interface SignedRosterFile {
  fedlab_signed_roster: 1;
  payload: string;
  signatures: Array<{ steward: string; signature: string }>;
}

/** Starts a roster file for the stewards to sign: the payload is fixed now; signatures come later. */
export function createSignedRosterFile(entries: RosterEntryJson[], version: number, issuedAt: string): SignedRosterFile {
  // Through the governance parser, so a file that could never verify is refused now.
  const roster = parseRosterDocument({ version, issued_at: issuedAt, participants: entries }, 'roster');
  return { fedlab_signed_roster: 1, payload: formatRosterDocument(roster), signatures: [] };
}

/** Adds (or replaces) one steward's signature over the roster payload, context "fedlab/v1/roster". */
export function signRosterFile(file: SignedRosterFile, steward: Identity): SignedRosterFile {
  if (steward.role !== 'steward') throw new FedlabError('ROLE_NOT_ALLOWED', `"${steward.id}" is a ${steward.role}; only governance stewards sign rosters`);
  if (file.fedlab_signed_roster !== 1 || typeof file.payload !== 'string') throw new FedlabError('INVALID_ARGUMENT', 'roster: not a signed roster file');
  let payload: unknown;
  try {
    payload = JSON.parse(file.payload);
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', 'roster: payload is not JSON');
  }
  parseRosterDocument(payload, 'roster');
  const signature = Buffer.from(signDetached('roster', rosterSigningPayload(file.payload), steward.signSecretKey)).toString('base64');
  return { ...file, signatures: [...file.signatures.filter((s) => s.steward !== steward.id), { steward: steward.id, signature }] };
}

/** Signs a governance document's exact JSON text (a project, an approval or a revocation). */
export function signDocument(context: 'project' | 'approval' | 'revocation', payload: string, signer: Identity): SignedDocument {
  const signature = signDetached(context, signingPayload(payload), signer.signSecretKey);
  return { payload, signer: signer.id, signature: Buffer.from(signature).toString('base64') };
}
