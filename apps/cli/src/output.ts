import Table from 'cli-table3';
import { ERROR_CODES, FedlabError, formatDuration, type ResultTable } from '@fedlab/model';
import type { NetworkStatusView, NodeResultView, PooledResultView, QueryStatusView } from '@fedlab/client';
import type { EvaluationResult } from '@fedlab/evaluation';
import type * as pb from '@fedlab/proto';
import { formatRho } from '@fedlab/sdc';

/** Formats a number for people: integers as is, others to 4 significant decimals. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-CA');
  return Math.abs(value) >= 1000 ? value.toLocaleString('en-CA', { maximumFractionDigits: 1 }) : value.toPrecision(4);
}

/** Renders a released result table; suppressed cells show the rule that suppressed them. */
export function renderResultTable(table: ResultTable): string {
  const head = [...table.dimensions, ...table.statistics];
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const cell of table.cells) {
    const key = cell.key.map((k) => (k === null ? '(missing)' : String(k)));
    const values = cell.stats
      ? table.statistics.map((s) => (cell.stats![s] === undefined ? '' : formatNumber(cell.stats![s]!)))
      : table.statistics.map((_, i) => (i === 0 ? `suppressed (${cell.suppressed!.rule})` : '·'));
    t.push([...key, ...values]);
  }
  const r = table.report;
  const rules = r.rules
    .map(
      (x) =>
        `${x.rule}${
          Object.keys(x.parameters).length
            ? ` ${Object.entries(x.parameters)
                .map(([k, v]) => `${k}=${v}`)
                .join(',')}`
            : ''
        }`,
    )
    .join('; ');
  const privacy = table.privacy ? `\n${renderPrivacy(table.privacy)}` : '';
  return `${t.toString()}${privacy}\ndisclosure control: ${r.releasedCells} cells released, ${r.suppressedCells} suppressed (${rules})${r.notes.length ? `\n${r.notes.map((n) => `  note: ${n}`).join('\n')}` : ''}`;
}

const NOISE_NAMES: Record<string, string> = {
  count: 'count',
  sum: 'sum',
  centred_sum: 'sum (of values centred in their bounds)',
  centred_squares: 'sum of squares (centred)',
  split: 'numerator and its complement, each',
};

/** Says plainly that the figures are noisy, by how much, and what the release spent. */
export function renderPrivacy(p: NonNullable<ResultTable['privacy']>): string {
  const noise = p.noise.map((n) => `${NOISE_NAMES[n.statistic] ?? n.statistic} ±${formatNumber(Number(n.sd.toPrecision(3)))}`).join(', ');
  return (
    `differential privacy: these figures are noisy on purpose. Noise standard deviation: ${noise}; ci_lower–ci_upper is a 95 % interval that includes the noise.\n` +
    `  spent ρ = ${formatRho(p.rho)} (≈ ε = ${p.epsilon.toPrecision(3)} at δ = ${p.delta}), at most ${p.maxRecordsPerPerson} row${p.maxRecordsPerPerson === 1 ? '' : 's'} per person counted`
  );
}

/** The budget line of an answer: what it spent and what the project has left for the dataset at the node. */
export function renderBudget(b: NonNullable<NodeResultView['budget']>): string {
  return `privacy budget: project ${b.projectId} spent ρ ${formatRho(b.rhoSpent)} on ${b.dataset} here; ${formatRho(b.remaining)} of ${formatRho(b.total)} left`;
}

export function renderAnswer(answer: NodeResultView): string {
  const title = `── ${answer.nodeId}${answer.verified ? ' (signature verified)' : ''}`;
  const budget = answer.budget ? `\n${renderBudget(answer.budget)}` : '';
  if (answer.refusal) return `${title}\nrefused ${answer.refusal.code}: ${answer.refusal.message}${budget}`;
  if (answer.evaluation) return `${title}\n${renderEvaluation(answer.evaluation)}`;
  if (answer.pooledReady) return `${title}\nauthorised; contributed to secure aggregation only (no individual answer)`;
  return `${title}\n${answer.table ? renderResultTable(answer.table) : '(no table)'}${budget}`;
}

