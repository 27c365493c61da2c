import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import Table from 'cli-table3';
import { SingleBar } from 'cli-progress';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { ENFORCEMENT_PURPOSES, FedlabError, SOFTWARE_VERSION, type ErrorCode, type Logger } from '@fedlab/model';
import {
  createSignedRosterFile,
  generateIdentity,
  governanceFingerprint,
  initCrypto,
  loadGovernanceFile,
  loadRosterFile,
  parseRoster,
  PARTICIPANT_ROLES,
  publicIdentityJson,
  readKeyFile,
  signDocument,
  signRosterFile,
  writeKeyFile,
  type Identity,
  type ParticipantRole,
  type Roster,
  type RosterEntryJson,
  type SignedRosterFile,
} from '@fedlab/crypto';
import { formatApproval, formatProjectDocument, formatRevocation, parseGovernance, parseProjectDocument } from '@fedlab/governance';
import { parseQueryDocument } from '@fedlab/query';
import { formatRho } from '@fedlab/sdc';
import { loadDatasetSchemaFile, readAuditEntries, verifyAuditDatabase } from '@fedlab/store';
import {
  approvalForRequest,
  importNodeDataset,
  initNode,
  loadNodeConfig,
  loadPinnedRoster,
  repinGovernance,
  nodeChannelCredentials,
  openNodeDatabase,
  projectHash,
  recordApproval,
  recordRevocation,
  startNode,
  type NodeConfig,
} from '@fedlab/node-service';
import { backupCoordinator, loadCoordinatorConfig, startCoordinator } from '@fedlab/coordinator-service';
import { runDemo, writeSyntheticData } from '@fedlab/devnet';
import { GovernanceClient, LogClient, crossCheckAudit, formatQuerySummary, type FedlabClient, type QueryResultView, type TreeHeadView } from '@fedlab/client';
import { isLoopbackAddress } from '@fedlab/wire';
import { clientFromFlags, credentialsFromFlags, rosterFromFlags, type ResearcherFlags } from './researcher-context';
import { renderAnswer, renderError, renderEvaluation, renderNetworkStatus, renderPooled, renderResultTable, renderStatus } from './output';
import { assertValidClientList, DEFAULT_EVALUATION_RULES, encodeClientList, parseClientList, renderEvaluationReport } from '@fedlab/evaluation';
import { stopOnSignals } from '@fedlab/ops';

const program = new Command('fedlab')
  .description('fedlab: federated, disclosure-controlled queries across ministries without a central linked database')
  .version(SOFTWARE_VERSION)
  .showHelpAfterError();

const json = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2);

/** TLS to the coordinator (docs/configuration.md); without --ca, plaintext is allowed to a loopback address only. */
function tlsOptions(cmd: Command): Command {
  return cmd
    .option('--ca <file>', "CA that signed the coordinator's TLS certificate (default: $FEDLAB_CA)")
    .option('--client-cert <file>', 'client certificate, when the coordinator requires mutual TLS (default: $FEDLAB_CLIENT_CERT)')
    .option('--client-key <file>', 'key of the client certificate (default: $FEDLAB_CLIENT_KEY)');
}

function researcherOptions(cmd: Command): Command {
  return tlsOptions(
    cmd
      .option('--coordinator <host:port>', 'coordinator address (default: $FEDLAB_COORDINATOR)')
      .option('--key <file>', 'researcher key file (default: $FEDLAB_KEY)')
      .option('--roster <file>', 'roster used to verify node signatures (default: $FEDLAB_ROSTER)')
      .option('--governance <file>', 'governance stewards that must have signed the roster (default: $FEDLAB_GOVERNANCE)')
      .option('--json', 'machine-readable output'),
  );
}

function logger(level: string) {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}

// ── keys ──────────────────────────────────────────────────────────────────────
const keys = program.command('keys').description('participant identities (Ed25519 signing + X25519 sealing keys)');
keys
  .command('new')
  .description('create a key file (mode 0600) and print its public roster entry')
  .requiredOption('--id <id>', 'participant id, e.g. health or alice')
  .addOption(new Option('--role <role>', 'participant role').choices([...PARTICIPANT_ROLES]).makeOptionMandatory())
  .requiredOption('--out <file>', 'key file to write (refuses to overwrite)')
  .option('--display-name <name>', 'human-readable name for the roster')
  .option('--passphrase-env <var>', 'encrypt the secret keys with the passphrase in this environment variable')
  .option('--json', 'print only the roster entry as JSON')
  .action(async (o: { id: string; role: ParticipantRole; out: string; displayName?: string; passphraseEnv?: string; json?: boolean }) => {
    await initCrypto();
    const passphrase = o.passphraseEnv ? process.env[o.passphraseEnv] : undefined;
    if (o.passphraseEnv && !passphrase) throw new FedlabError('INVALID_ARGUMENT', `environment variable ${o.passphraseEnv} is empty`);
    const identity = generateIdentity(o.id, o.role, o.displayName ?? o.id);
    writeKeyFile(o.out, identity, passphrase);
    const entry = publicIdentityJson(identity);
    writeFileSync(`${o.out}.pub.json`, `${JSON.stringify(entry, null, 2)}\n`);
    console.log(o.json ? json(entry) : `wrote ${o.out} (0600) and ${o.out}.pub.json\nroster entry:\n${json(entry)}`);
  });

