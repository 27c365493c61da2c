import { describe, expect, it } from 'vitest';
import type { EvaluationResult } from './evaluation-result';
import sampleJson from './fixtures/sample-evaluation.json';
import { FIXED_CAVEATS, renderEvaluationReport } from './report-html';

const sample = sampleJson as EvaluationResult;

/** The sample with every string in it (at any depth) replaced by `replace(string, path)`. */
function mapStrings(value: unknown, replace: (text: string, path: string) => string, path = ''): unknown {
  if (typeof value === 'string') return replace(value, path);
  if (Array.isArray(value)) return value.map((item, i) => mapStrings(item, replace, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapStrings(item, replace, `${path}.${key}`)]));
  }
  return value;
}

/** The markup of the element that starts at the first match of `start`, up to its closing `end`. */
function slice(html: string, start: string, end: string): string {
  const from = html.indexOf(start);
  expect(from, start).toBeGreaterThanOrEqual(0);
  return html.slice(from, html.indexOf(end, from) + end.length);
}

function count(html: string, needle: string): number {
  return html.split(needle).length - 1;
}

describe('renderEvaluationReport', () => {
  const html = renderEvaluationReport(sample);

  it('renders a programme name containing a script element as text', () => {
    const report = renderEvaluationReport({ ...sample, programme: '<script>alert("x")</script> & Co' });
    expect(report).not.toContain('<script');
    expect(report).toContain('<title>Impact evaluation: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co — new-leaf-trust</title>');
    expect(report).toContain('<span class="programme">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</span>');
  });

  it('escapes every string taken from the result, wherever it is used', () => {
    const hostile = mapStrings(sample, (_text, path) => `<b data-x='${path}'>"&</b>`) as EvaluationResult;
    const report = renderEvaluationReport(hostile);
    expect(report).not.toContain('<b ');
    expect(report).not.toContain("'.");
    expect(report).toContain('&lt;b data-x=&#39;.programme&#39;&gt;&quot;&amp;&lt;/b&gt;');
    expect(report).toContain('&lt;b data-x=&#39;.balance[4].label&#39;&gt;&quot;&amp;&lt;/b&gt;');
  });

  it('is a self-contained HTML5 document that loads nothing', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|\shref=|url\(|@import|@font-face/i);
  });

  it('leads with the summary and one statement per measure', () => {
    expect(html).toContain(`<p class="summary">${sample.summary}</p>`);
    for (const measure of sample.measures) {
      expect(html).toContain(`<li data-measure="${measure.name}"><strong>${measure.label}.</strong> ${measure.statement}</li>`);
    }
  });

  it('shows the funnel counts in stage order, in the table and the chart, even when the result lists them out of order', () => {
    const shuffled = renderEvaluationReport({ ...sample, funnel: [...sample.funnel].reverse() });
    const counts = (markup: string, pattern: RegExp) => [...markup.matchAll(pattern)].map((m) => m[1]);
    expect(counts(slice(shuffled, '<table class="funnel">', '</table>'), /<td class="number count">([\d,]+)<\/td>/g)).toEqual([
      '412',
      '398',
      '351',
      '296',
      '262',
    ]);
    expect(counts(slice(shuffled, '<svg class="funnel-chart"', '</svg>'), /class="funnel-count">([\d,]+)</g)).toEqual(['412', '398', '351', '296', '262']);
  });

  it('lists the matching covariates by label and the matching figures', () => {
    const matching = slice(html, '<dl class="matching">', '</dl>');
    expect([...matching.matchAll(/<li>([^<]+)<\/li>/g)].map((m) => m[1])).toEqual([
      'Male',
      'Age at the index date (years)',
      'Region',
      'Previous offences',
      'Previous custodial sentences',
      'Age at first offence (years)',
      'Index offence',
      'Employed at the index offence',
      'On income support at the index offence',
    ]);
    for (const figure of [
      '0.20 standard deviations',
      '(0.144 on the logit scale)',
      '5,840 eligible people',
      '262 people who took part, matched; 34 had no comparison person',
      '155 distinct people',
      'Effective size of the weighted group: 123.9',
    ]) {
      expect(matching).toContain(figure);
    }
  });

  it('marks the flagged balance row as above 10 %', () => {
    expect(slice(html, '<tr data-covariate="previous_offences"', '</tr>')).toBe(
      '<tr data-covariate="previous_offences" class="flagged">\n' +
        '<th scope="row">Previous offences</th><td class="number">11.20</td><td class="number">8.40</td><td class="number">10.10</td><td class="number">29.5 %</td><td class="number smd-after">11.6 %</td><td class="balance-flag"><strong class="flag">above 10 %</strong></td>\n' +
        '</tr>',
    );
    expect(count(html, 'class="flagged"')).toBe(1);
    expect(slice(html, '<tr data-covariate="age_at_index"', '</tr>')).toContain(
      '<td class="number">−46.2 %</td><td class="number smd-after">−3.3 %</td><td class="balance-flag">within 10 %</td>',
    );
  });

  it('draws a bar and an error bar for every released group value, and marks the suppressed one', () => {
    const chart = slice(html, '<svg class="measures-chart"', '</svg>');
    expect(count(chart, '<rect class="bar ')).toBe(7);
    expect(count(chart, '<path class="error-bar"')).toBe(7);
    expect(chart).toContain('<text class="suppressed-marker" data-measure="custodial_rate" data-group="treatment"');
    expect(count(chart, '<g class="panel">')).toBe(2);
    expect([...chart.matchAll(/class="bar-value"[^>]*>([^<]+)</g)].map((m) => m[1])).toEqual(['26.7', '43.1', '72.5', '69.8', '15.3', '186', '168']);
  });

  it('tabulates every measure with its intervals, p-value and significance', () => {
    const row = (name: string) => [...slice(html, `<tr data-measure="${name}">`, '</tr>').matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(row('reoffending_rate')).toEqual(['26.7', '21.7 to 32.4', '43.1', '34.7 to 51.9', '−16.4', '−26.6 to −6.2', '0.002', 'yes']);
    expect(row('reoffences_per_100')).toEqual(['72.5', '51.3 to 93.8', '69.8', '53.0 to 86.7', '2.7', '−24.3 to 29.7', '0.846', 'no']);
    expect(row('days_to_first_reoffence')).toEqual(['186', '165 to 207', '168', '145 to 190', '18', '−12 to 49', '0.235', 'no']);
    expect(row('custodial_rate')).toEqual(['suppressed (fewer than 10 people with a custodial sentence)', '15.3', '10.0 to 22.6', 'not available', '—', 'no']);
  });

  it("lists the result's caveats and then the fixed caveats, even when the result has none", () => {
    const caveats = (markup: string) => [...slice(markup, '<ul class="caveats">', '</ul>').matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]);
    expect(caveats(html)).toEqual([...sample.caveats, ...FIXED_CAVEATS]);
    expect(caveats(renderEvaluationReport({ ...sample, caveats: [] }))).toEqual([...FIXED_CAVEATS]);
    expect(FIXED_CAVEATS.join(' ')).toMatch(
      /motivation or mental-health needs.*excluding people with mental-health or other needs.*does not prove that the program has no effect.*per 100 typical people/,
    );
  });

  it('ends with the provenance, the retention statement and the rules applied', () => {
    const footer = slice(html, '<footer>', '</footer>');
    for (const [field, value] of [
      ['evaluation-id', 'ev-2025-0142'],
      ['node', 'justice'],
      ['dataset', 'justice_reoffending'],
      ['data-as-of', '2025-01-31'],
      ['produced-on', '2025-03-14'],
    ]) {
      expect(footer).toContain(`<dd class="${field}">${value}</dd>`);
    }
    expect(footer).toContain(`<p class="retention">${sample.retention}</p>`);
    expect(footer).toContain(
      '<p class="rules">Rules applied: at least 60 people in the final treatment group; a difference is called significant only when p ≤ 0.05 and at least 30 people who took part reoffended; no rate, mean or characteristic is shown that rests on fewer than 10 people.</p>',
    );
  });
});
