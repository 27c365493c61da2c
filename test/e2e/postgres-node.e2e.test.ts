import { execFile } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect } from 'vitest';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml, stringify } from 'yaml';
import type { FedlabClient } from '@fedlab/client';
import { FEDLAB_BIN, createLocalNetwork, startLocalNetwork, type LocalNetwork } from '@fedlab/devnet';
import type { ColumnType } from '@fedlab/model';
import { parseQueryDocument } from '@fedlab/query';
import { startPostgres, type PostgresServer } from '@fedlab/testing';
import { it, test, waitUntil } from '@fedlab/test-kit';
import { restartPostgres } from '../integration/engines/postgres-restart';

const READER = { user: 'fedlab_reader', password: 'reader-secret', database: 'ministry' };
const IMPORTER = { user: 'fedlab_importer', password: 'importer-secret', database: 'ministry' };
const run = promisify(execFile);
const PG_TYPES: Record<ColumnType, string> = { text: 'text', integer: 'integer', real: 'double precision', date: 'date', boolean: 'boolean' };

interface SchemaDoc {
  max_records_per_person: number;
  columns: Array<{ name: string; type: ColumnType; role: string; nullable?: boolean }>;
}

/**
 * A node daemon (`fedlab node serve`, a real process) whose health_visits is a table of the ministry's
 * PostgreSQL server (docs/engines-postgres.md): it answers a federated query from that table, and while
 * the server is down it stays attached and ready, refusing queries with ENGINE_UNAVAILABLE. A CSV that
 * `fedlab node import` loads into the server while the daemon runs is answered from without a restart.
 */