// ── governance & roster ───────────────────────────────────────────────────────
const governance = program.command('governance').description('the governance stewards whose signatures make a roster valid');
governance
  .command('new')
  .description('write a governance file pinning stewards (public entries from `fedlab keys new --role steward`) and a threshold')
  .requiredOption('--out <file>', 'governance file to write')
  .option('--threshold <m>', 'signatures required (default 2)', (v) => Number.parseInt(v, 10), 2)
  .argument('<stewards...>', 'steward public entry files (*.pub.json)')
  .action(async (files: string[], o: { out: string; threshold: number }) => {
    await initCrypto();
    const stewards = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as RosterEntryJson).map((e) => ({ id: e.id, sign_public_key: e.sign_public_key }));
    const doc = { threshold: o.threshold, stewards };
    const parsed = parseGovernance(doc, o.out);
    writeFileSync(o.out, `${json(doc)}\n`, { flag: 'wx' });
    console.log(`${o.out}: ${o.threshold} of ${stewards.length} stewards; fingerprint ${governanceFingerprint(parsed)} (publish it: nodes pin it)`);
  });

const roster = program.command('roster').description('the list of participants and their public keys, signed by governance stewards');
roster
  .command('new')
  .description('start a roster file from public entries (*.pub.json); stewards then sign it')
  .requiredOption('--out <file>', 'signed roster file to write')
  .option('--roster-version <n>', 'roster version: higher than the one nodes hold', (v) => Number.parseInt(v, 10), 1)
  .argument('<entries...>', 'public entry files')
  .action(async (files: string[], o: { out: string; rosterVersion: number }) => {
    await initCrypto();
    const entries = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as RosterEntryJson);
    const file = createSignedRosterFile(entries, o.rosterVersion, new Date().toISOString());
    writeFileSync(o.out, `${json(file)}\n`);
    console.log(`${o.out}: roster version ${o.rosterVersion} with ${entries.length} participants, awaiting steward signatures`);
  });
roster
  .command('sign')
  .description("add a governance steward's signature to a roster file")
  .requiredOption('--key <file>', "the steward's key file")
  .argument('<roster>', 'signed roster file (updated in place)')
  .action(async (file: string, o: { key: string }) => {
    await initCrypto();
    const signed = signRosterFile(JSON.parse(readFileSync(file, 'utf8')) as SignedRosterFile, readKeyFile(o.key, process.env.FEDLAB_KEY_PASSPHRASE));
    writeFileSync(file, `${json(signed)}\n`);
    console.log(`${file}: ${signed.signatures.length} signature(s)`);
  });
roster
  .command('show')
  .description('print a roster; with --governance, verify its signatures first')
  .argument('<roster>', 'roster file')
  .option('--governance <file>', 'pinned governance file')
  .option('--json', 'machine-readable output')
  .action(async (file: string, o: { governance?: string; json?: boolean }) => {
    await initCrypto();
    const r = loadRosterFile(file, o.governance ? { governance: loadGovernanceFile(o.governance) } : {}).toJson();
    if (o.json) return console.log(json(r));
    console.log(`roster version ${r.version}${o.governance ? ' (signatures verified)' : ''}`);
    for (const p of r.participants) console.log(`  ${p.role.padEnd(12)} ${p.id.padEnd(20)} ${p.display_name}`);
  });
roster
  .command('publish')
  .description('verify a roster against the governance threshold and write it where nodes and the coordinator read it')
  .argument('<roster>', 'signed roster file')
  .requiredOption('--governance <file>', 'pinned governance file')
  .requiredOption('--out <file>', 'where to publish it')
  .action(async (file: string, o: { governance: string; out: string }) => {
    await initCrypto();
    const r = loadRosterFile(file, { governance: loadGovernanceFile(o.governance) });
    copyFileSync(file, o.out);
    console.log(`published roster version ${r.version} (${r.all().length} participants) to ${o.out}`);
  });
roster
  .command('add')
  .description('development only: add public entries to an unsigned roster file (refused by nodes that pin governance)')
  .requiredOption('--roster <file>', 'unsigned roster file')
  .argument('<entries...>', 'public entry files')
  .action(async (entries: string[], o: { roster: string }) => {
    await initCrypto();
    const current = existsSync(o.roster) ? loadRosterFile(o.roster).toJson() : { version: 1, participants: [] as RosterEntryJson[] };
    for (const file of entries) {
      const entry = JSON.parse(readFileSync(file, 'utf8')) as RosterEntryJson;
      current.participants = current.participants.filter((p) => p.id !== entry.id).concat(entry);
    }
    parseRoster(current, o.roster);
    writeFileSync(o.roster, json(current));
    console.log(`${o.roster}: ${current.participants.length} participants`);
  });

