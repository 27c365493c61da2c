import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { FedlabError } from '@fedlab/model';

import { readAuditEntries, verifyAuditDatabase } from '@fedlab/store';
import { loadNodeConfig, nodeChannelCredentials, type NodeConfig } from '@fedlab/node-service';
import { initCrypto, loadGovernanceFile, loadRosterFile } from '@fedlab/crypto';
import { LogClient, crossCheckAudit, formatQuerySummary, type TreeHeadView } from '@fedlab/client';
import { readKey, type ResearcherFlags } from '../researcher-context';
import { coordinatorTarget, json, tlsOptions } from '../cli-common';
import { EXIT } from '../exit-codes';

/** Registers the `fedlab` commands for the public log and node audit chains. */
export function registerLogCommands(program: Command): void {
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
    const log = new LogClient(await coordinatorTarget(o));
    try {
      return await action(log);
    } finally {
      log.close();
    }
  }
  logOptions(logCommand.command('head').description('the current signed tree head, verified against the roster')).action(
    (o: ResearcherFlags & { json?: boolean }) =>
      withLog(o, async (log) => {
        const { view } = await log.treeHead();
        console.log(
          o.json ? json(view) : `tree size ${view.size}, root ${view.rootHash}, signed by ${view.signerId} at ${new Date(view.timestampMs).toISOString()}`,
        );
      }),
  );
  logOptions(
    logCommand
      .command('proof')
      .description('prove that one entry is in the log')
      .requiredOption('--index <n>', 'entry index', (v) => Number.parseInt(v, 10)),
  ).action((o: ResearcherFlags & { json?: boolean; index: number }) =>
    withLog(o, async (log) => {
      const r = await log.proveInclusion(o.index);
      console.log(
        o.json ? json(r) : `entry ${o.index} (${r.entry.kind}) is in the tree of size ${r.head.size}: inclusion proof of ${r.proof.length} hashes verified`,
      );
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
      console.log(
        `log verified: ${r.head.size} entries hash to the signed root ${r.head.rootHash}${since ? `; consistent with the earlier head of size ${since.size}` : ''}`,
      );
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
      if (!keyFile)
        throw new FedlabError('INVALID_ARGUMENT', "no key: pass --key FILE (an auditor on the roster, or the query's researcher) or set FEDLAB_KEY");
      const r = await log.auditQuery(id, await readKey(keyFile, o));
      if (o.json) return console.log(json(r));
      console.log(
        `log entry ${r.logIndex}: ${formatQuerySummary(r.summary)}\nthe researcher's signature verifies and the query hashes to the entry's ${r.summary.queryHash}\n${json(r.spec)}`,
      );
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
    .option('--coordinator <host:port>', "cross-check against this coordinator's public log (default: $FEDLAB_COORDINATOR when set)")
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
        if (!r.ok) process.exitCode = EXIT.verificationFailed;
        return;
      }
      const nodeId = o.nodeId ?? config?.nodeId;
      if (!nodeId) throw new FedlabError('INVALID_ARGUMENT', 'pass --node-id ID with --node-db');
      // On the node's machine (--config), the node's own roster, governance and TLS settings reach its coordinator;
      // --roster / --ca (or their variables) still take precedence.
      const ownTarget = config && !(o.roster ?? process.env.FEDLAB_ROSTER) && !(o.ca ?? process.env.FEDLAB_CA);
      const log = ownTarget
        ? new LogClient({
            address: o.coordinator,
            roster: await nodeRoster(config),
            credentials: nodeChannelCredentials(config, o.config!),
          })
        : new LogClient(await coordinatorTarget(o));
      try {
        const { entries } = await log.verify();
        const check = crossCheckAudit(nodeId, entries, readAuditEntries(file));
        const ok = r.ok && check.ok;
        if (o.json) console.log(json({ chain: r, crossCheck: check }));
        else {
          console.log(r.ok ? `audit chain intact: ${r.entries} entries` : `audit chain BROKEN at entry ${r.firstBrokenSeq}: ${r.reason}`);
          console.log(
            `public log: ${check.queriesInLog} queries for ${nodeId}, ${check.queriesAudited} in the audit chain, ${check.checkpointsChecked} checkpoints checked`,
          );
          console.log(
            check.ok
              ? 'every query the node answered is in the public log, and every logged query reached the node'
              : check.discrepancies.map((d) => `DISCREPANCY: ${d}`).join('\n'),
          );
        }
        if (!ok) process.exitCode = EXIT.verificationFailed;
      } finally {
        log.close();
      }
    });
}

/** The roster a node holds, checked against its governance file when it pins one (read only: nothing is recorded). */
async function nodeRoster(config: NodeConfig) {
  await initCrypto();
  return loadRosterFile(config.rosterFile, config.governanceFile ? { governance: loadGovernanceFile(config.governanceFile) } : {});
}
