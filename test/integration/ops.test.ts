import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { create, createFileRegistry, fromBinary, ScalarType } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { credentials, loadPackageDefinition, type ClientDuplexStream, type ClientReadableStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { FedlabError, type Logger, type QuerySpec } from '@fedlab/model';
import { generateIdentity, initCrypto, parseRoster, writeKeyFile } from '@fedlab/crypto';
import { publicIdentityJson } from '@fedlab/governance';
import { FedlabClient } from '@fedlab/client';
import { loadCoordinatorConfig } from '@fedlab/coordinator-service';
import { initNode, loadNodeConfig } from '@fedlab/node-service';
import { startCoordinator as startCoordinatorApp, type RunningCoordinator } from '../../apps/coordinator/src/start-coordinator';
import { startNode as startNodeApp, type RunningNode } from '../../apps/node/src/start-node';
import { openNodeStore, lockDatabaseForDaemon } from '@fedlab/store';
import { coordinatorMetrics, Registry } from '@fedlab/ops';
import {
  CLINIC_SCHEMA,
  approveForNode,
  clinicCsv,
  clinicRows,
  policyYaml,
  signTestProject,
  startTestNetwork,
  testQuerySpec,
  type TestNetwork,
} from '@fedlab/testing';
import { it, test, waitUntil } from '@fedlab/test-kit';

/** A filter value no label, metric or log line may ever repeat. */
const DISTINCTIVE = 'zq-distinctive-7731';

interface HealthClient {
  check(request: { service: string }, callback: (error: Error | null, response: { status: string }) => void): void;
  watch(request: { service: string }): ClientReadableStream<{ status: string }>;
  close(): void;
}
interface ReflectionResponse {
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
}
interface ReflectionClient {
  serverReflectionInfo(): ClientDuplexStream<Record<string, string>, ReflectionResponse>;
  close(): void;
}
type ClientConstructor<T> = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => T;

function healthClient(address: string): HealthClient {
  const pkg = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: ClientConstructor<HealthClient> } } };
  };
  return new pkg.grpc.health.v1.Health(address, credentials.createInsecure());
}

/** One request on the standard reflection stream (grpc.reflection.v1), through the proto @grpc/reflection ships. */
async function reflect(address: string, request: Record<string, string>): Promise<ReflectionResponse> {
  const protoFile = path.join(
    path.dirname(createRequire(__filename).resolve('@grpc/reflection/package.json')),
    'build/proto/grpc/reflection/v1/reflection.proto',
  );
  const pkg = loadPackageDefinition(loadSync(protoFile)) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: ClientConstructor<ReflectionClient> } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
  try {
    const call = client.serverReflectionInfo();
    const response = new Promise<ReflectionResponse>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    call.write(request);
    const answer = await response;
    call.end();
    return answer;
  } finally {
    client.close();
  }
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** The daemon apps' composition roots, started in this process from a config file. */
const startCoordinator = async (configFile: string, logger?: Logger) =>
  startCoordinatorApp({ configFile, config: loadCoordinatorConfig(configFile), ...(logger ? { logger } : {}) });
const startNode = async (configFile: string, logger?: Logger) =>
  startNodeApp({ configFile, config: loadNodeConfig(configFile), ...(logger ? { logger } : {}) });

