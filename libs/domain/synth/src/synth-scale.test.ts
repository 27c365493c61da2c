import { describe, expect, it } from 'vitest';
import { ageOnDate, readCsv, records } from '../test-support/synth-files';
import { generateSynthetic, SYNTH_EFFECTS, TRUTH_PERSONS_PATH } from './index';

type Row = Record<string, string>;

/**
 * Effect of the re-entry program on one-year reoffending after the index release, standardised to the
 * participants: risk differences within strata of the selection covariates (sex, age under 25 at
 * release) and of FASD, weighted by the number of participants in each stratum.
 */
function reentryEffect(persons: Row[]): { estimate: number; standardError: number; participants: number } {
  const strata = new Map<string, { treated: Row[]; control: Row[] }>();
  for (const person of persons.filter((row) => row.index_release_date !== '')) {
    const key = [person.sex, person.fasd, ageOnDate(person.birth_date, person.index_release_date) < 25].join('/');
    const stratum = strata.get(key) ?? { treated: [], control: [] };
    (person.reentry_program === 'true' ? stratum.treated : stratum.control).push(person);
    strata.set(key, stratum);
  }
  let [weighted, variance, participants] = [0, 0, 0];
  for (const { treated, control } of strata.values()) {
    if (treated.length === 0 || control.length === 0) continue;
    const rate = (group: Row[]): number => group.filter((row) => row.reoffended_within_1y === 'true').length / group.length;
    const [p1, p0] = [rate(treated), rate(control)];
    weighted += treated.length * (p1 - p0);
    variance += treated.length ** 2 * ((p1 * (1 - p1)) / treated.length + (p0 * (1 - p0)) / control.length);
    participants += treated.length;
  }
  return { estimate: weighted / participants, standardError: Math.sqrt(variance) / participants, participants };
}

describe('generateSynthetic at 100,000 persons', () => {
  it('completes, stays under 150 MB and recovers the re-entry program effect', () => {
    const started = performance.now();
    let totalBytes = 0;
    let truth = '';
    for (const file of generateSynthetic({ persons: 100_000, seed: 100 })) {
      totalBytes += Buffer.byteLength(file.content);
      if (file.path === TRUTH_PERSONS_PATH) truth = file.content;
    }
    const seconds = (performance.now() - started) / 1000;
    console.info(`synth: 100,000 persons in ${seconds.toFixed(1)} s, ${(totalBytes / 1e6).toFixed(1)} MB`);

    expect(totalBytes).toBeLessThan(150e6);
    const effect = reentryEffect(records(readCsv(truth)));
    console.info(`synth: re-entry effect ${effect.estimate.toFixed(3)} ± ${effect.standardError.toFixed(3)} (${effect.participants} participants)`);
    expect(effect.participants).toBeGreaterThan(200);
    expect(effect.estimate).toBeLessThan(0);
    expect(Math.abs(effect.estimate - SYNTH_EFFECTS.reoffending.reentryProgram)).toBeLessThanOrEqual(3 * effect.standardError);
  }, 180_000);
});
