import {
  FUNNEL_STAGES,
  type BalanceRowResult,
  type EvaluationMeasure,
  type EvaluationMeasureName,
  type EvaluationResult,
  type GroupMeasure,
} from './evaluation-result';

/**
 * The caveats every evaluation report carries, whatever the result (after the result's own caveats). They
 * follow the Justice Data Lab's standard notes on how to read its reports.
 */
export const FIXED_CAVEATS: readonly string[] = [
  'The comparison group is matched only on what the justice data records (such as age, sex, criminal history and the index offence). Differences the data does not record, such as motivation or mental-health needs, may remain between the groups and may explain part of any difference.',
  'If the people who took part were selected, for example by excluding people with mental-health or other needs, the results apply only to people like them, not to everyone the program might serve.',
  'A result that is not statistically significant does not prove that the program has no effect: the evaluation may be too small to detect one.',
  'Results are per 100 typical people in each group. They are not predictions of what will happen to any individual.',
];

/** A fragment of markup that is already safe; every other interpolated value is escaped. */
class Html {
  constructor(readonly markup: string) {}
}

type Part = Html | string | number | null | undefined | false | readonly Part[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML text node or a quoted attribute value. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function renderPart(part: Part): string {
  if (part instanceof Html) return part.markup;
  if (Array.isArray(part)) return part.map(renderPart).join('');
  if (part === null || part === undefined || part === false) return '';
  return escapeHtml(String(part));
}

/** A template tag: literal markup stays as written, every interpolation is escaped unless it is `Html`. */
function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let markup = strings[0];
  for (let i = 0; i < parts.length; i++) markup += renderPart(parts[i]) + strings[i + 1];
  return new Html(markup);
}

const MINUS = '\u2212';

/** A number for display: fixed decimals, thousands separated by commas, a true minus sign, never "−0". */
function num(value: number, decimals: number): string {
  const fixed = Math.abs(value).toFixed(decimals);
  const [whole, fraction] = fixed.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const negative = value < 0 && Number(fixed) !== 0;
  return `${negative ? MINUS : ''}${grouped}${fraction === undefined ? '' : `.${fraction}`}`;
}

function count(value: number): string {
  return num(value, 0);
}

function pText(pValue: number | null): string {
  if (pValue === null) return '—';
  return pValue < 0.001 ? '< 0.001' : num(pValue, 3);
}

function interval(ci: { lower: number; upper: number } | null, decimals: number): string {
  return ci === null ? '—' : `${num(ci.lower, decimals)} to ${num(ci.upper, decimals)}`;
}

function percent(smd: number): string {
  return `${num(100 * smd, 1)} %`;
}

/** Decimals shown for a measure's values in tables and on the chart. */
function decimalsOf(measure: EvaluationMeasure): number {
  return measure.unit === 'days' ? 0 : 1;
}

const SHORT_LABELS: Record<EvaluationMeasureName, string> = {
  reoffending_rate: 'Reoffending rate',
  reoffences_per_100: 'Reoffences',
  days_to_first_reoffence: 'Days to first reoffence',
  custodial_rate: 'Custodial sentences',
};

function suppressedText(group: GroupMeasure): string {
  return `suppressed (${group.suppressed ?? 'not shown'})`;
}

// --- sections ------------------------------------------------------------------------------------------

function summarySection(result: EvaluationResult): Html {
  return html`<section id="summary" aria-labelledby="summary-heading">
<h2 id="summary-heading">Summary</h2>
<p class="summary">${result.summary}</p>
<h3>What each measure shows</h3>
<ul class="statements">
${result.measures.map((m) => html`<li data-measure="${m.name}"><strong>${m.label}.</strong> ${m.statement}</li>\n`)}</ul>
<p class="note">Follow-up: ${count(result.followUpDays)} days from each person's index date (their release from custody during the program).</p>
</section>`;
}

function funnelChart(rows: EvaluationResult['funnel']): Html {
  const width = 640;
  const labelWidth = 90;
  const barHeight = 22;
  const gap = 8;
  const height = rows.length * (barHeight + gap) + gap;
  const largest = Math.max(1, ...rows.map((r) => r.count));
  const bars = rows.map((row, i) => {
    const y = gap + i * (barHeight + gap);
    const barWidth = Math.max(1, ((width - labelWidth - 70) * row.count) / largest);
    const x = labelWidth + (width - labelWidth - 70 - barWidth) / 2;
    return html`<g class="funnel-step" data-stage="${row.stage}">
<text x="${labelWidth - 8}" y="${y + barHeight / 2}" text-anchor="end" dominant-baseline="middle" class="axis-label">${row.stage}</text>
<rect class="funnel-bar" x="${x.toFixed(1)}" y="${y}" width="${barWidth.toFixed(1)}" height="${barHeight}" rx="3"></rect>
<text x="${width - 60}" y="${y + barHeight / 2}" dominant-baseline="middle" class="funnel-count">${count(row.count)}</text>
</g>
`;
  });
  return html`<svg class="funnel-chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="funnel-title">
<title id="funnel-title">People remaining at each stage of the match</title>
${bars}</svg>`;
}