describe('operating a coordinator and a node: health, readiness, metrics and logs', () => {
  let configDir = '';
  const records: Array<Record<string, unknown>> = [];
  const capture: Logger = {
    debug: (fields, msg) => records.push({ ...fields, msg }),
    info: (fields, msg) => records.push({ ...fields, msg }),
    warn: (fields, msg) => records.push({ ...fields, msg }),
    error: (fields, msg) => records.push({ ...fields, msg }),
  };
  let coordinator: RunningCoordinator;
  let node: RunningNode | undefined;
  let nodeConfig: string;
  let client: FedlabClient;
  let address: string;
  const alice = { identity: undefined as unknown as ReturnType<typeof generateIdentity> };
  const queryIds: string[] = [];

  test.beforeAll(async ({ fileTempDir }) => {
    const dir = path.join(fileTempDir, 'operations');
    mkdirSync(dir);
    await initCrypto();
    const rosterFile = path.join(dir, 'roster.json');
    const coordinatorIdentity = generateIdentity('coordinator', 'coordinator');
    alice.identity = generateIdentity('alice', 'researcher');
    const steward = generateIdentity('clinic-steward', 'steward');
    const init = await initNode({ dir: path.join(dir, 'clinic'), nodeId: 'clinic', coordinator: '127.0.0.1:1', rosterFile });
    nodeConfig = init.configFile;
    const rosterJson = {
      version: 1,
      participants: [
        publicIdentityJson(coordinatorIdentity),
        publicIdentityJson(alice.identity),
        init.rosterEntry,
        { ...publicIdentityJson(steward), node: 'clinic' },
      ],
    };
    writeFileSync(rosterFile, JSON.stringify(rosterJson));
    const roster = parseRoster(rosterJson, rosterFile);
    writeFileSync(path.join(dir, 'clinic', 'policy.yaml'), policyYaml({ datasets: { clinic_visits: ['research'] } }));
    const store = openNodeStore(path.join(dir, 'clinic', 'node.db'));
    try {
      const csvPath = path.join(dir, 'clinic.csv');
      writeFileSync(csvPath, clinicCsv());
      await store.datasets.import({ csvPath, schema: CLINIC_SCHEMA });
      approveForNode(store, 'clinic', roster, signTestProject([alice.identity], { clinic: [CLINIC_SCHEMA] }), steward);
    } finally {
      store.close();
    }
    writeKeyFile(path.join(dir, 'coordinator.key'), coordinatorIdentity);
    const coordinatorConfig = path.join(dir, 'coordinator.yaml');
    writeFileSync(
      coordinatorConfig,
      `listen: 127.0.0.1:0\nplaintext: true\ndatabase: coordinator.db\nkey_file: coordinator.key\nroster_file: roster.json\nheartbeat_interval_ms: 500\nadmin_listen: 127.0.0.1:0\n`,
    );
    coordinator = await startCoordinator(coordinatorConfig, capture);
    address = `127.0.0.1:${coordinator.port}`;
    configDir = dir;
    writeFileSync(nodeConfig, readFileSync(nodeConfig, 'utf8').replace(/^coordinator: .*$/m, `coordinator: ${address}`));
    client = new FedlabClient({ address, identity: alice.identity, roster });
  });

  afterAll(async () => {
    client?.close();
    await node?.stop();
    await coordinator?.stop().catch(() => undefined);
  });

  it('reports SERVING over grpc.health.v1 for the server and for ResearchService', async () => {
    const health = healthClient(address);
    try {
      const check = (service: string) =>
        new Promise<string>((resolve, reject) => health.check({ service }, (error, response) => (error ? reject(error) : resolve(response.status))));
      expect(await check('')).toBe('SERVING');
      expect(await check('fedlab.v1.ResearchService')).toBe('SERVING');
      await expect(check('fedlab.v1.NoSuchService')).rejects.toMatchObject({ code: 5 });
    } finally {
      health.close();
    }
  });

  it('lists the fedlab services and the health service through server reflection, with their descriptors', async () => {
    const listed = await reflect(address, { listServices: '*' });
    const names = listed.listServicesResponse!.service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['fedlab.v1.ResearchService', 'fedlab.v1.NodeGateway', 'fedlab.v1.AdminService', 'grpc.health.v1.Health']));
    // The real descriptors, as buf compiles proto/: one file per .proto, with its imports, loadable into a
    // descriptor pool (as grpcurl or a Python client would) — map-entry types keep their `Entry` names.
    const decode = (r: ReflectionResponse) => r.fileDescriptorResponse!.fileDescriptorProto.map((d) => fromBinary(FileDescriptorProtoSchema, Buffer.from(d)));
    const pool = async (symbol: string) => {
      const protos = decode(await reflect(address, { fileContainingSymbol: symbol }));
      // As a reflection client does: fetch every import not yet held by its file name.
      for (
        let missing = protos.flatMap((p) => p.dependency).find((d) => !protos.some((p) => p.name === d));
        missing;
        missing = protos.flatMap((p) => p.dependency).find((d) => !protos.some((p) => p.name === d))
      ) {
        protos.push(...decode(await reflect(address, { fileByFilename: missing })).filter((p) => !protos.some((q) => q.name === p.name)));
      }
      // A descriptor set lists each file after its imports.
      const ordered = [...protos].reverse();
      return { names: protos.map((p) => p.name), registry: createFileRegistry(create(FileDescriptorSetSchema, { file: ordered })) };
    };
    const research = await pool('fedlab.v1.ResearchService');
    expect(research.names[0]).toBe('fedlab/v1/research.proto');
    expect(research.names).toEqual(expect.arrayContaining(['fedlab/v1/envelope.proto', 'fedlab/v1/catalog.proto', 'fedlab/v1/governance.proto']));
    expect(research.registry.getService('fedlab.v1.ResearchService')?.methods.map((m) => m.name)).toEqual(
      expect.arrayContaining(['SubmitQuery', 'GetQueryResult']),
    );
    const governance = await pool('fedlab.v1.GovernanceService');
    const field = governance.registry.getMessage('fedlab.v1.ProjectRecord')!.fields.find((f) => f.name === 'queries_per_node')!;
    expect([field.fieldKind, field.fieldKind === 'map' ? field.mapKey : undefined]).toEqual(['map', ScalarType.STRING]);
  });

  it('is live at once, and ready only once the node attached', async () => {
    expect(coordinator.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await get(`${coordinator.adminUrl}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(`${coordinator.adminUrl}/readyz`)).toEqual({ status: 503, body: '{"ready":false,"reason":"no node is attached"}\n' });
    node = await startNode(nodeConfig, capture);
    expect(await get(`${node.adminUrl}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
    await waitUntil('the node to attach', async () => (await get(`${coordinator.adminUrl}/readyz`)).status === 200);
    expect(await get(`${coordinator.adminUrl}/readyz`)).toEqual({ status: 200, body: '{"ready":true}\n' });
    await waitUntil('the node to report ready', async () => (await get(`${node!.adminUrl}/readyz`)).status === 200);
  });

  it('names the setting to change when a port is taken by another process, instead of INTERNAL: EADDRINUSE', async () => {
    const adminPort = new URL(coordinator.adminUrl).port;
    const second = (name: string, listen: string, adminListen: string) => {
      const file = path.join(configDir, `${name}.yaml`);
      writeFileSync(
        file,
        `listen: ${listen}\nplaintext: true\ndatabase: ${name}.db\nkey_file: coordinator.key\nroster_file: roster.json\nadmin_listen: ${adminListen}\n`,
      );
      return file;
    };
    await expect(startCoordinator(second('clash-grpc', address, '127.0.0.1:0'))).rejects.toThrowFedlabError(
      'CONFIG_INVALID',
      `listen: ${address} is already in use by another process (EADDRINUSE); stop that process or set another port`,
    );
    await expect(startCoordinator(second('clash-admin', '127.0.0.1:0', `127.0.0.1:${adminPort}`))).rejects.toThrowFedlabError(
      'CONFIG_INVALID',
      `admin_listen: 127.0.0.1:${adminPort} is already in use by another process (EADDRINUSE); stop that process or set another port`,
    );
    // The refused start closed what it had opened: its database lock is free again.
    lockDatabaseForDaemon(path.join(configDir, 'clash-admin.db'), 'coordinator').release();
  });

  it('refuses a second node daemon on the same database, and the first stays attached and ready', async () => {
    const database = loadNodeConfig(nodeConfig).database;
    await expect(startNode(nodeConfig, capture)).rejects.toThrowFedlabError(
      'ALREADY_RUNNING',
      `${database}: another node daemon is already running on this database (it holds ${database}.lock); stop it first, or give this one its own \`database\``,
    );
    expect(await get(`${node!.adminUrl}/readyz`)).toEqual({ status: 200, body: '{"ready":true}\n' });
    expect(await get(`${coordinator.adminUrl}/readyz`)).toEqual({ status: 200, body: '{"ready":true}\n' });
  });

  it('counts two queries, one refused with its reason code, without any identifier or query value in a label', async () => {
    const now = Date.now();
    const answered: QuerySpec = testQuerySpec({
      analysis: { kind: 'count', dataset: 'clinic_visits', groupBy: ['region'], filter: { kind: 'cmp', column: 'diagnosis', op: 'ne', values: [DISTINCTIVE] } },
    });
    const expired = testQuerySpec({ issuedAtMs: now - 120_000, expiresAtMs: now - 60_000 });
    queryIds.push(answered.queryId, expired.queryId);
    const { queryId } = await client.submitEnvelope(await client.sign(answered));
    expect((await client.watch(queryId)).nodes.map((n) => [n.nodeId, n.state])).toEqual([['clinic', 'done']]);
    const refused = await client.submitEnvelope(await client.sign(expired)).catch((e: unknown) => e);
    expect((refused as FedlabError).code).toBe('QUERY_EXPIRED');

    const atCoordinator = (await get(`${coordinator.adminUrl}/metrics`)).body;
    expect(atCoordinator).toContain('\nfedlab_queries_received_total{analysis="count"} 2\n');
    expect(atCoordinator).toContain('\nfedlab_queries_accepted_total{analysis="count"} 1\n');
    expect(atCoordinator).toContain('\nfedlab_queries_refused_total{analysis="count",code="QUERY_EXPIRED"} 1\n');
    expect(atCoordinator).toContain('\nfedlab_node_results_total{node="clinic",state="done",code="none"} 1\n');
    expect(atCoordinator).toContain('\nfedlab_query_duration_seconds_count{analysis="count",state="finished"} 1\n');
    expect(atCoordinator).toContain('\nfedlab_nodes_attached 1\n');
    expect(atCoordinator).toContain('\nfedlab_roster_nodes 1\n');
    // The query, and the node's audit checkpoints (one per attach and per answer; the last may still be in flight).
    expect(Number(/\nfedlab_transparency_log_entries (\d+)\n/.exec(atCoordinator)?.[1])).toBeGreaterThanOrEqual(2);
    expect(atCoordinator).toMatch(/\nfedlab_database_bytes [1-9]\d*\n/);
    // Group commit: the query's replies and messages waited for syncs, each sync serving at least one.
    const coordinatorSyncs = Number(/\nfedlab_database_sync_seconds_count (\d+)\n/.exec(atCoordinator)?.[1]);
    expect(coordinatorSyncs).toBeGreaterThanOrEqual(1);
    expect(Number(/\nfedlab_database_synced_outputs_total (\d+)\n/.exec(atCoordinator)?.[1])).toBeGreaterThanOrEqual(coordinatorSyncs);
    expect(atCoordinator).toMatch(/\nfedlab_build_info\{process="coordinator",software_version="0\.1\.0",protocol_version="1"\} 1\n/);

    const atNode = (await get(`${node!.adminUrl}/metrics`)).body;
    expect(atNode).toContain('\nfedlab_queries_received_total{analysis="count"} 1\n');
    expect(atNode).toContain('\nfedlab_queries_accepted_total{analysis="count"} 1\n');
    expect(atNode).toContain('\nfedlab_query_handle_seconds_count{analysis="count",decision="answered"} 1\n');
    // The fixture's east cell (6 persons) is below the threshold and south is suppressed with it.
    expect(atNode).toContain('\nfedlab_disclosure_suppressed_cells_total{analysis="count",rule="threshold"} 1\n');
    expect(atNode).toContain('\nfedlab_disclosure_suppressed_cells_total{analysis="count",rule="secondary"} 1\n');
    expect(atNode).toMatch(/\nfedlab_audit_log_entries [1-9]\d*\n/);
    // The node's answer waited for the sync of its audit entry and budget debit.
    const nodeSyncs = Number(/\nfedlab_database_sync_seconds_count (\d+)\n/.exec(atNode)?.[1]);
    expect(nodeSyncs).toBeGreaterThanOrEqual(1);
    expect(Number(/\nfedlab_database_synced_outputs_total (\d+)\n/.exec(atNode)?.[1])).toBeGreaterThanOrEqual(nodeSyncs);
    expect(atNode).toContain('\nfedlab_coordinator_attached 1\n');

    for (const text of [atCoordinator, atNode]) {
      for (const secret of [DISTINCTIVE, ...queryIds, 'alice', 'proj-test', 'clinic_visits', 'diagnosis']) expect(text).not.toContain(secret);
    }
  });

  it('puts the query id and the node id (or ids) on every log line about a query, and never the query value', () => {
    const aboutQueries = records.filter((r) => 'queryId' in r);
    expect(aboutQueries.map((r) => r.msg)).toEqual(expect.arrayContaining(['query accepted', 'query handled', 'node progress', 'query finished']));
    expect(aboutQueries.filter((r) => !('nodeId' in r) && !('nodeIds' in r))).toEqual([]);
    expect(records.filter((r) => JSON.stringify(r).includes(DISTINCTIVE))).toEqual([]);
  });

  it('turns NOT_SERVING as the coordinator shuts down, and the node unready and reconnecting', async () => {
    const health = healthClient(address);
    const watch = health.watch({ service: '' });
    const statuses: string[] = [];
    const notServing = new Promise<void>((resolve) =>
      watch.on('data', (r: { status: string }) => {
        statuses.push(r.status);
        if (r.status === 'NOT_SERVING') {
          watch.cancel();
          resolve();
        }
      }),
    );
    watch.on('error', () => undefined);
    await waitUntil('the first health status', async () => statuses.length > 0);
    const stopped = coordinator.stop();
    await notServing;
    await stopped;
    health.close();
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    await waitUntil('the node to notice', async () => (await get(`${node!.adminUrl}/readyz`)).status === 503);
    expect(await get(`${node!.adminUrl}/readyz`)).toEqual({ status: 503, body: '{"ready":false,"reason":"not attached to the coordinator"}\n' });
    const atNode = (await get(`${node!.adminUrl}/metrics`)).body;
    expect(atNode).toMatch(/\nfedlab_coordinator_reconnects_total [1-9]\d*\n/);
    expect(atNode).toContain('\nfedlab_coordinator_attached 0\n');
  });
});

