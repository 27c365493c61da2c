import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import Table from 'cli-table3';
import { parse as parseYaml } from 'yaml';
import { FedlabError } from '@fedlab/model';
import { initCrypto, signDocument } from '@fedlab/crypto';
import {
  approvalForRequest,
  checkApprovable,
  formatApproval,
  formatProjectDocument,
  formatRevocation,
  narrowApproval,
  parseProjectDocument,
  type Identity,
  type Roster,
} from '@fedlab/governance';
import { formatRho } from '@fedlab/sdc';
import { loadNodeConfig, loadPinnedRoster, nodeChannelCredentials, projectHash, recordApproval, recordRevocation, type NodeConfig } from '@fedlab/node-service';
import { GovernanceClient } from '@fedlab/client';
import { openNodeStoreWithEngine, type NodeStore } from '@fedlab/store';
import { readKey, type ResearcherFlags } from '../researcher-context';
import { coordinatorTarget, json, researcherOptions } from '../cli-common';

/** Registers the `fedlab` commands for research projects, approvals and revocations. */
export function registerProjectCommands(program: Command): void {
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
  researcherOptions(
    projectCommand
      .command('submit')
      .description('sign a project with your researcher key and register it (it is logged publicly)')
      .argument('<file>', 'project file (JSON or YAML)'),
  ).action(async (file: string, o: ResearcherFlags & { json?: boolean }) => {
    await initCrypto();
    const project = parseProjectDocument(parseYaml(readFileSync(file, 'utf8')), file);
    const key = o.key ?? process.env.FEDLAB_KEY;
    if (!key) throw new FedlabError('INVALID_ARGUMENT', 'no researcher key: pass --key FILE or set FEDLAB_KEY');
    const signed = signDocument('project', formatProjectDocument(project), await readKey(key, o));
    await withGovernance(o, async (gov) => {
      const index = await gov.submitProject(signed);
      console.log(
        o.json
          ? json({ projectId: project.projectId, logIndex: index })
          : `registered project ${project.projectId} (log entry ${index}); each node's steward now decides whether to approve it`,
      );
    });
  });
  researcherOptions(
    projectCommand.command('show').description('a project, its approvals and revocations per node, and its query counts').argument('<id>', 'project id'),
  ).action((id: string, o: ResearcherFlags & { json?: boolean }) =>
    withGovernance(o, async (gov) => {
      const v = await gov.project(id);
      if (o.json) return console.log(json(v));
      console.log(
        `${v.project.projectId}: ${v.project.title} (${v.project.purpose}; ethics ${v.project.ethicsApproval.reference} until ${v.project.ethicsApproval.expiresOn})`,
      );
      console.log(`  members: ${v.project.members.join(', ')}; project SHA-256 ${projectHash(v.signed)}\n  ${v.project.laySummary}`);
      for (const nodeId of Object.keys(v.project.requests)) {
        const a = v.approvals.find((x) => x.nodeId === nodeId);
        const r = v.revocations.find((x) => x.nodeId === nodeId);
        console.log(
          `  ${nodeId.padEnd(16)} ${r ? `revoked: ${r.reason}` : a ? `approved until ${a.expiresOn}: ${Object.keys(a.datasets).join(', ')}` : 'not approved'} · ${v.queriesPerNode[nodeId] ?? 0} queries`,
        );
        for (const b of v.budgets.filter((x) => x.nodeId === nodeId))
          console.log(`  ${''.padEnd(16)} privacy budget ${b.dataset}: ρ ${formatRho(b.spent)} spent of ${formatRho(b.total)}, ${formatRho(b.remaining)} left`);
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
      if (o.json)
        return console.log(
          json(
            all.map((v) => ({
              projectId: v.project.projectId,
              purpose: v.project.purpose,
              approvedBy: v.approvals.map((a) => a.nodeId),
              revokedBy: v.revocations.map((r) => r.nodeId),
            })),
          ),
        );
      for (const v of all)
        console.log(
          `${v.project.projectId.padEnd(28)} ${v.project.purpose.padEnd(18)} approved by: ${v.approvals.map((a) => a.nodeId).join(', ') || '—'}${v.revocations.length ? `; revoked by: ${v.revocations.map((r) => r.nodeId).join(', ')}` : ''}`,
        );
    }),
  );
  const stewardOptions = (cmd: Command) =>
    cmd
      .requiredOption('--config <file>', "the node's node.yaml")
      .requiredOption('--key <file>', "the node steward's key file")
      .option('--passphrase-file <file>', "file holding the key file's passphrase (default: $FEDLAB_KEY_PASSPHRASE_FILE or $FEDLAB_KEY_PASSPHRASE, else asked)")
      .option('--json', 'machine-readable output');
  stewardOptions(
    projectCommand
      .command('approve')
      .description('approve a project for this node only, possibly narrower than requested; takes effect on the next query')
      .argument('<id>', 'project id')
      .option('--expires-on <date>', 'approval expiry (YYYY-MM-DD; capped at the ethics expiry)', '2099-12-31')
      .option('--datasets <names>', 'approve only these datasets (comma-separated)')
      .option('--exclude-columns <names>', 'withhold these columns (comma-separated)')
      .option('--project-hash <sha256>', 'approve only if the project text has this SHA-256 (as shown by `fedlab project show`)')
      .option('--allow-enforcement', 'required to approve a project whose purpose is an enforcement purpose'),
  ).action(
    (
      id: string,
      o: {
        config: string;
        key: string;
        json?: boolean;
        expiresOn: string;
        datasets?: string;
        excludeColumns?: string;
        projectHash?: string;
        allowEnforcement?: boolean;
      },
    ) =>
      withNode(o, async ({ config, store, roster, gov, steward }) => {
        const view = await gov.project(id);
        const hash = projectHash(view.signed);
        checkApprovable(view.project, hash, { ...(o.projectHash ? { reviewedHash: o.projectHash } : {}), allowEnforcement: o.allowEnforcement ?? false });
        const approval = narrowApproval(approvalForRequest(view.project, config.nodeId, hash, o.expiresOn, new Date().toISOString()), {
          ...(o.datasets ? { datasets: o.datasets.split(',') } : {}),
          ...(o.excludeColumns ? { excludeColumns: o.excludeColumns.split(',') } : {}),
        });
        const signed = signDocument('approval', formatApproval(approval), steward);
        // Public first, then effective: an approval that is not in the public log never authorises a query.
        const index = await gov.submitApproval(signed);
        recordApproval(store, config.nodeId, roster, view.signed, signed, Date.now());
        if (o.json) return console.log(json({ approval, projectHash: hash, logIndex: index }));
        console.log(
          `approved ${id} at ${config.nodeId} until ${approval.expiresOn}: ${Object.keys(approval.datasets).join(', ') || 'no datasets'} (log entry ${index})`,
        );
        console.log(`  purpose ${view.project.purpose}; members ${view.project.members.join(', ')}; project SHA-256 ${hash}`);
        for (const [name, access] of Object.entries(approval.datasets)) console.log(`  ${name}: ${access.columns.join(', ')} · ${access.analyses.join(', ')}`);
      }),
  );
  stewardOptions(
    projectCommand
      .command('revoke')
      .description("revoke this node's approval; the next query of the project is refused")
      .argument('<id>', 'project id')
      .requiredOption('--reason <text>', 'why, for the public register'),
  ).action((id: string, o: { config: string; key: string; json?: boolean; reason: string }) =>
    withNode(o, async ({ config, store, roster, gov, steward }) => {
      const signed = signDocument(
        'revocation',
        formatRevocation({ projectId: id, nodeId: config.nodeId, reason: o.reason, revokedAt: new Date().toISOString() }),
        steward,
      );
      recordRevocation(store, config.nodeId, roster, signed, Date.now());
      const index = await gov.submitRevocation(signed);
      console.log(o.json ? json({ projectId: id, nodeId: config.nodeId, logIndex: index }) : `revoked ${id} at ${config.nodeId} (log entry ${index})`);
    }),
  );

  async function withGovernance<T>(o: ResearcherFlags, action: (gov: GovernanceClient) => Promise<T>): Promise<T> {
    const gov = new GovernanceClient(await coordinatorTarget(o));
    try {
      return await action(gov);
    } finally {
      gov.close();
    }
  }

  /** Runs a steward action against a node's own database and roster, and the coordinator it attaches to. */
  async function withNode<T>(
    o: { config: string; key: string; passphraseFile?: string },
    action: (ctx: { config: NodeConfig; store: NodeStore; roster: Roster; gov: GovernanceClient; steward: Identity }) => Promise<T>,
  ): Promise<T> {
    await initCrypto();
    const config = loadNodeConfig(o.config);
    const steward = await readKey(o.key, o);
    const store = await openNodeStoreWithEngine(config.database, config.engine, process.env);
    const roster = loadPinnedRoster(store, config);
    const gov = new GovernanceClient({ address: config.coordinator, roster, credentials: nodeChannelCredentials(config, o.config) });
    try {
      return await action({ config, store, roster, gov, steward });
    } finally {
      gov.close();
      await store.datasets.close();
      store.close();
    }
  }
}