describe('a node daemon with engine: postgres', () => {
  let net: LocalNetwork;
  let pg: PostgresServer;
  let alice: FedlabClient;
  let stopRestarted: (() => void) | undefined;
  /** Records per sex, at most max_records_per_person per person: the exact count the noisy answer estimates. */
  const truth: Record<string, number> = {};

  test.beforeAll(async ({ fileTempDir }) => {
    net = await createLocalNetwork({ dir: fileTempDir, nodes: ['health'], persons: 500, seed: 19, logLevel: 'warn', env: process.env });
    pg = await startPostgres({ dir: fileTempDir });
    const folder = path.dirname(net.nodeConfigs.health!);

    // The ministry's table: health_visits as the synthetic CSV has it, with a visit id giving the import order.
    const schema = parseYaml(readFileSync(path.join(net.dataDir, 'health/health_visits.schema.yaml'), 'utf8')) as SchemaDoc;
    schema.columns.unshift({ name: 'visit_id', type: 'integer', role: 'identifier' });
    writeFileSync(path.join(folder, 'health_visits.schema.yaml'), stringify(schema));
    const rows = parseCsv(readFileSync(path.join(net.dataDir, 'health/health_visits.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    const literal = (value: string | undefined) => (value === undefined || value === '' ? 'NULL' : `'${value.replaceAll("'", "''")}'`);
    const columns = schema.columns.map((c) => `${c.name} ${PG_TYPES[c.type]}${c.nullable ? '' : ' NOT NULL'}`).join(', ');
    const values = rows.map((row, i) => `(${[String(i + 1), ...schema.columns.slice(1).map((c) => literal(row[c.name]))].join(', ')})`);
    await pg.psql('CREATE DATABASE ministry;');
    await pg.psql(
      `CREATE TABLE physician_visits (${columns}, PRIMARY KEY (visit_id));
       INSERT INTO physician_visits VALUES ${values.join(',\n')};
       CREATE ROLE ${READER.user} LOGIN PASSWORD '${READER.password}';
       GRANT USAGE ON SCHEMA public TO ${READER.user};
       GRANT SELECT ON physician_visits TO ${READER.user};
       ALTER ROLE ${READER.user} SET default_transaction_read_only = on;
       CREATE ROLE ${IMPORTER.user} LOGIN PASSWORD '${IMPORTER.password}';
       CREATE SCHEMA fedlab_import AUTHORIZATION ${IMPORTER.user};
       GRANT USAGE ON SCHEMA fedlab_import TO ${READER.user};
       ALTER DEFAULT PRIVILEGES FOR ROLE ${IMPORTER.user} IN SCHEMA fedlab_import GRANT SELECT ON TABLES TO ${READER.user};`,
      { database: 'ministry' },
    );
    const perPerson = new Map<string, { sex: string; n: number }>();
    for (const row of rows) {
      const p = perPerson.get(row.health_number!) ?? { sex: row.sex!, n: 0 };
      p.n++;
      perPerson.set(row.health_number!, p);
    }
    for (const { sex, n } of perPerson.values()) truth[sex] = (truth[sex] ?? 0) + Math.min(n, schema.max_records_per_person);

    writeFileSync(
      path.join(folder, 'datasets.yaml'),
      stringify([{ dataset: 'health_visits', schema_file: 'health_visits.schema.yaml', table: 'public.physician_visits', import_order: ['visit_id'] }]),
    );
    // The network starts with the node's datasets in SQLite (its setup imports them there); then the node is
    // restarted on PostgreSQL, with the read-only role's connection string in its environment only.
    await startLocalNetwork(net);
    await net.stopNode('health');
    appendFileSync(net.nodeConfigs.health!, '\nengine:\n  kind: postgres\n  datasets_file: datasets.yaml\n');
    await net.startNode('health', { FEDLAB_POSTGRES_URL: pg.connectionString(READER.user, READER.password, READER.database) });
    await net.waitForNodes(['health']);
    alice = await net.client('alice');
  }, 240_000);
  afterAll(async () => {
    alice?.close();
    await net?.stop();
    stopRestarted?.();
    await pg?.stop();
  });

  const countBySex = async () => {
    const { queryId } = await alice.submit(
      parseQueryDocument({
        project: 'demo-research',
        purpose: 'research',
        privacy: { rho: 1 },
        nodes: ['health'],
        analysis: { kind: 'count', dataset: 'health_visits', group_by: ['sex'] },
      }),
    );
    await alice.watch(queryId);
    return (await alice.result(queryId)).answers[0]!;
  };
  const attached = async () => (await alice.nodes()).find((n) => n.nodeId === 'health')?.connected === true;
  const readyz = async () => (await fetch(`${net.adminUrl('health')}/readyz`)).status;

  it('answers a federated count from the PostgreSQL table, within the noise of the exact count', { timeout: 120_000 }, async () => {
    const answer = await countBySex();
    expect(answer.refusal).toBeUndefined();
    // ρ = 1 and 5 rows per person: σ = 5 / √2.
    const sd = 5 / Math.SQRT2;
    expect(answer.table!.cells.map((c) => c.key[0])).toEqual(['F', 'M']);
    for (const cell of answer.table!.cells) expect(Math.abs(cell.stats!.count! - truth[cell.key[0] as string]!)).toBeLessThanOrEqual(5 * sd);
  });

  it(
    'stays attached and ready while the server is down, refusing with ENGINE_UNAVAILABLE, and answers again once it is back',
    { timeout: 120_000 },
    async () => {
      await pg.stop();

      const refused = await countBySex();
      expect(refused.refusal).toEqual({
        code: 'ENGINE_UNAVAILABLE',
        message: "the PostgreSQL server of the node's datasets cannot be reached (connection refused)",
      });
      expect(await attached()).toBe(true);
      expect(await readyz()).toBe(200);

      stopRestarted = restartPostgres(pg);
      await waitUntil('the node to answer again', async () => (await countBySex()).table !== undefined, 60_000, 500);
    },
  );

  it('refuses with SCHEMA_MISMATCH while the table no longer matches its schema, and answers again once it does', { timeout: 120_000 }, async () => {
    await pg.psql('ALTER TABLE physician_visits ALTER COLUMN sex DROP NOT NULL', { database: 'ministry' });
    expect((await countBySex()).refusal).toEqual({
      code: 'SCHEMA_MISMATCH',
      message:
        'dataset "health_visits": column "sex" of public.physician_visits may be NULL in PostgreSQL but the schema declares it not nullable (add NOT NULL, or nullable: true)',
    });
    expect(await attached()).toBe(true);

    await pg.psql('ALTER TABLE physician_visits ALTER COLUMN sex SET NOT NULL', { database: 'ministry' });
    expect((await countBySex()).table?.cells).toHaveLength(2);
  });

  it('answers from a CSV that fedlab node import loads into PostgreSQL while the daemon runs, without a restart', { timeout: 180_000 }, async () => {
    // The node now maps nothing: health_visits is refused until the import (made with the command's own
    // write credential, which the daemon never has) is published.
    const reader = { FEDLAB_POSTGRES_URL: pg.connectionString(READER.user, READER.password, READER.database) };
    await net.stopNode('health');
    writeFileSync(path.join(path.dirname(net.nodeConfigs.health!), 'datasets.yaml'), '[]\n');
    await net.startNode('health', reader);
    await net.waitForNodes(['health']);
    expect((await countBySex()).refusal?.code).toBe('UNKNOWN_DATASET');
    const { stdout } = await run(
      process.execPath,
      [
        FEDLAB_BIN,
        'node',
        'import',
        '--config',
        net.nodeConfigs.health!,
        '--schema',
        path.join(net.dataDir, 'health/health_visits.schema.yaml'),
        path.join(net.dataDir, 'health/health_visits.csv'),
        '--json',
      ],
      {
        env: {
          ...process.env,
          ...reader,
          FEDLAB_PG_IMPORT_URL: pg.connectionString(IMPORTER.user, IMPORTER.password, IMPORTER.database),
        },
      },
    );
    const rows = parseCsv(readFileSync(path.join(net.dataDir, 'health/health_visits.csv'), 'utf8'), { columns: true }) as unknown[];
    expect(JSON.parse(stdout)).toEqual({ dataset: 'health_visits', rows: rows.length });
    const answer = await countBySex();
    expect(answer.refusal).toBeUndefined();
    const sd = 5 / Math.SQRT2;
    expect(answer.table!.cells.map((c) => c.key[0])).toEqual(['F', 'M']);
    for (const cell of answer.table!.cells) expect(Math.abs(cell.stats!.count! - truth[cell.key[0] as string]!)).toBeLessThanOrEqual(5 * sd);
  });
});
