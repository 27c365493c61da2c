import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FedlabError } from '@fedlab/model';
import { loadNodeConfig } from './node-config';

describe('loadNodeConfig', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fedlab-node-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => {
    const file = path.join(dir, `node-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  const base = 'node_id: health\ndatabase: node.db\nkey_file: node.key\npolicy_file: policy.yaml\nroster_file: roster.yaml\n';
  const failure = (file: string) => {
    try {
      loadNodeConfig(file);
    } catch (error) {
      if (error instanceof FedlabError) return [error.code, error.message];
    }
    return undefined;
  };

  it('resolves paths against the file and applies defaults', () => {
    const file = write(`${base}coordinator: 127.0.0.1:7443\n`);
    expect(loadNodeConfig(file)).toEqual({
      nodeId: 'health',
      coordinator: '127.0.0.1:7443',
      database: path.join(dir, 'node.db'),
      keyFile: path.join(dir, 'node.key'),
      policyFile: path.join(dir, 'policy.yaml'),
      rosterFile: path.join(dir, 'roster.yaml'),
      maxMessageBytes: 4 * 1024 * 1024,
      logLevel: 'info',
    });
  });

  it('refuses a plaintext connection to a coordinator that is not on loopback', () => {
    const file = write(`${base}coordinator: coordinator.example.org:7443\n`);
    expect(failure(file)).toEqual(['CONFIG_INVALID', `${file}: coordinator: plaintext gRPC is only allowed to a loopback address (127.0.0.1, ::1, localhost)`]);
  });

  it('names the field of a missing value, a wrong type and an unknown key', () => {
    const missing = write(base);
    expect(failure(missing)).toEqual(['CONFIG_INVALID', `${missing}: coordinator: Invalid input: expected string, received undefined`]);
    const wrongType = write(`${base}coordinator: 127.0.0.1:7443\nmax_message_bytes: lots\n`);
    expect(failure(wrongType)?.[1]).toMatch(new RegExp(`^${wrongType}: max_message_bytes: `));
    const unknown = write(`${base}coordinator: 127.0.0.1:7443\nlisten: 0.0.0.0:1\n`);
    expect(failure(unknown)?.[1]).toMatch(new RegExp(`^${unknown}: \\(root\\): Unrecognized key: "listen"`));
  });
});