/** Renders a fitted model like R's summary.glm coefficient table, with the noise column, fit statistics and notes below. */
export function renderModel(model: pb.GlmResult): string {
  const stat = model.statisticName;
  const t = new Table({ head: ['term', 'estimate', 'std. error', 'noise sd', `${stat} value`, `Pr(>|${stat}|)`, '95% CI'], style: { head: [], border: [] } });
  const sig = (x: number) => (Math.abs(x) >= 1e-4 && Math.abs(x) < 1e6 ? x.toFixed(4) : x.toExponential(3));
  for (const c of model.coefficients) {
    const p = c.pValue < 2e-16 ? '< 2e-16' : c.pValue < 1e-4 ? c.pValue.toExponential(2) : c.pValue.toPrecision(3);
    t.push([c.name, sig(c.estimate), sig(c.stdError), sig(c.noiseSd), c.statistic.toFixed(3), p, `${sig(c.ciLower)} to ${sig(c.ciUpper)}`]);
  }
  const fit = Number.isFinite(model.deviance)
    ? `deviance ${model.deviance.toFixed(2)} on ${model.dfResidual} df (null ${model.nullDeviance.toFixed(2)} on ${model.dfNull} df); AIC ${model.aic.toFixed(2)}; `
    : `${model.dfResidual} residual df; `;
  const privacy = model.privacy
    ? `
differential privacy: the coefficients are noisy on purpose; std. error and the 95 % CI include the noise (noise sd).` +
      `
  spent ρ = ${formatRho(model.privacy.rho)} (≈ ε = ${model.privacy.epsilon.toPrecision(3)} at δ = ${model.privacy.delta}), at most ${model.privacy.maxRecordsPerPerson} row${model.privacy.maxRecordsPerPerson === 1 ? '' : 's'} per person used`
    : '';
  return (
    `${model.family} regression (${model.link} link) over ${formatNumber(Number(model.rows))} pooled rows (a noisy count)\n${t.toString()}\n` +
    `${fit}${model.iterations} round${model.iterations === 1 ? '' : 's'}${model.converged ? '' : ' — MAY NOT HAVE CONVERGED'}${model.family === 'gaussian' ? `; dispersion ${model.dispersion.toPrecision(4)}` : ''}` +
    privacy +
    model.notes.map((n) => `\n  note: ${n}`).join('')
  );
}

/** Renders a pooled result: the contributing nodes, then the table, the model or the refusal. */
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2));
const interval = (ci: { lower: number; upper: number } | null, f: (x: number) => string) => (ci ? ` (${f(ci.lower)} to ${f(ci.upper)})` : '');
const pValue = (p: number | null) => (p === null ? '' : p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);

type StudyMeasure = Extract<NonNullable<PooledResultView['study']>['outcomes'][number], { suppressed: false }>['measures'][number];

function figure(measure: StudyMeasure, group: 'cohort' | 'comparison'): string {
  const g = measure[group];
  if (!g) return '';
  if (g.suppressed) return 'suppressed';
  if ('rate' in g) return g.rate === null ? '' : `${pct(g.rate)}${interval(g.ci, pct)}`;
  return g.mean === null ? '' : `${num(g.mean)}${interval(g.ci, num)}`;
}

function contrast(measure: StudyMeasure): [string, string, string] {
  const c = measure.contrast;
  if (!c) return ['', '', ''];
  if (c.suppressed) return ['suppressed', '', ''];
  const f = measure.kind === 'binary' ? (x: number) => `${(100 * x).toFixed(1)} pts` : num;
  const diff = c.difference ? `${f(c.difference.estimate)}${interval(c.difference.ci, f)}` : '';
  const ratioEstimate = 'riskRatio' in c ? c.riskRatio : c.ratio;
  const ratio = ratioEstimate ? `${ratioEstimate.estimate.toFixed(2)}${interval(ratioEstimate.ci, (x) => x.toFixed(2))}` : '';
  const test =
    'zStatistic' in c
      ? c.zStatistic === null
        ? ''
        : `z = ${c.zStatistic.toFixed(2)}, ${pValue(c.pValue)}`
      : c.tStatistic === null
        ? ''
        : `t = ${c.tStatistic.toFixed(2)}, ${pValue(c.pValue)}`;
  return [diff, ratio, test];
}

