import { readFileSync } from 'node:fs';
import { FedlabError } from '@fedlab/model';
import { checkedRoster, verifyGovernanceSignature, writeRosterFile } from '@fedlab/crypto';
import { parseSignedRoster, verifySignedRoster, type Governance } from '@fedlab/governance';
import type { Coordinator } from './coordinator';

/** Where a published roster is verified (the pinned governance) and kept (the coordinator's roster_file). */
export interface RosterPublication {
  /** The governance stewards the coordinator pins (governance_file); without them it takes no published roster. */
  governance?: Governance;
  file: string;
}

/**
 * GovernanceService.PublishRoster: verifies a signed roster file's text against the pinned governance
 * (the stewards' threshold of valid signatures, a version newer than the one in force, every key a
 * valid point, the coordinator on it), writes it to roster_file (atomically, so a restart reads it)
 * and puts it in force at once.
 *
 * @throws FedlabError ROSTER_INVALID (too few steward signatures, an older or the same version, a
 * coordinator that pins no governance), INVALID_ARGUMENT (not a signed roster file).
 */
export function publishRoster(coordinator: Coordinator, publication: RosterPublication | undefined, text: string): { version: number; participants: number } {
  const source = 'published roster';
  if (!publication?.governance) {
    throw new FedlabError(
      'ROSTER_INVALID',
      'this coordinator pins no governance stewards (governance_file in coordinator.yaml), so it takes no published roster',
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', `${source}: not a signed roster file (invalid JSON)`);
  }
  const verified = verifySignedRoster(parseSignedRoster(doc, source), publication.governance, verifyGovernanceSignature, {
    minVersion: coordinator.roster.version,
    source,
  });
  const roster = checkedRoster(verified, `${source} payload`);
  const stored = text.endsWith('\n') ? text : `${text}\n`;
  coordinator.replaceRoster(roster, () => writeRosterFile(publication.file, stored), stored);
  return { version: roster.version, participants: roster.participants.length };
}

/** The signed roster file's text to send to nodes (RosterUpdate): only from a coordinator that pins governance, whose roster_file is always signed. */
export function signedRosterText(publication: RosterPublication | undefined): string | undefined {
  return publication?.governance ? readFileSync(publication.file, 'utf8') : undefined;
}

/** GovernanceService.GetRoster: the roster file's text as the coordinator holds it, and the version in force. */
export function currentRoster(coordinator: Coordinator, publication: RosterPublication | undefined): { signedRoster: string; version: number } {
  if (!publication) throw new FedlabError('NOT_FOUND', 'this coordinator serves no roster file');
  return { signedRoster: readFileSync(publication.file, 'utf8'), version: coordinator.roster.version };
}