// ── synth ─────────────────────────────────────────────────────────────────────
program
  .command('synth')
  .description('write the synthetic population: one CSV + schema per ministry dataset, and the ground truth (tests only)')
  .option('--out <dir>', 'output folder', 'synth')
  .option('--persons <n>', 'number of persons', (v) => Number.parseInt(v, 10), 100_000)
  .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 1)
  .option('--json', 'machine-readable output')
  .action((o: { out: string; persons: number; seed: number; json?: boolean }) => {
    const files = writeSyntheticData(o.out, { persons: o.persons, seed: o.seed });
    console.log(o.json ? json({ files }) : `wrote ${files.length} files to ${o.out}:\n${files.map((f) => `  ${f}`).join('\n')}`);
  });

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
  .option('--json', 'machine-readable output')
  .action(async (o: { dir: string; id: string; coordinator: string; roster?: string; governance?: string; displayName?: string; json?: boolean }) => {
    const r = await initNode({ dir: o.dir, nodeId: o.id, coordinator: o.coordinator, rosterFile: o.roster, governanceFile: o.governance, displayName: o.displayName });
    writeFileSync(path.join(o.dir, 'node.pub.json'), `${JSON.stringify(r.rosterEntry, null, 2)}\n`);
    console.log(o.json ? json(r) : `created ${r.configFile}\nadd ${path.join(o.dir, 'node.pub.json')} to the roster, then edit ${path.join(o.dir, 'policy.yaml')}`);
  });
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
  .description('import a CSV file as a dataset (one transaction; a bad row aborts and leaves the table unchanged)')
  .requiredOption('--config <file>', 'node.yaml')
  .requiredOption('--schema <file>', 'dataset schema (YAML)')
  .argument('<csv>', 'CSV file with a header row')
  .option('--json', 'machine-readable output')
  .action(async (csv: string, o: { config: string; schema: string; json?: boolean }) => {
    const config = loadNodeConfig(o.config);
    const schema = loadDatasetSchemaFile(o.schema);
    const db = openNodeDatabase(config.database);
    const bar = process.stderr.isTTY && !o.json ? new SingleBar({ format: `${schema.dataset} [{bar}] {percentage}% | {rows} rows`, stream: process.stderr }) : undefined;
    try {
      let started = false;
      const result = await importNodeDataset(db, {
        csvPath: csv,
        schema,
        onProgress: (rows, bytes, total) => {
          if (!bar) return;
          if (!started) bar.start(total, 0, { rows: 0 });
          started = true;
          bar.update(bytes, { rows });
        },
      });
      bar?.stop();
      console.log(o.json ? json({ dataset: schema.dataset, rows: result.rows }) : `imported ${result.rows.toLocaleString('en-CA')} rows into ${schema.dataset}`);
    } finally {
      bar?.stop();
      db.close();
    }
  });
node
  .command('serve')
  .description('run the node daemon: dial out to the coordinator and answer signed queries')
  .requiredOption('--config <file>', 'node.yaml')
  .action(async (o: { config: string }) => {
    const config = loadNodeConfig(o.config);
    const log = logger(config.logLevel);
    const running = await startNode(o.config, log, failpointFromEnv(log));
    console.log(`admin at ${running.adminUrl}`);
    stopOnSignals(() => running.stop());
  });

// ── coordinator ───────────────────────────────────────────────────────────────
const coordinator = program.command('coordinator').description('the coordinator: routes, countersigns and logs queries');
// Written for a listening address off loopback: the empty paths fail validation, naming the field, until the operator fills them in.
const COORDINATOR_TLS_TEMPLATE = [
  'tls:',
  '  cert_file: ""  # PEM certificate chain of this coordinator (its host names or addresses in subjectAltName)',
  '  key_file: ""  # PEM private key of that certificate',
  '  # client_ca_file: client-ca.pem  # with require_client_cert: true, nodes and clients must present a certificate signed by this CA',
  '  # require_client_cert: true',
  '',
].join('\n');
coordinator
  .command('init')
  .description('create a coordinator folder: coordinator.yaml and coordinator.key (0600)')
  .requiredOption('--dir <dir>', 'coordinator folder')
  .option('--id <id>', 'coordinator id', 'coordinator')
  .option('--listen <host:port>', 'address to listen on', '127.0.0.1:7443')
  .option('--roster <file>', 'roster file', 'roster.yaml')
  .action(async (o: { dir: string; id: string; listen: string; roster: string }) => {
    await initCrypto();
    mkdirSync(o.dir, { recursive: true });
    const identity = generateIdentity(o.id, 'coordinator', 'Coordinator');
    writeKeyFile(path.join(o.dir, 'coordinator.key'), identity);
    writeFileSync(path.join(o.dir, 'coordinator.pub.json'), `${JSON.stringify(publicIdentityJson(identity), null, 2)}\n`);
    writeFileSync(
      path.join(o.dir, 'coordinator.yaml'),
      `listen: ${o.listen}\ndatabase: coordinator.db\nkey_file: coordinator.key\nroster_file: ${o.roster}\nnode_deadline_ms: 60000\nlog_level: info\n${isLoopbackAddress(o.listen) ? 'plaintext: true\n' : COORDINATOR_TLS_TEMPLATE}`,
      { flag: 'wx' },
    );
    console.log(`created ${path.join(o.dir, 'coordinator.yaml')}; add ${path.join(o.dir, 'coordinator.pub.json')} to the roster`);
  });
coordinator
  .command('backup')
  .description("a consistent copy of the (running) coordinator's database, with the size of its log (docs/operations.md)")
  .requiredOption('--config <file>', 'coordinator.yaml')
  .requiredOption('--out <file>', 'backup file to write (never overwritten)')
  .option('--json', 'machine-readable output')
  .action(async (o: { config: string; out: string; json?: boolean }) => {
    const r = await backupCoordinator(o.config, o.out);
    console.log(o.json ? json(r) : `wrote ${r.file}: ${r.logEntries} log entries (a restore from it is valid only while no node has verified a larger log)`);
  });
coordinator
  .command('serve')
  .description('run the coordinator daemon')
  .requiredOption('--config <file>', 'coordinator.yaml')
  .action(async (o: { config: string }) => {
    const log = logger(loadCoordinatorConfig(o.config).logLevel);
    const running = await startCoordinator(o.config, log, failpointFromEnv(log));
    if (running.registerPort) console.log(`public register at http://${running.config.registerListen!.replace(/:\d+$/, '')}:${running.registerPort}/register`);
    if (running.dashboardPort) console.log(`dashboard at http://${running.config.dashboardListen!.replace(/:\d+$/, '')}:${running.dashboardPort}/dashboard`);
    console.log(`admin at ${running.adminUrl}`);
    console.log(`coordinator listening on ${running.config.listen.replace(/:\d+$/, '')}:${running.port}`);
    stopOnSignals(() => running.stop());
  });

/**
 * Fault tests only (docs/configuration.md): FEDLAB_FAILPOINT names a point of the secure-aggregation
 * protocol where this process kills itself with SIGKILL — a real crash at an exact protocol step.
 */
