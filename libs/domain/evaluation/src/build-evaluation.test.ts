import { describe, expect, it } from 'vitest';
import { FedlabError } from '@fedlab/model';
import { buildEvaluation, type EvaluationInput } from './build-evaluation';
import type { ClientRecord } from './client-list';
import { DEFAULT_EVALUATION_RULES } from './evaluation-result';
import { dateOfDay, dayNumber, type OffenderHistory } from './offender-history';
import type { ClientMatch } from './person-matching';

/** A small deterministic generator (LCG), so the fixture is the same on every run. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const TYPES = ['theft', 'assault', 'drug', 'mischief'];

/**
 * 100 participants and 600 others released in 2022, all with a year of follow-up before 2024-06-30.
 * Nobody who took part has an index offence of fraud (so fraud is outside the common support), three
 * have "breach" (too few for a level of their own), and none is on income support.
 */
function fixture(): Pick<EvaluationInput, 'clients' | 'matches' | 'histories'> {
  const random = lcg(7);
  const histories = new Map<string, OffenderHistory>();
  const clients: ClientRecord[] = [];
  const matches: ClientMatch[] = [];
  for (let i = 0; i < 700; i += 1) {
    const treated = i < 100;
    const release = dayNumber('2022-01-01') + Math.floor(random() * 360);
    const type = treated ? (i < 3 ? 'breach' : TYPES[i % TYPES.length]!) : i % 10 === 0 ? 'fraud' : TYPES[Math.floor(random() * TYPES.length)]!;
    const offenceDay = release - 120;
    const born = dayNumber('1985-01-01') + Math.floor(random() * 5000);
    const reoffends = random() < (treated ? 0.25 : 0.35);
    const personId = `P${i}`;
    histories.set(personId, {
      personId,
      sex: random() < 0.8 ? 'M' : 'F',
      birthDate: dateOfDay(born),
      region: ['north', 'south', 'east'][i % 3]!,
      offences: [
        ...(random() < 0.5
          ? [{ date: dateOfDay(offenceDay - 700), type: 'theft', convicted: true, custodial: false, release: null, employed: false, incomeSupport: false }]
          : []),
        {
          date: dateOfDay(offenceDay),
          type,
          convicted: true,
          custodial: true,
          release: dateOfDay(release),
          employed: random() < 0.4,
          incomeSupport: !treated && i % 7 === 0,
        },
        ...(reoffends
          ? [
              {
                date: dateOfDay(release + 30 + Math.floor(random() * 300)),
                type: 'theft',
                convicted: true,
                custodial: random() < 0.3,
                release: null,
                employed: false,
                incomeSupport: false,
              },
            ]
          : []),
      ],
    });
    if (treated) {
      const line = clients.length + 2;
      clients.push({
        line,
        surname: `S${i}`,
        forename: 'F',
        dateOfBirth: dateOfDay(born),
        sex: 'M',
        interventionStart: dateOfDay(release - 10),
        interventionEnd: dateOfDay(release + 60),
        justiceId: null,
      });
      matches.push({ line, personId, rule: 'exact', score: 1, reason: 'matched' });
    }
  }
  return { clients, matches, histories };
}

function input(overrides: Partial<EvaluationInput> = {}): EvaluationInput {
  const data = fixture();
  return {
    evaluationId: 'e-test',
    organisationId: 'org',
    programme: 'Test program',
    nodeId: 'justice',
    dataset: 'justice_offences',
    producedOn: '2024-07-01',
    submittedRows: data.clients.length,
    dataAsOf: '2024-06-30',
    followUpDays: 365,
    indexWindowDays: 90,
    rules: DEFAULT_EVALUATION_RULES,
    retention: 'deleted',
    ...data,
    ...overrides,
  };
}

describe('buildEvaluation', () => {
  it("keeps the comparison pool within the participants' common support and releases no small-count balance row", () => {
    const data = input();
    const { result, treated, comparison } = buildEvaluation(data);
    // The pool: others released within the participants' span of index dates, except those with a fraud
    // index offence or on income support, whom no participant resembles.
    const releaseOf = (h: OffenderHistory) => h.offences.find((o) => o.release !== null)!;
    const spans = [...data.histories.values()]
      .slice(0, 100)
      .map((h) => releaseOf(h).release!)
      .sort();
    const others = [...data.histories.values()]
      .slice(100)
      .map(releaseOf)
      .filter((o) => o.release! >= spans[0]! && o.release! <= spans.at(-1)!);
    expect(others.length).toBeGreaterThan(400);
    expect(result.matching.comparisonPool).toBe(others.filter((o) => o.type !== 'fraud' && !o.incomeSupport).length);
    expect(result.matching.comparisonPool).toBeLessThan(others.length - 60);
    expect(result.matching.covariates).not.toContain('income_support');
    // In this fixture the age at first offence is the age at the index date minus 120 or 820 days, by
    // previous offences: collinear, so left out (R's glm would give it no coefficient), not refused.
    expect(result.matching.covariates).toEqual(['male', 'age_at_index', 'region', 'previous_offences', 'index_offence', 'employed']);
    expect(result.balance.map((row) => row.covariate).filter((c) => c.startsWith('index_offence='))).toEqual([
      'index_offence=assault',
      'index_offence=drug',
      'index_offence=mischief',
      'index_offence=theft',
    ]);
    expect(result.balance.some((row) => row.covariate.includes('breach') || row.covariate.includes('fraud') || row.covariate.includes('other'))).toBe(false);
    expect(result.funnel.map((f) => f.count)).toEqual([100, 100, 100, 100, result.matching.treatedMatched]);
    expect(treated).toHaveLength(result.matching.treatedMatched);
    expect(new Set(comparison.map((c) => c.personId)).size).toBe(result.matching.comparisonUsed);
  });

  it('refuses fewer than 60 eligible people with the funnel counts', () => {
    const data = fixture();
    const few = input({ matches: data.matches.slice(0, 50) });
    expect(() => buildEvaluation(few)).toThrow(
      new FedlabError(
        'EVALUATION_TOO_SMALL',
        '50 people reached the final treatment group (submitted 100, matched 50, with an eligible release 50); an evaluation needs at least 60',
      ),
    );
  });
});
