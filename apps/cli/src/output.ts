import Table from 'cli-table3';
import { ERROR_CODES, FedlabError, type ResultTable } from '@fedlab/model';
import type { NodeResultView, QueryStatusView } from '@fedlab/client';

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
  return `${title}\n${answer.table ? renderResultTable(answer.table) : '(no table)'}`;
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