function failpointFromEnv(log: Logger): { failpoint?: (point: string) => boolean } {
  const wanted = process.env.FEDLAB_FAILPOINT;
  if (!wanted) return {};
  return {
    failpoint: (point: string) => {
      if (point !== wanted) return false;
      log.warn({ failpoint: point }, 'failpoint reached: killing this process');
      // After a message was written, give the socket a moment to carry it before the crash.
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), point.startsWith('after') ? 150 : 0);
      return true;
    },
  };
}

/** Runs `action` with a researcher client built from the flags and closes it afterwards. */
async function withClient<T>(flags: ResearcherFlags, needKey: boolean, action: (client: FedlabClient) => Promise<T>): Promise<T> {
  const client = await clientFromFlags(flags, needKey);
  try {
    return await action(client);
  } finally {
    client.close();
  }
}
const renderResult = (r: QueryResultView) => `${renderStatus(r.status)}\n\n${[...r.answers.map(renderAnswer), ...(r.pooled ? [renderPooled(r.pooled)] : [])].join('\n\n')}`;

// ── query ─────────────────────────────────────────────────────────────────────
const query = program.command('query').description('submit signed queries and read their results');
researcherOptions(
  query
    .command('submit')
    .description('sign and submit a query file (YAML or JSON)')
    .argument('<file>', 'query file')
    .option('--wait', 'show progress per node, then the result'),
).action(async (file: string, o: ResearcherFlags & { wait?: boolean; json?: boolean }) => {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', `${file}: cannot read the query file`);
  }
  const parsed = parseQueryDocument(doc);
  await withClient(o, true, async (client) => {
    const { queryId } = await client.submit(parsed);
    if (!o.wait) {
      console.log(o.json ? json({ queryId }) : `submitted ${queryId}`);
      return;
    }
    if (!o.json) console.error(`submitted ${queryId}`);
    let last = '';
    await client.watch(queryId, (s) => {
      const line = s.nodes.map((n) => `${n.nodeId}:${n.state}`).join('  ');
      if (!o.json && line !== last) console.error(`  ${line}`);
      last = line;
    });
    const result = await client.result(queryId);
    console.log(o.json ? json(result) : renderResult(result));
  });
});
researcherOptions(query.command('status').description("a query's progress per node (only its researcher may read it)").argument('<id>', 'query id')).action((id: string, o: ResearcherFlags & { json?: boolean }) =>
  withClient(o, true, async (client) => {
    const s = await client.status(id);
    console.log(o.json ? json(s) : renderStatus(s));
  }),
);
researcherOptions(query.command('result').description("a query's signed, disclosure-controlled answers (only its researcher may read them)").argument('<id>', 'query id')).action((id: string, o: ResearcherFlags & { json?: boolean }) =>
  withClient(o, true, async (client) => {
    const r = await client.result(id);
    console.log(o.json ? json(r) : renderResult(r));
  }),
);

// ── evaluate ──────────────────────────────────────────────────────────────────
const evaluate = program.command('evaluate').description('impact evaluations for organisations: the Justice Data Lab workflow (docs/evaluation.md)');
researcherOptions(
  evaluate
    .command('submit')
    .description("validate a client list, seal it to the node's key and submit it (only the node can read it)")
    .argument('<clients.csv>', 'surname, forename, date_of_birth, sex, intervention_start, intervention_end [, justice_id]')
    .requiredOption('--node <id>', 'the node that holds the justice data, e.g. justice')
    .option('--programme <name>', 'name of the program, shown in the report (default: the file name)')
    .option('--wait', 'wait for the result and print it'),
).action(async (file: string, o: ResearcherFlags & { node: string; programme?: string; wait?: boolean; json?: boolean }) => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new FedlabError('INVALID_ARGUMENT', `${file}: cannot read the client list`);
  }
  const list = parseClientList(text, new Date().toISOString().slice(0, 10));
  assertValidClientList(list);
  const { minCohort } = DEFAULT_EVALUATION_RULES;
  if (list.clients.length < minCohort) throw new FedlabError('EVALUATION_TOO_SMALL', `${file} lists ${list.clients.length} people; an evaluation needs at least ${minCohort}`);
  const programme = o.programme ?? path.basename(file).replace(/\.[^.]*$/, '');
  await withClient(o, true, async (client) => {
    const { queryId } = await client.submitEvaluation({ node: o.node, programme, clientList: encodeClientList(list.clients) });
    if (!o.wait) {
      console.log(o.json ? json({ evaluationId: queryId }) : `submitted evaluation ${queryId} (${list.clients.length} people, sealed to ${o.node}); read it with: fedlab evaluate result ${queryId} --out report.html`);
      return;
    }
    await client.watch(queryId);
    const evaluation = await evaluationOf(client, queryId);
    console.log(o.json ? json(evaluation) : renderEvaluation(evaluation));
  });
});
researcherOptions(
  evaluate
    .command('result')
    .description('the released evaluation: text, --json, or a self-contained HTML report with --out')
    .argument('<id>', 'evaluation id')
    .option('--out <file>', 'write the HTML report to this file'),
).action((id: string, o: ResearcherFlags & { out?: string; json?: boolean }) =>
  withClient(o, true, async (client) => {
    const evaluation = await evaluationOf(client, id);
    if (o.out) {
      writeFileSync(o.out, renderEvaluationReport(evaluation));
      if (!o.json) console.log(`wrote ${o.out}`);
    }
    if (o.json) console.log(json(evaluation));
    else if (!o.out) console.log(renderEvaluation(evaluation));
  }),
);

