import { FedlabError, type DatasetSchema } from '@fedlab/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { datasetRecords, readCsv, records, runSynth, typeErrors, type SynthRun } from '../test-support/synth-files';
import { CLIENT_LIST_PATH, generateSynthetic, SYNTH_DATASETS, SYNTH_EFFECTS, SYNTH_SCHEMAS, TRUTH_PERSON_COLUMNS, type SynthFile } from './index';

function collect(options: Parameters<typeof generateSynthetic>[0]): SynthFile[] {
  return [...generateSynthetic(options)];
}

function rowCounts(run: SynthRun): Record<string, number> {
  return Object.fromEntries([...run.tables].map(([dataset, table]) => [dataset, table.rows.length]));
}

describe('generateSynthetic', () => {
  let small: SynthRun;
  let large: SynthRun;
  beforeAll(() => {
    small = runSynth({ persons: 5_000, seed: 11 });
    large = runSynth({ persons: 20_000, seed: 11 });
  });

  it('yields each dataset schema and CSV, then the truth files, in a fixed order', () => {
    expect([...small.files.keys()]).toEqual([
      'health/health_visits.schema.yaml',
      'health/health_visits.csv',
      'education/education_enrolments.schema.yaml',
      'education/education_enrolments.csv',
      'human_services/income_support.schema.yaml',
      'human_services/income_support.csv',
      'justice/justice_offences.schema.yaml',
      'justice/justice_offences.csv',
      'organisation/reentry_clients.csv',
      'truth/persons.csv',
      'truth/effects.json',
    ]);
  });

  it("writes the re-entry organisation's client list: every participant once, intervention around the index release, a few strangers", () => {
    const clients = records(readCsv(large.files.get(CLIENT_LIST_PATH)!));
    const truth = records(large.truth);
    const participants = truth.filter((p) => p.reentry_program === 'true');
    const strangers = Math.round(participants.length * SYNTH_EFFECTS.clientList.strangerShare);
    expect(participants.length).toBeGreaterThan(20);
    expect(clients).toHaveLength(participants.length + strangers);
    expect(Object.keys(clients[0]!)).toEqual(['surname', 'forename', 'date_of_birth', 'sex', 'intervention_start', 'intervention_end']);
    const day = (date: string) => Date.parse(`${date}T00:00:00Z`) / 86_400_000;
    // The organisation's noise never touches sex; pair clients to participants by sex and intervention window.
    let aroundRelease = 0;
    for (const p of participants) {
      const release = day(p.index_release_date!);
      const mine = clients.filter(
        (c) =>
          c.sex === p.sex &&
          day(c.intervention_start!) <= release &&
          release - day(c.intervention_start!) <= SYNTH_EFFECTS.clientList.inReachDays &&
          day(c.intervention_end!) - release >= SYNTH_EFFECTS.clientList.minAfterDays &&
          day(c.intervention_end!) - release <= SYNTH_EFFECTS.clientList.maxAfterDays &&
          c.surname!.slice(0, 1).toLowerCase() === p.surname!.slice(0, 1).toLowerCase(),
      );
      if (mine.length > 0) aroundRelease += 1;
    }
    expect(aroundRelease).toBe(participants.length);
    const offenders = new Set(truth.filter((p) => p.offender_id !== '').map((p) => `${p.surname}|${p.birth_date}`));
    expect(clients.filter((c) => !offenders.has(`${c.surname}|${c.date_of_birth}`)).length).toBeGreaterThanOrEqual(strangers);
  });

  it('records employment and income support at each offence in Justice', () => {
    const offences = datasetRecords(large, 'justice_offences');
    const employed = offences.filter((o) => o.employed === 'true').length / offences.length;
    expect(employed).toBeGreaterThan(0.25);
    expect(employed).toBeLessThan(0.55);
    expect(offences.filter((o) => o.income_support === 'true').length).toBeGreaterThan(0);
    expect(offences.every((o) => ['true', 'false'].includes(o.employed!) && ['true', 'false'].includes(o.income_support!))).toBe(true);
  });

  it('lists which node imports which dataset', () => {
    expect(SYNTH_DATASETS.map(({ node, dataset }) => ({ node, dataset }))).toEqual([
      { node: 'health', dataset: 'health_visits' },
      { node: 'education', dataset: 'education_enrolments' },
      { node: 'human_services', dataset: 'income_support' },
      { node: 'justice', dataset: 'justice_offences' },
    ]);
  });

  it('gives byte-identical files for the same options', () => {
    expect(collect({ persons: 2_000, seed: 42 })).toEqual(collect({ persons: 2_000, seed: 42 }));
  });

  it('gives different records for a different seed', () => {
    const [a, b] = [collect({ persons: 2_000, seed: 42 }), collect({ persons: 2_000, seed: 43 })];
    for (let i = 0; i < a.length; i += 1) {
      if (a[i].path.endsWith('.schema.yaml')) expect(a[i].content).toBe(b[i].content);
      else expect(a[i].content).not.toBe(b[i].content);
    }
  });

  it('writes schema files that parse back to the exported schemas, spelling linkage_keys and max_records_per_person', () => {
    for (const entry of SYNTH_DATASETS) {
      const { linkageKeys, maxRecordsPerPerson, ...schema } = SYNTH_SCHEMAS[entry.dataset];
      expect(small.schemas.get(entry.dataset)).toEqual({ ...schema, max_records_per_person: maxRecordsPerPerson, linkage_keys: linkageKeys });
    }
  });

  it('declares a person identifier column, and a value set for every categorical text column', () => {
    for (const schema of small.schemas.values()) {
      const person = schema.columns.find((column) => column.name === schema.person);
      expect(person).toMatchObject({ role: 'identifier', nullable: false });
      for (const column of schema.columns) {
        const categorical = column.type === 'text' && column.role !== 'identifier';
        expect(column.values !== undefined, `${schema.dataset}.${column.name}`).toBe(categorical);
      }
    }
  });

  it('writes every CSV with the schema column order as its header', () => {
    for (const [dataset, table] of small.tables) {
      expect(table.header).toEqual((small.schemas.get(dataset) as DatasetSchema).columns.map((column) => column.name));
    }
    expect(small.truth.header).toEqual([...TRUTH_PERSON_COLUMNS]);
  });

  it('writes only values that parse under their declared column types', () => {
    for (const [dataset, table] of large.tables) {
      expect(table.rows.length, dataset).toBeGreaterThan(0);
      expect(typeErrors(large.schemas.get(dataset) as DatasetSchema, table), dataset).toEqual([]);
    }
  });

  it('uses every declared category of the sex, region, setting, program, offence and sentence columns', () => {
    for (const [dataset, table] of large.tables) {
      const schema = large.schemas.get(dataset) as DatasetSchema;
      schema.columns.forEach((column, c) => {
        if (!column.values || column.name === 'icd10' || column.name === 'school_board') return;
        const seen = new Set(table.rows.map((row) => row[c]));
        expect([...seen].filter((value) => value !== '').sort(), `${dataset}.${column.name}`).toEqual([...column.values].sort());
      });
    }
  });

  it('scales the rows of every dataset with the number of persons', () => {
    const [few, many] = [rowCounts(small), rowCounts(large)];
    for (const dataset of Object.keys(few)) {
      expect(many[dataset] / few[dataset], dataset).toBeGreaterThan(3.3);
      expect(many[dataset] / few[dataset], dataset).toBeLessThan(4.7);
    }
    expect(small.truth.rows).toHaveLength(5_000);
    expect(large.truth.rows).toHaveLength(20_000);
  });

  it('keeps births in 1950–2020 and every event in the 2015–2025 window, after birth', () => {
    const inWindow = (date: string): boolean => date >= '2015-01-01' && date <= '2025-12-31';
    const births = records(large.truth).map((person) => person.birth_date);
    expect(births.filter((date) => date < '1950-01-01' || date > '2020-12-31')).toEqual([]);

    const visits = datasetRecords(large, 'health_visits');
    expect(visits.filter((visit) => !inWindow(visit.visit_date) || visit.visit_date < visit.birth_date)).toEqual([]);
    expect(visits.filter((visit) => (visit.length_of_stay === '') !== (visit.setting === 'physician'))).toEqual([]);

    const spells = datasetRecords(large, 'income_support');
    expect(spells.filter((spell) => !inWindow(spell.spell_start))).toEqual([]);
    expect(spells.filter((spell) => spell.spell_end !== '' && (spell.spell_end < spell.spell_start || !inWindow(spell.spell_end)))).toEqual([]);

    const offences = datasetRecords(large, 'justice_offences');
    expect(offences.filter((offence) => !inWindow(offence.offence_date))).toEqual([]);
    expect(
      offences.filter((offence) => offence.release_date !== '' && (offence.release_date <= offence.offence_date || !inWindow(offence.release_date))),
    ).toEqual([]);
    expect(offences.filter((offence) => (offence.custody_days === '') !== (offence.sentence !== 'custody'))).toEqual([]);
    expect(offences.filter((offence) => (offence.sentence === '') !== (offence.convicted === 'false'))).toEqual([]);
  });

  it('moves the time frame with the reference date', () => {
    const files = collect({ persons: 500, seed: 3, referenceDate: '2031-07-01' });
    const effects = JSON.parse(files.find((file) => file.path === 'truth/effects.json')?.content ?? '{}') as {
      window: { start: string; end: string };
      births: { start: string; end: string };
    };
    expect(effects.window).toEqual({ start: '2020-01-01', end: '2031-06-30' });
    expect(effects.births).toEqual({ start: '1955-01-01', end: '2025-12-31' });
  });

  it('records the options and the known effects in truth/effects.json', () => {
    const effects = JSON.parse(small.files.get('truth/effects.json') as string) as Record<string, unknown>;
    expect(effects.options).toEqual({ persons: 5_000, seed: 11, referenceDate: '2026-01-01' });
    expect(effects.effects).toEqual(JSON.parse(JSON.stringify(SYNTH_EFFECTS)));
  });

  it.each([
    [{ persons: 0, seed: 1 }, 'persons'],
    [{ persons: 1.5, seed: 1 }, 'persons'],
    [{ persons: 10, seed: -1 }, 'seed'],
    [{ persons: 10, seed: 1, referenceDate: '2026-02-30' }, 'referenceDate'],
    [{ persons: 10, seed: 1, referenceDate: '1 Jan 2026' }, 'referenceDate'],
  ])('rejects %j with INVALID_ARGUMENT naming %s', (options, field) => {
    let error: unknown;
    try {
      collect(options);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FedlabError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field } });
  });
});