/** A linkage study as one readable table: per outcome, linkage, then each measure for both groups. */
export function renderStudy(study: NonNullable<PooledResultView['study']>): string {
  const hasComparison = study.groupPersons.comparison !== null;
  const head = [
    'outcome',
    'measure',
    `cohort (n = ${study.groupPersons.cohort})`,
    ...(hasComparison ? [`comparison (n = ${study.groupPersons.comparison})`, 'difference (95 % CI)', 'ratio (95 % CI)', 'test'] : []),
  ];
  const t = new Table({ head, style: { head: [], border: [] } });
  const notes: string[] = [];
  for (const outcome of study.outcomes) {
    if (outcome.suppressed) {
      t.push([outcome.name, `suppressed: ${outcome.reason}`, ...head.slice(2).map(() => '')]);
      continue;
    }
    const linked = (g: { matchedPersons: number; linkageRate: number | null } | null) =>
      g ? `${g.matchedPersons} matched${g.linkageRate === null ? '' : ` (${pct(g.linkageRate)} linked)`}` : '';
    t.push([outcome.name, 'persons matched', linked(outcome.groups.cohort), ...(hasComparison ? [linked(outcome.groups.comparison), '', '', ''] : [])]);
    for (const m of outcome.measures) {
      t.push([
        '',
        `${m.name} (${m.kind === 'binary' ? 'rate' : 'mean'})`,
        figure(m, 'cohort'),
        ...(hasComparison ? [figure(m, 'comparison'), ...contrast(m)] : []),
      ]);
    }
    notes.push(`${outcome.name}: ${outcome.note}`);
  }
  const method = study.comparison
    ? `comparison group: ${study.comparison.controlsPerCase} control(s) per case by ${study.comparison.method === 'exact' ? 'exact matching on' : 'propensity score on'} ${study.comparison.columns.join(', ')}`
    : 'no comparison group';
  const privacy = study.privacy
    ? `\ndifferential privacy: every count, rate and mean is noisy on purpose (ρ = ${study.privacy.rho === null ? '?' : formatRho(study.privacy.rho)}); group sizes ±${study.privacy.groupPersonsSd} persons (SD); ` +
      `intervals, differences and tests include the noise (ratios do not)`
    : '';
  return `${t.toString()}\nlinked at ${study.cohortNode} by key recipes ${study.keys.join(', ')}; ${method}; cells behind fewer than ${study.minPersons} persons suppressed${privacy}\n${notes.map((n) => `  · ${n}`).join('\n')}`;
}

export function renderPooled(pooled: PooledResultView): string {
  if (pooled.study) {
    const title = `── linkage study over ${pooled.contributingNodes.join(', ')}${pooled.verified ? ' (coordinator signature verified)' : ''}`;
    return `${title}\n${renderStudy(pooled.study)}\nthe coordinator learned only these noisy sums and the noisy group and match counts (private intersection-sum); no identifier or record left a ministry`;
  }
  const title = `── pooled over ${pooled.contributingNodes.length ? pooled.contributingNodes.join(', ') : 'no nodes'}${pooled.verified ? ' (coordinator signature verified)' : ''}`;
  if (pooled.refusal) return `${title}\nnothing released — ${pooled.refusal.code}: ${pooled.refusal.message}`;
  const body = pooled.table ? renderResultTable(pooled.table) : pooled.model ? renderModel(pooled.model) : '(no result)';
  return `${title}\n${body}\nthe coordinator learned only these noisy sums (secure aggregation, ${pooled.rounds} round${pooled.rounds === 1 ? '' : 's'}); no node's own contribution, and no total without the nodes' noise`;
}