function includedSection(result: EvaluationResult): Html {
  const rows = [...result.funnel].sort((a, b) => FUNNEL_STAGES.indexOf(a.stage) - FUNNEL_STAGES.indexOf(b.stage));
  return html`<section id="included" aria-labelledby="included-heading">
<h2 id="included-heading">Who was included</h2>
<p>Each stage keeps the people from the stage before who met its condition. Only the final treatment group is compared.</p>
<div class="table-scroll"><table class="funnel">
<thead><tr><th scope="col">Stage</th><th scope="col">What it means</th><th scope="col" class="number">People</th></tr></thead>
<tbody>
${rows.map((row) => html`<tr data-stage="${row.stage}"><td>${row.stage}</td><td>${row.label}</td><td class="number count">${count(row.count)}</td></tr>\n`)}</tbody>
</table></div>
${funnelChart(rows)}
</section>`;
}

/** The plain-language label of a model covariate, from the balance rows (categorical: "Label: level"). */
function covariateLabel(name: string, balance: readonly BalanceRowResult[]): string {
  const exact = balance.find((row) => row.covariate === name);
  if (exact) return exact.label;
  const level = balance.find((row) => row.covariate.startsWith(`${name}=`));
  if (level) {
    const colon = level.label.lastIndexOf(':');
    return colon > 0 ? level.label.slice(0, colon) : level.label;
  }
  return name;
}

function matchingSection(result: EvaluationResult): Html {
  const m = result.matching;
  return html`<section id="comparison-group" aria-labelledby="comparison-heading">
<h2 id="comparison-heading">How the comparison group was built</h2>
<p>For each person who took part, the justice node found people who did not take part but were similar on the characteristics below, using a propensity score: the chance, estimated from those characteristics, that a person took part.</p>
<dl class="matching">
<dt>Method</dt><dd class="method">${m.method}</dd>
<dt>Characteristics used</dt><dd><ul class="covariates">${m.covariates.map((c) => html`<li>${covariateLabel(c, result.balance)}</li>`)}</ul></dd>
<dt>Caliper</dt><dd class="caliper">${num(m.caliperSd, 2)} standard deviations of the logit of the propensity score (${num(m.caliper, 3)} on the logit scale): a comparison person further away than this is not used</dd>
<dt>Comparison pool</dt><dd class="pool">${count(m.comparisonPool)} eligible people who did not take part</dd>
<dt>Treatment group</dt><dd class="treated">${count(m.treatedMatched)} people who took part, matched; ${count(m.treatedOutsideCaliper)} had no comparison person within the caliper and are not in the results</dd>
<dt>Comparison group</dt><dd class="comparison">${count(m.comparisonUsed)} distinct people; matching was with replacement, so one person may stand in for several people who took part and is weighted accordingly. Effective size of the weighted group: ${num(m.comparisonEffectiveSize, 1)}</dd>
</dl>
</section>`;
}

function balanceSection(result: EvaluationResult): Html {
  const rows = result.balance.map(
    (row) => html`<tr data-covariate="${row.covariate}"${row.flagged ? new Html(' class="flagged"') : ''}>
<th scope="row">${row.label}</th><td class="number">${num(row.treatedMean, 2)}</td><td class="number">${num(row.comparisonMeanBefore, 2)}</td><td class="number">${num(row.comparisonMeanAfter, 2)}</td><td class="number">${percent(row.smdBefore)}</td><td class="number smd-after">${percent(row.smdAfter)}</td><td class="balance-flag">${row.flagged ? html`<strong class="flag">above 10 %</strong>` : 'within 10 %'}</td>
</tr>
`,
  );
  return html`<section id="balance" aria-labelledby="balance-heading">
<h2 id="balance-heading">How similar the two groups are</h2>
<p>Averages of each characteristic (shares for yes/no characteristics) among the people who took part, among all eligible people who did not before matching, and in the weighted comparison group after matching. The standardised difference is the gap in units of the spread among the people who took part; after matching, a gap above 10 % means the groups still differ on that characteristic.</p>
<div class="table-scroll"><table class="balance">
<thead>
<tr><th scope="col" rowspan="2">Characteristic</th><th scope="col" rowspan="2" class="number">Took part</th><th scope="colgroup" colspan="2" class="group">Comparison group</th><th scope="colgroup" colspan="2" class="group">Standardised difference</th><th scope="col" rowspan="2">Balance after matching</th></tr>
<tr><th scope="col" class="number">before matching</th><th scope="col" class="number">after matching</th><th scope="col" class="number">before</th><th scope="col" class="number">after</th></tr>
</thead>
<tbody>
${rows}</tbody>
</table></div>
</section>`;
}

