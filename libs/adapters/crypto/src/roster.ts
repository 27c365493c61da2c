import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FedlabError } from '@fedlab/model';
import {
  Roster,
  parseGovernance,
  parseRosterDocument,
  parseSignedRoster,
  verifySignedRoster,
  type Governance,
  type RosterDocument,
  type VerifySignature,
} from '@fedlab/governance';
import { blake2b, verifyDetached } from './signing';
import { sodium } from './sodium';

/**
 * Validates a roster document with the one roster schema (@fedlab/governance `parseRosterDocument`:
 * field types, unique ids and keys, steward bindings) and checks every key as a curve point: a sign
 * key must be a valid Ed25519 point, a box key must not be of small order. Errors name the field path.
 */
export function parseRoster(doc: unknown, source: string): Roster {
  return checkedRoster(parseRosterDocument(doc, source), source);
}

/** A parsed (and, for a signed roster, verified) roster document as a Roster, once every key is checked as a curve point. */
export function checkedRoster(doc: RosterDocument, source: string): Roster {
  const s = sodium();
  doc.participants.forEach((p, i) => {
    if (!s.crypto_core_ed25519_is_valid_point(p.signPublicKey)) {
      throw new FedlabError('INVALID_ARGUMENT', `${source}: participants.${i}.sign_public_key: not a valid Ed25519 public key`);
    }
    if (isLowOrderX25519(p.boxPublicKey)) {
      throw new FedlabError('INVALID_ARGUMENT', `${source}: participants.${i}.box_public_key: low-order X25519 key`);
    }
  });
  return new Roster(doc);
}

/** Verifies governance signatures with libsodium (the adapter behind @fedlab/governance). */
export const verifyGovernanceSignature: VerifySignature = (context, payload, signature, publicKey) => verifyDetached(context, payload, signature, publicKey);

export interface LoadRosterOptions {
  /** Pinned governance: when given, only a roster signed by its threshold of stewards is accepted. */
  governance?: Governance;
  /** The roster version already held; an older signed roster is refused. */
  minVersion?: number;
}

function readDocument(path: string, what: string): unknown {
  try {
    return parseYaml(readFileSync(path, 'utf8'));
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', `${path}: cannot read ${what}`);
  }
}

/**
 * Reads and validates a roster file. A signed roster (`fedlab_signed_roster: 1`) is verified
 * against the pinned governance (m-of-n steward signatures, version not older than the one held);
 * with governance pinned, an unsigned roster is refused. Without governance (development), a plain
 * roster document is accepted.
 */
export function loadRosterFile(path: string, options: LoadRosterOptions = {}): Roster {
  return rosterFromDocument(readDocument(path, 'roster file'), path, options);
}

/**
 * Validates a roster file's text received from elsewhere (a coordinator's RosterUpdate or GetRoster),
 * under the same rules as {@link loadRosterFile}; `source` names it in errors.
 */
export function parseRosterText(text: string, source: string, options: LoadRosterOptions = {}): Roster {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', `${source}: not a roster file`);
  }
  return rosterFromDocument(doc, source, options);
}

function rosterFromDocument(doc: unknown, path: string, options: LoadRosterOptions): Roster {
  const signed = typeof doc === 'object' && doc !== null && 'fedlab_signed_roster' in doc;
  if (!signed) {
    if (options.governance) throw new FedlabError('ROSTER_INVALID', `${path}: the roster is not signed by the governance stewards`);
    return parseRoster(doc, path);
  }
  if (!options.governance) throw new FedlabError('ROSTER_INVALID', `${path}: a signed roster needs the pinned governance file to verify it`);
  const roster = verifySignedRoster(parseSignedRoster(doc, path), options.governance, verifyGovernanceSignature, {
    minVersion: options.minVersion,
    source: path,
  });
  return checkedRoster(roster, `${path} payload`);
}

/**
 * Writes a roster file's text (ending it with a newline) atomically: to a temporary file beside it, then
 * renamed over it, so a reader or a crash never sees half a roster.
 */
export function writeRosterFile(path: string, text: string): void {
  const temporary = `${path}.writing`;
  try {
    writeFileSync(temporary, text.endsWith('\n') ? text : `${text}\n`);
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** Reads the governance file a node or coordinator pins: `{ threshold, stewards: [{ id, sign_public_key }] }`. */
export function loadGovernanceFile(path: string): Governance {
  return parseGovernance(readDocument(path, 'governance file'), path);
}

/**
 * The fingerprint a node pins for its governance: BLAKE2b-256, hex, over "fedlab/v1/governance", the
 * threshold and each steward's id and signing key in id order — the same for any file naming the same
 * stewards and threshold, different as soon as one steward or key changes.
 */
export function governanceFingerprint(governance: Governance): string {
  const stewards = [...governance.stewards].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const text = [
    'fedlab/v1/governance',
    String(governance.threshold),
    ...stewards.map((s) => `${s.id} ${Buffer.from(s.signPublicKey).toString('base64')}`),
  ].join('\n');
  return Buffer.from(blake2b(Buffer.from(text, 'utf8'), 32)).toString('hex');
}

/**
 * Loads a governance file and checks it against a pinned fingerprint ({@link governanceFingerprint}).
 *
 * @throws FedlabError ROSTER_INVALID when the file names other stewards or another threshold than pinned.
 */
export function loadPinnedGovernance(path: string, pinned: string): Governance {
  const governance = loadGovernanceFile(path);
  const found = governanceFingerprint(governance);
  if (found !== pinned) {
    throw new FedlabError(
      'ROSTER_INVALID',
      `${path}: the governance stewards differ from the ones this node pinned (fingerprint ${found.slice(0, 16)}…, pinned ${pinned.slice(0, 16)}…); a changed governance file is refused`,
    );
  }
  return governance;
}

function isLowOrderX25519(key: Uint8Array): boolean {
  const s = sodium();
  // X25519 with any scalar yields the all-zero output exactly for small-order inputs.
  try {
    const probe = s.crypto_scalarmult(new Uint8Array(32).fill(7), key);
    return probe.every((b) => b === 0);
  } catch {
    return true;
  }
}