/** The released evaluation of a finished evaluation query; the node's refusal as an error otherwise. */
async function evaluationOf(client: FedlabClient, id: string) {
  const result = await client.result(id);
  const answer = result.answers[0];
  if (answer && !answer.verified) throw new FedlabError('INVALID_ARGUMENT', "the roster is needed to verify the justice node's signature on the report: pass --roster FILE or set FEDLAB_ROSTER");
  if (answer?.refusal) throw new FedlabError(answer.refusal.code as ErrorCode, answer.refusal.message);
  if (answer?.evaluation) return answer.evaluation;
  const node = result.status.nodes[0];
  if (node && (node.state === 'failed' || node.state === 'unreachable')) throw new FedlabError((node.code || 'INTERNAL') as ErrorCode, node.message);
  throw new FedlabError('NOT_FOUND', `evaluation ${id} has no result yet (${node?.state ?? 'pending'}); try again later`);
}

researcherOptions(program.command('catalog').description('datasets, columns, types and roles at every node (metadata only)')).action((o: ResearcherFlags & { json?: boolean }) =>
  withClient(o, false, async (client) => {
    const nodes = await client.catalog();
    if (o.json) return console.log(json(nodes));
    for (const n of nodes) {
      for (const d of n.datasets) {
        console.log(`${n.nodeId} / ${d.dataset} (~${Number(d.approxRows).toLocaleString('en-CA')} rows) ${d.description}`);
        for (const c of d.columns) console.log(`  ${c.name.padEnd(24)} ${c.type.padEnd(8)} ${c.role.padEnd(17)} ${c.values.length ? c.values.join('|') : ''}`);
      }
    }
  }),
);

// ── status ────────────────────────────────────────────────────────────────────
tlsOptions(
  program
    .command('status')
    .description('every node as the coordinator sees it: connected, version, uptime, last heartbeat, queries answered and refused in the last hour, audit head, datasets')
    .option('--coordinator <host:port>', 'coordinator address (default: $FEDLAB_COORDINATOR)')
    .option('--json', 'machine-readable output (with --watch: one JSON document per line)')
    .option('--watch [seconds]', 'redraw every N seconds (default 2) until Ctrl-C'),
).action((o: ResearcherFlags & { json?: boolean; watch?: true | string }) =>
  withClient(o, false, async (client) => {
    if (o.watch === undefined) {
      const status = await client.networkStatus();
      return console.log(o.json ? json(status) : renderNetworkStatus(status));
    }
    const seconds = o.watch === true ? 2 : Number(o.watch);
    if (!(seconds >= 0.5 && seconds <= 3600)) throw new FedlabError('INVALID_ARGUMENT', `--watch: "${o.watch}" is not a number of seconds from 0.5 to 3600`);
    await watchNetworkStatus(client, seconds, o.json ?? false);
  }),
);