/** 1, 2, 2.5 or 5 × 10ᵏ at or above `value`: the top of a chart axis. */
function niceMaximum(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const fraction = value / power;
  const nice = [1, 2, 2.5, 5, 10].find((step) => fraction <= step + 1e-12) ?? 10;
  return nice * power;
}

interface Panel {
  title: string;
  measures: EvaluationMeasure[];
  x: number;
  width: number;
}

const CHART = { height: 320, top: 40, bottom: 60, barWidth: 30, left: 48 };

function chartPanel(panel: Panel): Html {
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const highest = Math.max(
    0,
    ...panel.measures.flatMap((m) => [m.treatment, m.comparison].map((g) => (g.value === null ? 0 : Math.max(g.value, g.ci?.upper ?? g.value)))),
  );
  const top = niceMaximum(highest);
  const y = (value: number) => CHART.top + plotHeight * (1 - Math.max(0, value) / top);
  const ticks = Array.from({ length: 6 }, (_, i) => (top * i) / 5);
  const tickDecimals = ticks.some((t) => !Number.isInteger(t)) ? 1 : 0;
  const plotLeft = panel.x + CHART.left;
  const slot = (panel.width - CHART.left - 10) / panel.measures.length;
  const axis = ticks.map(
    (
      t,
    ) => html`<line class="grid" x1="${plotLeft}" x2="${panel.x + panel.width - 10}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"></line><text class="axis-label" x="${plotLeft - 6}" y="${y(t).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${num(t, tickDecimals)}</text>
`,
  );
  const groups = panel.measures.map((measure, i) => {
    const centre = plotLeft + slot * (i + 0.5);
    const decimals = decimalsOf(measure);
    const bars = (['treatment', 'comparison'] as const).map((side, j) => {
      const group = measure[side];
      const x = centre + (j === 0 ? -CHART.barWidth - 3 : 3);
      const middle = x + CHART.barWidth / 2;
      if (group.value === null) {
        const baseline = y(0) - 6;
        return html`<text class="suppressed-marker" data-measure="${measure.name}" data-group="${side}" x="${middle.toFixed(1)}" y="${baseline.toFixed(1)}" transform="rotate(-90 ${middle.toFixed(1)} ${baseline.toFixed(1)})" dominant-baseline="middle">suppressed</text>`;
      }
      const barTop = y(group.value);
      const bar = html`<rect class="bar ${side}" data-measure="${measure.name}" data-group="${side}" x="${x.toFixed(1)}" y="${barTop.toFixed(1)}" width="${CHART.barWidth}" height="${(y(0) - barTop).toFixed(1)}"><title>${side === 'treatment' ? 'Took part' : 'Comparison group'}: ${num(group.value, decimals)} (95 % CI ${interval(group.ci, decimals)})</title></rect>`;
      const ci = group.ci;
      const errorBar =
        ci === null
          ? ''
          : html`<path class="error-bar" data-measure="${measure.name}" data-group="${side}" d="M${middle.toFixed(1)} ${y(ci.upper).toFixed(1)}V${y(ci.lower).toFixed(1)}M${(middle - 6).toFixed(1)} ${y(ci.upper).toFixed(1)}h12M${(middle - 6).toFixed(1)} ${y(ci.lower).toFixed(1)}h12"></path>`;
      const labelY = Math.min(barTop, ci === null ? barTop : y(ci.upper)) - 5;
      return html`${bar}${errorBar}<text class="bar-value" x="${middle.toFixed(1)}" y="${labelY.toFixed(1)}" text-anchor="middle">${num(group.value, decimals)}</text>`;
    });
    return html`<g class="measure" data-measure="${measure.name}">${bars}<text class="axis-label measure-label" x="${centre.toFixed(1)}" y="${(y(0) + 18).toFixed(1)}" text-anchor="middle">${SHORT_LABELS[measure.name] ?? measure.label}</text></g>
`;
  });
  return html`<g class="panel">
<text class="panel-title" x="${plotLeft}" y="${CHART.top - 22}">${panel.title}</text>
${axis}<line class="axis" x1="${plotLeft}" x2="${panel.x + panel.width - 10}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}"></line>
${groups}</g>
`;
}

