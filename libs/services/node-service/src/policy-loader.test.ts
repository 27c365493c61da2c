import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { it } from '@fedlab/test-kit';
import { policyLoader } from './policy-file';

const policy = (minPersons: number, purposes: string[]) =>
  `datasets:\n  clinic_visits:\n    purposes: [${purposes.join(', ')}]\nsdc:\n  min_persons: ${minPersons}\n`;

it('parses the policy once while the file is unchanged, again after each edit, and says when it is removed or invalid', ({ tempDir }) => {
  const file = path.join(tempDir, 'policy.yaml');
  writeFileSync(file, policy(10, ['research']));
  const load = policyLoader(file);
  const first = load();
  expect(first?.datasets.clinic_visits?.purposes).toEqual(['research']);
  expect(load()).toBe(first);
  writeFileSync(file, policy(12, ['research', 'statistics']));
  const edited = load();
  expect(edited).not.toBe(first);
  expect(edited?.datasets.clinic_visits?.purposes).toEqual(['research', 'statistics']);
  expect(edited?.sdc.minPersons).toBe(12);
  writeFileSync(file, 'datasets: [');
  expect(() => load()).toThrowFedlabError('POLICY_INVALID', /^.*policy\.yaml: not valid YAML/);
  expect(() => load()).toThrowFedlabError('POLICY_INVALID', /^.*policy\.yaml: not valid YAML/);
  rmSync(file);
  expect(load()).toBeNull();
});