/** Redraws `fedlab status` every `seconds` until Ctrl-C; a failed poll is shown and retried, not fatal. */
async function watchNetworkStatus(client: FedlabClient, seconds: number, asJson: boolean): Promise<void> {
  let stopped = false;
  let wake = () => {};
  process.once('SIGINT', () => {
    stopped = true;
    wake();
  });
  while (!stopped) {
    try {
      const status = await client.networkStatus();
      if (asJson) console.log(JSON.stringify(status));
      else process.stdout.write(`${process.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${renderNetworkStatus(status)}\nevery ${seconds} s · Ctrl-C to stop\n`);
    } catch (error) {
      if (asJson) console.error(renderError(error));
      else process.stdout.write(`${process.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${renderError(error)}\nretrying every ${seconds} s · Ctrl-C to stop\n`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

// ── project ───────────────────────────────────────────────────────────────────
const projectCommand = program.command('project').description('research projects: drafted by researchers, approved for each node by its own steward');
projectCommand
  .command('draft')
  .description('write a project template to fill in (then `fedlab project submit`)')
  .requiredOption('--id <id>', 'project id, e.g. fasd-outcomes-2026')
  .requiredOption('--out <file>', 'project file to write')
  .option('--purpose <purpose>', 'research | statistics | program_evaluation | policy_planning', 'research')
  .action((o: { id: string; out: string; purpose: string }) => {
    const template = {
      project_id: o.id,
      title: 'Title of the project',
      lay_summary: 'What the project asks, why, and who benefits, in plain language.',
      purpose: o.purpose,
      legal_basis: 'The statutory authority for this use',
      data_sharing_agreement: 'DSA reference',
      ethics_approval: { reference: 'REB reference', expires_on: '2027-12-31' },
      members: ['your-researcher-id'],
      requests: { 'node-id': { datasets: { dataset_name: { columns: ['column'], analyses: ['count'] } } } },
      created_at: new Date().toISOString(),
    };
    writeFileSync(o.out, `${json(template)}\n`, { flag: 'wx' });
    console.log(`wrote ${o.out}; fill it in (fedlab catalog lists datasets and columns), then: fedlab project submit ${o.out}`);
  });
researcherOptions(projectCommand.command('submit').description('sign a project with your researcher key and register it (it is logged publicly)').argument('<file>', 'project file (JSON or YAML)')).action(
  async (file: string, o: ResearcherFlags & { json?: boolean }) => {
    await initCrypto();
    const project = parseProjectDocument(parseYaml(readFileSync(file, 'utf8')), file);
    const key = o.key ?? process.env.FEDLAB_KEY;
    if (!key) throw new FedlabError('INVALID_ARGUMENT', 'no researcher key: pass --key FILE or set FEDLAB_KEY');
    const signed = signDocument('project', formatProjectDocument(project), readKeyFile(key, process.env.FEDLAB_KEY_PASSPHRASE));
    await withGovernance(o, async (gov) => {
      const index = await gov.submitProject(signed);
      console.log(o.json ? json({ projectId: project.projectId, logIndex: index }) : `registered project ${project.projectId} (log entry ${index}); each node's steward now decides whether to approve it`);
    });
  },
);
researcherOptions(projectCommand.command('show').description('a project, its approvals and revocations per node, and its query counts').argument('<id>', 'project id')).action(
  (id: string, o: ResearcherFlags & { json?: boolean }) =>
    withGovernance(o, async (gov) => {
      const v = await gov.project(id);
      if (o.json) return console.log(json(v));
      console.log(`${v.project.projectId}: ${v.project.title} (${v.project.purpose}; ethics ${v.project.ethicsApproval.reference} until ${v.project.ethicsApproval.expiresOn})`);
      console.log(`  members: ${v.project.members.join(', ')}; project SHA-256 ${projectHash(v.signed)}\n  ${v.project.laySummary}`);
      for (const nodeId of Object.keys(v.project.requests)) {
        const a = v.approvals.find((x) => x.nodeId === nodeId);
        const r = v.revocations.find((x) => x.nodeId === nodeId);
        console.log(`  ${nodeId.padEnd(16)} ${r ? `revoked: ${r.reason}` : a ? `approved until ${a.expiresOn}: ${Object.keys(a.datasets).join(', ')}` : 'not approved'} · ${v.queriesPerNode[nodeId] ?? 0} queries`);
        for (const b of v.budgets.filter((x) => x.nodeId === nodeId)) console.log(`  ${''.padEnd(16)} privacy budget ${b.dataset}: ρ ${formatRho(b.spent)} spent of ${formatRho(b.total)}, ${formatRho(b.remaining)} left`);
      }
    }),
);
researcherOptions(
  program
    .command('budget')
    .description("a project's privacy budget (ρ) per node and dataset: spent and left, as the nodes' signed answers last reported it")
    .argument('<project>', 'project id'),
).action((id: string, o: ResearcherFlags & { json?: boolean }) =>
  withGovernance(o, async (gov) => {
    const v = await gov.project(id);
    if (o.json) return console.log(json(v.budgets));
    if (v.budgets.length === 0) return console.log(`project ${id} has spent no privacy budget yet`);
    const t = new Table({ head: ['node', 'dataset', 'ρ total', 'ρ spent', 'ρ left'], style: { head: [], border: [] } });
    for (const b of v.budgets) t.push([b.nodeId, b.dataset, formatRho(b.total), formatRho(b.spent), formatRho(b.remaining)]);
    console.log(t.toString());
  }),
);
researcherOptions(projectCommand.command('list').description('all registered projects')).action((o: ResearcherFlags & { json?: boolean }) =>
  withGovernance(o, async (gov) => {
    const all = await gov.projects();
    if (o.json) return console.log(json(all.map((v) => ({ projectId: v.project.projectId, purpose: v.project.purpose, approvedBy: v.approvals.map((a) => a.nodeId), revokedBy: v.revocations.map((r) => r.nodeId) }))));
    for (const v of all) console.log(`${v.project.projectId.padEnd(28)} ${v.project.purpose.padEnd(18)} approved by: ${v.approvals.map((a) => a.nodeId).join(', ') || '—'}${v.revocations.length ? `; revoked by: ${v.revocations.map((r) => r.nodeId).join(', ')}` : ''}`);
  }),
);
const stewardOptions = (cmd: Command) =>
  cmd.requiredOption('--config <file>', "the node's node.yaml").requiredOption('--key <file>', "the node steward's key file").option('--json', 'machine-readable output');
stewardOptions(
  projectCommand
    .command('approve')
    .description("approve a project for this node only, possibly narrower than requested; takes effect on the next query")
    .argument('<id>', 'project id')
    .option('--expires-on <date>', 'approval expiry (YYYY-MM-DD; capped at the ethics expiry)', '2099-12-31')
    .option('--datasets <names>', 'approve only these datasets (comma-separated)')
    .option('--exclude-columns <names>', 'withhold these columns (comma-separated)')
    .option('--project-hash <sha256>', 'approve only if the project text has this SHA-256 (as shown by `fedlab project show`)')
    .option('--allow-enforcement', 'required to approve a project whose purpose is an enforcement purpose'),
).action((id: string, o: { config: string; key: string; json?: boolean; expiresOn: string; datasets?: string; excludeColumns?: string; projectHash?: string; allowEnforcement?: boolean }) =>
  withNode(o, async ({ config, db, roster, gov, steward }) => {
    const view = await gov.project(id);
    const hash = projectHash(view.signed);
    if (o.projectHash && o.projectHash !== hash) throw new FedlabError('APPROVAL_INVALID', `project "${id}" has SHA-256 ${hash}, not the ${o.projectHash} you reviewed`);
    if (ENFORCEMENT_PURPOSES.includes(view.project.purpose) && !o.allowEnforcement) {
      throw new FedlabError('PURPOSE_NOT_PERMITTED', `project "${id}" is for ${view.project.purpose}, an enforcement purpose: approve it only deliberately, with --allow-enforcement`);
    }
    const approval = approvalForRequest(view.project, config.nodeId, projectHash(view.signed), o.expiresOn, new Date().toISOString());
    const keep = o.datasets?.split(',');
    const withheld = new Set(o.excludeColumns?.split(',') ?? []);
    approval.datasets = Object.fromEntries(
      Object.entries(approval.datasets)
        .filter(([name]) => !keep || keep.includes(name))
        .map(([name, access]) => [name, { ...access, columns: access.columns.filter((c) => !withheld.has(c)) }]),
    );
    const signed = signDocument('approval', formatApproval(approval), steward);
    // Public first, then effective: an approval that is not in the public log never authorises a query.
    const index = await gov.submitApproval(signed);
    recordApproval(db, config.nodeId, roster, view.signed, signed, Date.now());
    if (o.json) return console.log(json({ approval, projectHash: hash, logIndex: index }));
    console.log(`approved ${id} at ${config.nodeId} until ${approval.expiresOn}: ${Object.keys(approval.datasets).join(', ') || 'no datasets'} (log entry ${index})`);
    console.log(`  purpose ${view.project.purpose}; members ${view.project.members.join(', ')}; project SHA-256 ${hash}`);
    for (const [name, access] of Object.entries(approval.datasets)) console.log(`  ${name}: ${access.columns.join(', ')} · ${access.analyses.join(', ')}`);
  }),
);
stewardOptions(projectCommand.command('revoke').description("revoke this node's approval; the next query of the project is refused").argument('<id>', 'project id').requiredOption('--reason <text>', 'why, for the public register')).action(
  (id: string, o: { config: string; key: string; json?: boolean; reason: string }) =>
    withNode(o, async ({ config, db, roster, gov, steward }) => {
      const signed = signDocument('revocation', formatRevocation({ projectId: id, nodeId: config.nodeId, reason: o.reason, revokedAt: new Date().toISOString() }), steward);
      recordRevocation(db, config.nodeId, roster, signed, Date.now());
      const index = await gov.submitRevocation(signed);
      console.log(o.json ? json({ projectId: id, nodeId: config.nodeId, logIndex: index }) : `revoked ${id} at ${config.nodeId} (log entry ${index})`);
    }),
);

async function withGovernance<T>(o: ResearcherFlags, action: (gov: GovernanceClient) => Promise<T>): Promise<T> {
  await initCrypto();
  const address = o.coordinator ?? process.env.FEDLAB_COORDINATOR;
  const roster = rosterFromFlags(o);
  if (!address || !roster) throw new FedlabError('INVALID_ARGUMENT', 'pass --coordinator and --roster (or set FEDLAB_COORDINATOR and FEDLAB_ROSTER)');
  const gov = new GovernanceClient({ address, roster, credentials: credentialsFromFlags(o, address) });
  try {
    return await action(gov);
  } finally {
    gov.close();
  }
}

/** Runs a steward action against a node's own database and roster, and the coordinator it attaches to. */
async function withNode<T>(
  o: { config: string; key: string },
  action: (ctx: { config: NodeConfig; db: ReturnType<typeof openNodeDatabase>; roster: Roster; gov: GovernanceClient; steward: Identity }) => Promise<T>,
): Promise<T> {
  await initCrypto();
  const config = loadNodeConfig(o.config);
  const steward = readKeyFile(o.key, process.env.FEDLAB_KEY_PASSPHRASE);
  const db = openNodeDatabase(config.database);
  const gov = new GovernanceClient({ address: config.coordinator, roster: loadPinnedRoster(db, config), credentials: nodeChannelCredentials(config, o.config) });
  try {
    return await action({ config, db, roster: loadPinnedRoster(db, config), gov, steward });
  } finally {
    gov.close();
    db.close();
  }
}

// ── log ───────────────────────────────────────────────────────────────────────
const logCommand = program.command('log').description("the coordinator's public transparency log (RFC 6962 Merkle tree)");
const logOptions = (cmd: Command) =>
  tlsOptions(
    cmd
      .option('--coordinator <host:port>', 'coordinator address (default: $FEDLAB_COORDINATOR)')
      .option('--roster <file>', 'roster with the coordinator key (default: $FEDLAB_ROSTER)')
      .option('--governance <file>', 'governance stewards that must have signed the roster (default: $FEDLAB_GOVERNANCE)')
      .option('--json', 'machine-readable output'),
  );
async function withLog<T>(o: ResearcherFlags, action: (log: LogClient) => Promise<T>): Promise<T> {
  await initCrypto();
  const address = o.coordinator ?? process.env.FEDLAB_COORDINATOR;
  const roster = rosterFromFlags(o);
  if (!address || !roster) throw new FedlabError('INVALID_ARGUMENT', 'pass --coordinator and --roster (or set FEDLAB_COORDINATOR and FEDLAB_ROSTER)');
  const log = new LogClient({ address, roster, credentials: credentialsFromFlags(o, address) });
  try {
    return await action(log);
  } finally {
    log.close();
  }
}
logOptions(logCommand.command('head').description('the current signed tree head, verified against the roster')).action((o: ResearcherFlags & { json?: boolean }) =>
  withLog(o, async (log) => {
    const { view } = await log.treeHead();
    console.log(o.json ? json(view) : `tree size ${view.size}, root ${view.rootHash}, signed by ${view.signerId} at ${new Date(view.timestampMs).toISOString()}`);
  }),
);
logOptions(logCommand.command('proof').description('prove that one entry is in the log').requiredOption('--index <n>', 'entry index', (v) => Number.parseInt(v, 10))).action(
  (o: ResearcherFlags & { json?: boolean; index: number }) =>
    withLog(o, async (log) => {
      const r = await log.proveInclusion(o.index);
      console.log(o.json ? json(r) : `entry ${o.index} (${r.entry.kind}) is in the tree of size ${r.head.size}: inclusion proof of ${r.proof.length} hashes verified`);
    }),
);
logOptions(
  logCommand
    .command('verify')
    .description('download the whole log, recompute its root, check the signed head and (with --since) that the log only grew')
    .option('--since <file>', 'a tree head saved earlier with --save')
    .option('--save <file>', 'save the verified tree head here'),
).action((o: ResearcherFlags & { json?: boolean; since?: string; save?: string }) =>
  withLog(o, async (log) => {
    const since = o.since ? (JSON.parse(readFileSync(o.since, 'utf8')) as TreeHeadView) : undefined;
    const r = await log.verify(since);
    if (o.save) writeFileSync(o.save, `${json(r.head)}\n`);
    if (o.json) return console.log(json(r));
    console.log(`log verified: ${r.head.size} entries hash to the signed root ${r.head.rootHash}${since ? `; consistent with the earlier head of size ${since.size}` : ''}`);
    for (const e of r.entries) {
      const q = e.query;
      console.log(`  #${e.index} ${new Date(e.loggedAtMs).toISOString()} ${e.kind}${q ? ` ${formatQuerySummary(q)}` : ''}`);
    }
  }),
);
logOptions(
  logCommand
    .command('query')
    .description("an auditor's (or the query's researcher's) read of the full query behind a log entry, checked against the entry's hash")
    .argument('<id>', 'query id')
    .option('--key <file>', 'auditor (or researcher) key file (default: $FEDLAB_KEY)'),
).action((id: string, o: ResearcherFlags & { json?: boolean }) =>
  withLog(o, async (log) => {
    const keyFile = o.key ?? process.env.FEDLAB_KEY;
    if (!keyFile) throw new FedlabError('INVALID_ARGUMENT', 'no key: pass --key FILE (an auditor on the roster, or the query\'s researcher) or set FEDLAB_KEY');
    const r = await log.auditQuery(id, readKeyFile(keyFile, process.env.FEDLAB_KEY_PASSPHRASE));
    if (o.json) return console.log(json(r));
    console.log(`log entry ${r.logIndex}: ${formatQuerySummary(r.summary)}\nthe researcher's signature verifies and the query hashes to the entry's ${r.summary.queryHash}\n${json(r.spec)}`);
  }),
);

// ── audit ─────────────────────────────────────────────────────────────────────
program
  .command('audit')
  .description("a node's tamper-evident audit log")
  .command('verify')
  .description('recompute the hash chain of a node database and name the first broken entry; with --coordinator, also check it against the public log')
  .option('--config <file>', 'node.yaml (uses its database and node id)')
  .option('--node-db <file>', 'node database file')
  .option('--node-id <id>', 'node id (with --node-db)')
  .option('--coordinator <host:port>', 'cross-check against this coordinator\'s public log (default: $FEDLAB_COORDINATOR when set)')
  .option('--roster <file>', 'roster with the coordinator key (default: $FEDLAB_ROSTER)')
  .option('--governance <file>', 'governance stewards that must have signed the roster (default: $FEDLAB_GOVERNANCE)')
  .option('--ca <file>', "CA that signed the coordinator's TLS certificate (default: $FEDLAB_CA)")
  .option('--client-cert <file>', 'client certificate, when the coordinator requires mutual TLS (default: $FEDLAB_CLIENT_CERT)')
  .option('--client-key <file>', 'key of the client certificate (default: $FEDLAB_CLIENT_KEY)')
  .option('--json', 'machine-readable output')
  .action(async (o: ResearcherFlags & { config?: string; nodeDb?: string; nodeId?: string; json?: boolean }) => {
    const config = o.config ? loadNodeConfig(o.config) : undefined;
    const file = o.nodeDb ?? config?.database;
    if (!file) throw new FedlabError('INVALID_ARGUMENT', 'pass --node-db FILE or --config node.yaml');
    const r = verifyAuditDatabase(file);
    if (!o.coordinator) {
      if (o.json) console.log(json(r));
      else console.log(r.ok ? `audit chain intact: ${r.entries} entries` : `audit chain BROKEN at entry ${r.firstBrokenSeq}: ${r.reason}`);
      if (!r.ok) process.exitCode = 3;
      return;
    }
    const nodeId = o.nodeId ?? config?.nodeId;
    if (!nodeId) throw new FedlabError('INVALID_ARGUMENT', 'pass --node-id ID with --node-db');
    await withLog(o, async (log) => {
      const { entries } = await log.verify();
      const check = crossCheckAudit(nodeId, entries, readAuditEntries(file));
      const ok = r.ok && check.ok;
      if (o.json) console.log(json({ chain: r, crossCheck: check }));
      else {
        console.log(r.ok ? `audit chain intact: ${r.entries} entries` : `audit chain BROKEN at entry ${r.firstBrokenSeq}: ${r.reason}`);
        console.log(`public log: ${check.queriesInLog} queries for ${nodeId}, ${check.queriesAudited} in the audit chain, ${check.checkpointsChecked} checkpoints checked`);
        console.log(check.ok ? 'every query the node answered is in the public log, and every logged query reached the node' : check.discrepancies.map((d) => `DISCREPANCY: ${d}`).join('\n'));
      }
      if (!ok) process.exitCode = 3;
    });
  });

// ── demo ──────────────────────────────────────────────────────────────────────
program
  .command('demo')
  .description('synthesize data, start four ministry nodes and a coordinator on loopback, run example queries')
  .option('--dir <dir>', 'working folder (recreated)', '.fedlab/demo')
  .option('--persons <n>', 'synthetic population size', (v) => Number.parseInt(v, 10), 100_000)
  .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 1)
  .option('--keep', 'leave the network running and print how to query it by hand')
  .addOption(new Option('--log-level <level>', "the daemons' log level (their logs are in the demo folder's logs/)").choices(['debug', 'info', 'warn', 'error']).default('warn'))
  .action(async (o: { dir: string; persons: number; seed: number; keep?: boolean; logLevel: 'debug' | 'info' | 'warn' | 'error' }) => {
    await runDemo({
      dir: path.resolve(o.dir),
      persons: o.persons,
      seed: o.seed,
      keep: o.keep ?? false,
      logLevel: o.logLevel,
      print: (line) => console.log(line),
      renderAnswer,
      renderResultTable,
      renderPooled,
      renderEvaluation,
    });
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(renderError(error));
  process.exit(error instanceof FedlabError ? 2 : 1);
});