describe('the protocol metrics of a pooled query', () => {
  const REGIONS = ['region-a', 'region-b', 'region-c'];
  const registry = new Registry();
  let net: TestNetwork;

  test.beforeAll(async ({ fileTempDir }) => {
    const dir = path.join(fileTempDir, 'pooled');
    mkdirSync(dir);
    // The six east patients are all at region-a, so the pooled east cell stays below the threshold.
    const part = (index: number) => clinicRows().filter((r) => (r.region === 'east' ? index === 0 : Number(r.patient_id.slice(1)) % 3 === index));
    net = await startTestNetwork({
      dir,
      coordinatorMetrics: coordinatorMetrics(registry),
      nodes: REGIONS.map((id, index) => ({
        id,
        datasets: [{ schema: CLINIC_SCHEMA, csv: clinicCsv(part(index)) }],
        policy: policyYaml({ datasets: { clinic_visits: ['research'] } }),
      })),
    });
  });
  afterAll(async () => {
    await net.stop();
  });

  it('counts one complete secure-aggregation round without dropouts, and the cells the pooled table shows suppressed', async () => {
    const alice = net.client(net.researchers.alice!);
    const spec = testQuerySpec({ analysis: { kind: 'count', dataset: 'clinic_visits', groupBy: ['region'] }, pooled: true, targetNodes: [...REGIONS] });
    const { queryId } = await alice.submitEnvelope(await alice.sign(spec));
    await alice.watch(queryId);
    const rules = (await alice.result(queryId)).pooled!.table!.cells.flatMap((c) => (c.suppressed ? [c.suppressed.rule] : []));
    expect(rules).toContain('threshold');
    const text = await registry.metrics();
    expect(text).toContain('\nfedlab_protocol_runs_total{protocol="secagg",outcome="complete",code="none"} 1\n');
    expect(text).not.toContain('fedlab_protocol_dropouts_total{');
    for (const rule of new Set(rules)) {
      expect(text).toContain(`\nfedlab_disclosure_suppressed_cells_total{analysis="count",rule="${rule}"} ${rules.filter((r) => r === rule).length}\n`);
    }
    expect(text).toContain('\nfedlab_node_results_total{node="region-a",state="done",code="none"} 1\n');
    expect(text).toContain('\nfedlab_query_duration_seconds_count{analysis="count",state="finished"} 1\n');
  });
});