function chartSection(result: EvaluationResult): Html {
  const per100 = result.measures.filter((m) => m.unit === 'per 100 people');
  const days = result.measures.filter((m) => m.unit === 'days');
  const width = 760;
  const per100Width = days.length === 0 ? width : Math.round((width * per100.length) / (per100.length + days.length + 0.6));
  const panels: Panel[] = [{ title: 'Per 100 people', measures: per100, x: 0, width: per100Width }];
  if (days.length > 0) panels.push({ title: 'Days (reoffenders only)', measures: days, x: per100Width, width: width - per100Width });
  const legendY = CHART.height - 16;
  return html`<section id="chart" aria-labelledby="chart-heading">
<h2 id="chart-heading">The results at a glance</h2>
<svg class="measures-chart" viewBox="0 0 ${width} ${CHART.height}" width="${width}" height="${CHART.height}" role="img" aria-labelledby="chart-title chart-desc">
<title id="chart-title">The four measures for the people who took part and the comparison group</title>
<desc id="chart-desc">Bars show each group's value; the lines through them show the 95 % confidence intervals. Days to first reoffence is on its own scale.</desc>
${panels.map(chartPanel)}<g class="legend"><rect class="legend-swatch treatment" x="${CHART.left}" y="${legendY - 10}" width="12" height="12"></rect><text class="axis-label" x="${CHART.left + 18}" y="${legendY}">Took part</text><rect class="legend-swatch comparison" x="${CHART.left + 110}" y="${legendY - 10}" width="12" height="12"></rect><text class="axis-label" x="${CHART.left + 128}" y="${legendY}">Comparison group</text><text class="axis-label" x="${CHART.left + 280}" y="${legendY}">Lines: 95 % confidence intervals</text></g>
</svg>
</section>`;
}

function groupCells(measure: EvaluationMeasure, side: 'treatment' | 'comparison'): Html {
  const group = measure[side];
  if (group.value === null) {
    return html`<td class="${side}-value suppressed" colspan="2">${suppressedText(group)}</td>`;
  }
  const decimals = decimalsOf(measure);
  return html`<td class="number ${side}-value">${num(group.value, decimals)}</td><td class="number ${side}-ci">${interval(group.ci, decimals)}</td>`;
}

function measuresSection(result: EvaluationResult): Html {
  const rows = result.measures.map((m) => {
    const decimals = decimalsOf(m);
    const difference =
      m.difference === null
        ? html`<td class="difference" colspan="2">not available</td>`
        : html`<td class="number difference">${num(m.difference.estimate, decimals)}</td><td class="number difference-ci">${interval(m.difference.ci, decimals)}</td>`;
    return html`<tr data-measure="${m.name}">
<th scope="row">${m.label}<span class="unit">${m.unit}; ${m.test}</span></th>${groupCells(m, 'treatment')}${groupCells(m, 'comparison')}${difference}<td class="number p-value">${pText(m.pValue)}</td><td class="significant">${m.significant ? 'yes' : 'no'}</td>
</tr>
`;
  });
  return html`<section id="measures" aria-labelledby="measures-heading">
<h2 id="measures-heading">The measures in detail</h2>
<div class="table-scroll"><table class="measures">
<thead>
<tr><th scope="col" rowspan="2">Measure</th><th scope="colgroup" colspan="2" class="group">Took part</th><th scope="colgroup" colspan="2" class="group">Comparison group</th><th scope="colgroup" colspan="2" class="group">Difference</th><th scope="col" rowspan="2" class="number">p</th><th scope="col" rowspan="2">Significant</th></tr>
<tr><th scope="col" class="number">value</th><th scope="col" class="number">95 % CI</th><th scope="col" class="number">value</th><th scope="col" class="number">95 % CI</th><th scope="col" class="number">estimate</th><th scope="col" class="number">95 % CI</th></tr>
</thead>
<tbody>
${rows}</tbody>
</table></div>
<p class="note">Difference = took part − comparison group. CI: confidence interval. Significant: p ≤ ${num(result.rules.significanceLevel, 2)} and at least ${count(result.rules.minTreatedReoffenders)} people who took part reoffended${result.treatedReoffenders === null ? '' : ` (here ${count(result.treatedReoffenders)})`}.</p>
</section>`;
}

function caveatsSection(result: EvaluationResult): Html {
  return html`<section id="caveats" aria-labelledby="caveats-heading">
<h2 id="caveats-heading">How to read these results</h2>
<ul class="caveats">
${[...result.caveats, ...FIXED_CAVEATS].map((caveat) => html`<li>${caveat}</li>\n`)}</ul>
</section>`;
}

