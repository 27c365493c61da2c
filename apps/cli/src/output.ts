import Table from 'cli-table3';
import { ERROR_CODES, FedlabError, type ResultTable } from '@fedlab/model';
import type { NodeResultView, PooledResultView, QueryStatusView } from '@fedlab/client';
import type * as pb from '@fedlab/proto';

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
    const values = cell.stats ? table.statistics.map((s) => (cell.stats![s] === undefined ? '' : formatNumber(cell.stats![s]!))) : table.statistics.map((_, i) => (i === 0 ? `suppressed (${cell.suppressed!.rule})` : '·'));
    t.push([...key, ...values]);
  }
  const r = table.report;
  const rules = r.rules.map((x) => `${x.rule}${Object.keys(x.parameters).length ? ` ${Object.entries(x.parameters).map(([k, v]) => `${k}=${v}`).join(',')}` : ''}`).join('; ');
  return `${t.toString()}\ndisclosure control: ${r.releasedCells} cells released, ${r.suppressedCells} suppressed (${rules})${r.notes.length ? `\n${r.notes.map((n) => `  note: ${n}`).join('\n')}` : ''}`;
}

export function renderAnswer(answer: NodeResultView): string {
  const title = `── ${answer.nodeId}${answer.verified ? ' (signature verified)' : ''}`;
  if (answer.refusal) return `${title}\nrefused ${answer.refusal.code}: ${answer.refusal.message}`;
  if (answer.pooledReady) return `${title}\nauthorised; contributed to secure aggregation only (no individual answer)`;
  return `${title}\n${answer.table ? renderResultTable(answer.table) : '(no table)'}`;
}

/** Renders a fitted model like R's summary.glm coefficient table, with the fit statistics below. */
export function renderModel(model: pb.GlmResult): string {
  const stat = model.statisticName;
  const t = new Table({ head: ['term', 'estimate', 'std. error', `${stat} value`, `Pr(>|${stat}|)`, '95% CI'], style: { head: [], border: [] } });
  const sig = (x: number) => (Math.abs(x) >= 1e-4 && Math.abs(x) < 1e6 ? x.toFixed(4) : x.toExponential(3));
  for (const c of model.coefficients) {
    t.push([c.name, sig(c.estimate), sig(c.stdError), c.statistic.toFixed(3), c.pValue < 2e-16 ? '< 2e-16' : c.pValue < 1e-4 ? c.pValue.toExponential(2) : c.pValue.toPrecision(3), `${sig(c.ciLower)} to ${sig(c.ciUpper)}`]);
  }
  return (
    `${model.family} regression (${model.link} link) over ${formatNumber(Number(model.rows))} pooled rows\n${t.toString()}\n` +
    `deviance ${model.deviance.toFixed(2)} on ${model.dfResidual} df (null ${model.nullDeviance.toFixed(2)} on ${model.dfNull} df); AIC ${model.aic.toFixed(2)}; ` +
    `${model.iterations} IRLS iterations${model.converged ? '' : ' — DID NOT CONVERGE'}${model.family === 'gaussian' ? `; dispersion ${model.dispersion.toPrecision(4)}` : ''}`
  );
}

/** Renders a pooled result: the contributing nodes, then the table, the model or the refusal. */
export function renderPooled(pooled: PooledResultView): string {
  const title = `── pooled over ${pooled.contributingNodes.length ? pooled.contributingNodes.join(', ') : 'no nodes'}${pooled.verified ? ' (coordinator signature verified)' : ''}`;
  if (pooled.refusal) return `${title}\nnothing released — ${pooled.refusal.code}: ${pooled.refusal.message}`;
  const body = pooled.table ? renderResultTable(pooled.table) : pooled.model ? renderModel(pooled.model) : '(no result)';
  return `${title}\n${body}\nthe coordinator learned only these sums (secure aggregation, ${pooled.rounds} round${pooled.rounds === 1 ? '' : 's'}); no node's own contribution`;
}

export function renderStatus(status: QueryStatusView): string {
  const t = new Table({ head: ['node', 'state', 'code', 'reason'], style: { head: [], border: [] } });
  for (const n of status.nodes) t.push([n.nodeId, n.state, n.code, n.message]);
  return `query ${status.queryId}: ${status.state}\n${t.toString()}`;
}

/** Prints an error as `error CODE: message` plus the code's one-line explanation. */
export function renderError(error: unknown): string {
  const fe = FedlabError.from(error);
  const message = fe.code === 'INTERNAL' && !(error instanceof FedlabError) ? (error as Error)?.message ?? 'internal error' : fe.message;
  return `error ${fe.code}: ${message}\n  (${ERROR_CODES[fe.code]})`;
}
