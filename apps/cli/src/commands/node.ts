import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { initCrypto } from '@fedlab/crypto';
import { loadDatasetSchemaFile, openNodeStoreWithEngine } from '@fedlab/store';
import { importNodeDataset, initNode, loadNodeConfig, repinGovernance } from '@fedlab/node-service';
import { daemonCommand, json } from '../cli-common';
import { newKeyPassphraseFromFlags } from '../researcher-context';

/** Registers the `fedlab` commands for a ministry's node: init, import, serve, governance pin. */
export function registerNodeCommands(program: Command): void {
  // ── node ──────────────────────────────────────────────────────────────────────
  const node = program.command('node').description("a ministry's node: data, policy, audit log, daemon");
  node
    .command('init')
    .description('create a node folder: node.yaml, node.key (0600), a default-deny policy.yaml and node.db')
    .requiredOption('--dir <dir>', 'node folder')
    .requiredOption('--id <id>', 'node id as on the roster, e.g. health')
    .requiredOption('--coordinator <host:port>', 'coordinator address (the node dials out)')
    .option('--roster <file>', 'roster file to use')
    .option('--governance <file>', 'governance stewards to pin: the node then accepts only rosters they signed')
    .option('--display-name <name>', 'ministry name for the roster')
    .option('--encrypt', 'encrypt node.key (passphrase from --passphrase-file, $FEDLAB_KEY_PASSPHRASE_FILE, $FEDLAB_KEY_PASSPHRASE, or asked twice)')
    .option('--passphrase-file <file>', 'encrypt node.key with the passphrase on the first line of this file (mode 0600)')
    .option('--json', 'machine-readable output')
    .action(
      async (o: {
        dir: string;
        id: string;
        coordinator: string;
        roster?: string;
        governance?: string;
        displayName?: string;
        encrypt?: boolean;
        passphraseFile?: string;
        json?: boolean;
      }) => {
        const passphrase = await newKeyPassphraseFromFlags(path.join(o.dir, 'node.key'), o);
        const r = await initNode({
          passphrase,
          dir: o.dir,
          nodeId: o.id,
          coordinator: o.coordinator,
          rosterFile: o.roster,
          governanceFile: o.governance,
          displayName: o.displayName,
        });
        writeFileSync(path.join(o.dir, 'node.pub.json'), `${JSON.stringify(r.rosterEntry, null, 2)}\n`);
        console.log(
          o.json ? json(r) : `created ${r.configFile}\nadd ${path.join(o.dir, 'node.pub.json')} to the roster, then edit ${path.join(o.dir, 'policy.yaml')}`,
        );
      },
    );
  node
    .command('pin-governance')
    .description("re-pin the node's governance stewards after they changed (compare the fingerprint with the one they published)")
    .requiredOption('--config <file>', 'node.yaml')
    .requiredOption('--governance <file>', 'the new governance file')
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; governance: string; json?: boolean }) => {
      await initCrypto();
      const r = repinGovernance(o.config, o.governance);
      console.log(o.json ? json(r) : `pinned governance ${r.pinned}${r.previous ? ` (was ${r.previous})` : ''}; restart the node`);
    });
  node
    .command('import')
    .description(
      'import a CSV file (or, with engine: duckdb, a Parquet file) as a dataset (all or nothing: a bad row aborts and leaves the dataset unchanged); with engine: postgres, through the role in FEDLAB_PG_IMPORT_URL',
    )
    .requiredOption('--config <file>', 'node.yaml')
    .requiredOption('--schema <file>', 'dataset schema (YAML)')
    .argument('<file>', 'CSV file with a header row, or a .parquet file (engine: duckdb)')
    .option('--in-place', 'engine: duckdb: register the Parquet file where it is instead of copying it (docs/engines.md)')
    .option('--json', 'machine-readable output')
    .action(async (csv: string, o: { config: string; schema: string; inPlace?: boolean; json?: boolean }) => {
      const config = loadNodeConfig(o.config);
      const schema = loadDatasetSchemaFile(o.schema);
      const store = await openNodeStoreWithEngine(config.database, config.engine, process.env);
      const bar =
        process.stderr.isTTY && !o.json
          ? new SingleBar({ format: `${schema.dataset} [{bar}] {percentage}% | {rows} rows`, stream: process.stderr })
          : undefined;
      try {
        let started = false;
        const result = await importNodeDataset(store, {
          csvPath: csv,
          schema,
          ...(o.inPlace ? { inPlace: true } : {}),
          onProgress: (rows, bytes, total) => {
            if (!bar) return;
            if (!started) bar.start(total, 0, { rows: 0 });
            started = true;
            bar.update(bytes, { rows });
          },
        });
        bar?.stop();
        console.log(
          o.json ? json({ dataset: schema.dataset, rows: result.rows }) : `imported ${result.rows.toLocaleString('en-CA')} rows into ${schema.dataset}`,
        );
      } finally {
        bar?.stop();
        await store.datasets.close();
        store.close();
      }
    });
  daemonCommand(node, 'run the node daemon: dial out to the coordinator and answer signed queries (options: fedlab node serve --help)');
}
