import { describe, expect, it } from 'vitest';
import { formatProjectDocument, parseProjectDocument, verifySignedProject } from './project-document';
import { signText, verifyEd25519 } from '../testing/ed25519';
import { keys, project, projectJson, refusal, roster } from '../testing/fixtures';

function signedBy(signer: string, key = keys.alice, payload = JSON.stringify(projectJson())) {
  return { payload, signer, signature: signText('project', payload, key) };
}

describe('parseProjectDocument', () => {
  it('reads a project file into camelCase fields', () => {
    expect(parseProjectDocument(projectJson(), 'project.json')).toEqual(project);
  });

  it('formats a project that parses back to the same project', () => {
    expect(parseProjectDocument(JSON.parse(formatProjectDocument(project)), 'p')).toEqual(project);
  });

  it('refuses a purpose outside the purpose list, naming the field', () => {
    const error = refusal(() => parseProjectDocument({ ...projectJson(), purpose: 'marketing' }, 'project.json'));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/^project\.json: purpose: Invalid option: expected one of "research"\|/);
  });

  it('refuses an ethics expiry that is not a calendar date', () => {
    const doc = { ...projectJson(), ethics_approval: { reference: 'REB-1', expires_on: '2026-02-30' } };
    expect(refusal(() => parseProjectDocument(doc, 'project.json')).message).toBe(
      'project.json: ethics_approval.expires_on: expected a calendar date YYYY-MM-DD',
    );
  });

  it('refuses a project without members', () => {
    expect(refusal(() => parseProjectDocument({ ...projectJson(), members: [] }, 'project.json')).message).toBe('project.json: members: at least 1 member');
  });

  it('refuses a member listed twice', () => {
    expect(refusal(() => parseProjectDocument({ ...projectJson(), members: ['alice', 'alice'] }, 'project.json')).message).toBe(
      'project.json: members.1: duplicate member "alice"',
    );
  });

  it('refuses a request for a node id that is not a valid id', () => {
    const doc = { ...projectJson(), requests: { Health: { datasets: { visits: { columns: [], analyses: ['count'] } } } } };
    expect(refusal(() => parseProjectDocument(doc, 'project.json')).message).toBe(
      'project.json: requests.Health: expected a node id of lower-case letters, digits, "-" or "_", starting with a letter',
    );
  });

  it('refuses a dataset request with a column listed twice', () => {
    const doc = { ...projectJson(), requests: { health: { datasets: { visits: { columns: ['age', 'age'], analyses: ['count'] } } } } };
    expect(refusal(() => parseProjectDocument(doc, 'project.json')).message).toBe(
      'project.json: requests.health.datasets.visits.columns.1: duplicate column "age"',
    );
  });

  it('refuses a node request without datasets', () => {
    const doc = { ...projectJson(), requests: { health: { datasets: {} } } };
    expect(refusal(() => parseProjectDocument(doc, 'project.json')).message).toBe('project.json: requests.health.datasets: at least 1 dataset');
  });

  it('refuses a blank lay summary', () => {
    expect(refusal(() => parseProjectDocument({ ...projectJson(), lay_summary: '  ' }, 'project.json')).message).toBe(
      'project.json: lay_summary: must not be blank',
    );
  });

  it('refuses a field the format does not define', () => {
    expect(refusal(() => parseProjectDocument({ ...projectJson(), excluded: [] }, 'project.json')).message).toBe(
      'project.json: (root): Unrecognized key: "excluded"',
    );
  });
});

describe('verifySignedProject', () => {
  it('accepts a project signed by a researcher who is a member', () => {
    expect(verifySignedProject(signedBy('alice'), roster, verifyEd25519)).toEqual(project);
  });

  it('refuses a project signed by a researcher who is not a member', () => {
    const error = refusal(() => verifySignedProject(signedBy('carol', keys.carol), roster, verifyEd25519));
    expect(error.code).toBe('RESEARCHER_NOT_ALLOWED');
    expect(error.message).toBe('project: signer "carol" is not a member of project "jdl-2026-001"');
  });

  it('refuses a project whose signer is not a researcher on the roster', () => {
    const error = refusal(() => verifySignedProject(signedBy('steward-health', keys.stewardHealth), roster, verifyEd25519));
    expect(error.code).toBe('UNKNOWN_RESEARCHER');
    expect(error.message).toBe('project: signer "steward-health" is not a researcher on the roster');
  });

  it('refuses a project whose payload changed after it was signed', () => {
    const signed = { ...signedBy('alice'), payload: JSON.stringify({ ...projectJson(), purpose: 'research' }) };
    const error = refusal(() => verifySignedProject(signed, roster, verifyEd25519, 'project.json'));
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toBe('project.json: the signature by "alice" does not verify');
  });

  it("refuses a project signed with another researcher's key", () => {
    expect(refusal(() => verifySignedProject(signedBy('alice', keys.bob), roster, verifyEd25519)).code).toBe('SIGNATURE_INVALID');
  });
});
