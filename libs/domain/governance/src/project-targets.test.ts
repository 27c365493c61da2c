import { describe, expect, it } from 'vitest';
import { checkProjectTargets, type PublishedDataset } from './project-targets';
import { project, roster } from '../testing/fixtures';

const HEALTH: PublishedDataset[] = [
  { dataset: 'visits', columns: ['person', 'age_band', 'region', 'visits', 'diagnosis'] },
  { dataset: 'prescriptions', columns: ['person', 'drug_class'] },
];
const JUSTICE: PublishedDataset[] = [{ dataset: 'convictions', columns: ['person', 'offence'] }];

describe('checkProjectTargets', () => {
  it('accepts a project whose nodes are on the roster and whose datasets and columns they publish', () => {
    expect(() =>
      checkProjectTargets(
        project,
        roster,
        new Map([
          ['health', HEALTH],
          ['justice', JUSTICE],
        ]),
      ),
    ).not.toThrow();
  });

  it('accepts what it cannot check yet: a node on the roster that has published no catalog', () => {
    expect(() => checkProjectTargets(project, roster, new Map([['health', HEALTH]]))).not.toThrow();
  });

  it('refuses a node that is not on the roster, and a researcher named as a node', () => {
    const unknown = { ...project, requests: { ...project.requests, 'node-id': { datasets: {} } } };
    expect(() => checkProjectTargets(unknown, roster, new Map())).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'project "jdl-2026-001": requests.node-id: "node-id" is not a node on the roster',
    );
    const researcher = { ...project, requests: { alice: { datasets: {} } } };
    expect(() => checkProjectTargets(researcher, roster, new Map())).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'project "jdl-2026-001": requests.alice: "alice" is not a node on the roster',
    );
  });

  it('refuses a dataset the node does not publish, naming the ones it does', () => {
    const template = { ...project, requests: { justice: { datasets: { dataset_name: { columns: ['column'], analyses: ['count' as const] } } } } };
    expect(() => checkProjectTargets(template, roster, new Map([['justice', JUSTICE]]))).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'project "jdl-2026-001": requests.justice.datasets.dataset_name: node "justice" publishes no dataset "dataset_name" (its catalog lists: convictions)',
    );
  });

  it('refuses a column the dataset does not have', () => {
    const typo = { ...project, requests: { justice: { datasets: { convictions: { columns: ['offense'], analyses: ['count' as const] } } } } };
    expect(() => checkProjectTargets(typo, roster, new Map([['justice', JUSTICE]]))).toThrowFedlabError(
      'INVALID_ARGUMENT',
      'project "jdl-2026-001": requests.justice.datasets.convictions.columns: "offense" is not a column of "convictions" at node "justice"',
    );
  });
});
