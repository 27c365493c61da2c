import { formatRho } from '@fedlab/sdc';
import { parseApproval, parseProjectDocument, parseRevocation } from '@fedlab/governance';
import type { Coordinator } from './coordinator';
import { escapeHtml, NOT_FOUND, startPageServer, type PageServer } from './page-server';

/** One node's standing in a project, as the public register shows it. */
export interface RegisterNodeEntry {
  node_id: string;
  ministry: string;
  status: 'approved' | 'revoked' | 'not approved';
  datasets_requested: string[];
  datasets_approved: string[];
  approved_at: string | null;
  expires_on: string | null;
  revoked_at: string | null;
  revocation_reason: string | null;
  queries: number;
  /** Privacy budget (ρ) per dataset, as the node's signed answers last reported it. */
  privacy_budget: Array<{ dataset: string; rho_total: number; rho_spent: number; rho_remaining: number }>;
}

/** The public register (DESIGN.md §7.6): which ministries share what, with whom, for what purpose, how often. Never results. */
export interface PublicRegister {
  generated_at: string;
  log: { size: number; root_hash: string; signed_by: string };
  projects: Array<{
    project_id: string;
    title: string;
    lay_summary: string;
    purpose: string;
    legal_basis: string;
    data_sharing_agreement: string;
    ethics_approval: { reference: string; expires_on: string };
    members: string[];
    registered_in_log_entry: number;
    nodes: RegisterNodeEntry[];
  }>;
}

/** Builds the register from the coordinator's verified projects, approvals, revocations and query counts. */
export function buildPublicRegister(coordinator: Coordinator, nowMs = Date.now()): PublicRegister {
  const head = coordinator.log.treeHead(nowMs);
  return {
    generated_at: new Date(nowMs).toISOString(),
    log: { size: Number(head.size), root_hash: Buffer.from(head.rootHash).toString('hex'), signed_by: head.signerId },
    projects: coordinator.projects.records().map((record) => {
      const project = parseProjectDocument(JSON.parse(record.project!.payload), 'project');
      const approvals = record.approvals.map((d) => parseApproval(JSON.parse(d.payload), 'approval'));
      const revocations = record.revocations.map((d) => parseRevocation(JSON.parse(d.payload), 'revocation'));
      return {
        project_id: project.projectId,
        title: project.title,
        lay_summary: project.laySummary,
        purpose: project.purpose,
        legal_basis: project.legalBasis,
        data_sharing_agreement: project.dataSharingAgreement,
        ethics_approval: { reference: project.ethicsApproval.reference, expires_on: project.ethicsApproval.expiresOn },
        members: project.members,
        registered_in_log_entry: Number(record.logIndex),
        nodes: Object.keys(project.requests).map((nodeId): RegisterNodeEntry => {
          const approval = approvals.find((a) => a.nodeId === nodeId);
          const revocation = revocations.filter((r) => r.nodeId === nodeId).at(-1);
          const revoked = revocation !== undefined && (!approval || Date.parse(revocation.revokedAt) >= Date.parse(approval.approvedAt));
          return {
            node_id: nodeId,
            ministry: coordinator.roster.get(nodeId, 'node')?.displayName ?? nodeId,
            status: revoked ? 'revoked' : approval ? 'approved' : 'not approved',
            datasets_requested: Object.keys(project.requests[nodeId]?.datasets ?? {}),
            datasets_approved: approval ? Object.keys(approval.datasets) : [],
            approved_at: approval?.approvedAt ?? null,
            expires_on: approval?.expiresOn ?? null,
            revoked_at: revoked ? revocation!.revokedAt : null,
            revocation_reason: revoked ? revocation!.reason : null,
            queries: Number(record.queriesPerNode[nodeId] ?? 0n),
            privacy_budget: record.budgets
              .filter((b) => b.nodeId === nodeId)
              .map((b) => ({ dataset: b.dataset, rho_total: b.total, rho_spent: b.spent, rho_remaining: b.remaining })),
          };
        }),
      };
    }),
  };
}

