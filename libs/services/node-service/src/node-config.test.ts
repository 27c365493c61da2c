import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { FedlabError } from '@fedlab/model';
import { it, test } from '@fedlab/test-kit';
import { loadNodeConfig } from './node-config';
import { initNode } from './node-setup';

describe('loadNodeConfig', () => {
  let dir: string;
  test.beforeEach(({ tempDir }) => {
    dir = tempDir;
  });
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
    const file = write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\n`);
    expect(loadNodeConfig(file)).toEqual({
      nodeId: 'health',
      coordinator: '127.0.0.1:7443',
      database: path.join(dir, 'node.db'),
      keyFile: path.join(dir, 'node.key'),
      policyFile: path.join(dir, 'policy.yaml'),
      rosterFile: path.join(dir, 'roster.yaml'),
      maxMessageBytes: 4 * 1024 * 1024,
      adminListen: '127.0.0.1:0',
      logLevel: 'info',
      engine: { kind: 'sqlite' },
      plaintext: true,
    });
  });

  it('takes the engine by name or with its settings, and refuses one it does not know, naming the setting', () => {
    const at = (engine: string) => write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\n${engine}\n`);
    expect(loadNodeConfig(at('engine: sqlite')).engine).toEqual({ kind: 'sqlite' });
    expect(loadNodeConfig(at('engine:\n  kind: sqlite')).engine).toEqual({ kind: 'sqlite' });
    const unknown = at('engine: oracle');
    expect(failure(unknown)).toEqual(['CONFIG_INVALID', `${unknown}: engine: unknown engine "oracle"; use sqlite, duckdb, postgres`]);
    const settings = at('engine:\n  kind: sqlite\n  threads: 2');
    expect(failure(settings)).toEqual(['CONFIG_INVALID', `${settings}: engine: the sqlite engine takes no settings; write engine: sqlite`]);
  });

  it('takes the duckdb engine with its folder (default datasets, beside node.yaml), threads and memory limit', () => {
    const at = (engine: string) => write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\n${engine}\n`);
    expect(loadNodeConfig(at('engine: duckdb')).engine).toEqual({ kind: 'duckdb', folder: path.join(dir, 'datasets') });
    expect(loadNodeConfig(at('engine: { kind: duckdb, folder: data/duck, threads: 2, memory_limit: 1GB }')).engine).toEqual({
      kind: 'duckdb',
      folder: path.join(dir, 'data/duck'),
      threads: 2,
      memoryLimit: '1GB',
    });
    const threads = at('engine: { kind: duckdb, threads: 0 }');
    expect(failure(threads)).toEqual(['CONFIG_INVALID', `${threads}: engine.threads: Too small: expected number to be >0`]);
    const memory = at('engine: { kind: duckdb, memory_limit: lots }');
    expect(failure(memory)).toEqual(['CONFIG_INVALID', `${memory}: engine.memory_limit: expected a size such as 512MB or 2GB`]);
    const unknown = at('engine: nosuch');
    expect(failure(unknown)).toEqual(['CONFIG_INVALID', `${unknown}: engine: unknown engine "nosuch"; use sqlite, duckdb, postgres`]);
  });

  it('takes the postgres engine with its datasets file resolved against node.yaml, FEDLAB_POSTGRES_URL and FEDLAB_PG_IMPORT_URL by default', () => {
    const at = (engine: string) => write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\n${engine}\n`);
    expect(loadNodeConfig(at('engine:\n  kind: postgres\n  datasets_file: datasets.yaml')).engine).toEqual({
      kind: 'postgres',
      urlEnv: 'FEDLAB_POSTGRES_URL',
      importUrlEnv: 'FEDLAB_PG_IMPORT_URL',
      datasetsFile: path.join(dir, 'datasets.yaml'),
    });
    expect(
      loadNodeConfig(at('engine:\n  kind: postgres\n  url_env: HEALTH_PG\n  import_url_env: HEALTH_PG_IMPORT\n  datasets_file: /etc/fedlab/datasets.yaml'))
        .engine,
    ).toEqual({
      kind: 'postgres',
      urlEnv: 'HEALTH_PG',
      importUrlEnv: 'HEALTH_PG_IMPORT',
      datasetsFile: '/etc/fedlab/datasets.yaml',
    });
  });

  it('refuses a postgres engine without a datasets file, with a bad url_env or an unknown setting, naming the field', () => {
    const at = (engine: string) => write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\n${engine}\n`);
    const bare = at('engine: postgres');
    expect(failure(bare)).toEqual(['CONFIG_INVALID', `${bare}: engine.datasets_file: is required`]);
    const badEnv = at('engine:\n  kind: postgres\n  url_env: postgresql://reader:secret@db/ministry\n  datasets_file: d.yaml');
    expect(failure(badEnv)).toEqual(['CONFIG_INVALID', `${badEnv}: engine.url_env: must be the name of an environment variable (A-Z, 0-9, _)`]);
    const extra = at('engine:\n  kind: postgres\n  datasets_file: d.yaml\n  password: secret');
    expect(failure(extra)?.[0]).toBe('CONFIG_INVALID');
    expect(failure(extra)?.[1]).toBe(`${extra}: engine: Unrecognized key: "password"`);
  });

  it('keeps an admin_listen on loopback and refuses one elsewhere, naming the field', () => {
    expect(loadNodeConfig(write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\nadmin_listen: "[::1]:9464"\n`)).adminListen).toBe('[::1]:9464');
    const exposed = write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\nadmin_listen: 0.0.0.0:9464\n`);
    expect(failure(exposed)).toEqual([
      'CONFIG_INVALID',
      `${exposed}: admin_listen: the admin endpoint (/healthz, /readyz, /metrics) is unauthenticated and served on loopback only (127.0.0.1, ::1, localhost)`,
    ]);
    const portless = write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\nadmin_listen: 127.0.0.1\n`);
    expect(failure(portless)).toEqual(['CONFIG_INVALID', `${portless}: admin_listen: host:port of the local admin endpoint`]);
  });

  it('resolves the TLS files against the file and keeps the server name', () => {
    const file = write(
      `${base}coordinator: 10.0.0.5:7443\ntls:\n  ca_file: tls/ca.pem\n  cert_file: tls/node.pem\n  key_file: /etc/fedlab/node-key.pem\n  server_name: coordinator.example.org\n`,
    );
    expect(loadNodeConfig(file)).toMatchObject({
      coordinator: '10.0.0.5:7443',
      plaintext: false,
      tls: {
        caFile: path.join(dir, 'tls/ca.pem'),
        certFile: path.join(dir, 'tls/node.pem'),
        keyFile: '/etc/fedlab/node-key.pem',
        serverName: 'coordinator.example.org',
      },
    });
  });

  it('refuses plaintext to a coordinator that is not on loopback', () => {
    const file = write(`${base}coordinator: coordinator.example.org:7443\nplaintext: true\n`);
    expect(failure(file)).toEqual([
      'CONFIG_INVALID',
      `${file}: plaintext: plaintext gRPC is only allowed to loopback (127.0.0.1, ::1, localhost); configure tls for coordinator.example.org:7443`,
    ]);
  });

  it('requires tls when plaintext is not enabled, even on loopback', () => {
    const file = write(`${base}coordinator: 127.0.0.1:7443\n`);
    expect(failure(file)).toEqual(['CONFIG_INVALID', `${file}: tls: required (ca_file) unless plaintext: true to a loopback address`]);
  });

  it('refuses plaintext and tls together', () => {
    const file = write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\ntls: { ca_file: ca.pem }\n`);
    expect(failure(file)).toEqual(['CONFIG_INVALID', `${file}: tls: not allowed with plaintext: true; remove one of them`]);
  });

  it('refuses a client certificate without its key', () => {
    const file = write(`${base}coordinator: coordinator.example.org:7443\ntls: { ca_file: ca.pem, cert_file: node.pem }\n`);
    expect(failure(file)).toEqual(['CONFIG_INVALID', `${file}: tls.key_file: required with tls.cert_file`]);
  });

  it('names the field of a missing value', () => {
    const missing = write(`${base}plaintext: true\n`);
    expect(failure(missing)).toEqual(['CONFIG_INVALID', `${missing}: coordinator: Invalid input: expected string, received undefined`]);
    const missingCa = write(`${base}coordinator: coordinator.example.org:7443\ntls: { server_name: coordinator.example.org }\n`);
    expect(failure(missingCa)).toEqual(['CONFIG_INVALID', `${missingCa}: tls.ca_file: Invalid input: expected string, received undefined`]);
    const placeholder = write(`${base}coordinator: coordinator.example.org:7443\ntls: { ca_file: "" }\n`);
    expect(failure(placeholder)).toEqual(['CONFIG_INVALID', `${placeholder}: tls.ca_file: required: the path of a PEM file`]);
  });

  it('names the field of a wrong type', () => {
    const wrongType = write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\nmax_message_bytes: lots\n`);
    expect(failure(wrongType)).toEqual(['CONFIG_INVALID', `${wrongType}: max_message_bytes: Invalid input: expected number, received string`]);
    const plaintext = write(`${base}coordinator: 127.0.0.1:7443\nplaintext: "yes"\n`);
    expect(failure(plaintext)).toEqual(['CONFIG_INVALID', `${plaintext}: plaintext: Invalid input: expected boolean, received string`]);
    const tls = write(`${base}coordinator: coordinator.example.org:7443\ntls: ca.pem\n`);
    expect(failure(tls)).toEqual(['CONFIG_INVALID', `${tls}: tls: Invalid input: expected object, received string`]);
  });

  it('names an unknown key', () => {
    const unknown = write(`${base}coordinator: 127.0.0.1:7443\nplaintext: true\nlisten: 0.0.0.0:1\n`);
    expect(failure(unknown)).toEqual(['CONFIG_INVALID', `${unknown}: (root): Unrecognized key: "listen"`]);
    const unknownTls = write(`${base}coordinator: coordinator.example.org:7443\ntls: { ca_file: ca.pem, require_client_cert: true }\n`);
    expect(failure(unknownTls)).toEqual(['CONFIG_INVALID', `${unknownTls}: tls: Unrecognized key: "require_client_cert"`]);
  });

  it('loads the node.yaml initNode writes for a coordinator on loopback: plaintext: true', async () => {
    const { configFile } = await initNode({ dir: path.join(dir, 'init-loopback'), nodeId: 'health', coordinator: '127.0.0.1:7443' });
    expect(loadNodeConfig(configFile)).toMatchObject({ coordinator: '127.0.0.1:7443', plaintext: true });
  });

  it('refuses the tls placeholder initNode writes for a remote coordinator until it is filled in', async () => {
    const { configFile } = await initNode({ dir: path.join(dir, 'init-remote'), nodeId: 'health', coordinator: 'coordinator.example.org:7443' });
    expect(failure(configFile)).toEqual(['CONFIG_INVALID', `${configFile}: tls.ca_file: required: the path of a PEM file`]);
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace('ca_file: ""', 'ca_file: ca.pem'));
    expect(loadNodeConfig(configFile)).toMatchObject({ plaintext: false, tls: { caFile: path.join(dir, 'init-remote', 'ca.pem') } });
  });
});
