import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { renderEvaluationReport, type EvaluationResult } from '@fedlab/evaluation';
import sampleJson from '../../../libs/domain/evaluation/src/fixtures/sample-evaluation.json';
import { it, test } from '@fedlab/test-kit';

const sample = sampleJson as EvaluationResult;

describe('the evaluation report opened in headless Chromium', () => {
  let fileUrl: string;
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  let browser: Browser;
  let page: Page;

  test.beforeAll(async ({ fileTempDir }) => {
    const file = path.join(fileTempDir, 'evaluation.html');
    fileUrl = pathToFileURL(file).href;
    writeFileSync(file, renderEvaluationReport(sample));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage();
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    await page.goto(fileUrl, { waitUntil: 'load' });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('has the programme and organisation in its title and heading', async () => {
    expect(await page.title()).toBe('Impact evaluation: Next Steps mentoring — new-leaf-trust');
    expect(await page.locator('h1').textContent()).toBe('Impact evaluation: Next Steps mentoring');
    expect(await page.locator('header .organisation-id').textContent()).toBe('new-leaf-trust');
  });

  it('shows the headline summary first', async () => {
    expect(await page.locator('p.summary').textContent()).toBe(
      'This evaluation compared 262 people who took part with a matched comparison group of 155 similar people who did not. ' +
        'One year on, 27 in every 100 people who took part had committed a proven reoffence, compared with 43 in every 100 similar people: a statistically significant difference of between 6 and 27 fewer people per 100. ' +
        'No other measure showed a statistically significant difference.',
    );
    expect(await page.locator('main > section').first().getAttribute('id')).toBe('summary');
  });

  it('shows the funnel counts in order, in the table and the bar funnel', async () => {
    expect(await page.locator('table.funnel tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-stage')))).toEqual([
      'submitted',
      'valid',
      'matched',
      'eligible',
      'cohort',
    ]);
    expect(await page.locator('table.funnel td.count').allTextContents()).toEqual(['412', '398', '351', '296', '262']);
    expect(await page.locator('svg.funnel-chart .funnel-count').allTextContents()).toEqual(['412', '398', '351', '296', '262']);
    const widths = await page.locator('svg.funnel-chart rect.funnel-bar').evaluateAll((bars) => bars.map((b) => b.getBoundingClientRect().width));
    expect(widths).toHaveLength(5);
    for (let i = 1; i < widths.length; i++) expect(widths[i]).toBeLessThan(widths[i - 1]);
  });

  it('marks the one flagged balance row visibly as above 10 %', async () => {
    const flagged = page.locator('table.balance tr.flagged');
    expect(await flagged.count()).toBe(1);
    expect(await flagged.locator('th').textContent()).toBe('Previous offences');
    expect(await flagged.locator('td').allTextContents()).toEqual(['11.20', '8.40', '10.10', '29.5 %', '11.6 %', 'above 10 %']);
    expect(await flagged.locator('.flag').isVisible()).toBe(true);
    expect(await flagged.locator('.flag').evaluate((e) => e.ownerDocument.defaultView!.getComputedStyle(e).color)).toBe('rgb(180, 35, 24)');
    expect(await page.locator('table.balance td.balance-flag').allTextContents()).toHaveLength(sample.balance.length);
  });

  it('draws the four measures with 95 % error bars, days on their own panel', async () => {
    const chart = page.locator('svg.measures-chart');
    expect(await chart.isVisible()).toBe(true);
    expect(await chart.locator('rect.bar').count()).toBe(7);
    expect(await chart.locator('path.error-bar').count()).toBe(7);
    expect(await chart.locator('.suppressed-marker').count()).toBe(1);
    expect(await chart.locator('.panel .panel-title').allTextContents()).toEqual(['Per 100 people', 'Days (reoffenders only)']);
    const height = (measure: string, group: string) =>
      chart.locator(`rect.bar[data-measure="${measure}"][data-group="${group}"]`).evaluate((bar) => bar.getBoundingClientRect().height);
    // Bar heights follow the values on each panel's own scale (0–100 per 100 people, 0–250 days).
    expect((await height('reoffending_rate', 'treatment')) / (await height('reoffending_rate', 'comparison'))).toBeCloseTo(26.7176 / 43.1298, 2);
    expect((await height('days_to_first_reoffence', 'treatment')) / (await height('reoffending_rate', 'comparison'))).toBeCloseTo(
      185.957 / 250 / (43.1298 / 100),
      2,
    );
  });

  it('tabulates the measures with their intervals, p-values and significance', async () => {
    const cells = (name: string) => page.locator(`table.measures tr[data-measure="${name}"] td`).allTextContents();
    expect(await cells('reoffending_rate')).toEqual(['26.7', '21.7 to 32.4', '43.1', '34.7 to 51.9', '−16.4', '−26.6 to −6.2', '0.002', 'yes']);
    expect(await cells('reoffences_per_100')).toEqual(['72.5', '51.3 to 93.8', '69.8', '53.0 to 86.7', '2.7', '−24.3 to 29.7', '0.846', 'no']);
    expect(await cells('days_to_first_reoffence')).toEqual(['186', '165 to 207', '168', '145 to 190', '18', '−12 to 49', '0.235', 'no']);
    expect(await cells('custodial_rate')).toEqual([
      'suppressed (fewer than 10 people with a custodial sentence)',
      '15.3',
      '10.0 to 22.6',
      'not available',
      '—',
      'no',
    ]);
  });

  it('loaded nothing but the report file and logged no errors', () => {
    expect(requests).toEqual([fileUrl]);
    expect(consoleErrors).toEqual([]);
  });
});