function footer(result: EvaluationResult): Html {
  const rules = result.rules;
  return html`<footer>
<dl class="provenance">
<dt>Evaluation</dt><dd class="evaluation-id">${result.evaluationId}</dd>
<dt>Produced by node</dt><dd class="node">${result.nodeId}</dd>
<dt>Dataset</dt><dd class="dataset">${result.dataset}</dd>
<dt>Data as of</dt><dd class="data-as-of">${result.dataAsOf}</dd>
<dt>Produced on</dt><dd class="produced-on">${result.producedOn}</dd>
</dl>
<p class="retention">${result.retention}</p>
<p class="rules">Rules applied: at least ${count(rules.minCohort)} people in the final treatment group; a difference is called significant only when p ≤ ${num(rules.significanceLevel, 2)} and at least ${count(rules.minTreatedReoffenders)} people who took part reoffended; no rate, mean or characteristic is shown that rests on fewer than ${count(rules.minPersons)} people.</p>
</footer>`;
}

const STYLE = `
:root { --treatment: #1d5f99; --comparison: #a3acb9; --flag: #b42318; --ink: #1f2933; --muted: #52606d; --rule: #d9e2ec; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 2rem 1.25rem 3rem; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2.25rem 0 .75rem; padding-top: .75rem; border-top: 1px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
.organisation { color: var(--muted); margin: 0; }
.summary { font-size: 1.15rem; background: #f0f4f8; border-left: 4px solid var(--treatment); padding: .75rem 1rem; }
.statements li { margin-bottom: .5rem; }
.note { color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; width: 100%; margin: .75rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .35rem .5rem; text-align: left; vertical-align: top; }
thead th { font-weight: 600; vertical-align: bottom; }
thead th[rowspan] { border-bottom: 2px solid var(--ink); }
.number { text-align: right; font-variant-numeric: tabular-nums; }
td.number { white-space: nowrap; }
th.group { text-align: center; border-bottom: 1px solid var(--rule); }
thead tr:last-child th { border-bottom: 2px solid var(--ink); }
.table-scroll { overflow-x: auto; }
.unit { display: block; color: var(--muted); font-size: .8rem; font-weight: normal; }
.suppressed { color: var(--muted); font-style: italic; }
tr.flagged { background: #fef3f2; }
.flag { color: var(--flag); }
dl.matching, dl.provenance { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
dd ul { margin: 0; padding-left: 1.1rem; }
svg { max-width: 100%; height: auto; display: block; margin: .75rem 0; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--ink); }
.axis-label { fill: var(--muted); }
.panel-title { font-weight: 600; font-size: 13px; }
.grid { stroke: var(--rule); stroke-width: 1; }
.axis { stroke: var(--ink); stroke-width: 1; }
.bar.treatment, .legend-swatch.treatment { fill: var(--treatment); }
.bar.comparison, .legend-swatch.comparison { fill: var(--comparison); }
.error-bar { stroke: var(--ink); stroke-width: 1.5; fill: none; }
.suppressed-marker { fill: var(--muted); font-style: italic; font-size: 11px; }
.funnel-bar { fill: var(--treatment); }
.funnel-count { font-weight: 600; }
footer { margin-top: 2.5rem; padding-top: 1rem; border-top: 2px solid var(--ink); font-size: .88rem; color: var(--muted); }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; } table, svg { break-inside: avoid; } }
`;

/**
 * The evaluation as a self-contained HTML5 document for the organisation: inline CSS and SVG charts, no
 * scripts and nothing loaded from the network (its Content-Security-Policy forbids it). Every string taken
 * from `result` is escaped. Sections: summary and per-measure statements, who was included (the match
 * funnel), how the comparison group was built, the balance table, a chart and a table of the measures with
 * 95 % intervals, how to read the results (the result's caveats and {@link FIXED_CAVEATS}), and a footer with
 * the evaluation's provenance, retention statement and the rules applied.
 */
export function renderEvaluationReport(result: EvaluationResult): string {
  const title = `Impact evaluation: ${result.programme} — ${result.organisationId}`;
  const document = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<header>
<h1>Impact evaluation: <span class="programme">${result.programme}</span></h1>
<p class="organisation">Program run by <span class="organisation-id">${result.organisationId}</span>. Results from the Justice Data Lab evaluation at node ${result.nodeId}.</p>
</header>
<main>
${summarySection(result)}
${includedSection(result)}
${matchingSection(result)}
${balanceSection(result)}
${chartSection(result)}
${measuresSection(result)}
${caveatsSection(result)}
</main>
${footer(result)}
</body>
</html>
`;
  return document.markup;
}