/** Renders the register as a self-contained, script-free HTML page. */
export function renderPublicRegisterHtml(register: PublicRegister): string {
  const e = escapeHtml;
  const projects = register.projects
    .map(
      (p) => `<article class="project" data-project="${e(p.project_id)}">
  <h2>${e(p.title)} <small>${e(p.project_id)}</small></h2>
  <p class="summary">${e(p.lay_summary)}</p>
  <dl>
    <dt>Purpose</dt><dd class="purpose">${e(p.purpose)}</dd>
    <dt>Legal basis</dt><dd>${e(p.legal_basis)}</dd>
    <dt>Data-sharing agreement</dt><dd>${e(p.data_sharing_agreement)}</dd>
    <dt>Ethics approval</dt><dd>${e(p.ethics_approval.reference)}, until ${e(p.ethics_approval.expires_on)}</dd>
    <dt>Researchers</dt><dd>${e(p.members.join(', '))}</dd>
    <dt>Public log</dt><dd>entry ${p.registered_in_log_entry}</dd>
  </dl>
  <table>
    <thead><tr><th>Ministry</th><th>Status</th><th>Datasets approved</th><th>Approved</th><th>Expires</th><th>Queries</th><th>Privacy budget spent (ρ)</th></tr></thead>
    <tbody>
${p.nodes
  .map(
    (n) =>
      `      <tr class="node ${n.status.replace(' ', '-')}" data-node="${e(n.node_id)}"><td>${e(n.ministry)}</td><td class="status">${e(n.status)}${n.revocation_reason ? ` — ${e(n.revocation_reason)}` : ''}</td><td>${e(n.datasets_approved.join(', ') || '—')}</td><td>${e(n.approved_at?.slice(0, 10) ?? '—')}</td><td>${e(n.expires_on ?? '—')}</td><td class="queries">${n.queries}</td><td class="budget">${e(n.privacy_budget.map((b) => `${b.dataset}: ${formatRho(b.rho_spent)} of ${formatRho(b.rho_total)}`).join('; ') || '—')}</td></tr>`,
  )
  .join('\n')}
    </tbody>
  </table>
</article>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fedlab public register</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.6rem; } h2 small { color: #666; font-weight: normal; font-size: 0.8em; }
.project { border-top: 1px solid #ccc; padding: 1rem 0; }
dl { display: grid; grid-template-columns: 14rem 1fr; gap: 0.2rem 1rem; } dt { color: #555; }
table { border-collapse: collapse; width: 100%; margin-top: 0.8rem; } th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eee; }
tr.revoked .status { color: #a00; font-weight: bold; } tr.approved .status { color: #060; } tr.not-approved .status { color: #777; }
footer { color: #666; font-size: 0.85rem; margin-top: 2rem; }
</style>
</head>
<body>
<h1>fedlab public register</h1>
<p>Which ministries share which data, with whom, and for what purpose. It lists projects, approvals,
revocations, the number of queries and the privacy budget each project has spent at each ministry — never results. Every entry is in the coordinator's public
transparency log, which anyone can verify with <code>fedlab log verify</code>.</p>
${projects || '<p class="empty">No projects are registered.</p>'}
<footer>Generated ${e(register.generated_at)} · transparency log size ${register.log.size}, root ${e(register.log.root_hash)}, signed by ${e(register.log.signed_by)} · <a href="register.json">register.json</a></footer>
</body>
</html>
`;
}

/** Serves the public register read-only over HTTP: `/` and `/register` (HTML), `/register.json`. */
export async function startPublicRegisterServer(coordinator: Coordinator, listen: string): Promise<PageServer> {
  return startPageServer(
    listen,
    (path) => {
      if (path === '/register.json') {
        return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(buildPublicRegister(coordinator), null, 2) };
      }
      if (path === '/' || path === '/register') {
        return {
          status: 200,
          headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" },
          body: renderPublicRegisterHtml(buildPublicRegister(coordinator)),
        };
      }
      return NOT_FOUND;
    },
    { setting: 'register_listen', outputs: coordinator.outputs },
  );
}
