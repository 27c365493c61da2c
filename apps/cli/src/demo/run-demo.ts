import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Table from 'cli-table3';
import { stringify } from 'yaml';
import { parseQueryDocument } from '@fedlab/query';
import { LogClient, formatQuerySummary, type FedlabClient, type NodeResultView } from '@fedlab/client';
import { CLIENT_LIST_PATH, SYNTH_EFFECTS } from '@fedlab/synth';
import { encodeClientList, parseClientList, renderEvaluationReport } from '@fedlab/evaluation';
import { BOARDS, DEMO_QUERIES, FASD_STUDY_BIRTH_YEARS, FEDLAB_BIN, createLocalNetwork, startLocalNetwork, type LocalNetwork } from '@fedlab/devnet';
import { renderAnswer, renderEvaluation, renderPooled } from '../output';

export interface DemoOptions {
  dir: string;
  persons: number;
  seed: number;
  keep: boolean;
  /** The daemons' log level (default warn); their logs are in `<dir>/logs`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  print(line: string): void;
}

async function run(client: FedlabClient, name: string): Promise<NodeResultView[]> {
  return (await runFull(client, name)).answers;
}

async function runFull(client: FedlabClient, name: string) {
  const { queryId } = await client.submit(parseQueryDocument(DEMO_QUERIES[name]));
  await client.watch(queryId);
  return client.result(queryId);
}

/**
 * `fedlab demo`: synthesizes the population, starts a coordinator and four ministry nodes as real
 * processes on loopback, and runs queries that show what the product is for: a per-ministry
 * table, a confidence interval, a refused query with its reason and a suppressed small cell.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const say = options.print;
  const started = Date.now();
  const network = await createLocalNetwork({
    dir: options.dir,
    nodes: ['health', 'education', 'human_services', 'justice'],
    regionalNodes: { dataset: 'education_enrolments', prefix: 'board' },
    persons: options.persons,
    seed: options.seed,
    logLevel: options.logLevel ?? 'warn',
    onProgress: (line) => say(`  ${line}`),
  });
  const queriesDir = path.join(network.dir, 'queries');
  mkdirSync(queriesDir);
  for (const [name, doc] of Object.entries(DEMO_QUERIES)) writeFileSync(path.join(queriesDir, `${name}.yaml`), stringify(doc));
  try {
    say('starting the coordinator, four ministry nodes and five regional school boards (each dials out to the coordinator) …');
    await startLocalNetwork(network);
    say(`network ready in ${((Date.now() - started) / 1000).toFixed(1)} s: coordinator at ${network.coordinatorAddress}\n`);
    const alice = await network.client('alice');
    const bob = await network.client('bob');
    try {
      await showPerMinistryTable(alice, say);
      say('\n2. Share of grade-12 students who completed high school, by region (95 % interval, noise included), from Education:');
      for (const a of await run(alice, 'graduation-by-region')) say(renderAnswer(a));
      say('\n3. Mean cost of a hospital stay by sex, from Health:');
      for (const a of await run(alice, 'hospital-cost-by-sex')) say(renderAnswer(a));
      say(
        '\n4. FASD (ICD-10 Q86.0) visits of people born 2000–2010, by region and sex — cells whose noisy count is below 10 are suppressed at the node, and so is a second cell in the same line so the first cannot be recovered from a total:',
      );
      for (const a of await run(alice, 'fasd-by-region-and-sex')) say(renderAnswer(a));
      say('\n5. A query for immigration control is refused by Justice (purpose limitation):');
      for (const a of await run(alice, 'justice-for-enforcement')) say(renderAnswer(a));
      say('\n6. A researcher on the roster who is not a member of the project is refused:');
      for (const a of await run(bob, 'health-by-region')) say(renderAnswer(a));
      say("\n7. Project demo-statistics is approved by Health's steward but not by Justice's: each node decides for itself:");
      for (const a of [...(await run(alice, 'health-statistics')), ...(await run(alice, 'justice-statistics'))]) say(renderAnswer(a));
      await showDifferencing(alice, options, say);
      await showPooled(alice, options, say);
      await showStudy(alice, options, say);
      await showEvaluation(network, options, say);
      await showPublicLog(network, say);
    } finally {
      alice.close();
      bob.close();
    }
    if (options.keep) {
      printKeepInstructions(network, say);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    say('\nshutting down the network …');
    await network.stop();
    say('done.');
  }
}

async function showPerMinistryTable(client: FedlabClient, say: (line: string) => void): Promise<void> {
  say('1. Records per region in each ministry (four nodes, each answering for its own data only):');
  const columns: Array<[string, string]> = [
    ['health-by-region', 'Health visits'],
    ['education-by-region', 'Education students'],
    ['human-services-by-region', 'Human Services spells'],
    ['justice-by-region', 'Justice offences'],
  ];
  const byRegion = new Map<string, string[]>();
  for (const [i, [name]] of columns.entries()) {
    const [answer] = await run(client, name);
    for (const cell of answer?.table?.cells ?? []) {
      const region = String(cell.key[0]);
      const row = byRegion.get(region) ?? columns.map(() => '');
      row[i] = cell.stats ? cell.stats.count!.toLocaleString('en-CA') : `suppressed (${cell.suppressed!.rule})`;
      byRegion.set(region, row);
    }
    if (answer?.refusal) say(`  ${answer.nodeId} refused: ${answer.refusal.code}`);
  }
  const table = new Table({ head: ['region', ...columns.map(([, label]) => label)], style: { head: [], border: [] } });
  for (const [region, row] of [...byRegion.entries()].sort()) table.push([region, ...row]);
  say(table.toString());
}

/**
 * The attack that defeats threshold rules (docs/privacy.md): two counts whose difference is one
 * small stratum. Under differential privacy the difference is just noise, and the project's budget
 * runs out before repeating it could average the noise away.
 */
async function showDifferencing(client: FedlabClient, options: DemoOptions, say: (line: string) => void): Promise<void> {
  say('\n8. A differencing attempt: all Health visits, minus all visits except those of women born in 1931 in the north.');
  say('   Threshold rules cannot stop this; differential privacy can — both answers carry independent noise:');
  const [everyone] = await run(client, 'differencing-everyone');
  const [others] = await run(client, 'differencing-all-but-one-stratum');
  const a = everyone?.table?.cells[0]?.stats?.count;
  const b = others?.table?.cells[0]?.stats?.count;
  if (a === undefined || b === undefined) {
    for (const answer of [everyone, others]) if (answer) say(renderAnswer(answer));
    return;
  }
  const sd = everyone!.table!.privacy!.noise[0]!.sd;
  say(
    `   ${a.toLocaleString('en-CA')} − ${b.toLocaleString('en-CA')} = ${(a - b).toLocaleString('en-CA')}, but the difference carries noise of standard deviation ${(sd * Math.SQRT2).toFixed(1)} visits:`,
  );
  say('   it says nothing reliable about the few women of that stratum.');
  const budget = others!.budget;
  if (budget)
    say(
      `   Each query spent ρ ${budget.rhoSpent} of project ${budget.projectId}'s budget of ${budget.total} for ${budget.dataset} at Health; ${Number(budget.remaining.toPrecision(4))} is left.`,
    );
  say('   Asking again to average the noise away: the project has spent its budget for this dataset at Health, so Health refuses:');
  for (const answer of await run(client, 'differencing-everyone')) say(renderAnswer(answer));
}

/** Pooled answers across the five school boards, through secure aggregation. */
async function showPooled(client: FedlabClient, options: DemoOptions, say: (line: string) => void): Promise<void> {
  say(`\n9. Pooled over the five regional school boards (${BOARDS.join(', ')}) by secure aggregation, with differential privacy:`);
  say('   each board adds its own share of noise to its numbers and masks them; the coordinator adds the masked vectors and');
  say('   can only read the noisy total. The shares are sized so that the noise of the honest boards alone protects everyone.');
  say('   Grade-12 students who completed high school, by sex (pooled proportion, 95 % interval including the noise):');
  const table = await runFull(client, 'pooled-graduation-by-sex');
  say(renderPooled(table.pooled!));
  say('\n   Logistic regression of completion on sex, achievement score and region: a fixed number of Newton steps, where');
  say("   each step's XᵀWX and score are noisy sums over the boards (covariates clamped to their declared bounds):");
  const model = await runFull(client, 'pooled-graduation-model');
  say(renderPooled(model.pooled!));
  say(`   What the coordinator learned: the noisy totals of the table, and for the model the noisy summed sums at each of its`);
  say(`   ${model.pooled!.rounds} rounds — never one board's own numbers, and never a total without the honest boards' noise in it.`);
  say('   Nor could it steer the fit: each board joined only sessions naming exactly the five boards of the signed query, with');
  say("   its own threshold, and computed every round's coefficients itself from the previous round's verified transcript.");
}

/** The Child and Youth Data Lab study: linked across four ministries without a linkage unit. */
async function showStudy(client: FedlabClient, options: DemoOptions, say: (line: string) => void): Promise<void> {
  say(`\n10. Child and Youth Data Lab study: young people with FASD (ICD-10 Q86.0 in Health, born ${FASD_STUDY_BIRTH_YEARS.join('–')}) against two`);
  say('   controls each of the same sex, birth year and region, linked to Education, Human Services and Justice by private');
  say('   intersection-sum — no linkage unit, no linked file: Health blinds its keys, each ministry blinds them again, and only');
  say('   encrypted sums reach the coordinator. With differential privacy: Health adds encrypted noise to every sum and noise to');
  say("   every count before the coordinator decrypts them, and the study spends the project's budget (ρ = 8) at all four nodes.");
  const started = Date.now();
  const study = await runFull(client, 'fasd-study');
  say(renderPooled(study.pooled!));
  say(`   (${((Date.now() - started) / 1000).toFixed(1)} s for ${study.pooled!.rounds} linkage runs)`);
}

/**
 * The Justice Data Lab workflow: the re-entry organisation submits its client list, sealed to Justice;
 * Justice matches it, builds a propensity-matched comparison group and releases the report.
 */
async function showEvaluation(network: LocalNetwork, options: DemoOptions, say: (line: string) => void): Promise<void> {
  say('\n11. Justice Data Lab: the Second Chance Re-entry Society (roster role "organisation") submits the people its program');
  say("    served — names, birth dates, program dates — sealed to Justice's key, so the coordinator only relays it. Justice matches");
  say('    them to its records, builds a comparison group of similar people released in the same period who did not take part');
  say('    (propensity score, nearest neighbour within 0.2 SD, with replacement), releases aggregate figures only, and deletes');
  say('    the list. With differential privacy: every figure that comes from the justice data carries noise, and each evaluation');
  say("    spends ρ = 1 of the organisation's evaluation budget at Justice (ρ = 4, set in the steward's evaluation: policy).");
  const clientsFile = path.join(network.dataDir, CLIENT_LIST_PATH);
  const list = parseClientList(readFileSync(clientsFile, 'utf8'), new Date().toISOString().slice(0, 10));
  const organisation = await network.client('reentry-org');
  try {
    const started = Date.now();
    const { queryId } = await organisation.submitEvaluation({
      node: 'justice',
      programme: 'Second Chance re-entry program',
      clientList: encodeClientList(list.clients),
    });
    await organisation.watch(queryId);
    const answer = (await organisation.result(queryId)).answers[0];
    if (!answer?.evaluation) {
      say(`    refused ${answer?.refusal?.code ?? 'without an answer'}: ${answer?.refusal?.message ?? ''}`);
      return;
    }
    say(renderEvaluation(answer.evaluation));
    const report = path.join(network.dir, 'evaluation-report.html');
    writeFileSync(report, renderEvaluationReport(answer.evaluation));
    const effect = -SYNTH_EFFECTS.reoffending.reentryProgram * 100;
    const proven = effect * SYNTH_EFFECTS.conviction.convicted;
    say(`    Truth known to the generator: the program lowers each participant's chance of reoffending within a year by ${effect} points,`);
    say(`    about ${proven.toFixed(1)} points of proven reoffending (${SYNTH_EFFECTS.conviction.convicted * 100} % of offences end in a conviction).`);
    say(`    (${((Date.now() - started) / 1000).toFixed(1)} s; the HTML report is ${report})`);
  } finally {
    organisation.close();
  }
}

/** Verifies the public log as any auditor could, and prints what it says was asked. */
async function showPublicLog(network: LocalNetwork, say: (line: string) => void): Promise<void> {
  const log = new LogClient({ address: network.coordinatorAddress, roster: network.roster() });
  try {
    const { head, entries } = await log.verify();
    say(`\n12. The public transparency log: every query above, refused ones included, is an entry of an RFC 6962 Merkle tree.`);
    const kinds = entries.reduce<Record<string, number>>((n, e) => ({ ...n, [e.kind]: (n[e.kind] ?? 0) + 1 }), {});
    say(
      `   Downloaded ${head.size} entries (${Object.entries(kinds)
        .map(([k, n]) => `${n} ${n === 1 ? k : k === 'query' ? 'queries' : `${k}s`}`)
        .join(', ')}), recomputed the root ${head.rootHash.slice(0, 16)}…`,
    );
    say("   and checked the coordinator's signed tree head. The queries:");
    say("   Each holds the query's hash and public summary — never a filter value; auditors read the full query with `fedlab log query ID`.");
    for (const e of entries) if (e.query) say(`   #${e.index} ${formatQuerySummary(e.query)}`);
  } finally {
    log.close();
  }
}

function printKeepInstructions(network: LocalNetwork, say: (line: string) => void): void {
  const q = path.join(network.dir, 'queries');
  say(`
The network keeps running (Ctrl-C to stop). Try it by hand from another terminal:

  export FEDLAB_COORDINATOR=${network.coordinatorAddress}
  export FEDLAB_KEY=${network.researcherKeyFile('alice')}
  export FEDLAB_ROSTER=${network.rosterFile}
  export FEDLAB_GOVERNANCE=${network.governanceFile}
  node ${FEDLAB_BIN} query submit ${path.join(q, 'graduation-by-region.yaml')} --wait
  node ${FEDLAB_BIN} catalog
  node ${FEDLAB_BIN} status --watch                  # the nodes as the coordinator sees them
  node ${FEDLAB_BIN} log verify --save head.json     # later: log verify --since head.json

The public register (projects, approvals, query counts — never results): ${network.registerUrl}
The operators' dashboard (node health, queries in flight, latency): ${network.dashboardUrl}
Example query files are in ${q}; node folders (policy.yaml, node.db) in ${path.join(network.dir, 'nodes')}.
Audit chain of a node: node ${FEDLAB_BIN} audit verify --config ${network.nodeConfigs.health}`);
}