export function renderStatus(status: QueryStatusView): string {
  const t = new Table({ head: ['node', 'state', 'code', 'reason'], style: { head: [], border: [] } });
  for (const n of status.nodes) t.push([n.nodeId, n.state, n.code, n.message]);
  return `query ${status.queryId}: ${status.state}\n${t.toString()}`;
}

/** `fedlab status`: one row per roster node, then how many are healthy, on the coordinator's clock. */
export function renderNetworkStatus(status: NetworkStatusView): string {
  const t = new Table({
    head: ['node', 'connected', 'version', 'up for', 'last heartbeat', 'answered 1 h', 'refused 1 h', 'audit head', 'datasets', 'ρ spent by project'],
    style: { head: [], border: [] },
  });
  for (const n of status.nodes) {
    t.push([
      n.nodeId,
      n.healthy ? 'yes' : n.connected ? 'yes, heartbeat late' : 'no',
      n.softwareVersion ?? '—',
      n.uptimeMs === null ? '—' : formatDuration(n.uptimeMs),
      n.heartbeatAgeMs === null ? '—' : `${formatDuration(n.heartbeatAgeMs)} ago`,
      String(n.queriesLastHour.answered),
      String(n.queriesLastHour.refused),
      n.auditHead ? `#${n.auditHead.seq} ${n.auditHead.headHash.slice(0, 12)}` : '—',
      n.datasets.join(', ') || '—',
      Object.entries(n.rhoSpentByProject)
        .map(([project, rho]) => `${project} ${Number(rho.toPrecision(4))}`)
        .join(', ') || '—',
    ]);
  }
  const healthy = status.nodes.filter((n) => n.healthy).length;
  return `${t.toString()}\n${healthy} of ${status.nodes.length} nodes healthy (heartbeat within ${formatDuration(status.heartbeatIntervalMs)}) · coordinator time ${new Date(status.atMs).toISOString()}`;
}

/** Prints an error as `error CODE: message` plus the code's one-line explanation. */
export function renderError(error: unknown): string {
  const fe = FedlabError.from(error);
  const message = fe.code === 'INTERNAL' && !(error instanceof FedlabError) ? ((error as Error)?.message ?? 'internal error') : fe.message;
  return `error ${fe.code}: ${message}\n  (${ERROR_CODES[fe.code]})`;
}

/** An impact evaluation as text: the headline, the match report and the four measures. */
export function renderEvaluation(e: EvaluationResult): string {
  const funnel = e.funnel.map((f) => `  ${String(f.count).padStart(7)}  ${f.label}`).join('\n');
  const t = new Table({ head: ['measure', 'took part', 'comparison', 'difference (95% CI)', 'p', 'significant'], style: { head: [], border: [] } });
  const value = (g: EvaluationResult['measures'][number]['treatment']) =>
    g.value === null ? `suppressed` : `${g.value.toFixed(1)}${g.ci ? ` (${g.ci.lower.toFixed(1)}–${g.ci.upper.toFixed(1)})` : ''}`;
  for (const m of e.measures) {
    const d = m.difference;
    t.push([
      m.label,
      value(m.treatment),
      value(m.comparison),
      d === null ? '' : `${d.estimate.toFixed(1)}${d.ci ? ` (${d.ci.lower.toFixed(1)} to ${d.ci.upper.toFixed(1)})` : ''}`,
      m.pValue === null ? '' : m.pValue < 0.001 ? '<0.001' : m.pValue.toFixed(3),
      m.significant ? 'yes' : 'no',
    ]);
  }
  return [
    `${e.programme} — evaluation ${e.evaluationId} by ${e.organisationId} at ${e.nodeId} (data as of ${e.dataAsOf})`,
    e.summary,
    'match report:',
    funnel,
    t.toString(),
  ].join('\n');
}
